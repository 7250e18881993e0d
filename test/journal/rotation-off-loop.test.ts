// A journal's new segment was made with synchronous fsyncs on the event loop: every 64 MiB of journal held PID 1's loop (the beat with it) for as long as the disk took, for ever on a stalled disk.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { root, tempDir } from "../harness/artifact.ts";
import { stalledDisk, stalledDiskUnsupported, type StalledDisk } from "../pid1/stalled-disk.ts";

let disk: StalledDisk | null = null;
afterEach(async () => {
  await disk?.remove();
  disk = null;
});

const unsupported = stalledDiskUnsupported();

// The child: a journal of 4 KiB segments filled close to its end; at "go" one more record makes it
// start a segment, while a 10 ms timer measures how long the loop is held; "lag" then the append's end.
const CHILD = (dir: string) => `
import { Journal } from ${JSON.stringify(join(root, "src/journal/journal.ts"))};
const j = Journal.open(${JSON.stringify(dir)}, { segmentBytes: 4096 });
for (let i = 0; i < 30; i++) await j.append(1, new Uint8Array(100));
console.log("ready");
for await (const line of console) {
  let last = performance.now();
  let lag = 0;
  const t = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last);
    last = now;
  }, 10);
  const done = j.append(1, new Uint8Array(1000));
  await Bun.sleep(2000);
  clearInterval(t);
  console.log("lag " + Math.round(Math.max(lag, performance.now() - last)));
  await done;
  await j.close();
  console.log("done");
  break;
}
`;

test.skipIf(unsupported !== null)("a rotation to a new segment while the state disk is stalled held the event loop until the disk let go (2 s here): the loop goes on, the append resolves once the disk does", async () => {
  const d = (disk = stalledDisk(tempDir()));
  const script = join(tempDir(), "child.ts");
  await Bun.write(script, CHILD(join(d.mount, "journal")));
  const p = Bun.spawn([process.execPath, script], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of p.stdout) {
      buf += dec.decode(chunk, { stream: true });
      for (let i = buf.indexOf("\n"); i !== -1; i = buf.indexOf("\n")) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  })();
  const until = async (what: string) => {
    for (let i = 0; i < 600 && !lines.some((l) => l.startsWith(what)); i++) await Bun.sleep(50);
    return lines.find((l) => l.startsWith(what));
  };
  try {
    expect(await until("ready")).toBe("ready");
    d.stall(p.pid);
    p.stdin.write("go\n");
    p.stdin.flush();
    const lag = await until("lag ");
    d.release();
    expect(await until("done")).toBe("done");
    // Old code: ~2000 (the loop held by the segment's fsyncs until the release).
    expect(Number(lag!.slice(4))).toBeLessThan(500);
  } finally {
    d.release();
    p.kill(9);
    await reading;
  }
}, 60_000);
