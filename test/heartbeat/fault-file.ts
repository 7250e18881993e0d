// The fault file through which heartbeat tests tell fault-worker.ts what to do (written whole, by rename).
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The fault file of the test process (a worker shares its pid): "crash MESSAGE", "hang", "block PATH" or "block-all PATH" (fault-worker.ts). */
export const faultFile = join(tmpdir(), `vb-test-fault-${process.pid}`);

/**
 * Writes a fault for the workers of this process: a new file renamed into place. A plain write
 * truncates, then writes: a worker polling every 5 ms could read the empty file in between, remove
 * it and lose the fault (a "hang" that never took, in CI on a loaded host).
 */
export function injectFault(fault: string): void {
  const tmp = `${faultFile}.tmp`;
  writeFileSync(tmp, fault);
  renameSync(tmp, faultFile);
}

/** Removes a fault left by an earlier run of this pid. */
export function clearFault(): void {
  rmSync(faultFile, { force: true });
}
