// Why exec answered ENOENT for a file that is there: its #! interpreter (a CR-ended #! line) or its program loader is missing.
import { nodeFs } from "../util/node-fs.ts";

/**
 * For a command named with a slash (`./entrypoint.sh`, `/app/run`) that exec answered ENOENT: when
 * the file is there, what is missing (the kernel says ENOENT for a missing #! interpreter or ELF
 * program loader too), e.g. `its #! interpreter "/bin/sh\r" is missing (a #! line ending in CR:
 * the file has Windows line ends)`; null when the file itself is missing or cannot be read.
 * `cwd`: the directory the command was to start in (relative names are resolved there).
 */
export function missingInterpreter(cmd: string, cwd: string | undefined): string | null {
  if (!cmd.includes("/")) return null;
  // No node:path either: tini mode loads neither builtin (util/node-fs.ts); the kernel resolves "a//b" and "a/./b" as "a/b".
  const path = cmd.startsWith("/") || !cwd ? cmd : `${cwd}/${cmd}`;
  const fs = nodeFs();
  let head: string;
  try {
    if (!fs.statSync(path).isFile()) return null;
    const fd = fs.openSync(path, "r");
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString("latin1");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  if (!head.startsWith("#!")) return "the file is there: its program loader (ELF interpreter) is missing";
  const interpreter = head.slice(2).split("\n")[0]!.replace(/^[ \t]+/, "").split(/[ \t]/)[0] ?? "";
  const shown = JSON.stringify(interpreter);
  if (interpreter.endsWith("\r")) return `the file is there: its #! interpreter ${shown} is missing (a #! line ending in CR: the file has Windows line ends)`;
  return `the file is there: its #! interpreter ${shown} is missing`;
}
