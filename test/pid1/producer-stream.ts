// A Python producer streaming mutations into a PID-1 init until told to stop, and the checks of what the journal and the final weights hold.
import { expect } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { locateEmbeddedModel } from "../../src/rts/embed.ts";
import { runShipped } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { exe, shippedPython } from "./harness.ts";

export const TENSOR = "pixel.0.weight";
const CONFIDENCE = 0.9;
/** A bound on a runaway stream. */
const MAX = 50_000;
/** Mutation positions cycle through this many 7-element ranges of TENSOR (6144 elements). */
const SPAN = 800;
/**
 * Mutation i: three values at element 7 (i mod SPAN) (ranges never overlap). The second value is
 * i / 1000, so a journal record tells which mutation it is (exact as f32 for these i).
 */
export const mutation = (i: number) => ({ offset: (i % SPAN) * 7, values: [((i % 100) - 50) / 100, i / 1000, (0 - i) / 997] }); // 0 - i: Python's -0 is 0
const indexOf = (values: ArrayLike<number>): number => Math.round(values[1]! * 1000);

// Streams batches of 10 until "stop" arrives on stdin; one JSON line per acknowledgement, a summary,
// then one more mutation on a new session (the listener of the last image accepts). "plain": the
// Client, which never reconnects (any end of its session raises); "reconnecting": ReconnectingClient.
const script = (kind: "plain" | "reconnecting") => `
import json, select, sys, time
from vector_boot_evolution import Client, ReconnectingClient
sock = sys.argv[1]
def mutation(i): return (${JSON.stringify(TENSOR)}, (i % ${SPAN}) * 7, [((i % 100) - 50) / 100, i / 1000, -i / 997], ${CONFIDENCE})
def stopped(): return select.select([sys.stdin], [], [], 0)[0] != []
c = ${kind === "plain" ? "Client(sock, timeout=30.0)" : "ReconnectingClient(sock, timeout=5.0, deadline_s=120.0)"}
i = 0
while not stopped():
    if i + 10 > ${MAX}:
        sys.exit("the stream outlasted ${MAX} mutations")
    idx = list(range(i, i + 10))
    for j, done in zip(idx, c.submit_batch([mutation(j) for j in idx])):
        print(json.dumps({"i": j, "status": done.status_name, "journal_seq": done.journal_seq, "text": done.text, "reconnects": getattr(c, "reconnects", 0)}), flush=True)
    i += 10
    time.sleep(0.02)
print(json.dumps({"summary": True, "n": i, "reconnects": getattr(c, "reconnects", 0)}), flush=True)
c.close()
with Client(sock, timeout=30.0) as c2:
    done = c2.mutate(*mutation(i))
    print(json.dumps({"after": True, "i": i, "status": done.status_name, "journal_seq": done.journal_seq}), flush=True)
`;

export interface Ack {
  i: number;
  status: string;
  journal_seq: number;
  reconnects: number;
}

export interface Stream {
  /** Acknowledgements so far, in order. */
  acks: Ack[];
  /** Asks the producer to stop after its current batch; resolves with everything it printed. */
  finish(): Promise<{ code: number; err: string; n: number; reconnects: number; after: Ack }>;
}

/** Starts the producer inside the init's PID and mount namespaces (the channel memory is /proc/1/fd/N there). */
export function startStream(init: number, dir: string, kind: "plain" | "reconnecting"): Stream {
  const path = join(dir, `producer-${kind}.py`);
  writeFileSync(path, script(kind));
  const py = Bun.spawn(["nsenter", `--target=${init}`, "--pid", "--mount", "--", python, path, join(dir, "run/evolution.sock")], { env: { ...process.env, PYTHONPATH: shippedPython }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const lines: any[] = [];
  const acks: Ack[] = [];
  const reading = (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of py.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let k: number;
      while ((k = buf.indexOf("\n")) >= 0) {
        const l = JSON.parse(buf.slice(0, k));
        buf = buf.slice(k + 1);
        lines.push(l);
        if (!l.summary && !l.after) acks.push(l);
      }
    }
  })();
  const timer = setTimeout(() => py.kill("SIGKILL"), 240_000);
  const errText = new Response(py.stderr).text();
  return {
    acks,
    async finish() {
      py.stdin.write("stop\n");
      py.stdin.flush();
      const [err, code] = await Promise.all([errText, py.exited, reading]);
      clearTimeout(timer);
      const summary = lines.find((l) => l.summary) ?? { n: -1, reconnects: -1 };
      return { code, err, n: summary.n, reconnects: summary.reconnects, after: lines.find((l) => l.after) };
    },
  };
}

