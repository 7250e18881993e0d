// Live re-exec: the file PID 1 hands to its next image (each phase's part), and the exec itself.
import { issuesText } from "../util/issues-text.ts";
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { lazy } from "../util/lazy.ts";
import { z } from "../util/zod-mini.ts";
import { ConfigError, describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { execve } from "../sys/process.ts";
import { consoleDrain } from "../util/console-out.ts";
import { bootOptionsSchema } from "./boot-options.ts";
import { HANDOFF_READS } from "./handoff-version.ts";

const log = logger("reexec");

export const HANDOFF_ENV = "VECTOR_BOOT_HANDOFF";

/** The name reexec() gives the file in run_dir (src/util/own-dir.ts adopts a directory holding such files). */
const HANDOFF_FILE = /^handoff-\d+-\d+\.json$/;

/**
 * Version 2: each phase hands over its own part (`parts[phase name]`, validated by that phase); an
 * image that cannot read the file boots fresh and adopts the running services as orphans. Version 3
 * (written now; 2 still read): a service's state may be `done`.
 */
export const handoffSchema = lazy(() =>
  z.strictObject({
    version: z.literal(HANDOFF_READS as [number, ...number[]]),
    generation: z.int().check(z.minimum(1)),
    execBoottimeNs: z.number(),
    bootArgs: bootOptionsSchema(),
    parts: z.record(z.string(), z.unknown()),
  }),
);
export type Handoff = z.infer<ReturnType<typeof handoffSchema>>;

/**
 * Reads and deletes the handoff file named by $VECTOR_BOOT_HANDOFF; null on a fresh boot. The file is
 * deleted whatever it holds (when it has the name reexec() gives it): one cut short (not JSON) was
 * logged as unreadable and left in run_dir.
 */
export function consumeHandoff(): Handoff | null {
  const path = process.env[HANDOFF_ENV];
  if (!path) return null;
  delete process.env[HANDOFF_ENV];
  // Only a file named as reexec() names it: a stray $VECTOR_BOOT_HANDOFF naming another file is not deleted.
  const ours = HANDOFF_FILE.test(basename(path));
  try {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } finally {
      if (ours) rmSync(path, { force: true });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`handoff ${path}`, `not JSON (${text.length} bytes, cut short?)`, { cause: e });
    }
    const r = handoffSchema().safeParse(raw);
    if (!r.success) throw new ConfigError(`handoff ${path}`, issuesText(r.error.issues));
    log.info("resuming after re-exec", { generation: r.data.generation, parts: Object.keys(r.data.parts).join(",") });
    return r.data;
  } catch (e) {
    log.error(`handoff state unreadable${ours ? " (file removed)" : ""}; booting fresh (running services are adopted as orphans)`, { error: describeError(e) });
    return null;
  }
}

/** The executable to re-exec: the given path, else our own (even if replaced on disk). */
export function selfExecutable(): string {
  const p = readlinkSync("/proc/self/exe");
  return p.endsWith(" (deleted)") ? p.slice(0, -" (deleted)".length) : p;
}

/** Writes the state and execs `path`. Returns only if exec failed (the old image keeps running). */
export function reexec(state: Handoff, runDir: string, path = selfExecutable()): Error {
  let file = "";
  try {
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    file = join(runDir, `handoff-${process.pid}-${state.generation}.json`);
    writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
    const a = state.bootArgs;
    const argv = ["vector-boot", "boot", ...(a.configFile ? ["--config", a.configFile] : []), ...(a.model ? ["--model", a.model] : []), ...(a.cmdline !== undefined ? ["--cmdline", a.cmdline] : []), ...a.extraCmdline.flatMap((k) => ["--set", k.replace(/^vector\./, "")])];
    log.info("exec", { path, generation: state.generation });
    // What a slow console has waiting (this line included) goes before the exec, briefly: the exec
    // drops it. Bounded: the services' timers and the watchdog wait meanwhile.
    consoleDrain(100);
    execve(path, argv, { ...process.env, [HANDOFF_ENV]: file });
  } catch (e) {
    if (file) rmSync(file, { force: true });
    log.error("re-exec failed; the running image carries on", { path, error: describeError(e) });
    return e instanceof Error ? e : new Error(String(e));
  }
}
