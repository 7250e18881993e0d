// A service's unterminated output line belongs to the pipe it came from: a new run's pipes start with none.
import { expect, test } from "bun:test";
import { writeSync } from "node:fs";
import { validateConfig } from "../../src/config/load.ts";
import { ServiceLogs } from "../../src/supervisor/service-logs.ts";
import { closeFdQuietly } from "../../src/sys/fd.ts";

test("a half line of a run's pipe (a process of the old run still holding it) was glued to the first line of the next run's pipe ('halfsecond run'), and its end to nothing: each pipe keeps its own half line", () => {
  const cfg = validateConfig({ services: [{ name: "svc", argv: ["x"], log_console: false }] }).services[0]!;
  const logs = new ServiceLogs(new Map([["svc", cfg]]), null, false);
  const open: number[] = [];
  try {
    // Run 1 writes a prompt without a newline; a process of that run (cgroups off: a daemon it left
    // behind) keeps its stdout open after its main process exited.
    const [out1, err1] = logs.open("svc");
    open.push(out1, err1);
    writeSync(out1, "half");
    logs.drain();
    // Run 2 (a restart) writes its first line.
    const [out2, err2] = logs.open("svc");
    open.push(out2, err2);
    writeSync(out2, "second run\n");
    logs.drain();
    // The old run's process ends its line, then everything closes.
    writeSync(out1, " done\n");
    logs.drain();
    for (const fd of open.splice(0)) closeFdQuietly(fd);
    logs.drain();
    expect(logs.read("svc").lines.map((l) => l.line)).toEqual(["second run", "half done"]);
  } finally {
    for (const fd of open) closeFdQuietly(fd);
    logs.close();
  }
});

test("a half line left at the end of a run's pipe is its own line, not the start of the next run's first line", () => {
  const cfg = validateConfig({ services: [{ name: "svc", argv: ["x"], log_console: false }] }).services[0]!;
  const logs = new ServiceLogs(new Map([["svc", cfg]]), null, false);
  try {
    const [out1, err1] = logs.open("svc");
    writeSync(out1, "no newline");
    logs.drain();
    const [out2, err2] = logs.open("svc");
    writeSync(out2, "next\n");
    for (const fd of [out1, err1, out2, err2]) closeFdQuietly(fd);
    // Both pipes are ready at once (the old one at end of file): whichever is read first.
    logs.drain();
    logs.drain();
    expect(logs.read("svc").lines.map((l) => l.line).sort()).toEqual(["next", "no newline"]);
  } finally {
    logs.close();
  }
});
