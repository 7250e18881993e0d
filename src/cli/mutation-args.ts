// TENSOR OFFSET --values V1,V2,... --confidence C, as `mutate` and `fleet mutate` read them: decimal text only.
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { MAX_VALUES } from "../evolution/layout.ts";
import { decimalNumber, notDecimal } from "../util/decimal.ts";

/**
 * Number() took "" as 0 ("--values=1,,2" wrote a 0 into the model; a filtering parser moved the
 * rest one element down instead) and "0x10" as 16: every number here is decimal text.
 */
const schema = z.object({
  tensor: z.string().min(1).max(255),
  offset: z.string().regex(/^\d+$/, "must be a non-negative integer").transform(Number).pipe(z.number().int().max(Number.MAX_SAFE_INTEGER)),
  values: z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()))
    .refine((v) => v.every((x) => decimalNumber.test(x)), "must be a comma-separated list of decimal numbers")
    .transform((v) => v.map(Number))
    .refine((v) => v.every((x) => Number.isFinite(x)), "must be a comma-separated list of finite numbers")
    .refine((v) => v.length <= MAX_VALUES, `at most ${MAX_VALUES} values per mutation`),
  confidence: z.string().regex(decimalNumber, notDecimal).transform(Number).pipe(z.number().min(0).max(1)),
});
export type MutationArgs = z.output<typeof schema>;

/** The mutation named by a command's positionals and options; a UsageError (64) naming the first bad one. */
export function mutationArgs(cmd: string, positionals: string[], values: string | undefined, confidence: string | undefined): MutationArgs {
  if (positionals.length !== 2) throw new UsageError(`${cmd}: expects TENSOR OFFSET (see vector-boot ${cmd} --help)`);
  const r = schema.safeParse({ tensor: positionals[0], offset: positionals[1], values: values ?? "", confidence });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UsageError(`${cmd}: ${i.path.join(".") || "arguments"}: ${i.message}`);
  }
  return r.data;
}
