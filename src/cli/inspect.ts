// `vector-boot inspect FILE [--json]`: a gguf-dump for GGUF files, RTS packages and executables with an embedded model.
import { closeSync, readSync } from "node:fs";
import { z } from "zod";
import { GGUF_VALUE_TYPE_NAMES, type GgufFile, type GgufValue, readGguf, toJsonValue } from "../gguf/index.ts";
import { setLogLevel } from "../log.ts";
import { PackageError } from "../errors.ts";
import { locateEmbeddedModel } from "../rts/embed.ts";
import { isElfMagic } from "../initramfs/elf.ts";
import { isRtsMagic } from "../rts/format.ts";
import { checkMappableModel, type ModelSource, openModelSource } from "../rts/model-source.ts";
import { fileSize, mapFileReadOnly } from "../sys/mmap.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { type Command, wantsHelp } from "./command.ts";
import { openInputFile } from "../util/regular-file.ts";
import { escapeC1 } from "../util/terminal-text.ts";

const help = `Usage: vector-boot inspect FILE [--json] [--max-items N]

Shows a GGUF model like gguf-dump: the header (version, byte order, alignment, where the data
section starts), every metadata key with its type and value, and every tensor with its ggml type,
shape (ggml order, fastest dimension first), absolute byte offset and size. FILE is a .gguf, an
RTS package (its tensor section is shown) or a vector-boot executable with an embedded model.
The file is mapped read-only and parsed strictly; a malformed GGUF exits 2 naming the field and
the byte offset.

Options:
  --json          one JSON object: { path, origin, modelOffset, version, littleEndian, alignment,
                  byteLength, tensorInfoEnd, dataOffset, metadata: { key: { type, itemType?, value } },
                  tensors: [{ name, type, typeId, ne, nElements, offset, relOffset, size }] }
                  (offsets are absolute in the GGUF; add modelOffset for the position in FILE)
  --max-items N   array items shown per metadata key (default 8 in text, all in JSON)
  -h, --help      this text

Examples:
  vector-boot inspect dist/vectorland.gguf
  vector-boot inspect --json model.rts | jq '.tensors[] | select(.type == "Q8_0")'`;

const schema = z.object({
  json: z.boolean().optional(),
  "max-items": z.string().regex(/^\d+$/, "must be a non-negative integer").optional(),
  positionals: z.array(nonEmpty).length(1, "exactly one FILE"),
});

