// Runs the inspect subcommand in its own process the way the CLI does (exit code from the error hierarchy).
import { describeError, exitCodeOf } from "../../src/errors.ts";
import { command } from "../../src/cli/inspect.ts";

try {
  process.exitCode = await command.run(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`vector-boot inspect: ${describeError(e)}\n`);
  process.exitCode = exitCodeOf(e);
}
