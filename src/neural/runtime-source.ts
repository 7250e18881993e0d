// Opens a model path for NeuralRuntime.init: mapped read-only through the native shim (an RTS package's checksum checked), else read into memory.
import { RuntimeInitError, SysError, VectorBootError } from "../errors.ts";
import { logger } from "../log.ts";
import { kindOf } from "../util/kind-of.ts";
import type { MappedModel } from "./runtime-types.ts";

const log = logger("neural");

/** The model at `path`, and whether its bytes count as mapped from a file. */
export async function openModelPath(path: string): Promise<{ source: Uint8Array | MappedModel; fromFile: boolean }> {
  let open: typeof import("../rts/model-source.ts").openModelSource;
  try {
    open = (await import("../rts/model-source.ts")).openModelSource;
  } catch (err) {
    return readModel(path, err);
  }
  try {
    // An RTS package's recorded tensor.sha256 is checked, as the boot checks it: a package with a
    // flipped weight ran silently (pixels exit 0, a different result) where boot and verify said 65.
    return { source: open({ path, verify: true }), fromFile: true };
  } catch (err) {
    // The shim is opened at its first use (src/sys/lib.ts), so its absence shows here, not at the import.
    if (err instanceof SysError && err.syscall === "dlopen") return readModel(path, err);
    if (err instanceof VectorBootError) throw err;
    throw new RuntimeInitError(`cannot map model ${path}`, { cause: err });
  }
}

/** No native shim (e.g. a library user without dist/native): the file read into memory instead of mapped. */
async function readModel(path: string, why: unknown): Promise<{ source: Uint8Array; fromFile: false }> {
  log.warn("read-only mapping unavailable; reading the model into memory", { path, error: String(why) });
  try {
    return { source: new Uint8Array(await Bun.file(path).arrayBuffer()), fromFile: false };
  } catch (cause) {
    throw new RuntimeInitError(`cannot read model ${path}`, { cause });
  }
}

/** The bytes of a model source given to init/initSync, checked (a JavaScript caller may pass anything). */
export function sourceBytes(source: Uint8Array | MappedModel, call: string): Uint8Array {
  if (source instanceof Uint8Array) return source;
  const problem = source === null || typeof source !== "object"
    ? `got ${kindOf(source)}`
    : !(source.bytes instanceof Uint8Array)
      ? `got an object whose bytes is ${kindOf(source.bytes)}`
      : source.unmap !== undefined && typeof source.unmap !== "function"
        ? `got an object whose unmap is ${kindOf(source.unmap)}, not a function`
        : null;
  if (problem) throw new RuntimeInitError(`${call}(source): the model source must be bytes (Uint8Array), a path, or { bytes, unmap? }; ${problem}`);
  return source.bytes;
}
