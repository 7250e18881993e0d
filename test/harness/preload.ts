// Preloaded by `bun test` (bunfig.toml): removes the run's test directories once every file has run.
import { afterAll } from "bun:test";

afterAll(() => {
  // Set by test/harness/artifact.ts when some test file loaded it (the directory exists then).
  const remove = (globalThis as { vbRemoveTestTmp?: () => void }).vbRemoveTestTmp;
  remove?.();
});
