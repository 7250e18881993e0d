// The benchmarks' floor reference: a Bun program compiled with the same flags as vector-boot (scripts/compile-flags.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileFlags } from "../scripts/compile-flags.ts";

/**
 * Compiles `files` (file name -> source; the first is the entry, the others more entry points, such
 * as a Worker's) into `outDir/name` with vector-boot's flags and `--bytecode`, as scripts/build.ts
 * does. Throws when it cannot: a benchmark without its reference prints no number.
 */
export function buildFloorProgram(outDir: string, name: string, files: Record<string, string>): string {
  const paths = Object.entries(files).map(([file, source]) => {
    const p = join(outDir, file);
    writeFileSync(p, source);
    return p;
  });
  const exe = join(outDir, name);
  const argv = [process.execPath, "build", "--compile", ...compileFlags, "--bytecode", ...paths, "--outfile", exe];
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`cannot build the reference program ${name} (${argv.join(" ")} exited ${r.exitCode}): no numbers without it`);
  return exe;
}
