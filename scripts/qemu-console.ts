// The QEMU scripts' reading of a boot's console: ordered checks, the boot's own failure, the stages to the first heartbeat.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BootResult, PANIC, root, type Say } from "./qemu-support.ts";

/** A console check. `literal` names what the boot sequence's sources log (see `bootSources`; only a non-strict run reads it). */
export interface Check {
  step: string;
  re: RegExp;
  literal?: string;
  count?: number;
  /** false: skip the order check (output of a service interleaves with the init's). */
  ordered?: boolean;
}

/** The boot sequence's sources (native/preinit.c, src/main.ts, src/boot, src/supervisor, src/heartbeat), concatenated. */
export function bootSources(): string {
  const dirs = ["src/boot", "src/supervisor", "src/heartbeat"].flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((f) => `${d}/${f}`) : []));
  return ["native/preinit.c", "src/main.ts", ...dirs]
    .filter((f) => f.endsWith(".ts") || f.endsWith(".c"))
    .map((f) => readFileSync(join(root, f), "utf8"))
    .join("\n");
}

/**
 * Runs the checks in order against the console lines; a check that finds nothing fails. Returns the
 * first failed step (null when none). Only a caller that passes `strict: false` and `sources`
 * (scripts/qemu-state-disk.ts without --strict) gets PENDING (reported, not failed) for a check whose
 * literal is not in `sources`; scripts/qemu-smoke.ts is strict only.
 */
export function runChecks(say: Say, lines: string[], checks: Check[], opts: { strict?: boolean; sources?: string; label?: string } = {}): { failed: string | null; pending: string[] } {
  let failed: string | null = null;
  const pending: string[] = [];
  let lastIndex = -1;
  const tag = opts.label ? `${opts.label}: ` : "";
  for (const c of checks) {
    const hits = lines.map((l, i) => (c.re.test(l) ? i : -1)).filter((i) => i >= 0);
    // Order: a step's first line may not come before the previous step's (two checks may read one line).
    const ok = hits.length >= (c.count ?? 1) && (c.ordered === false || hits[0]! >= lastIndex);
    if (ok) {
      if (c.ordered !== false) lastIndex = hits[0]!;
      say(`ok       ${tag}${c.step}${c.count ? ` (${hits.length})` : ""}: ${lines[hits[0]!]!.trim()}`);
    } else if (opts.strict === false && opts.sources !== undefined && c.literal && !opts.sources.includes(c.literal)) {
      pending.push(`${tag}${c.step}`);
      say(`PENDING  ${tag}${c.step}: the boot sequence does not log it yet (no ${JSON.stringify(c.literal)} in its sources)`);
    } else if (!failed) {
      failed = `${tag}${hits.length > 0 && hits.length >= (c.count ?? 1) ? `${c.step} (found, but out of order)` : `${c.step}${c.count ? ` (${hits.length} of ${c.count})` : ""}`}`;
      say(`FAILED   ${tag}${c.step}`);
    }
  }
  return { failed, pending };
}

/** Failure of the boot itself: killed, panicked, or QEMU not ending with 0 after the power-off. */
export function bootFailure(r: BootResult): string | null {
  if (r.killedFor) return `QEMU killed: ${r.killedFor}`;
  if (PANIC.test(r.text)) return "kernel panic";
  if (r.exitCode !== 0) return `QEMU exited ${r.exitCode} (expected 0 after power-off)`;
  return null;
}

export function printConsole(text: string, label = "console log"): void {
  process.stderr.write(`\n----- ${label} (${text.split("\n").length} lines) -----\n${text}\n----- end of ${label} -----\n`);
}

/** Stages of a boot to its first heartbeat, in ms (null: the console does not show the line). */
export interface BootStages {
  /** Kernel start -> the pre-init's first line (the kernel's own boot and the initramfs unpack). */
  kernel: number | null;
  /** Of `kernel`: "Trying to unpack rootfs" -> "Freeing initrd memory" (only printed without `quiet`). */
  unpack: number | null;
  /** Pre-init: mounts, then exec of /sbin/vector-boot. */
  preinit: number | null;
  /** Exec -> the init's "phase early" (Bun's own start). */
  bunStart: number | null;
  /** Phase early -> phase heartbeat (config, model, pixel test, services). */
  runtime: number | null;
  /** Phase heartbeat -> first heartbeat. */
  firstBeat: number | null;
  /** Kernel start -> first heartbeat (the init's since_kernel_ms). */
  total: number | null;
}

/**
 * Splits a console into boot stages. Kernel and pre-init stamps and the init's since_kernel_ms are CLOCK_BOOTTIME
 * (0 at kernel start); the init's own line stamps are anchored on the first heartbeat (offset 0 when the logger
 * already prints time since boot).
 */
export function bootStages(text: string): BootStages {
  const at = (re: RegExp): number | null => {
    // The stamp may follow text without a newline (the firmware's "Booting from ROM.." before a quiet kernel's first line).
    const m = new RegExp(`^[^\\[\\n]*\\[\\s*([\\d.]+)\\][^\\n]*${re.source}`, "m").exec(text);
    return m ? Number(m[1]) * 1000 : null;
  };
  const fb = /^\[\s*([\d.]+)\] heartbeat: first heartbeat .*since_kernel_ms=([\d.]+)/m.exec(text);
  const total = fb ? Number(fb[2]) : null;
  const offset = fb ? total! - Number(fb[1]) * 1000 : null;
  const initAt = (re: RegExp): number | null => {
    const t = at(re);
    return offset === null || t === null ? null : t + offset;
  };
  const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);
  const started = at(/pre-init: started/);
  const exec = at(/pre-init: mounted/);
  const early = initAt(/boot: phase early/);
  const hb = initAt(/heartbeat: phase heartbeat/);
  return {
    kernel: started,
    unpack: diff(at(/Trying to unpack rootfs image as initramfs/), at(/Freeing initrd memory/)),
    preinit: diff(started, exec),
    bunStart: diff(exec, early),
    runtime: diff(early, hb),
    firstBeat: diff(hb, total),
    total,
  };
}
