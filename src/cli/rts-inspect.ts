// `vector-boot rts-inspect` (and `inspect` on an .rts/executable): prints an RTS header or an embedded-model trailer.
import { z } from "zod";
import { PackageError } from "../errors.ts";
import { describePackage, type PackageDescription } from "../rts/describe.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { requireInputFile } from "../util/regular-file.ts";

const help = `Usage: vector-boot rts-inspect FILE [--verify] [--json]

Prints the header of an RTS package (section offsets and sizes, alignment, checksums) or the
trailer of an executable with an embedded model. \`vector-boot inspect FILE\` does the same when
FILE is one of those. Every range is checked against the file size; a corrupt header exits 65
with a message naming the field.

Options:
  --verify     also check the SHA-256 of the sections
  --json       print one JSON object
  -h, --help   this text`;

const schema = z.object({
  verify: z.boolean().optional(),
  json: z.boolean().optional(),
  positionals: z.array(nonEmpty).length(1, "exactly one file"),
});

export function formatDescription(d: PackageDescription): string[] {
  const lines = [`${d.path}: ${d.kind === "rts" ? "RTS package" : d.kind === "embedded" ? "executable with an embedded model" : d.kind}, ${d.fileSize} bytes`];
  for (const [k, v] of Object.entries(d.fields)) lines.push(`  ${k}: ${v ?? "-"}`);
  if (d.model) lines.push(`  model: ${d.model.size} bytes at offset ${d.model.offset}`);
  lines.push(`  checksums: ${d.checksums}`);
  return lines;
}

export const command: Command = {
  name: "rts-inspect",
  summary: "print the header of an RTS package or an executable's model trailer",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommandArgs("rts-inspect", args, { verify: { type: "boolean" }, json: { type: "boolean" } }, schema);
    requireInputFile(a.positionals[0]!, "rts-inspect");
    const d = describePackage(a.positionals[0]!, { verify: a.verify });
    if (a.json) out(JSON.stringify(d));
    else for (const l of formatDescription(d)) out(l);
    // Exit 65 said nothing on stderr; the error line says why.
    if (d.kind === "unknown") throw new PackageError("file", `${a.positionals[0]} is neither an RTS package nor an executable with an embedded model`);
    return 0;
  },
};
