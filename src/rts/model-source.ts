// Finds the model to boot (embedded in the executable, an RTS tensor section, or a .gguf) and maps it read-only, zero-copy.
import { closeSync, existsSync, fstatSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { GgufError, PackageError, RuntimeInitError } from "../errors.ts";
import { logger } from "../log.ts";
import { MAX_MAP_BYTES, mapFileReadOnly, mapSealedCopy, pageSize } from "../sys/mmap.ts";
import { runningCompiled } from "../util/bundle.ts";
import { openRegularFile } from "../util/regular-file.ts";
import { realPathOr } from "../util/real-path.ts";
import { bytesEqual, hex, sha256 } from "./checksum.ts";
import { locateEmbeddedModel, type EmbeddedModel } from "./embed.ts";
import { crc32c } from "../journal/crc32c.ts";
import { isRtsMagic } from "./format.ts";
import { readRtsHeaderFd } from "./package.ts";

const log = logger("model-source");

export type ModelOrigin = "embedded" | "rts" | "gguf";

export interface ModelSource {
  /** The GGUF bytes: a view over a read-only private mapping (never a heap copy). Valid until `unmap()`. */
  bytes: Uint8Array;
  origin: ModelOrigin;
  /** File the model was read from. */
  path: string;
  /** Absolute offset of the GGUF inside `path`, and its size. */
  offset: number;
  size: number;
  /** What is mapped: `path` itself (the running executable) or a sealed copy (/proc/self/fd/N at 0). */
  mapPath: string;
  mapOffset: number;
  /** SHA-256 of the GGUF bytes when already known (the executable's trailer records it). */
  sha256?: Uint8Array;
  unmap(): void;
}

export interface ModelSourceOptions {
  /** A .gguf or .rts file; omitted: the model embedded in the running executable. */
  path?: string;
  /** Check the SHA-256 recorded in the trailer / RTS header against the mapped bytes (reads the whole model). */
  verify?: boolean;
  /**
   * Map a file in place instead of a sealed copy: for a read-only tool (inspect, verify), where a
   * file changed under it can only fail that tool, and a copy of a 512 MiB model cost 512 MiB of RAM.
   */
  inPlace?: boolean;
  /**
   * An open descriptor of `path` (or of `exePath`): every byte (magic, header or trailer, model) is read
   * through it, so a file renamed over the path meanwhile cannot mix in. Not closed here.
   */
  fd?: number;
  /** Executable to look in when no path is given (default /proc/self/exe). */
  exePath?: string;
  /** Used when the executable carries no model (running unbuilt: `bun src/main.ts`). Default: <project>/dist/vectorland.gguf. */
  fallbackPath?: string | null;
}

/**
 * Refuses a model too large to map (exit 1, "cannot be mapped") before any mapping or copy: it failed
 * as "RangeError: Out of memory" (70), after `boot` had copied all of it into a memfd.
 */
export function checkMappableModel(path: string, size: number): void {
  if (size > MAX_MAP_BYTES) {
    throw new RuntimeInitError(`model in ${path} is ${size} bytes: models larger than 4 GiB (${MAX_MAP_BYTES} bytes) cannot be mapped by this runtime (Bun's ArrayBuffer limit)`);
  }
}

/** The path that opens the file an open descriptor refers to (the same inode, whatever was renamed over its name since). */
const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

/**
 * Maps [offset, offset+size) of `path` (through `via`, default `path`: /proc/self/fd/N for an open
 * descriptor of it); the mapping starts at the page below `offset` so any offset works.
 */
function mapRange(path: string, offset: number, size: number, origin: ModelOrigin, via = path): ModelSource {
  checkMappableModel(path, size);
  const page = pageSize();
  const start = offset - (offset % page);
  // The page below `offset` makes the mapping longer than the model: one just under 4 GiB at an
  // unaligned offset failed in mmap (71, naming /proc/self/fd/N) instead of this runtime's limit.
  if (offset - start + size > MAX_MAP_BYTES) {
    throw new RuntimeInitError(`model in ${path} is ${size} bytes at byte ${offset}, not page-aligned: mapping it takes ${offset - start + size} bytes, more than this runtime maps (4 GiB, ${MAX_MAP_BYTES} bytes)`);
  }
  const m = mapFileReadOnly(via, start, offset - start + size);
  const bytes = m.bytes.subarray(offset - start, offset - start + size);
  return { bytes, origin, path, offset, size, mapPath: path, mapOffset: offset, unmap: () => m.unmap() };
}

/**
 * A model file anyone may replace (`cp new.gguf model.gguf` truncates it in place): its bytes are
 * copied into a sealed memfd and that is mapped, so no change to the file can SIGBUS PID 1. Costs
 * one copy in page cache; the executable's own model stays zero-copy (it cannot be written while
 * it runs).
 */
function mapCopy(path: string, offset: number, size: number, origin: ModelOrigin, via = path): ModelSource {
  checkMappableModel(path, size);
  const m = mapSealedCopy(via, offset, size);
  return { bytes: m.bytes, origin, path, offset, size, mapPath: m.mapPath, mapOffset: 0, unmap: () => m.unmap() };
}

function checkSha(src: ModelSource, expected: Uint8Array, field: string): void {
  const actual = sha256(src.bytes);
  if (!bytesEqual(actual, expected)) {
    src.unmap();
    throw new PackageError(field, `model bytes in ${realPathOr(src.path)} hash to ${hex(actual)}, expected ${hex(expected)}: the file is damaged; copy or build it again`);
  }
  src.sha256 = actual; // the lineage's identity, computed once
}

/**
 * The boot's check of a small embedded model: its CRC32C against the trailer's. It finds a flipped
 * or overwritten weight as surely as SHA-256 for damage that is not crafted (whoever can craft the
 * bytes can rewrite the trailer's SHA-256 as well); `verify` and `boot --check` still hash it.
 */
function checkCrc(src: ModelSource, found: EmbeddedModel): void {
  const actual = crc32c(src.bytes);
  if (actual === found.crc32c) return;
  src.unmap();
  const h = (x: number) => x.toString(16).padStart(8, "0");
  throw new PackageError("trailer.crc32c", `model bytes in ${realPathOr(src.path)} have CRC32C ${h(actual)}, the trailer says ${h(found.crc32c!)}: the file is damaged; copy or build it again`);
}

/**
 * A model file, read through one descriptor (`given`, else opened here): the magic, the RTS header and
 * the mapped or copied bytes come from one file. (Each was read through an open of its own: a file
 * renamed over the path in between mixed one file's header with another's bytes.)
 */
function openFile(path: string, verify: boolean, inPlace: boolean, given?: number): ModelSource {
  if (given === undefined && !existsSync(path)) throw new RuntimeInitError(`model file ${path} does not exist`);
  let fd: number;
  try {
    fd = given ?? openRegularFile(path);
  } catch (cause) {
    throw new RuntimeInitError(`cannot read model ${path}`, { cause });
  }
  try {
    return openFileFd(fd, path, verify, inPlace);
  } finally {
    if (given === undefined) closeSync(fd);
  }
}

function openFileFd(fd: number, path: string, verify: boolean, inPlace: boolean): ModelSource {
  const map = (offset: number, size: number, origin: ModelOrigin): ModelSource => (inPlace ? mapRange : mapCopy)(path, offset, size, origin, fdPath(fd));
  const buf = new Uint8Array(4);
  const head = buf.subarray(0, readSync(fd, buf, 0, 4, 0));
  if (isRtsMagic(head)) {
    const h = readRtsHeaderFd(fd, path);
    const src = map(h.tensorOffset, h.tensorSize, "rts");
    if (verify && h.checksums) checkSha(src, h.checksums.tensorSha256, "tensor.sha256");
    log.info("model mapped", { origin: "rts", path, offset: h.tensorOffset, bytes: h.tensorSize, checksums: h.checksums ? (verify ? "verified" : "present") : "absent" });
    return src;
  }
  // Not an RTS package: a GGUF file, so a wrong or short magic is a malformed GGUF (exit 2, as inspect says).
  if (String.fromCharCode(...head) !== "GGUF") {
    throw new GgufError("magic", 0, `${path} is neither an RTS package nor a GGUF file (magic ${hex(head) || "absent: the file has " + head.length + " bytes"})`);
  }
  const src = map(0, fstatSync(fd).size, "gguf");
  log.info("model mapped", { origin: "gguf", path, bytes: src.size });
  return src;
}

/**
 * The model's identity for lineage (hex SHA-256 of its GGUF bytes): the executable's trailer
 * records it; for a file it is computed once over the mapped bytes (~1 s per GiB) and kept.
 */
export function modelSha256(src: ModelSource): string {
  src.sha256 ??= sha256(src.bytes);
  return hex(src.sha256);
}

/**
 * An embedded model up to this size is checked at every boot: against its trailer's CRC32C (64 MiB
 * in ~8 ms with SSE4.2; SHA-256 took ~42 ms) or, in an executable built before the trailer recorded
 * one, its SHA-256. A larger one only when asked (`boot --check`, `verify`, with SHA-256), as the
 * check reads every page of a model that is otherwise mapped and paged in on use.
 */
export const VERIFY_EMBEDDED_MAX_BYTES = 64 << 20;

/** Fallback when running from source: dist/vectorland.gguf at the project root. None in a compiled executable. */
export const defaultFallbackModel: string | null = runningCompiled ? null : resolve(import.meta.dir, "../../dist/vectorland.gguf");

/**
 * Opens the model to boot. No path: the GGUF embedded in the running executable (trailer at the end of
 * /proc/self/exe); when the executable carries none (running unbuilt under `bun`), the fallback file with
 * a log line saying so. A path: an RTS package (detected by its magic; its tensor section) or a plain GGUF.
 */
export function openModelSource(opts: ModelSourceOptions = {}): ModelSource {
  const verify = opts.verify ?? false;
  if (opts.path !== undefined) return openFile(opts.path, verify, opts.inPlace ?? false, opts.fd);
  const exe = opts.exePath ?? "/proc/self/exe";
  const found = opts.fd === undefined ? locateEmbeddedModel(exe) : locateEmbeddedModel(opts.fd, { name: exe });
  if (found) {
    const src = mapRange(exe, found.offset, found.size, "embedded", opts.fd === undefined ? exe : fdPath(opts.fd));
    // A small model costs little to hash (the default one: 44 KB, a few microseconds): a weight byte
    // flipped in a copy then fails the boot (65) instead of running a silently different model.
    const check = verify || found.size <= VERIFY_EMBEDDED_MAX_BYTES;
    if (verify || (check && found.crc32c === null)) checkSha(src, found.sha256, "trailer.sha256");
    else if (check) checkCrc(src, found);
    src.sha256 = found.sha256;
    log.info("model mapped", { origin: "embedded", path: exe, offset: found.offset, bytes: found.size, verified: check });
    return src;
  }
  const exeReal = realPathOr(exe);
  const fallback = opts.fallbackPath === undefined ? defaultFallbackModel : opts.fallbackPath;
  if (fallback && existsSync(fallback)) {
    log.warn("no model embedded in the executable (running unbuilt?); using the fallback file", { exe: exeReal, model: fallback });
    return openFile(fallback, verify, false);
  }
  throw new RuntimeInitError(
    `no model embedded in ${exeReal}${fallback ? ` and no ${fallback}` : ""}: build with scripts/build.ts or pass --model FILE (.gguf or .rts)`,
  );
}
