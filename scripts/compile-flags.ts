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
