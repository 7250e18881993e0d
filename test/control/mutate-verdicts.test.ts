// `vector-boot mutate` told every verdict that was not ACCEPTED or JOURNAL_FAILED "rejected" (65), a NOT_TAKEN (nothing journaled) too, and read a JOURNAL_FAILED's text to tell "outcome unknown" (74) from "not taken".
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { answeringSocket } from "./answering-socket.ts";
import { tempDir } from "./harness.ts";

const cases: Array<{ verdict: Record<string, unknown>; code: number; says: string }> = [
  // Journaled, then refused by the runtime (a bug): not bad input; the next boot replays it.
  { verdict: { status: 14, statusName: "APPLY_FAILED", journalSeq: 7, text: "apply failed" }, code: 70, says: "journaled as sequence 7 but failed to apply" },
  // Nothing journaled (the gate could not judge it, evolution closing): try again, not "outcome unknown".
  { verdict: { status: 17, statusName: "NOT_TAKEN", journalSeq: 0, text: "not judged: model unloaded; nothing journaled" }, code: 75, says: "nothing was journaled" },
  { verdict: { status: 17, statusName: "NOT_TAKEN", journalSeq: 0, text: "evolution is closed" }, code: 75, says: "nothing was journaled" },
  // An instance from before NOT_TAKEN answered those JOURNAL_FAILED: "outcome unknown", never false for a JOURNAL_FAILED.
  { verdict: { status: 12, statusName: "JOURNAL_FAILED", journalSeq: 0, text: "evolution is closed" }, code: 74, says: "the outcome is unknown" },
  // The journal stopped: the outcome is unknown.
  { verdict: { status: 12, statusName: "JOURNAL_FAILED", journalSeq: 0, text: "journal stopped: outcome unknown (EIO)" }, code: 74, says: "the outcome is unknown" },
  { verdict: { status: 5, statusName: "LOW_CONFIDENCE", journalSeq: 0, text: "confidence 0.5 <= 0.8" }, code: 65, says: "rejected: LOW_CONFIDENCE" },
  // A verdict's text is the server's: printed escaped.
  { verdict: { status: 6, statusName: "UNKNOWN_TENSOR", journalSeq: 0, text: "no tensor \u001b[2Jx" }, code: 65, says: "no tensor ?[2Jx" },
];

test("mutate's APPLY_FAILED was 'rejected' (65, bad input) though journaled and replayed at the next boot (now 70, naming its sequence); a NOT_TAKEN (nothing journaled) was 'rejected' (65: bad input, now 75: try again)", async () => {
  for (const c of cases) {
    const path = join(tempDir(), "control");
    const server = answeringSocket(path, () => c.verdict);
    try {
      const r = await runShippedAsync(["mutate", "cortex.0.weight", "0", "--values", "0.5", "--confidence", "0.9", "--socket", path], 30_000);
      expect({ verdict: c.verdict.text, code: r.code, says: r.out.includes(c.says) }).toEqual({ verdict: c.verdict.text, code: c.code, says: true });
      expect(r.out).not.toContain("\u001b");
    } finally {
      server.stop(true);
    }
  }
}, 120_000);
