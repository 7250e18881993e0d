// The `bun build --compile` flags every vector-boot executable is built with, shared by the build and the benchmarks' reference programs.

/**
 * No autoloading of .env / bunfig.toml / tsconfig.json / package.json from the directory the
 * executable starts in: an init takes its environment from its parent and its settings from its own
 * config (test/pid1/start-directory-files.test.ts).
 */
export const noAutoload: readonly string[] = [
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
];

/**
 * The JIT tier-up scale the executable starts with (`--compile-jit-policy`): the boot's code runs
 * once, and JIT-compiling it cost more than it saved. src/util/jit-policy.ts returns each VM to the
 * normal policy (1) once interactive (the first beat, any other command, each worker's start).
 * Measured 2026-12-04, interleaved, 11 runs each, exec to the first beat of `boot`: 72.9 / 66.4 /
 * 64.5 / 62.8 ms at scales 1 / 4 / 20 / 100, RSS at that moment 53.9 / 50.4 / 49.4 / 48.6 MiB;
 * `-- true` unchanged. 20, not 100: a loop of the boot that does run hot still gets compiled.
 */
export const startupJitPolicy = 20;

/** The flags every vector-boot executable (and each benchmark's reference program) is compiled with. */
export const compileFlags: readonly string[] = [...noAutoload, `--compile-jit-policy=${startupJitPolicy}`];
