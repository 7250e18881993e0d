// A program using the library could not quiet or redirect its log lines: setLogLevel and setLogSink were not exported and stderr could not be turned off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyPackage, run, scratchProject } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-log-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a program using the library got 'model mapped', 'model loaded' and the workers' lines on its stderr with no way to quiet them (setLogLevel/setLogSink not exported): it sets the level, turns stderr off and takes the lines in a sink of its own", () => {
  copyPackage(dir);
  const { app, installed, installErr } = scratchProject(dir, {
    "main.ts": `import { NeuralRuntime, buildVectorland, setLogLevel, setLogSink, setLogStderr, writeGguf } from "vector-boot";
const lines: string[] = [];
setLogStderr(false);
setLogSink((l) => lines.push(l));
const rt = new NeuralRuntime({ threads: 1 });
await rt.init(writeGguf(buildVectorland()));
rt.cleanup();
setLogLevel("error");
const rt2 = new NeuralRuntime({ threads: 1 });
await rt2.init(writeGguf(buildVectorland()));
rt2.cleanup();
console.log(JSON.stringify({ loaded: lines.filter((l) => l.includes("model loaded")).length }));
`,
  });
  expect(installed, installErr).toBe(true);
  const r = run([process.execPath, "main.ts"], app, 60_000);
  expect(r.code, r.err).toBe(0);
  // The first init's line reached the sink only; at level "error" the second one's did not come at all.
  expect(JSON.parse(r.out.trim())).toEqual({ loaded: 1 });
  expect(r.err).not.toContain("model loaded");
}, 120_000);
