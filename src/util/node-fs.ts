// node:fs on first use: importing it up front costs tini mode ~1.5 ms and ~4.6 MiB of peak RSS it never needs.
import type * as Fs from "node:fs";

let fs: typeof Fs | null = null;

/**
 * node:fs, loaded at the first call. A static `import ... from "node:fs"` makes Bun load the module
 * (a large builtin) when the importing chunk is evaluated, whether or not a function of it runs:
 * measured in a compiled program, +1.5 ms and +4.6 MiB of peak RSS over an empty one, 0 this way.
 * Only the modules on the path of `vector-boot -- CMD` (logging, the console, the shim's locating,
 * the process tree) use this; the rest import node:fs as usual.
 */
export function nodeFs(): typeof Fs {
  return (fs ??= import.meta.require("node:fs") as typeof Fs);
}