function head(path: string): Uint8Array {
  const fd = openInputFile(path, "inspect");
  try {
    const b = new Uint8Array(4);
    return b.subarray(0, readSync(fd, b, 0, 4, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * RTS package: its tensor section; a program with a trailer (ELF or not, as `verify` reads it): the
 * embedded model; anything else is read as a GGUF (and refused by its magic if not one). A script
 * with a model appended was refused by `inspect` ("GGUF magic ... found 23 21 2f 62") while
 * `verify` and `rts-inspect` read it.
 */
function open(path: string): ModelSource {
  const h = head(path);
  if (isRtsMagic(h)) return openModelSource({ path, inPlace: true });
  if (String.fromCharCode(...h) !== "GGUF") {
    if (locateEmbeddedModel(path)) return openModelSource({ exePath: path, fallbackPath: null });
    // An ELF without a model is bad input (65), not a runtime that failed to start (1, "pass --model").
    if (isElfMagic(h)) throw new PackageError("file", `${path} is an executable without an embedded model`);
  }
  const size = fileSize(path);
  if (size === 0) return { bytes: new Uint8Array(0), origin: "gguf", path, offset: 0, size: 0, mapPath: path, mapOffset: 0, unmap() {} };
  checkMappableModel(path, size);
  // A tool, not PID 1: the file is mapped as it is (no copy of a large model just to read its header).
  const m = mapFileReadOnly(path);
  return { bytes: m.bytes, origin: "gguf", path, offset: 0, size: m.length, mapPath: path, mapOffset: 0, unmap: () => m.unmap() };
}

function typeLabel(v: GgufValue): string {
  return v.type === 9 ? `[${GGUF_VALUE_TYPE_NAMES[v.itemType]}]` : GGUF_VALUE_TYPE_NAMES[v.type]!;
}

function show(x: unknown): string {
  return typeof x === "string" ? quoted(x) : String(x);
}

/** JSON-quoted with C1 controls (and DEL) escaped too: JSON.stringify leaves U+007F-U+009F as they are (an 8-bit CSI). */
function quoted(s: string): string {
  return escapeC1(JSON.stringify(s));
}

function valueText(v: GgufValue, maxItems: number): string {
  if (v.type !== 9) return show(v.value);
  const arr = v.value as ArrayLike<unknown>;
  const items: string[] = [];
  for (let i = 0; i < Math.min(arr.length, maxItems); i++) items.push(show(arr[i]));
  const more = arr.length > maxItems ? `${items.length > 0 ? ", " : ""}... ${arr.length - maxItems} more` : "";
  return `[${items.join(", ")}${more}]`;
}

/**
 * A key or tensor name as text: as it is when it is plain, JSON-quoted when it holds control
 * characters (a key with an escape sequence or a newline painted the terminal or forged lines).
 */
function nameText(s: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(s) ? quoted(s) : s;
}

function jsonReport(g: GgufFile, path: string, origin: string, modelOffset: number, maxItems: number): string {
  // No prototype: a key named "__proto__" (any string is a GGUF key) is an entry like the others.
  const metadata: Record<string, unknown> = Object.create(null);
  for (const [k, v] of g.metadata) {
    const value = toJsonValue(v, maxItems); // only the items shown are converted
    metadata[k] = v.type === 9
      ? { type: "ARRAY", itemType: GGUF_VALUE_TYPE_NAMES[v.itemType], count: (v.value as ArrayLike<unknown>).length, value }
      : { type: GGUF_VALUE_TYPE_NAMES[v.type], value };
  }
  const tensors = g.tensors.map((t) => ({
    name: t.name, type: t.typeName, typeId: t.type, ne: t.ne, nElements: t.nElements, offset: t.absOffset, relOffset: t.relOffset, size: t.nBytes,
  }));
  return JSON.stringify({
    path, origin, modelOffset, version: g.version, littleEndian: g.littleEndian, alignment: g.alignment, byteLength: g.byteLength,
    tensorInfoEnd: g.tensorInfoEnd, dataOffset: g.dataOffset, metadata, tensors,
  });
}

function textReport(g: GgufFile, path: string, origin: string, modelOffset: number, maxItems: number): string[] {
  const lines = [
    `${path}: GGUF v${g.version}, ${g.littleEndian ? "little" : "big"}-endian, alignment ${g.alignment}, ${g.byteLength} bytes` +
      (origin === "gguf" ? "" : ` (${origin} model at byte ${modelOffset})`),
    `* header: tensor infos end at ${g.tensorInfoEnd}, data section at ${g.dataOffset}`,
    `* ${g.metadata.size} key/value pair(s)`,
  ];
  let i = 0;
  for (const [k, v] of g.metadata) {
    const n = v.type === 9 ? (v.value as ArrayLike<unknown>).length : 1;
    lines.push(`${String(++i).padStart(6)}: ${typeLabel(v).padEnd(10)} | ${String(n).padStart(8)} | ${nameText(k)} = ${valueText(v, maxItems)}`);
  }
  lines.push(`* ${g.tensors.length} tensor(s)`);
  if (g.tensors.length > 0) {
    lines.push(`${"#".padStart(6)}  ${"elements".padStart(12)} | ${"shape (ne)".padEnd(26)} | ${"type".padEnd(7)} | ${"offset".padStart(12)} | ${"size".padStart(12)} | name`);
  }
  g.tensors.forEach((t, j) => {
    const shape = t.ne.map((d) => String(d).padStart(5)).join(", ");
    lines.push(`${String(j + 1).padStart(6)}: ${String(t.nElements).padStart(12)} | ${shape.padEnd(26)} | ${t.typeName.padEnd(7)} | ${String(t.absOffset).padStart(12)} | ${String(t.nBytes).padStart(12)} | ${nameText(t.name)}`);
  });
  return lines;
}

export const command: Command = {
  name: "inspect",
  summary: "show a GGUF (or an RTS package's / executable's model): header, metadata, tensors (--json)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommandArgs("inspect", args, { json: { type: "boolean" }, "max-items": { type: "string" } }, schema);
    const file = a.positionals[0]!;
    const maxItems = a["max-items"] !== undefined ? Number(a["max-items"]) : a.json ? Number.MAX_SAFE_INTEGER : 8;
    setLogLevel("error");
    const src = open(file);
    try {
      const g = readGguf(src.bytes);
      if (a.json) out(escapeC1(jsonReport(g, file, src.origin, src.offset, maxItems)));
      else for (const line of textReport(g, file, src.origin, src.offset, maxItems)) out(line);
    } finally {
      src.unmap();
    }
    return 0;
  },
};
