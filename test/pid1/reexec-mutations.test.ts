// Mutations submitted while PID 1 re-execs itself are all acknowledged (the client reconnects and
import { python } from "../harness/python.ts";
// re-sends what had no completion; mutations overwrite, so a re-send is harmless), each acknowledged
// mutation is in the journal at its sequence with exactly the content sent, and the final weights
// are the base weights with exactly those values written.
import { afterEach, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { locateEmbeddedModel } from "../../src/rts/embed.ts";
import { exe, killLeftovers, shippedPython, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

const N = 300;
const TENSOR = "pixel.0.weight";
const CONFIDENCE = 0.9;
/** Mutation i: three values at element 7 i (ranges never overlap, so each element is written by one mutation). */
const mutation = (i: number) => ({ offset: i * 7, values: [((i % 100) - 50) / 100, i / 1000, (0 - i) / 997] }); // 0 - i: Python's -0 is 0

// Prints one JSON line per acknowledgement (what was sent, the completion), then a summary.
const producer = `
import json, sys, time
from vector_boot_evolution import ReconnectingClient
sock, n = sys.argv[1], int(sys.argv[2])
def mutation(i): return (${JSON.stringify(TENSOR)}, i * 7, [((i % 100) - 50) / 100, i / 1000, -i / 997], ${CONFIDENCE})
with ReconnectingClient(sock, timeout=5.0, deadline_s=120.0) as c:
    for b in range(0, n, 10):
        idx = list(range(b, min(n, b + 10)))
        for i, done in zip(idx, c.submit_batch([mutation(i) for i in idx])):
            t, off, vals, conf = mutation(i)
            print(json.dumps({"i": i, "tensor": t, "offset": off, "values": vals, "confidence": conf, "status": done.status_name, "journal_seq": done.journal_seq, "text": done.text, "reconnects": c.reconnects}), flush=True)
        time.sleep(0.03)  # stretch the stream over the re-execs
    print(json.dumps({"summary": True, "reconnects": c.reconnects}), flush=True)
`;

/** The base weights of TENSOR: the model embedded in the shipped executable. */
function baseTensor(): Float32Array {
  const m = locateEmbeddedModel(exe, { verify: true })!;
  expect(m).not.toBeNull();
  const bytes = new Uint8Array(m.size);
  const fd = openSync(exe, "r");
  try {
    expect(readSync(fd, bytes, 0, m.size, m.offset)).toBe(m.size);
  } finally {
    closeSync(fd);
  }
  return f32Of(bytes);
}

function f32Of(gguf: Uint8Array): Float32Array {
  const t = readGguf(gguf).tensorByName(TENSOR)!;
  expect(t.typeName).toBe("F32");
  const copy = new Uint8Array(t.data); // a copy (a Buffer's slice() would be a view of the whole file)
  return new Float32Array(copy.buffer, 0, t.nElements);
}

test(`${N} mutations streamed across 5 live re-execs as PID 1: every acknowledgement is in the journal at its sequence with the exact content, and the final weights are base + exactly those values`, async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${state}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const script = join(dir, "producer.py");
  writeFileSync(script, producer);
  // The producer runs inside the init's PID and mount namespaces (the channel memory is /proc/1/fd/N there).
  const py = Bun.spawn(["nsenter", `--target=${init}`, "--pid", "--mount", "--", python, script, join(dir, "run/evolution.sock"), String(N)], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe" });
  const lines: any[] = [];
  const reading = (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of py.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let k: number;
      while ((k = buf.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buf.slice(0, k)));
        buf = buf.slice(k + 1);
      }
    }
  })();
  const timer = setTimeout(() => py.kill("SIGKILL"), 180_000);
  // Re-exec i once the stream has made progress after re-exec i-1 (events, not a clock): the
  // stream is still running when each handoff happens.
  for (let i = 1; i <= 5; i++) {
    await waitFor(() => lines.length >= i * 45 || py.exitCode !== null, 60_000, `${i * 45} acknowledgements`);
    process.kill(init, "SIGHUP");
    await waitFor(() => run.log().includes(`resuming after re-exec generation=${i} `), 30_000, `re-exec ${i}`);
    await waitFor(() => run.log().lastIndexOf("control socket listening") > run.log().indexOf(`resuming after re-exec generation=${i} `), 30_000, `image ${i} up`);
  }
  const [err, code] = await Promise.all([new Response(py.stderr).text(), py.exited, reading]);
  clearTimeout(timer);
  expect(err).toBe("");
  expect(code).toBe(0);
  const summary = lines.at(-1);
  expect(summary.summary).toBe(true);
  expect(summary.reconnects).toBeGreaterThanOrEqual(1); // the stream really crossed a handoff
  const acks = lines.filter((l) => !l.summary);

  // Every mutation was acknowledged once, as accepted, each at its own journal sequence.
  expect(acks.map((a) => a.i)).toEqual(Array.from({ length: N }, (_, i) => i));
  expect(acks.filter((a) => a.status !== "ACCEPTED")).toEqual([]);
  expect(new Set(acks.map((a) => a.journal_seq)).size).toBe(N);
  expect(acks.every((a) => Number.isInteger(a.journal_seq) && a.journal_seq >= 1)).toBe(true);
  // Some of them were sent before and acknowledged after a handoff.
  expect(acks.some((a) => a.reconnects > 0)).toBe(true);

  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.stderr).toContain("checkpoint written");

  // The journal, read with the library: every acknowledged mutation is the record at its sequence,
  // with exactly the tensor, offset, values (as f32) and confidence that were sent.
  const rec = recoverJournal(join(state, "journal"), { readOnly: true });
  const bySeq = new Map(rec.records.map((x) => [x.seq, x]));
  const asSent = (i: number) => ({ tensor: TENSOR, elementOffset: mutation(i).offset, confidence: CONFIDENCE, values: Array.from(Float32Array.from(mutation(i).values)) });
  for (const a of acks) {
    const x = bySeq.get(a.journal_seq);
    expect(x, `journal record ${a.journal_seq} of mutation ${a.i}`).toBeDefined();
    expect(x!.type).toBe(RecordType.mutation);
    const m = decodeMutationRecord(x!.payload);
    expect({ i: a.i, tensor: m.tensor, elementOffset: m.elementOffset, confidence: m.confidence, values: Array.from(m.values) }).toEqual({ i: a.i, ...asSent(a.i) });
    // What the producer reports having sent is what it meant to send.
    expect({ tensor: a.tensor, elementOffset: a.offset, confidence: a.confidence, values: Array.from(Float32Array.from(a.values)) }).toEqual(asSent(a.i));
  }
  // Every other mutation record is a re-send of one of them (nothing foreign, nothing torn).
  const mutationRecords = rec.records.filter((x) => x.type === RecordType.mutation);
  for (const x of mutationRecords) {
    const m = decodeMutationRecord(x.payload);
    const i = m.elementOffset / 7;
    expect(Number.isInteger(i) && i >= 0 && i < N, `record ${x.seq} at element ${m.elementOffset}`).toBe(true);
    expect({ tensor: m.tensor, elementOffset: m.elementOffset, confidence: m.confidence, values: Array.from(m.values) }).toEqual(asSent(i));
  }
  expect(mutationRecords.length).toBeGreaterThanOrEqual(N);

  // The final weights (the checkpoint written at shutdown, covering the whole journal): the base
  // tensor with exactly the acknowledged values written and every other element untouched.
  const ckpts = readdirSync(join(state, "checkpoints")).filter((f) => f.endsWith(".gguf")).sort();
  const last = ckpts.at(-1)!;
  expect(Number(/(\d+)\.gguf$/.exec(last)![1])).toBe(Math.max(...mutationRecords.map((x) => x.seq)));
  const final = f32Of(readFileSync(join(state, "checkpoints", last)));
  const expected = baseTensor();
  for (let i = 0; i < N; i++) expected.set(Float32Array.from(mutation(i).values), mutation(i).offset);
  expect(final.length).toBe(expected.length);
  const differ: number[] = [];
  for (let e = 0; e < expected.length; e++) if (!Object.is(final[e], expected[e])) differ.push(e);
  expect(differ).toEqual([]);
  // And the mutations did change the base (the comparison is not base against base).
  expect(baseTensor().some((v, e) => !Object.is(v, final[e]))).toBe(true);
}, 300_000);
