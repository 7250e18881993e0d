// What a packaging file is (RTS package, executable with an embedded model, plain GGUF) and what its header/trailer say.
import { fstatSync, readSync } from "node:fs";
import { hex } from "./checksum.ts";
import { locateEmbeddedModel } from "./embed.ts";
import { isRtsMagic } from "./format.ts";
import { readRtsHeaderFd, verifyRtsFd, withPackageFd } from "./package.ts";

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

/** Describes `path`; with `verify`, also checks the section checksums (throws PackageError on a mismatch). */
export function describePackage(path: string, opts: { verify?: boolean } = {}): PackageDescription {
  return withPackageFd(path, (fd) => describePackageFd(fd, path, opts));
}

/**
 * describePackage through one open descriptor of `path`: the magic, the header or trailer and the
 * checksums all come from the same file, even when another is renamed over `path` meanwhile.
 */
export function describePackageFd(fd: number, path: string, opts: { verify?: boolean } = {}): PackageDescription {
  const size = fstatSync(fd).size;
  const magic = new Uint8Array(Math.min(4, size));
  const h = { bytes: magic.subarray(0, readSync(fd, magic, 0, magic.length, 0)), size };
  if (isRtsMagic(h.bytes)) {
    const hdr = readRtsHeaderFd(fd, path);
    let checksums: PackageDescription["checksums"] = hdr.checksums ? "not checked" : "absent";
    if (opts.verify && hdr.checksums) {
      verifyRtsFd(fd, path);
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
  const emb = locateEmbeddedModel(fd, { verify: opts.verify, name: path });
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
