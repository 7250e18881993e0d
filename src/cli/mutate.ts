// `vector-boot mutate`: one weight mutation through the control socket (same CTRM gate as the shared-memory path).
import { commonOptions, commonOptionSpec, commonOptionsHelp } from "../control/cli-support.ts";
import { controlRequest } from "../control/client.ts";
import { ExitCode } from "../errors.ts";
import type { Command } from "./command.ts";
import { mutationArgs } from "./mutation-args.ts";
import { out, readOptions } from "../util/cli-args.ts";
import { printable } from "../util/terminal-text.ts";

const help = `Usage: vector-boot mutate TENSOR OFFSET --values V1,V2,... --confidence C [--json] [--socket PATH]

Submits one mutation to the running instance: overwrite elements OFFSET.. of TENSOR with the
values. It passes the CTRM gate (confidence > 0.8, tensor exists and is not kernel.*, range inside
the tensor, finite values within the configured magnitude, mutable type) and is acknowledged only
after the cortex journal's fsync. Prints the verdict; exits 0 when accepted, 65 when the gate
rejected it (bad input: the reason is printed), 74 when the journal stopped with it (JOURNAL_FAILED: not
acknowledged, and the outcome is unknown: the record may still be on disk and replayed at the next boot),
75 when it was not taken now (NOT_TAKEN: nothing journaled, nothing changed: evolution closing, the
gate could not judge it, the journal stopped before it; try again later, after a restart for a stopped
journal), 70 when it was journaled but failed to apply (APPLY_FAILED, a bug: evolution stopped; the next
boot replays it).

Options:
  --values LIST       1 to 100 comma-separated numbers (e.g. 0.5,-1.25; a list starting with a minus sign
                      needs the = form: --values=-3.25,1)
  --confidence C      the engine's confidence, 0..1
${commonOptionsHelp}`;

/**
 * What a verdict means for the caller, by its status alone (docs/evolution-protocol.md): JOURNAL_FAILED
 * the outcome unknown, NOT_TAKEN nothing journaled. An instance from before NOT_TAKEN (17) answered its
 * cases JOURNAL_FAILED too: "outcome unknown" (74) then, which is never false for a JOURNAL_FAILED.
 */
const verdictKinds: ReadonlyMap<string, "accepted" | "unknown" | "not-taken" | "apply-failed"> = new Map([["ACCEPTED", "accepted"], ["JOURNAL_FAILED", "unknown"], ["NOT_TAKEN", "not-taken"], ["APPLY_FAILED", "apply-failed"]]);
function verdictKind(v: { statusName: string }): "accepted" | "unknown" | "not-taken" | "apply-failed" | "rejected" {
  return verdictKinds.get(v.statusName) ?? "rejected";
}

export const command: Command = {
  name: "mutate",
  summary: "Submit a weight mutation to a running instance",
  help,
  async run(args) {
    const p = readOptions("mutate", args, { values: { type: "string" }, confidence: { type: "string" }, ...commonOptionSpec });
    const m = mutationArgs("mutate", p.positionals, p.values.values, p.values.confidence);
    const c = commonOptions("mutate", p.values);
    const verdict = (await controlRequest({ op: "mutate", ...m }, { path: c.socket, timeoutMs: c.timeoutMs })) as { statusName: string; journalSeq: number; text: string };
    const kind = verdictKind(verdict);
    const why = verdict.text ? ` (${printable(verdict.text)})` : "";
    if (c.json) out(JSON.stringify(verdict));
    else if (kind === "accepted") out(`accepted: journal sequence ${verdict.journalSeq}`);
    else if (kind === "unknown") out(`not acknowledged: the journal has stopped${why}; the outcome is unknown (it may be replayed at the next boot)`);
    else if (kind === "not-taken") out(`not taken now: ${printable(verdict.statusName)}${why}; nothing was journaled, try again later`);
    else if (kind === "apply-failed") out(`journaled as sequence ${verdict.journalSeq} but failed to apply${why}: evolution has stopped (a bug, logged by the instance); the next boot replays it`);
    else out(`rejected: ${printable(verdict.statusName)}${why}`);
    // The exit-code table (README "Exit codes"): a mutation the gate refuses is bad input data.
    return { accepted: ExitCode.ok, unknown: ExitCode.io, "not-taken": ExitCode.tempFail, "apply-failed": ExitCode.internal, rejected: ExitCode.data }[kind];
  },
};
