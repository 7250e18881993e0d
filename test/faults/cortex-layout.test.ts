// A model whose cortex reads an input hw.mmio does not have: the README says refused at load; a development boot came up without its cortex and exited 0.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeGguf } from "../../src/gguf/writer.ts";
import type { GgufValue } from "../../src/gguf/value.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { killLeftovers, start, tempDir } from "../pid1/harness.ts";

afterEach(killLeftovers);

function modelReading(field: string): string {
  const b = buildVectorland();
  const layout = b.metadata.get("vectorland.cortex.input_layout") as GgufValue & { value: string[] };
  const md = new Map(b.metadata);
  md.set("vectorland.cortex.input_layout", { ...layout, value: [layout.value[0]!, field, ...layout.value.slice(2)] } as GgufValue);
  const path = join(tempDir(), "layout.gguf");
  writeFileSync(path, writeGguf({ metadata: md, tensors: b.tensors }));
  return path;
}

test("a cortex input hw.mmio does not have ('no.such.field'): a development boot logged 'cortex disabled' and exited 0; it is refused (exit 2, naming the field), while PID 1 beats on without the cortex", async () => {
  const model = modelReading("no.such.field");
  const dir = tempDir();
  const args = ["boot", "--model", model, "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "shutdown_after=1"];
  const dev = await start(args).result(30_000);
  expect(dev.code).toBe(2);
  expect(dev.stderr).toContain("no.such.field");
  const pid1 = await start(args, { pid1: true }).result(30_000);
  expect(pid1.stderr).toContain("cortex disabled: the model and the hw.mmio layout disagree");
  expect(pid1.stderr).toContain("first heartbeat");
}, 60_000);
