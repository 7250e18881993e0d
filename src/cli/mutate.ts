// `vector-boot mutate`: one weight mutation through the control socket (same CTRM gate as the shared-memory path).
import { commonOptions, commonOptionSpec, commonOptionsHelp } from "../control/cli-support.ts";
import { controlRequest } from "../control/client.ts";
import type { Command } from "./command.ts";
import { mutationArgs } from "./mutation-args.ts";
import { out, readOptions } from "../util/cli-args.ts";

const help = `Usage: vector-boot mutate TENSOR OFFSET --values V1,V2,... --confidence C [--json] [--socket PATH]

Submits one mutation to the running instance: overwrite elements OFFSET.. of TENSOR with the
values. It passes the CTRM gate (confidence > 0.8, tensor exists and is not kernel.*, range inside
the tensor, finite values within the configured magnitude, mutable type) and is acknowledged only
after the cortex journal's fsync. Prints the verdict; exits 0 when accepted, 1 when rejected.

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
    else out(verdict.statusName === "ACCEPTED" ? `accepted: journal sequence ${verdict.journalSeq}` : `rejected: ${verdict.statusName}${verdict.text ? ` (${verdict.text})` : ""}`);
    return verdict.statusName === "ACCEPTED" ? 0 : 1;
  },
};
