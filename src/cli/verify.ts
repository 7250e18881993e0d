// `vector-boot verify`: checks an RTS package or an executable's embedded model (ranges, header CRC, SHA-256 of every section).
import { z } from "zod";
import { describeError, exitCodeOf, PackageError } from "../errors.ts";
import { readGguf } from "../gguf/reader.ts";
import { setLogLevel } from "../log.ts";
import { describePackageFd } from "../rts/describe.ts";
import { withPackageFd } from "../rts/package.ts";
import { openModelSource } from "../rts/model-source.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { requireInputFile } from "../util/regular-file.ts";

const help = `Usage: vector-boot verify FILE... [--json]

Checks packaging integrity: for an RTS package, the header (magic, version, every offset and size
against the file size, the header CRC) and the SHA-256 of the binary and tensor sections; for an
executable with an embedded model, the trailer and the SHA-256 of the model. Then the model itself
(the tensor section, the embedded payload or a plain .gguf) is mapped read-only and parsed by the
GGUF reader (every count, offset and size checked). Every file is checked and reported (a line, or
a JSON object with "ok", each); exits 0 when every file is intact, else the code of the first
failure: 65 for a corrupt package (the message names the field), 2 for a malformed GGUF.

Options:
  --json       one JSON object per file
  -h, --help   this text`;

const schema = z.object({ json: z.boolean().optional(), positionals: z.array(nonEmpty).min(1, "at least one file") });

/**
 * One file, through one descriptor: the checksums and the GGUF parsed are those of the same file. (It was
 * opened four times: a package renamed over the path while its sections were hashed reported the old
 * file's checksums "ok" beside the new file's GGUF.)
 */
function verifyOne(file: string) {
  return withPackageFd(file, (fd) => {
    const d = describePackageFd(fd, file, { verify: true });
    if (d.kind === "unknown") throw new PackageError("file", `${file} is neither an RTS package, an executable with an embedded model, nor a GGUF`);
    // Read-only: the file is mapped in place, never copied (a 512 MiB model cost 512 MiB of RAM).
    const src = d.kind === "embedded" ? openModelSource({ exePath: file, fd, fallbackPath: null }) : openModelSource({ path: file, fd, inPlace: true });
    try {
      return { kind: d.kind, fileSize: d.fileSize, model: d.model, checksums: d.checksums, tensors: readGguf(src.bytes).tensors.length };
    } finally {
      src.unmap();
    }
  });
}

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
    setLogLevel("error");
    // Every file is checked; one damaged file does not hide the state of the others.
    let first: unknown = null;
    for (const file of a.positionals) {
      try {
        // In the loop: a missing file is reported with the others (it stopped every file's check, nothing printed).
        requireInputFile(file, "verify");
        const r = verifyOne(file);
        if (a.json) out(JSON.stringify({ path: file, ok: true, ...r }));
        else out(`${file}: ${r.kind}, ${r.fileSize} bytes, model ${r.model!.size} bytes at ${r.model!.offset}, checksums ${r.checksums}, GGUF ok (${r.tensors} tensors)`);
      } catch (e) {
        first ??= e;
        if (a.json) out(JSON.stringify({ path: file, ok: false, exit: exitCodeOf(e), error: describeError(e) }));
        else process.stderr.write(`verify: ${file}: FAILED (exit ${exitCodeOf(e)}): ${describeError(e)}\n`);
      }
    }
    if (first !== null) return exitCodeOf(first);
    return 0;
  },
};
