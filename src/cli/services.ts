// `vector-boot services`: the service table of a running instance (state, pid, restarts, last exit status).
import { printable } from "../util/terminal-text.ts";
import { ask, commonOptionsHelp, duration, parseCommon, table } from "../control/cli-support.ts";
import { out } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot services [--json] [--socket PATH] [--timeout MS]

Lists the services of the running vector-boot (over its control socket): name, state, pid,
restarts, last exit status, how long the current process has run, and from the service's cgroup
(when cgroups are on): memory.current, CPU time used, number of processes; whether it is ready
(its \`ready\` check passed) and the last STATUS= text it sent over sd_notify.

Options:
${commonOptionsHelp}`;

interface Row {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastStatus: number | null;
  runningMs?: number | null;
  cgroup?: { memoryBytes: number | null; cpuUsec: number | null; pids: number } | null;
  ready?: boolean;
  statusText?: string | null;
  main?: boolean;
}

const mib = (b: number | null | undefined) => (typeof b === "number" ? `${(b / 1048576).toFixed(1)}M` : "-");
const cpu = (us: number | null | undefined) => (typeof us === "number" ? `${(us / 1e6).toFixed(2)}s` : "-");

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
    const rows = list.map((s) => [s.main ? `${s.name} (main)` : s.name, s.state, dash(s.pid), s.ready ? "yes" : "no", String(s.restarts), dash(s.lastStatus), typeof s.runningMs === "number" ? duration(s.runningMs) : "-", mib(s.cgroup?.memoryBytes), cpu(s.cgroup?.cpuUsec), dash(s.cgroup?.pids), printable(s.statusText ?? "")]);
    out(table(["NAME", "STATE", "PID", "READY", "RESTARTS", "LAST", "UP", "MEM", "CPU", "PIDS", "STATUS"], rows).replace(/ +$/gm, ""));
    return 0;
  },
};
