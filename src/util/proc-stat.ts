// One /proc/PID/stat line split: the command name (it may hold spaces and parentheses; the last ")" ends it) and the fields after it.

/** The command name and the fields after it: `fields[0]` is proc(5)'s field 3 (state), field n is `fields[n - 3]`. */
export interface StatLine {
  comm: string;
  fields: string[];
}

/** Splits a /proc/PID/stat (or /proc/PID/task/TID/stat) line; null when it is not one. */
export function splitStat(text: string): StatLine | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  return { comm: text.slice(open + 1, close), fields: text.slice(close + 2).split(" ") };
}

/** Field `n` as proc(5) numbers them (3 state, 4 ppid, 14/15 utime/stime, 22 starttime, 41 policy), or undefined past the end. */
export function statField(line: StatLine, n: number): string | undefined {
  return line.fields[n - 3];
}
