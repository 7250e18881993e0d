// The shutdown's final checkpoint left out mutations acknowledged while it was written (only the journal held them).
import { afterEach, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

// Batches of 10 back to back (no pause: a batch is in flight whenever the shutdown reaches the
// evolution phase), one line per acknowledgement; the end of the session is printed, not raised.
const producer = `
import json, sys
from vector_boot_evolution import Client, ChannelError
c = Client(sys.argv[1], timeout=30.0)
i = 0
try:
    while i < 200000:
        for d in c.submit_batch([("pixel.0.weight", ((i + k) % 800) * 7, [0.25, (i + k) / 1000.0, 0.5], 0.9) for k in range(10)]):
            print(json.dumps({"status": d.status_name, "journal_seq": d.journal_seq}), flush=True)
        i += 10
except ChannelError as e:
    print(json.dumps({"ended": str(e)}), flush=True)
`;

test("as PID 1 a SIGTERM during a mutation stream: the final checkpoint covered only what was durable when it began, and mutations acknowledged while it was written were left to the journal; it now covers every acknowledged mutation", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${state}`, "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const script = join(dir, "producer.py");
  writeFileSync(script, producer);
  // In the init's PID and mount namespaces (the channel memory is /proc/1/fd/N there): reboot(2) ends it.
  const py = Bun.spawn(["nsenter", `--target=${init}`, "--pid", "--mount", "--", python, script, join(dir, "run/evolution.sock")], { env: { ...process.env, PYTHONPATH: shippedPython }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const c of py.stdout) out += dec.decode(c, { stream: true });
  })();
  await waitFor(() => out.split("\n").length > 300, 60_000, "300 acknowledgements");
  process.kill(init, "SIGTERM");
  const res = await run.result(30_000);
  const timer = setTimeout(() => py.kill("SIGKILL"), 10_000);
  await Promise.all([py.exited, reading]);
  clearTimeout(timer);
  expect(res.stderr).toContain("poweroff now");
  const lines = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const acked = lines.filter((l) => l.status === "ACCEPTED").map((l) => l.journal_seq as number);
  expect(lines.filter((l) => l.status !== undefined && l.status !== "ACCEPTED")).toEqual([]);
  // Every acknowledged mutation is durable: a journal record at its sequence.
  const rec = recoverJournal(join(state, "journal"), { readOnly: true });
  const journaled = rec.records.filter((x) => x.type === RecordType.mutation).map((x) => x.seq);
  const inJournal = new Set(journaled);
  expect(acked.filter((q) => !inJournal.has(q))).toEqual([]);
  // The final checkpoint covers every acknowledged mutation, and every one the journal holds.
  const last = readdirSync(join(state, "checkpoints")).filter((f) => f.endsWith(".gguf")).sort().at(-1)!;
  const covered = Number(/(\d+)\.gguf$/.exec(last)![1]);
  expect({ lastAcked: Math.max(...acked), lastJournaled: Math.max(...journaled) }).toEqual({ lastAcked: covered, lastJournaled: covered });
}, 120_000);
