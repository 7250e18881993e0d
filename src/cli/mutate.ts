// `vector-boot mutate`: one weight mutation through the control socket (same CTRM gate as the shared-memory path).
import { parseArgs } from "node:util";
import { z } from "zod";
import { commonOptionsHelp, out } from "../control/cli-support.ts";
import { controlRequest } from "../control/client.ts";
import { UsageError } from "../errors.ts";
import { decimalNumber, notDecimal } from "../util/decimal.ts";
import type { Command } from "./command.ts";

const help = `Usage: vector-boot mutate TENSOR OFFSET --values V1,V2,... --confidence C [--json] [--socket PATH]

Submits one mutation to the running instance: overwrite elements OFFSET.. of TENSOR with the
values. It passes the CTRM gate (confidence > 0.8, tensor exists and is not kernel.*, range inside
the tensor, finite values within the configured magnitude, mutable type) and is acknowledged only
after the cortex journal's fsync. Prints the verdict; exits 0 when accepted, 1 when rejected.

Options:
  --values LIST       comma-separated numbers (e.g. 0.5,-1.25; a list starting with a minus sign
                      needs the = form: --values=-3.25,1)
  --confidence C      the engine's confidence, 0..1
${commonOptionsHelp}`;

const schema = z.object({
  tensor: z.string().min(1).max(255),
  // Decimal text only: Number() took "" as 0 ("--values=1,,2" wrote a 0) and "0x10" as 16.
  offset: z.string().regex(/^\d+$/, "must be a non-negative integer").transform(Number).pipe(z.number().int().max(Number.MAX_SAFE_INTEGER)),
  values: z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()))
    .refine((v) => v.every((x) => decimalNumber.test(x)), "must be a comma-separated list of decimal numbers")
    .transform((v) => v.map(Number))
    .refine((v) => v.every((x) => Number.isFinite(x)), "must be a comma-separated list of finite numbers"),
  confidence: z.string().regex(decimalNumber, notDecimal).transform(Number).pipe(z.number().min(0).max(1)),
});

export const command: Command = {
  name: "mutate",
  summary: "Submit a weight mutation to a running instance",
  help,
  async run(args) {
    let p;
    try {
      p = parseArgs({ args, options: { values: { type: "string" }, confidence: { type: "string" }, json: { type: "boolean" }, socket: { type: "string" }, timeout: { type: "string" } }, allowPositionals: true, strict: true });
    } catch (cause) {
      throw new UsageError(`mutate: ${(cause as Error).message} (see vector-boot mutate --help)`, { cause });
    }
    if (p.positionals.length !== 2) throw new UsageError("mutate: expects TENSOR OFFSET (see vector-boot mutate --help)");
    const r = schema.safeParse({ tensor: p.positionals[0], offset: p.positionals[1], values: p.values.values ?? "", confidence: p.values.confidence });
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new UsageError(`mutate: ${i.path.join(".") || "arguments"}: ${i.message}`);
    }
    const verdict = (await controlRequest({ op: "mutate", ...r.data }, { path: p.values.socket, timeoutMs: Number(p.values.timeout ?? 30_000) })) as { statusName: string; journalSeq: number; text: string };
    if (p.values.json) out(JSON.stringify(verdict));
    else out(verdict.statusName === "ACCEPTED" ? `accepted: journal sequence ${verdict.journalSeq}` : `rejected: ${verdict.statusName}${verdict.text ? ` (${verdict.text})` : ""}`);
    return verdict.statusName === "ACCEPTED" ? 0 : 1;
  },
};
