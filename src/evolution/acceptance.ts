// Accepting mutations: the CTRM gate and the safety cases, then the journal (one group commit per drain), then apply after durability.
import { rootCauseMessage } from "../errors.ts";
import type { Journal } from "../journal/journal.ts";
import { RecordType } from "../journal/format.ts";
import { logger } from "../log.ts";
import { type GateConfig, ctrmGate } from "./ctrm-gate.ts";
import { encodeMutationRecords } from "./mutation-record.ts";
import { Status } from "./reasons.ts";
import type { SafetyGate } from "./safety-gate.ts";
import type { Mutation } from "./slot-codec.ts";
import type { MutableWeights } from "./weights.ts";

const log = logger("evolution");

/** The gate's answer; `ticket`: the mutation holds a place in the safety gate until it is committed. */
export interface Verdict {
  status: Status;
  text: string;
  ticket: boolean;
}

/** What became of a judged mutation (journalSeq 0 unless it was journaled). */
export interface Outcome {
  status: Status;
  journalSeq: number;
  text: string;
}

/** Counters the acceptance keeps up to date (the channel's stats). */
export interface AcceptanceStats {
  accepted: number;
  applied: number;
  appliedSeq: number;
}

export class Acceptance {
  private readonly safety: SafetyGate;
  /** Commits whose outcomes are not all delivered yet. */
  private readonly pending = new Set<Promise<void>>();
  /** The journal sequence of the mutation that failed to apply: nothing after it is applied. */
  private failedAt = 0;

  /** `safety`: the gate of the model's safety cases over the same weights. */
  constructor(private readonly o: { journal: Journal; weights: MutableWeights; gate: GateConfig; safety: SafetyGate; stats: AcceptanceStats }) {
    this.safety = o.safety;
  }

  /** The CTRM gate's rules, then (cortex tensors of a model with safety cases) the safety cases. */
  judge(m: Mutation): Verdict {
    try {
      const verdict = ctrmGate(m, this.o.weights, this.o.gate);
      if (verdict.status !== Status.accepted) return { status: verdict.status, text: verdict.text, ticket: false };
      const s = this.safety.admit(m);
      return { status: s.verdict.status, text: s.verdict.text, ticket: s.ticket };
    } catch (err) {
      // The weights or the safety cases failed (the model unloaded under it, say): not judged, so not
      // taken (NOT_TAKEN: nothing journaled; it was JOURNAL_FAILED, "outcome unknown"). A throw here
      // left the drain's earlier submissions of that drain uncommitted and this one unanswered (its slot already consumed).
      log.error("a mutation could not be judged; not taken, nothing journaled", { tensor: m.tensor, err: String(err) });
      return { status: Status.notTaken, text: `not judged: ${rootCauseMessage(err)}; nothing journaled`, ticket: false };
    }
  }

  /**
   * Journals mutations the gate accepted in one append (one promise for the group, not one per
   * mutation). Once the fdatasync covering them succeeded each is applied (journal order =
   * application order) and `done(i, outcome)` is called in order; if the journal failed, none is
   * applied and each is told so: JOURNAL_FAILED when the failed write held them (the outcome
   * unknown), NOT_TAKEN when the journal had stopped before writing them. Safety tickets are settled before `done`.
   */
  commit(group: readonly { m: Mutation; ticket: boolean }[], done: (i: number, o: Outcome) => void): void {
    const end = (i: number, o: Outcome) => {
      if (group[i]!.ticket) this.safety.settle();
      done(i, o);
    };
    const journal = this.o.journal;
    /** The group's first sequence (0: none given, the journal had stopped or was closed). */
    let seq = 0;
    const p: Promise<void> = journal.appendMany(RecordType.mutation, encodeMutationRecords(group.map((g) => g.m)), (first) => (seq = first)).then(
      (first) => {
        for (let i = 0; i < group.length; i++) end(i, this.apply(group[i]!.m, first + i));
      },
      (err: unknown) => {
        // One append: its records are written together or not at all. A record the journal never
        // wrote (it stopped with an earlier batch, or before this append) is not there after any
        // reboot: NOT_TAKEN, not "outcome unknown", which said the producer had to reckon with it.
        const written = seq > 0 && journal.mayHold(seq);
        const o = written ? { status: Status.journalFailed, text: `journal stopped: outcome unknown (${rootCauseMessage(err)})` } : { status: Status.notTaken, text: `journal stopped: not journaled (${rootCauseMessage(err)})` };
        for (let i = 0; i < group.length; i++) end(i, { ...o, journalSeq: 0 });
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves once every commit made so far has delivered its outcomes. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Durable as `jseq`: applies the mutation (or says it failed to apply). */
  private apply(m: Mutation, jseq: number): Outcome {
    if (this.failedAt > 0) {
      // Made durable with the one that failed (the same batch, a group, a batch already written):
      // applied without it, the weights would be a state no safety case was judged on.
      return { status: Status.applyFailed, journalSeq: jseq, text: `not applied: mutation ${this.failedAt} before it failed to apply (evolution stopped; the next boot replays both)` };
    }
    try {
      this.o.weights.applyMutation(m.tensor, m.elementOffset, m.values);
    } catch (err) {
      // Journaled, not applied: the weights no longer hold what the journal says, and a checkpoint
      // taken from them would claim to cover this record without it (which of the two a reboot
      // restored depended on which checkpoint verified). Evolution stops here (fail-stop): no more
      // mutations, no checkpoint; the next boot replays the record from the last good checkpoint.
      log.error("journaled mutation failed to apply; evolution stops (the next boot replays it)", { tensor: m.tensor, seq: jseq, err: String(err) });
      this.failedAt = jseq;
      this.o.journal.halt(`mutation ${jseq} is journaled but failed to apply (${String(err).slice(0, 200)}): the weights no longer match the journal`);
      return { status: Status.applyFailed, journalSeq: jseq, text: "apply failed" };
    }
    const s = this.o.stats;
    s.applied++;
    s.accepted++;
    s.appliedSeq = jseq;
    return { status: Status.accepted, journalSeq: jseq, text: "" };
  }
}
