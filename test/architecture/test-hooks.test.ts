// Test hooks live in test/, not src/: an option or export whose doc comment says it is there for tests (the few kept are listed with why).
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");

/** How a comment says a thing exists for tests: "Test hook", "Exposed for tests", "is for tests", "(tests; ...)", "override (tests)". */
const forTests = /test hook|\b(?:exposed|is|are|only) for tests\b|\(tests[;)]|\(tests compare/i;

/**
 * Kept, each a whole thread or CPU path the tests cannot make fail or run from outside: file, a
 * piece of the comment's line, and why.
 */
const kept: { file: string; line: string; why: string }[] = [
  { file: "neural/matvec-pool.ts", line: "`workerUrl` is for tests", why: "a worker that never answers, dies or exits (test/neural/parallel.test.ts): the real matvec worker does none of these on demand" },
  { file: "heartbeat/heartbeat-types.ts", line: "Metabolic worker entry override (tests)", why: "a metabolic worker that crashes (test/heartbeat/worker.test.ts's faultWorker), to cover the restart and the worker-crash event" },
  { file: "gguf/reader.ts", line: "(tests compare it with the fast path", why: "the fuzz test checks the fast path decides as the exact BigInt one" },
  { file: "sys/crc32c.ts", line: "(tests cover both)", why: "the C table path is the one a CPU without SSE4.2 runs; this machine has SSE4.2" },
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

test("an option or export in src/ whose comment says it is there for tests (a test hook in src/, not test/)", () => {
  const found: string[] = [];
  for (const file of sources(src)) {
    const rel = relative(src, file);
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!/^\s*(?:\/\/|\/\*|\*)/.test(line) || !forTests.test(line)) continue;
      if (kept.some((k) => k.file === rel && line.includes(k.line))) continue;
      found.push(`${rel}: ${line.trim()}`);
    }
  }
  expect(found).toEqual([]);
  // Every kept one is still there (else its entry goes).
  for (const k of kept) expect(readFileSync(join(src, k.file), "utf8")).toContain(k.line);
});
