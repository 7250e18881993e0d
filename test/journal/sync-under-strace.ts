// Runs a scenario script in a child process under strace: its real fdatasync calls traced, and failed with EIO or made slow on request.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool } from "../../scripts/qemu-support.ts";
import { root } from "../evolution/harness.ts";

/** A source file's absolute path as a string literal, for a scenario script's imports. */
export const at = (rel: string): string => JSON.stringify(join(root, rel));

export interface SyncFaults {
  /**
   * Every fdatasync of the file at this path fails with EIO (strace -P). strace counts `when=N+`
   * per thread, and Bun runs an async fdatasync on whichever pool thread is free, so the disk is
   * made to fail by path instead: the script renames a directory to this path's when it should.
   * Only this path's fdatasync calls are traced then.
   */
  failAt?: string;
  /** Every fdatasync returns this many microseconds late (strace inject delay_exit). */
  delayUs?: number;
}

/** One fdatasync as strace saw it. */
export interface SyncCall {
  tid: number;
  /** When it was entered (wall clock, ms). */
  atMs: number;
  /** The file its descriptor named (strace -y). */
  path: string;
  /** What it returned, e.g. "0", "0 (DELAYED)", "-1 EIO (Input/output error) (INJECTED)". */
  result: string;
}

export interface TracedRun<T> {
  /** What the script printed as JSON on its last line of output. */
  result: T;
  syncs: SyncCall[];
}

/** Writes `body` to `dir/name.ts`, runs it with `args` under strace, and returns its JSON result and its fdatasync calls. */
export async function runUnderStrace<T>(dir: string, name: string, body: string, args: string[], faults: SyncFaults = {}): Promise<TracedRun<T>> {
  const script = join(dir, `${name}.ts`);
  const trace = join(dir, `${name}.trace`);
  writeFileSync(script, body);
  const strace = ensureTool((line) => console.error(line), "strace", "strace");
  const argv = [strace, "-f", "--seccomp-bpf", "-qq", "-y", "-ttt", "-o", trace, "-e", "trace=fdatasync"];
  if (faults.failAt !== undefined) argv.push("-P", faults.failAt, "-e", "inject=fdatasync:error=EIO");
  if (faults.delayUs !== undefined) argv.push("-e", `inject=fdatasync:delay_exit=${faults.delayUs}`);
  const p = Bun.spawn([...argv, process.execPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${name} exited ${code}:\n${out}\n${err}`);
  const last = out.trim().split("\n").at(-1) ?? "";
  return { result: JSON.parse(last) as T, syncs: parseSyncs(readFileSync(trace, "utf8")) };
}

/** fdatasync calls of an strace -f -y -ttt log, an unfinished call joined with its resumption. */
function parseSyncs(log: string): SyncCall[] {
  const calls: SyncCall[] = [];
  const open = new Map<number, SyncCall>();
  for (const line of log.split("\n")) {
    const entry = /^(\d+)\s+(\d+\.\d+) fdatasync\(\d+<([^>]*)>(.*)$/.exec(line);
    if (entry) {
      const call: SyncCall = { tid: Number(entry[1]), atMs: Number(entry[2]) * 1000, path: entry[3]!, result: "" };
      calls.push(call);
      const done = /\)\s+= (.*)$/.exec(entry[4]!);
      if (done) call.result = done[1]!;
      else open.set(call.tid, call);
      continue;
    }
    const resumed = /^(\d+)\s+\d+\.\d+ <\.\.\. fdatasync resumed>.*\)\s+= (.*)$/.exec(line);
    if (resumed) {
      const call = open.get(Number(resumed[1]));
      if (call) call.result = resumed[2]!;
      open.delete(Number(resumed[1]));
    }
  }
  return calls;
}
