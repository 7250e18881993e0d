// `vector-boot status`: what a running instance reports over the control socket (uptime, beats, model, journal).
import { ask, commonOptionsHelp, describeObject, duration, parseCommon } from "../control/cli-support.ts";
import { out } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot status [--json] [--socket PATH] [--timeout MS]

Asks the running vector-boot (over its control socket; root or the configured group only) for its
status: pid, uptime, boot timings, heartbeat statistics, model, journal position. Exits 0 when it
answered, 71 when the socket cannot be reached or refuses the caller.

Options:
${commonOptionsHelp}`;

export const command: Command = {
  name: "status",
  summary: "status of a running instance (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommon("status", args, []);
    const st = (await ask(a, { op: "status" })) as Record<string, unknown>;
    if (a.json) {
      out(JSON.stringify(st));
      return 0;
    }
    const head: string[] = [];
    if (typeof st.pid === "number") head.push(`pid ${st.pid}`);
    if (typeof st.version === "string") head.push(`version ${st.version}`);
    if (typeof st.uptimeMs === "number") head.push(`up ${duration(st.uptimeMs)}`);
    if (head.length > 0) out(`vector-boot: ${head.join(", ")}`);
    const { pid: _p, version: _v, uptimeMs: _u, ...rest } = st;
    if (Object.keys(rest).length > 0) out(describeObject(rest));
    return 0;
  },
};
