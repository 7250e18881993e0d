// Reads the process tree from /proc: the descendants of a pid (the init's, to stop them in order).
import { nodeFs } from "../util/node-fs.ts";
import { splitStat, statField } from "../util/proc-stat.ts";

export interface ProcEntry {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

/** Parses /proc/PID/stat; null when the process vanished or the line is malformed. */
export function readStat(pid: number, procRoot = "/proc"): ProcEntry | null {
  let text: string;
  try {
    text = nodeFs().readFileSync(`${procRoot}/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  const line = splitStat(text);
  if (line === null) return null;
  const ppid = Number(statField(line, 4));
  if (!Number.isInteger(ppid)) return null;
  return { pid, ppid, state: statField(line, 3) ?? "?", comm: line.comm };
}

export function listProcesses(procRoot = "/proc"): ProcEntry[] {
  const out: ProcEntry[] = [];
  let names: string[];
  try {
    names = nodeFs().readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const e = readStat(Number(n), procRoot);
    if (e) out.push(e);
  }
  return out;
}

/** Every live descendant of `root` (children, grandchildren, ...), zombies excluded unless asked. */
export function descendants(root: number, opts: { includeZombies?: boolean; procRoot?: string } = {}): ProcEntry[] {
  const all = listProcesses(opts.procRoot);
  const children = new Map<number, ProcEntry[]>();
  for (const p of all) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcEntry[] = [];
  const stack = [root];
  const seen = new Set<number>([root]);
  while (stack.length > 0) {
    const cur = stack.pop()!;
    for (const c of children.get(cur) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      if (opts.includeZombies || c.state !== "Z") out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}
