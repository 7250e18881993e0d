// `vector-boot verify`: checks an RTS package or an executable's embedded model (ranges, header CRC, SHA-256 of every section).
import { z } from "zod";
import { PackageError } from "../errors.ts";
import { readGguf } from "../gguf/reader.ts";
import { setLogLevel } from "../log.ts";
import { describePackage } from "../rts/describe.ts";
import { openModelSource } from "../rts/model-source.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { requireInputFile } from "../util/regular-file.ts";

const help = `Usage: vector-boot verify FILE... [--json]

Checks packaging integrity: for an RTS package, the header (magic, version, every offset and size
against the file size, the header CRC) and the SHA-256 of the binary and tensor sections; for an
executable with an embedded model, the trailer and the SHA-256 of the model. Then the model itself
(the tensor section, the embedded payload or a plain .gguf) is mapped read-only and parsed by the
GGUF reader (every count, offset and size checked). Exits 0 when every file is intact, 65 for a
corrupt package (the message names the field), 2 for a malformed GGUF.

Options:
  --json       one JSON object per file
  -h, --help   this text`;

const schema = z.object({ json: z.boolean().optional(), positionals: z.array(nonEmpty).min(1, "at least one file") });

export const command: Command = {
  name: "verify",
  summary: "check an RTS package or an executable's embedded model",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommandArgs("verify", args, { json: { type: "boolean" } }, schema);
    for (const file of a.positionals) requireInputFile(file, "verify");
    for (const file of a.positionals) {
      const d = describePackage(file, { verify: true });
      if (d.kind === "unknown") throw new PackageError("file", `${file} is neither an RTS package, an executable with an embedded model, nor a GGUF`);
      setLogLevel("error");
      const src = d.kind === "embedded" ? openModelSource({ exePath: file, fallbackPath: null }) : openModelSource({ path: file });
      let tensors: number;
      try {
        tensors = readGguf(src.bytes).tensors.length;
      } finally {
        src.unmap();
      }
      if (a.json) out(JSON.stringify({ path: file, kind: d.kind, fileSize: d.fileSize, model: d.model, checksums: d.checksums, tensors }));
      else out(`${file}: ${d.kind}, ${d.fileSize} bytes, model ${d.model!.size} bytes at ${d.model!.offset}, checksums ${d.checksums}, GGUF ok (${tensors} tensors)`);
    }
    return 0;
  },
};
