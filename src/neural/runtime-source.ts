// Opens a model path for NeuralRuntime.init: mapped read-only through the native shim, else read into memory.
import { RuntimeInitError, VectorBootError } from "../errors.ts";
import { logger } from "../log.ts";
import type { MappedModel } from "./runtime-types.ts";

const log = logger("neural");

/** The model at `path`, and whether its bytes count as mapped from a file. */
export async function openModelPath(path: string): Promise<{ source: Uint8Array | MappedModel; fromFile: boolean }> {
  let open: typeof import("../rts/model-source.ts").openModelSource;
  try {
    open = (await import("../rts/model-source.ts")).openModelSource;
  } catch (err) {
    // No native shim (e.g. a library user without dist/native): read the file instead of mapping it.
    log.warn("read-only mapping unavailable; reading the model into memory", { path, error: String(err) });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
    } catch (cause) {
      throw new RuntimeInitError(`cannot read model ${path}`, { cause });
    }
    return { source: bytes, fromFile: false };
  }
  try {
    return { source: open({ path }), fromFile: true };
  } catch (err) {
    if (err instanceof VectorBootError) throw err;
    throw new RuntimeInitError(`cannot map model ${path}`, { cause: err });
  }
}
