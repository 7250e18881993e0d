// vector-boot entry point: the CLI (boot, tini mode, tools); PID 1 never ends by an exception.
import { runCli } from "./cli/run-cli.ts";
import { describeError, ExitCode, exitCodeOf } from "./errors.ts";
import { logger } from "./log.ts";
import { consoleDrain } from "./util/console-out.ts";
import { flushOut } from "./util/stdout.ts";
// The shim file this executable carries, named at load (a string): the first dlopen then requires no chunk for it.
import "./sys/shim-file.ts";

const log = logger("boot");

/** Entry point: PID 1 catches every exception and rejection; nothing may end it unplanned. */
async function main(argv: string[]): Promise<void> {
  const pid1 = process.pid === 1;
  process.on("uncaughtException", (e) => {
    log.error("uncaught exception", { error: describeError(e) });
    if (!pid1) exit(exitCodeOf(e));
  });
  process.on("unhandledRejection", (e) => {
    log.error("unhandled rejection", { error: describeError(e) });
    if (!pid1) exit(exitCodeOf(e));
  });
  const code = await runCli(argv, pid1);
  if (pid1) {
    // PID 1 only gets here in tini mode (containers): exiting ends the PID namespace on purpose.
    log.info("exiting", { status: code });
  }
  const unwritten = await flushOut();
  if (unwritten !== null && code === 0) {
    // The command's output did not reach its file (ENOSPC, EIO): not a success.
    log.error(`the output could not be written: ${unwritten}`);
    exit(ExitCode.io);
  }
  exit(code);
}

/** Exits once the console has taken what waits for it (at most half a second: process.exit drops it). */
function exit(code: number): never {
  consoleDrain(500);
  process.exit(code);
}

if (import.meta.main) void main(process.argv.slice(2));
