// Hostile control-socket load, run as a separate process: slow connections, 10 MB lines, garbage, plus real requests.
// Usage: bun flood.ts SOCKET DURATION_MS SEED  -> prints one JSON line of counters.
import net from "node:net";

const [path, durationArg, seedArg] = process.argv.slice(2);
const duration = Number(durationArg);
let seed = Number(seedArg) >>> 0 || 1;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const end = performance.now() + duration;
const counters = { slowConnections: 0, bigLinesSent: 0, tooLongAnswers: 0, garbageAnswers: 0, statusAnswers: 0, timeouts: 0, connectErrors: 0 };

function connect(onLine: (l: { ok: boolean; error?: { code: string } }) => void): net.Socket {
  const s = net.createConnection(path!);
  let buf = "";
  s.setEncoding("utf8");
  s.on("data", (d: string) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      onLine(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  s.on("error", () => counters.connectErrors++);
  return s;
}

// 30 slow connections: one byte of an unfinished request every 20 ms.
for (let i = 0; i < 30; i++) {
  const s = connect((l) => (l.error?.code === "timeout" ? counters.timeouts++ : 0));
  counters.slowConnections++;
  const text = '{"op":"status","id":"slow-connection-that-never-ends-its-line';
  let k = 0;
  const t = setInterval(() => {
    if (performance.now() > end) return void (clearInterval(t), s.destroy());
    s.write(text[k++ % text.length]!);
  }, 20);
}

// 10 MB lines, one connection after another.
const big = Buffer.alloc(10 * 1024 * 1024, 0x41);
function bigLine(): void {
  if (performance.now() > end) return;
  const s = connect((l) => (l.error?.code === "line_too_long" ? counters.tooLongAnswers++ : 0));
  s.on("close", () => setTimeout(bigLine, 5));
  s.write(big);
  s.write("\n");
  counters.bigLinesSent++;
}
for (let i = 0; i < 3; i++) bigLine();

// Random garbage with newlines (seeded), a fresh connection each time the server gives up on one.
function garbage(): void {
  if (performance.now() > end) return;
  const s = connect((l) => (l.ok ? 0 : counters.garbageAnswers++));
  s.on("close", () => setTimeout(garbage, 5));
  const t = setInterval(() => {
    if (performance.now() > end || s.destroyed) return void (clearInterval(t), s.destroy());
    const b = Buffer.alloc(4096);
    for (let i = 0; i < b.length; i++) b[i] = rand() < 0.01 ? 0x0a : Math.floor(rand() * 256);
    s.write(b);
  }, 2);
}
garbage();

// Real work: status requests back to back on one connection.
const st = connect((l) => {
  if (l.ok) counters.statusAnswers++;
  if (performance.now() < end) st.write('{"op":"status"}\n');
  else st.destroy();
});
st.write('{"op":"status"}\n');

setTimeout(() => {
  process.stdout.write(`${JSON.stringify(counters)}\n`);
  process.exit(0);
}, duration + 300);
