// Where the shim file is when the executable's entry named it (src/sys/shim-file.ts, imported by src/main.ts).

let named: string | null = null;

/** Set once by src/sys/shim-file.ts when it is evaluated (statically imported by the executable's entry). */
export function nameShimFile(path: string): void {
  named ??= path;
}

/** The shim file's path if the entry named it; null: the library, which requires src/sys/shim-file.ts at the first open. */
export function namedShimFile(): string | null {
  return named;
}
