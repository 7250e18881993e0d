// Runs every bench/*.bench.ts in turn (or those named on the command line) and prints their output.
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n==================== ${f} ====================`);
  const r = Bun.spawnSync([process.execPath, join(dir, f)], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    failed++;
    console.log(`${f}: exited ${r.exitCode}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
