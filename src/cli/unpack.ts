// `vector-boot unpack`: extracts the binary and GGUF sections of an RTS package (checksums verified on the bytes written).
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { unpackRts } from "../rts/package.ts";
import { interruptible } from "../sys/interrupt.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { requireInputFile } from "../util/regular-file.ts";

const help = `Usage: vector-boot unpack FILE.rts [--binary OUT] [--gguf OUT] [-C DIR]

Extracts the sections of an RTS package. The header's SHA-256 checksums (when present) are
checked on the bytes copied, before any output is renamed into place; a mismatch writes nothing
and exits 65.

Options:
  --binary OUT   where to write the binary section
  --gguf OUT     where to write the tensor section (the GGUF)
  -C, --dir DIR  with neither --binary nor --gguf: write DIR/<name>.bin and DIR/<name>.gguf
                 (default: the current directory)
  -h, --help     this text`;

const schema = z.object({
  binary: nonEmpty.optional(),
  gguf: nonEmpty.optional(),
  dir: nonEmpty.optional(),
  positionals: z.array(nonEmpty).length(1, "exactly one RTS file"),
});

export const command: Command = {
  name: "unpack",
  summary: "extract the binary and GGUF of an RTS package",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommandArgs("unpack", args, {
      binary: { type: "string" },
      gguf: { type: "string" },
      dir: { type: "string", short: "C" },
    }, schema);
    const file = a.positionals[0]!;
    requireInputFile(file, "unpack");
    if (a.dir && (a.binary || a.gguf)) throw new UsageError("unpack: --dir cannot be combined with --binary/--gguf");
    // One path for both: the GGUF overwrote the binary, and both were reported written.
    if (a.binary && a.gguf && resolve(a.binary) === resolve(a.gguf)) throw new UsageError(`unpack: --binary and --gguf name the same file (${a.gguf})`);
    const stem = basename(file).replace(/\.rts$/, "");
    const dir = a.dir ?? ".";
    const target = a.binary || a.gguf ? { binary: a.binary, gguf: a.gguf } : { binary: join(dir, `${stem}.bin`), gguf: join(dir, `${stem}.gguf`) };
    const r = interruptible(() => unpackRts(file, target)); // Ctrl-C: neither output, no temporary file
    if (target.binary) out(`binary: ${target.binary} (${r.header.binarySize} bytes, checksum ${r.binary})`);
    if (target.gguf) out(`gguf: ${target.gguf} (${r.header.tensorSize} bytes, checksum ${r.tensor})`);
    return 0;
  },
};
