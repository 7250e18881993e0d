// `vector-boot reexec [PATH]`: asks a running instance to re-exec itself (or a new binary) keeping its state.
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { ask, commonOptionsHelp, describeObject, out, parseCommon } from "../control/cli-support.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot reexec [PATH] [--json] [--socket PATH] [--timeout MS]

Asks the running vector-boot (over its control socket) to replace its image live: the new
executable (PATH, absolute; default the running one) must answer --version first, then PID 1
hands over its state (services and their pids, counters, beat number) and execs it. Services keep
running. Exits 64 when the running instance does not support re-exec.

Options:
${commonOptionsHelp}`;

const absolute = z.string().startsWith("/", "PATH must be absolute");

export const command: Command = {
  name: "reexec",
  summary: "re-exec a running instance live, keeping its services (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommon("reexec", args, [], ["PATH"]);
    const path = a.positionals[0];
    if (path !== undefined) {
      const p = absolute.safeParse(path);
      if (!p.success) throw new UsageError(`reexec: ${p.error.issues[0]!.message}, got ${JSON.stringify(path)}`);
    }
    const r = await ask(a, path === undefined ? { op: "reexec" } : { op: "reexec", path });
    if (a.json) out(JSON.stringify(r));
    else out(r && typeof r === "object" ? `re-exec done\n${describeObject(r)}` : "re-exec done");
    return 0;
  },
};
