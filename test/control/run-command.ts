// Runs one CLI subcommand module the way run-cli.ts does (until the lead registers them): bun run-command.ts MODULE EXPORT ARGS...
import { describeError, exitCodeOf } from "../../src/errors.ts";
import type { Command } from "../../src/cli/command.ts";

const [mod, name, ...args] = process.argv.slice(2);
const m = (await import(`../../src/cli/${mod}.ts`)) as Record<string, Command>;
const cmd = m[name!];
if (!cmd) {
  process.stderr.write(`no export ${name} in src/cli/${mod}.ts\n`);
  process.exit(70);
}
try {
  process.exit(await cmd.run(args));
} catch (e) {
  process.stderr.write(`${describeError(e)}\n`);
  process.exit(exitCodeOf(e));
}
