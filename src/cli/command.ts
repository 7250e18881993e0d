// The shape of one CLI subcommand: src/cli/<name>.ts exports `command`, registered in registry.ts.

export interface Command {
  /** Subcommand name as typed: `vector-boot <name> ...`. */
  name: string;
  /** One line for `vector-boot --help`. */
  summary: string;
  /** Full help text for `vector-boot <name> --help` (usage line, options, examples). */
  help: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. Throws VectorBootError subclasses on failure. */
  run(args: string[]): Promise<number>;
}

/** True when args ask for help (`-h` or `--help` anywhere before a `--`). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "-h" || a === "--help") return true;
  }
  return false;
}
