// Boot phases "init runtime", "load GGUF" and "pixel test": map the model zero-copy, validate it, run it once.
import type { Config } from "../config/schema.ts";
import { describeError, ModelError, PackageError, RuntimeInitError, VectorBootError } from "../errors.ts";
import { logger } from "../log.ts";
import { NeuralRuntime } from "../neural/runtime.ts";
import type { ModelInfo } from "../neural/runtime-types.ts";
import { openModelSource, type ModelSource } from "../rts/model-source.ts";

const log = logger("boot");

/** The seed's unit-test pixels: "Hel", "ell", "loo" and a yellow pixel. */
export const seedPixels: readonly (readonly [number, number, number])[] = [
  [72, 101, 108],
  [101, 108, 108],
  [108, 111, 111],
  [250, 255, 0],
];

export async function initRuntime(): Promise<NeuralRuntime> {
  log.info("phase init-runtime");
  return new NeuralRuntime();
}

/** How the base model is opened: `verify` checks every recorded checksum, `inPlace` maps the file instead of a sealed copy. */
export interface OpenBaseOptions {
  verify?: boolean;
  inPlace?: boolean;
}

export interface LoadedModel {
  source: ModelSource;
  info: ModelInfo;
  /** The options it was opened with: a reopen of the base (openBaseModel) makes the same choices. */
  opened: OpenBaseOptions;
}

/**
 * Opens the configured base model (embedded, .rts or .gguf): the one way the boot opens it, at the
 * runtime phase and when the evolution phase maps it again, so the two cannot drift apart.
 */
export function openBaseModel(config: Config, opts: OpenBaseOptions = {}): ModelSource {
  try {
    // A file's recorded checksum (an RTS package's tensor.sha256) is checked: a damaged package booted.
    // The hash is the lineage's too, so it is computed once either way.
    return openModelSource({ path: config.model, verify: opts.verify ?? config.model !== undefined, inPlace: opts.inPlace ?? false });
  } catch (e) {
    // As from every command (README, "Exit codes"): a malformed GGUF is 2, a damaged package or executable
    // (trailer, checksum, cut short) 65; any other failure to find, read or map the model is init's (1).
    const own = e instanceof RuntimeInitError || e instanceof ModelError || e instanceof PackageError;
    throw e instanceof VectorBootError && !own ? new RuntimeInitError("cannot map the model", { cause: e }) : e;
  }
}

/** Maps the model (openBaseModel), validates all of it, then runs the pixel self-test. */
export async function loadModel(config: Config, runtime: NeuralRuntime, opts: OpenBaseOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const source = openBaseModel(config, opts);
  let info: ModelInfo;
  try {
    info = runtime.initSync(source, true);
  } catch (e) {
    throw e instanceof ModelError ? e : new ModelError(`model in ${source.path} failed to load`, { cause: e });
  }
  log.info("phase load-gguf", { origin: source.origin, path: source.path, model: info.name, tensors: info.tensors, parameters: info.parameters, bytes_mapped: source.size, ms: (performance.now() - t0).toFixed(1) });
  if (config.pixel_test) pixelTest(runtime);
  // Matrices of 1 MiB or more get worker threads (from the executable's own bundle); never fails the boot.
  await runtime.startWorkers();
  return { source, info, opened: { ...opts } };
}

/** The seed's test: the four pixels execute and give a result. A failure is a model failure (exit 2). */
export function pixelTest(runtime: NeuralRuntime): void {
  try {
    // The seed's pixels, as many as the model takes (a valid model may take fewer than four).
    const r = runtime.executePixels(seedPixels.slice(0, runtime.info().pixel.maxPixels).map((p) => [...p]));
    const head = Array.from(r.output.subarray(0, 4), (v) => v.toFixed(4)).join(",");
    log.info("phase pixel-test", { result: "ok", pixels: r.pixels, outputs: r.output.length, top: r.top.index, first: head, ms: r.elapsedMs.toFixed(2) });
  } catch (e) {
    throw new ModelError(`pixel self-test failed: ${describeError(e)}`, { cause: e });
  }
}
