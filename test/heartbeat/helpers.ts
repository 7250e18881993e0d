// Test helpers: small deterministic cortex models, the real supervisor with real child processes, waits.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceSchema } from "../../src/config/schema.ts";
import { cortexInputs } from "../../src/hw/hw-mmio-layout.ts";
import type { CortexModel } from "../../src/heartbeat/cortex-adapter.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { assembleModel } from "../../src/neural/model.ts";
import type { InterruptSpec } from "../../src/neural/default-cortex.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { waitFor as sharedWaitFor } from "../harness/wait.ts";
import { cpuTicks as readTicks, procState as readState } from "../harness/proc-stat.ts";

/** A vectorland model (the neural engineer's builder) wrapped as the heartbeat's CortexModel. */
export function modelFrom(opts: Parameters<typeof buildVectorland>[0]): CortexModel {
  const built = buildVectorland(opts);
  const metadata = new Map<string, unknown>([...built.metadata].map(([k, v]) => [k, v.value]));
  const m = assembleModel({ metadata, tensors: built.tensors });
  const input = new Float32Array(m.spec.cortex.widths[0]!);
  return {
    runCortex(x: Float32Array) {
      const k = m.kernel;
      for (let i = 0; i < x.length; i++) input[i] = Math.min(k.inputMax[i]!, Math.max(k.inputMin[i]!, x[i]!));
      return m.cortex.forward(input);
    },
    cortexInputLayout: () => m.kernel.inputLayout,
    kernelParameters: () => m.kernel,
  };
}

/** Test model: one interrupt per term, each raised when its hw.mmio input reaches `fireAt`. */
export function testModel(terms: { name: string; input: string; fireAt: number; scale: number }[]): CortexModel {
  const names = [...new Set(terms.map((t) => t.input))];
  while (names.length < 4) names.push(`reserved.${names.length}`);
  const interrupts: InterruptSpec[] = terms.map((t) => ({ name: t.name, terms: [{ input: t.input, fireAt: t.fireAt, scale: t.scale }], threshold: 0.5, hysteresis: 0.2 }));
  return modelFrom({ seed: 7, cortexInputs: cortexInputs(names), interrupts, cortexHidden: Math.max(4, terms.length), maxPixels: 4, pixelHidden: [8], pixelOutputs: 4 });
}

/** The real supervisor running `services` (real processes, reaped by the real reaper). */
export function startSupervisor(services: Array<{ name: string; argv: string[]; restart?: "always" | "on-failure" | "never" } & Record<string, unknown>>) {
  const cfg = services.map((s) => serviceSchema.parse({ grace_ms: 500, ...s, no_new_privs: false }));
  const reaper = new Reaper().start(50);
  const sup = new Supervisor(cfg, cfg.map((c) => c.name), reaper);
  sup.startAll();
  return {
    sup,
    async close() {
      await sup.stopAll();
      reaper.stop();
    },
  };
}

/** Polls `cond` every 20 ms until true; throws with `what` after `timeoutMs` (the shared waitFor, arguments in this area's order). */
export function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  return sharedWaitFor(cond, timeoutMs, what, { pollMs: 20 });
}

/** State letter of a process from /proc/<pid>/stat ("T" when stopped), or null when gone. */
export async function procState(pid: number): Promise<string | null> {
  return readState(pid);
}

/** CPU ticks (utime + stime) of a process. */
export async function cpuTicks(pid: number): Promise<number> {
  return readTicks(pid);
}

/** A fake /proc whose CPUs are always busy (/proc/stat rewritten every 10 ms: cpu.total reads 1); other files are the test's to write. */
export function busyProc(): { root: string; close: () => void } {
  const root = mkdtempSync(join(tmpdir(), "vb-busy-"));
  let ticks = 1000;
  const write = () => {
    ticks += 10;
    writeFileSync(join(root, "stat.tmp"), `cpu  ${ticks} 0 0 100 0 0 0 0\ncpu0 ${ticks} 0 0 100 0 0 0 0\n`);
    renameSync(join(root, "stat.tmp"), join(root, "stat"));
  };
  write();
  const timer = setInterval(write, 10);
  return {
    root,
    close() {
      clearInterval(timer);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
