// `vector-boot restart|stop|start NAME`: acts on one service of a running instance (control socket).
import { commonOptionsHelp, parseCommon } from "../control/cli-support.ts";
import { out } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { serviceRequest } from "./service-ctl-reexec.ts";

type Action = "restart" | "stop" | "start";

const what: Record<Action, string> = {
  restart: "Stops the service (its stop signal, grace period, then SIGKILL) and starts it again; returns once it was started.",
  stop: "Stops the service (its stop signal, grace period, then SIGKILL); returns once it holds no process. It stays stopped until started. A service that holds no process (stopped, exited, failed) is left as it is: 'not running (failed)'.",
  start: "Starts a stopped or failed service; one whose depends_on are not running starts those at rest and waits for them (pending).",
};
const past: Record<Action, string> = { restart: "restarted", stop: "stopped", start: "started" };

function serviceCommand(action: Action): Command {
  const help = `Usage: vector-boot ${action} NAME [--json] [--socket PATH] [--timeout MS]

${what[action]} Talks to the running vector-boot over its control socket. Exits 0 on success,
64 for an unknown service, 71 when the socket cannot be reached or refuses the caller (or the
connection dropped unanswered and no new image answered: it may still carry the request out),
75 when not now (the service is still stopping, also when --timeout ran out during a stop or
restart: the stop goes on; the machine shuts down; a fleet service this node does not hold): try
again later. A start, stop or restart waiting when the instance re-execs live is followed
through: the new image finishes it (a start it had not read is asked of it again), and the exit
status says how it ended (75: a later request won).

Options:
${commonOptionsHelp}`;
  return {
    name: action,
    summary: `${action} a service of a running instance (control socket)`,
    help,
    async run(args) {
      if (wantsHelp(args)) {
        out(help);
        return 0;
      }
      const a = parseCommon(action, args, ["NAME"]);
      const name = a.positionals[0]!;
      // Followed through a live re-exec (the new image finishes a stop, or is asked again).
      const s = (await serviceRequest(action, name, a.socket, a.timeoutMs)) as { state?: string; pid?: number | null; already?: boolean } | null;
      // A service started while its dependencies are not running waits for them ("pending").
      const said = s?.already ? (action === "stop" ? "not running" : "already running") : action !== "stop" && s?.state === "pending" ? "waiting for its dependencies" : past[action];
      if (a.json) out(JSON.stringify(s));
      else out(`${name}: ${said}${s ? ` (${s.state ?? "?"}${typeof s.pid === "number" ? `, pid ${s.pid}` : ""})` : ""}`);
      return 0;
    },
  };
}

/** `vector-boot restart NAME`. */
export const command: Command = serviceCommand("restart");
export const restartCommand: Command = command;
export const stopCommand: Command = serviceCommand("stop");
export const startCommand: Command = serviceCommand("start");
