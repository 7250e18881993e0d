// Boot phases "init runtime" and "load GGUF": map the model zero-copy, validate it, run the pixel test.
import type { Config } from "../config/schema.ts";
import { ModelError, RuntimeInitError } from "../errors.ts";
import { readGguf, type GgufFile } from "../gguf/index.ts";
import { logger } from "../log.ts";
import { openModelSource, type ModelSource } from "../rts/model-source.ts";
import type { BootContext } from "./early-setup.ts";
import type { Closer } from "./shutdown.ts";

const log = logger("boot");

export interface Runtime {
  source: ModelSource | null;
  cleanup(): void;
}

export async function initRuntime(_ctx: BootContext, _config: Config): Promise<Runtime> {
  log.info("phase init-runtime");
  const rt: Runtime = {
    source: null,
    cleanup() {
      rt.source?.unmap();
      rt.source = null;
    },
  };
  return rt;
}

export async function loadModel(_ctx: BootContext, config: Config, runtime: Runtime, _after: Closer[]): Promise<void> {
  const t0 = performance.now();
  let src: ModelSource;
  try {
    src = openModelSource({ path: config.model });
  } catch (e) {
    throw new RuntimeInitError("cannot map the model", { cause: e });
  }
  runtime.source = src;
  let file: GgufFile;
  try {
    file = readGguf(src.bytes);
  } catch (e) {
    throw new ModelError(`model in ${src.path} is not a valid GGUF`, { cause: e });
  }
  log.info("phase load-gguf", { origin: src.origin, path: src.path, tensors: file.tensors.length, bytes_mapped: src.size, ms: (performance.now() - t0).toFixed(1) });
}
