// A directory whose path is longer than a Unix socket address holds (sun_path: 107 bytes + NUL), for the socket-path tests.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Creates nested directories (0755) under `base` until the path is exactly `bytes` long (ASCII names). */
export function longDir(base: string, bytes = 200): string {
  let d = base;
  for (let i = 0; d.length < bytes; i++) {
    const left = bytes - d.length - 1;
    const name = `deep${i}-`.padEnd(Math.min(60, left), "x");
    // A last component of shorter than "deepN-" cannot be made; lengthen the one before instead.
    d = join(d, left - name.length > 0 && left - name.length < 8 ? name.slice(0, name.length - 8) : name);
    mkdirSync(d, { mode: 0o755 });
  }
  if (d.length !== bytes) throw new Error(`longDir: ${d} is ${d.length} bytes, not ${bytes}`);
  return d;
}
