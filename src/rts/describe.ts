// What a packaging file is (RTS package, executable with an embedded model, plain GGUF) and what its header/trailer say.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { PackageError } from "../errors.ts";
import { hex } from "./checksum.ts";
import { locateEmbeddedModel } from "./embed.ts";
import { isRtsMagic } from "./format.ts";
import { readRtsHeaderFd, verifyRts } from "./package.ts";

export type PackageKind = "rts" | "embedded" | "gguf" | "unknown";

export interface PackageDescription {
  kind: PackageKind;
  path: string;
  fileSize: number;
  /** Where the GGUF lives inside the file (absolute offset) and its size; null for "unknown". */
  model: { offset: number; size: number } | null;
  /** Header or trailer fields, ready to print (numbers, hex strings). */
  fields: Record<string, string | number | null>;
  /** "ok" after a successful checksum check, "absent" without checksums, "not checked" without verify. */
  checksums: "ok" | "absent" | "not checked";
}

function head(path: string): { bytes: Uint8Array; size: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    throw new PackageError("file", `cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(Math.min(4, size));
    readSync(fd, bytes, 0, bytes.length, 0);
    return { bytes, size };
  } finally {
    closeSync(fd);
  }
}

/** Describes `path`; with `verify`, also checks the section checksums (throws PackageError on a mismatch). */
export function describePackage(path: string, opts: { verify?: boolean } = {}): PackageDescription {
  const h = head(path);
  if (isRtsMagic(h.bytes)) {
    const fd = openSync(path, "r");
    let hdr;
    try {
      hdr = readRtsHeaderFd(fd, path);
    } finally {
      closeSync(fd);
    }
    let checksums: PackageDescription["checksums"] = hdr.checksums ? "not checked" : "absent";
    if (opts.verify && hdr.checksums) {
      verifyRts(path);
      checksums = "ok";
    }
    return {
      kind: "rts",
      path,
      fileSize: h.size,
      model: { offset: hdr.tensorOffset, size: hdr.tensorSize },
      fields: {
        version: hdr.version,
        binaryOffset: hdr.binaryOffset,
        binarySize: hdr.binarySize,
        tensorOffset: hdr.tensorOffset,
        tensorSize: hdr.tensorSize,
        tensorAlignment: hdr.tensorOffset % 4096 === 0 ? "4096 (mappable in place)" : "unaligned (seed layout)",
        binarySha256: hdr.checksums ? hex(hdr.checksums.binarySha256) : null,
        tensorSha256: hdr.checksums ? hex(hdr.checksums.tensorSha256) : null,
      },
      checksums,
    };
  }
  const emb = locateEmbeddedModel(path, { verify: opts.verify });
  if (emb) {
    return {
      kind: "embedded",
      path,
      fileSize: h.size,
      model: { offset: emb.offset, size: emb.size },
      fields: { programSize: emb.programSize, payloadOffset: emb.offset, payloadSize: emb.size, alignment: emb.alignment, sha256: hex(emb.sha256) },
      checksums: emb.verified ? "ok" : "not checked",
    };
  }
  if (String.fromCharCode(...h.bytes) === "GGUF") {
    return { kind: "gguf", path, fileSize: h.size, model: { offset: 0, size: h.size }, fields: {}, checksums: "absent" };
  }
  return { kind: "unknown", path, fileSize: h.size, model: null, fields: {}, checksums: "absent" };
}
