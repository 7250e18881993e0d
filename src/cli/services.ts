// `vector-boot services`: the service table of a running instance (state, pid, restarts, last exit status).
import { ask, commonOptionsHelp, duration, out, parseCommon, table } from "../control/cli-support.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot services [--json] [--socket PATH] [--timeout MS]

Lists the services of the running vector-boot (over its control socket): name, state, pid,
restarts, last exit status, how long the current process has run.

Options:
${commonOptionsHelp}`;

interface Row {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastStatus: number | null;
  runningMs?: number | null;
}

export const command: Command = {
  name: "services",
  summary: "list the services of a running instance (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommon("services", args, []);
    const list = (await ask(a, { op: "services" })) as Row[];
    if (a.json) {
      out(JSON.stringify(list));
      return 0;
    }
    if (list.length === 0) {
      out("no services configured");
      return 0;
    }
    const dash = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
    out(table(["NAME", "STATE", "PID", "RESTARTS", "LAST", "UP"], list.map((s) => [s.name, s.state, dash(s.pid), String(s.restarts), dash(s.lastStatus), typeof s.runningMs === "number" ? duration(s.runningMs) : "-"])));
    return 0;
  },
};
