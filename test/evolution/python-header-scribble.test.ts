// A producer that writes into the channel's header (every producer maps the region writable): every later session was refused its checksum, and a live re-exec dropped every session.
import { afterEach, expect, test } from "bun:test";
import { exe } from "../harness/artifact.ts";
import { killLeftovers } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);

test("one byte a producer wrote into the channel header (the consumer pid) made every later session fail ('channel header checksum mismatch') until the init restarted, and a live re-exec drop every open session: the header is written again", async () => {
  const init = await initForPython();
  const r = init.runPython(`
import sys, subprocess
from vector_boot_evolution import Client
S, CTL = sys.argv[1], sys.argv[2]
a = Client(S, 5)
a.mem[44] ^= 0xFF
a.close()
b = Client(S, 5)
print("new session:", b.mutate("pixel.0.bias", 1, [0.1], 0.9).status_name)
c = Client(S, 5)
c.mem[45] ^= 0xFF
r = subprocess.run([${JSON.stringify(exe)}, "reexec", "--socket", CTL, "--timeout", "60000"], capture_output=True, text=True)
print("reexec:", r.returncode)
print("after the re-exec:", b.mutate("pixel.0.bias", 1, [0.2], 0.9).status_name)
`);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim().split("\n")).toEqual(["new session: ACCEPTED", "reexec: 0", "after the re-exec: ACCEPTED"]);
}, 120_000);

test("one producer that wrote into its own ring's consumer words (sub_head) made a live re-exec drop every producer's session (the whole part refused): those words are set back as the consumer counted them, and every session goes on", async () => {
  const init = await initForPython();
  const r = init.runPython(`
import sys, subprocess
from vector_boot_evolution import Client
from vector_boot_evolution.layout import SUB_HEAD
S, CTL = sys.argv[1], sys.argv[2]
a = Client(S, 5)
b = Client(S, 5)
print("before:", b.mutate("pixel.0.bias", 1, [0.1], 0.9).status_name)
a._store(SUB_HEAD, 12345)
r = subprocess.run([${JSON.stringify(exe)}, "reexec", "--socket", CTL, "--timeout", "60000"], capture_output=True, text=True)
print("reexec:", r.returncode)
print("b after:", b.mutate("pixel.0.bias", 1, [0.2], 0.9).status_name)
print("a after:", a.mutate("pixel.0.bias", 2, [0.3], 0.9).status_name)
`);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim().split("\n")).toEqual(["before: ACCEPTED", "reexec: 0", "b after: ACCEPTED", "a after: ACCEPTED"]);
}, 120_000);
