// Live re-exec: the file PID 1 hands to its next image (each phase's part), and the exec itself.
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lazy } from "../util/lazy.ts";
import { z } from "../util/zod-mini.ts";
import { ConfigError, describeError, PackageError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { logPipe, readAvailable } from "../sys/log-pipe.ts";
import { execve, kill, spawn } from "../sys/process.ts";
import { bootOptionsSchema } from "./boot-options.ts";
import { HANDOFF_VERSION, handoffVersionsIn } from "./handoff-version.ts";

const log = logger("reexec");

export const HANDOFF_ENV = "VECTOR_BOOT_HANDOFF";

/**
 * Version 2: each phase hands over its own part (`parts[phase name]`, validated by that phase); an
 * image that cannot read the file boots fresh and adopts the running services as orphans.
 */
export const handoffSchema = lazy(() =>
  z.strictObject({
    version: z.literal(HANDOFF_VERSION),
    generation: z.int().check(z.minimum(1)),
    execBoottimeNs: z.number(),
    bootArgs: bootOptionsSchema(),
    parts: z.record(z.string(), z.unknown()),
  }),
);
export type Handoff = z.infer<ReturnType<typeof handoffSchema>>;

/** Reads and deletes the handoff file named by $VECTOR_BOOT_HANDOFF; null on a fresh boot. */
export function consumeHandoff(): Handoff | null {
  const path = process.env[HANDOFF_ENV];
  if (!path) return null;
  delete process.env[HANDOFF_ENV];
  try {
    const raw = JSON.parse(readFileSync(path, "utf8"));
    rmSync(path, { force: true });
    const r = handoffSchema().safeParse(raw);
    if (!r.success) throw new ConfigError(`handoff ${path}`, r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    log.info("resuming after re-exec", { generation: r.data.generation, parts: Object.keys(r.data.parts).join(",") });
    return r.data;
  } catch (e) {
    log.error("handoff state unreadable; booting fresh (running services are adopted as orphans)", { error: describeError(e) });
    return null;
  }
}

/** The executable to re-exec: the given path, else our own (even if replaced on disk). */
export function selfExecutable(): string {
  const p = readlinkSync("/proc/self/exe");
  return p.endsWith(" (deleted)") ? p.slice(0, -" (deleted)".length) : p;
}

/**
 * Checks that a new image starts at all before PID 1 bets its life on it: runs `path --version`
 * as a child (bounded: 30 s, as an emulated, loaded machine can take seconds to start Bun). A
 * binary that is missing, not executable, crashes or hangs is refused, and so is one whose answer
 * is not a vector-boot that reads this image's handoff version; the running image carries on.
 */
export async function preflight(path: string, reaper: Reaper, timeoutMs = 30_000): Promise<void> {
  // Its answer comes through a pipe: exiting 0 is not enough (`/bin/true --version` does).
  const [readEnd, writeEnd] = logPipe();
  let pid: number;
  try {
    pid = spawn({ argv: [path, "--version"], env: { ...process.env, [HANDOFF_ENV]: undefined }, stdio: [-1, writeEnd, -1] });
  } catch (e) {
    closeFdQuietly(readEnd);
    throw e;
  } finally {
    closeFdQuietly(writeEnd);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const drain = () => {
    const buf = new Uint8Array(4096);
    for (let n; size < 65536 && (n = readAvailable(readEnd, buf)) !== null && n > 0; size += n) chunks.push(buf.slice(0, n));
  };
  const status = await new Promise<number | null>((resolve) => {
    const poll = setInterval(drain, 20); // a long answer must not fill the pipe and stall it
    const timer = setTimeout(() => {
      kill(pid, 9);
      clearInterval(poll);
      resolve(null);
    }, timeoutMs);
    reaper.watch(pid, (r) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(r.status);
    });
    reaper.reapNow();
  });
  try {
    drain();
  } finally {
    closeFdQuietly(readEnd);
  }
  if (status !== 0) throw new PackageError(path, status === null ? `did not answer --version within ${timeoutMs} ms` : `--version exited with status ${status}`);
  const said = new TextDecoder().decode(Buffer.concat(chunks));
  const versions = handoffVersionsIn(said);
  if (versions === null || !versions.includes(HANDOFF_VERSION)) {
    const first = JSON.stringify(said.split("\n")[0]!.slice(0, 120));
    throw new PackageError(path, versions === null ? `is not a vector-boot image: its --version said ${first}` : `reads handoff version ${versions.join(",")}, this image writes ${HANDOFF_VERSION}`);
  }
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
    execve(path, argv, { ...process.env, [HANDOFF_ENV]: file });
  } catch (e) {
    if (file) rmSync(file, { force: true });
    log.error("re-exec failed; the running image carries on", { path, error: describeError(e) });
    return e instanceof Error ? e : new Error(String(e));
  }
}
