// Where this code runs from (a compiled executable's embedded bundle or a source tree), and worker entries for both.

/**
 * True inside a `bun build --compile` executable. Not `import.meta.url`: with `--bytecode` that is the
 * build machine's source path (DESIGN §8). `Bun.main` is the bundle's own `/$bunfs/root/...` path.
 */
export const runningCompiled: boolean = typeof Bun !== "undefined" && (Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN"));

/**
 * The specifier to pass to `new Worker` for a worker entry point.
 * - Compiled: `srcRelative` (e.g. "heartbeat/metabolic-worker.ts", relative to src/, the root that
 *   scripts/build.ts gives the entry points) as a relative specifier, which Bun resolves inside the
 *   embedded bundle whatever the working directory and wherever the executable was copied.
 * - From source (`bun src/main.ts`, or the library imported from another project): the file next to
 *   the calling module, whose `import.meta.url` is then its real location.
 */
export function workerEntry(srcRelative: string, sourceUrl: URL): string {
  return runningCompiled ? `./${srcRelative}` : sourceUrl.href;
}
