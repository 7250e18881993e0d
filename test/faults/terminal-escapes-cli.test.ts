// Text the operator's terminal shows from a file or a running instance: a C1 control (an 8-bit CSI) in a GGUF key or value, an escape sequence in a model's name shown by status.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gv, writeGguf } from "../../src/gguf/index.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { answeringSocket } from "../control/answering-socket.ts";
import { tempDir } from "../pid1/harness.ts";

/** A byte of the C0 or C1 controls (ESC, CSI...) in UTF-8 output, or ESC itself. */
const controlIn = (s: string): string | null => /[\u001b\u007f-\u009f]/.exec(s)?.[0] ?? null;

test("inspect printed a GGUF key and value holding U+009B (an 8-bit CSI) raw, text and --json (JSON.stringify leaves C1 controls as they are): both are escaped", async () => {
  const p = join(tempDir(), "c1.gguf");
  writeFileSync(p, writeGguf({ metadata: new Map([["general.architecture", gv.str("x")], ["evil\u009b2J", gv.str("paint\u009b31m")]]), tensors: [] }));
  for (const args of [["inspect", p], ["inspect", "--json", p]]) {
    const r = await runShippedAsync(args);
    expect({ args, code: r.code, control: controlIn(r.out), named: r.out.includes("evil") }).toEqual({ args, code: 0, control: null, named: true });
  }
  // The JSON is still JSON, and the key comes back as it was.
  const json = JSON.parse((await runShippedAsync(["inspect", "--json", p])).out) as { metadata: Record<string, unknown> };
  expect(Object.keys(json.metadata)).toContain("evil\u009b2J");
}, 60_000);

test("status (text) printed the instance's strings raw: a model named with an escape sequence painted the operator's terminal; control characters are '?'", async () => {
  const path = join(tempDir(), "control");
  const server = answeringSocket(path, () => ({ model: { name: "evil\u001b[31mRED", ["k\u001b[2J"]: 1 }, generation: 0 }));
  try {
    const r = await runShippedAsync(["status", "--socket", path]);
    expect({ code: r.code, control: controlIn(r.out), named: r.out.includes("evil?[31mRED") }).toEqual({ code: 0, control: null, named: true });
  } finally {
    server.stop(true);
  }
}, 60_000);