function f32Of(gguf: Uint8Array): Float32Array {
  const t = readGguf(gguf).tensorByName(TENSOR)!;
  expect(t.typeName).toBe("F32");
  const copy = new Uint8Array(t.data); // a copy (a Buffer's slice() would be a view of the whole file)
  return new Float32Array(copy.buffer, 0, t.nElements);
}

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

/**
 * After the init stopped: each acknowledged mutation (0..n, n being the one on the second session)
 * is the journal record at its sequence with exactly the content sent; `once`: every mutation record
 * of the journal (as `vector-boot journal inspect` lists them) is one of them, each exactly once;
 * else any other record is a re-send of one of them. The final checkpoint is the base tensor with
 * exactly those values written.
 */
export function checkJournalAndWeights(state: string, acks: Ack[], n: number, once: boolean): void {
  expect(acks.map((a) => a.i)).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
  expect(acks.filter((a) => a.status !== "ACCEPTED")).toEqual([]);
  expect(new Set(acks.map((a) => a.journal_seq)).size).toBe(n + 1);
  const rec = recoverJournal(join(state, "journal"), { readOnly: true });
  const bySeq = new Map(rec.records.map((x) => [x.seq, x]));
  const asSent = (i: number) => ({ tensor: TENSOR, elementOffset: mutation(i).offset, confidence: CONFIDENCE, values: Array.from(Float32Array.from(mutation(i).values)) });
  for (const a of acks) {
    const x = bySeq.get(a.journal_seq);
    expect(x, `journal record ${a.journal_seq} of mutation ${a.i}`).toBeDefined();
    expect(x!.type).toBe(RecordType.mutation);
    const m = decodeMutationRecord(x!.payload);
    expect({ i: a.i, tensor: m.tensor, elementOffset: m.elementOffset, confidence: m.confidence, values: Array.from(m.values) }).toEqual({ i: a.i, ...asSent(a.i) });
  }
  // Every mutation record is one of them, exactly as sent; `once`: each exactly once.
  const journaled = rec.records.filter((x) => x.type === RecordType.mutation).map((x) => decodeMutationRecord(x.payload));
  for (const m of journaled) expect({ tensor: m.tensor, elementOffset: m.elementOffset, confidence: m.confidence, values: Array.from(m.values) }).toEqual(asSent(indexOf(m.values)));
  const indexes = journaled.map((m) => indexOf(m.values)).sort((a, b) => a - b);
  if (once) expect(indexes).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
  else expect(new Set(indexes)).toEqual(new Set(Array.from({ length: n + 1 }, (_, i) => i)));
  // What the operator's tool lists: the same mutation records (once: exactly the acknowledged sequences).
  const inspect = runShipped(["journal", "inspect", "--state", state, "--records", "--json"]);
  expect(inspect.code).toBe(0);
  const listed = (JSON.parse(inspect.stdout).records as { seq: number; type: string; tensor: string }[]).filter((r) => r.type === "mutation");
  expect(listed.length).toBe(journaled.length);
  const ackedSeqs = acks.map((a) => a.journal_seq).sort((a, b) => a - b);
  if (once) expect(listed.map((r) => r.seq)).toEqual(ackedSeqs);
  else expect(ackedSeqs.every((q) => listed.some((r) => r.seq === q))).toBe(true);
  // The final weights (the checkpoint written at shutdown, covering the whole journal).
  const ckpts = readdirSync(join(state, "checkpoints")).filter((f) => f.endsWith(".gguf")).sort();
  const last = ckpts.at(-1)!;
  expect(Number(/(\d+)\.gguf$/.exec(last)![1])).toBe(Math.max(...listed.map((x) => x.seq)));
  const final = f32Of(readFileSync(join(state, "checkpoints", last)));
  const expected = baseTensor();
  for (let i = 0; i <= n; i++) expected.set(Float32Array.from(mutation(i).values), mutation(i).offset);
  expect(final.length).toBe(expected.length);
  const differ: number[] = [];
  for (let e = 0; e < expected.length; e++) if (!Object.is(final[e], expected[e])) differ.push(e);
  expect(differ).toEqual([]);
  // And the mutations did change the base (the comparison is not base against base).
  expect(baseTensor().some((v, e) => !Object.is(v, final[e]))).toBe(true);
}
