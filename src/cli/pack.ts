// `vector-boot pack`: an executable and a GGUF into one RTS package (4096-aligned tensor section, SHA-256 of both).
import { z } from "zod";
import { packRts } from "../rts/package.ts";
import { interruptible } from "../sys/interrupt.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { hex } from "../rts/checksum.ts";
import { wantsHelp, type Command } from "./command.ts";
import { requireInputFile } from "../util/regular-file.ts";

const help = `Usage: vector-boot pack --binary FILE --gguf FILE -o OUT.rts [--seed-layout]

Packs a program and a GGUF model into an RTS package: 512-byte big-endian header (DESIGN §7),
the binary at 512, the GGUF at the next 4096-byte boundary so it can be mapped in place, and the
SHA-256 of both sections in the header's reserved bytes (docs/rts-format.md).

Options:
  --binary FILE    the program section (e.g. dist/vector-boot)
  --gguf FILE      the model section: a well-formed GGUF, parsed as verify parses it (exit 2 naming
                   the field and the byte offset if not: a file cut short is refused, nothing written)
  -o, --output OUT the package to write (written to a temp file, fsynced, renamed)
  --seed-layout    the seed's layout instead: tensor right after the binary, no checksums
  -h, --help       this text

Example: vector-boot pack --binary dist/vector-boot --gguf dist/vectorland.gguf -o vectorland.rts`;

const schema = z.object({
  binary: nonEmpty,
  gguf: nonEmpty,
  output: nonEmpty,
  "seed-layout": z.boolean().optional(),
  positionals: z.array(z.string()).max(0, "pack takes no positional arguments"),
});

export const command: Command = {
  name: "pack",
  summary: "pack a binary and a GGUF into an RTS package",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommandArgs("pack", args, {
      binary: { type: "string" },
      gguf: { type: "string" },
      output: { type: "string", short: "o" },
      "seed-layout": { type: "boolean" },
    }, schema);
    requireInputFile(a.binary, "pack --binary");
    requireInputFile(a.gguf, "pack --gguf");
    // Ctrl-C stops the hashing or the copy and removes the temporary file (it was left, as large as the model).
    const h = interruptible(() => packRts(a.binary, a.gguf, a.output, { seedLayout: a["seed-layout"] }));
    out(`packed ${a.output}: binary ${h.binarySize} bytes at ${h.binaryOffset}, tensor ${h.tensorSize} bytes at ${h.tensorOffset}`);
    if (h.checksums) out(`sha256 binary ${hex(h.checksums.binarySha256)} tensor ${hex(h.checksums.tensorSha256)}`);
    return 0;
  },
};
