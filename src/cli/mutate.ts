// `vector-boot mutate`: one weight mutation through the control socket (same CTRM gate as the shared-memory path).
import { commonOptions, commonOptionSpec, commonOptionsHelp } from "../control/cli-support.ts";
import { controlRequest } from "../control/client.ts";
import { ExitCode } from "../errors.ts";
import type { Command } from "./command.ts";
import { mutationArgs } from "./mutation-args.ts";
import { out, readOptions } from "../util/cli-args.ts";

const help = `Usage: vector-boot mutate TENSOR OFFSET --values V1,V2,... --confidence C [--json] [--socket PATH]

Submits one mutation to the running instance: overwrite elements OFFSET.. of TENSOR with the
values. It passes the CTRM gate (confidence > 0.8, tensor exists and is not kernel.*, range inside
the tensor, finite values within the configured magnitude, mutable type) and is acknowledged only
after the cortex journal's fsync. Prints the verdict; exits 0 when accepted, 65 when the gate
rejected it (bad input: the reason is printed), 74 when the journal has stopped (JOURNAL_FAILED: not
acknowledged, and the outcome is unknown: the record may still be on disk and replayed at the next boot).

Options:
  --values LIST       1 to 100 comma-separated numbers (e.g. 0.5,-1.25; a list starting with a minus sign
                      needs the = form: --values=-3.25,1)
  --confidence C      the engine's confidence, 0..1
${commonOptionsHelp}`;

export const command: Command = {
  name: "mutate",
  summary: "Submit a weight mutation to a running instance",
  help,
  async run(args) {
    const p = readOptions("mutate", args, { values: { type: "string" }, confidence: { type: "string" }, ...commonOptionSpec });
    const m = mutationArgs("mutate", p.positionals, p.values.values, p.values.confidence);
    const c = commonOptions("mutate", p.values);
    const verdict = (await controlRequest({ op: "mutate", ...m }, { path: c.socket, timeoutMs: c.timeoutMs })) as { statusName: string; journalSeq: number; text: string };
    if (c.json) out(JSON.stringify(verdict));
    else if (verdict.statusName === "ACCEPTED") out(`accepted: journal sequence ${verdict.journalSeq}`);
    else if (verdict.statusName === "JOURNAL_FAILED") out(`not acknowledged: the journal has stopped${verdict.text ? ` (${verdict.text})` : ""}; the outcome is unknown (it may be replayed at the next boot)`);
    else out(`rejected: ${verdict.statusName}${verdict.text ? ` (${verdict.text})` : ""}`);
    // The exit-code table (README "Exit codes"): a mutation the gate refuses is bad input data.
    return verdict.statusName === "ACCEPTED" ? ExitCode.ok : verdict.statusName === "JOURNAL_FAILED" ? ExitCode.io : ExitCode.data;
  },
};
