// `vector-boot poweroff|reboot`: asks a running instance for an orderly shutdown (control socket).
import { ask, commonOptionsHelp, parseCommon } from "../control/cli-support.ts";
import { out } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";

function powerCommand(mode: "poweroff" | "reboot"): Command {
  const help = `Usage: vector-boot ${mode} [--json] [--socket PATH] [--timeout MS]

Asks the running vector-boot (over its control socket) to shut down in order and then ${mode === "poweroff" ? "power the machine off" : "reboot it"}:
services stopped in reverse dependency order, journal flushed, checkpoint, sync, reboot(2) as PID 1
(outside PID 1 the init exits instead). Returns as soon as the request is accepted. Exits 75 when
the machine is already shutting down to ${mode === "poweroff" ? "reboot" : "power off"} (a shutdown under way is not changed).

Options:
${commonOptionsHelp}`;
  return {
    name: mode,
    summary: `${mode} a running instance in order (control socket)`,
    help,
    async run(args) {
      if (wantsHelp(args)) {
        out(help);
        return 0;
      }
      const a = parseCommon(mode, args, []);
      const r = await ask(a, { op: mode });
      out(a.json ? JSON.stringify(r) : (r as { already?: boolean } | null)?.already === true ? `${mode} already under way` : `${mode} requested`);
      return 0;
    },
  };
}

/** `vector-boot poweroff`. */
export const command: Command = powerCommand("poweroff");
export const poweroffCommand: Command = command;
export const rebootCommand: Command = powerCommand("reboot");
