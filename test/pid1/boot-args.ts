// Arguments every boot test passes (the model to boot when none is embedded in this build).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { locateEmbeddedModel } from "../../src/rts/embed.ts";
import { exe, root } from "./harness.ts";

export function bootArgs(): string[] {
  if (locateEmbeddedModel(exe)) return [];
  const built = join(root, "dist/vectorland.gguf");
  return ["--model", existsSync(built) ? built : join(root, "../shared/fixtures/gguf/ref-s1-a32.gguf")];
}
