// Runs the `vector-boot journal` command in this process and captures what it prints on stdout.
import { command } from "../../src/cli/journal.ts";

/** `vector-boot journal ARGS`: its exit code and its stdout. */
export async function runJournalCommand(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
  try {
    return { code: await command.run(args), out: chunks.join("") };
  } finally {
    process.stdout.write = orig;
  }
}
