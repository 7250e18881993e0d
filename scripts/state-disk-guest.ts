// Runs inside the QEMU guest of scripts/qemu-state-disk.ts (a service: BUN_BE_BUN=1 /sbin/vector-boot THIS): mutates, reads back, prints JSON lines.
// Self-contained (no imports from the project): it is copied into the initramfs alone.
// Boot phase from the kernel command line `vbtest.phase=1|2`. Every result is one console line
// `state-disk: STEP {json}`; the host script judges them. Ends by asking the init to power off.
import { readFileSync } from "node:fs";
import net from "node:net";

// The executable starts reluctant to JIT (scripts/compile-flags.ts: its boot code runs once); a script it
// runs as Bun (BUN_BE_BUN=1) is a workload: the normal policy, as src/util/jit-policy.ts sets it.
Bun.unsafe.setJITPolicy(1);

const EXE = "/sbin/vector-boot";
const CONTROL = "/run/vector-boot/control";
const PIXELS = [[72, 101, 108], [101, 108, 108], [108, 111, 111], [250, 255, 0]];
/** The mutation of boot 1 and the one of boot 2 (pixel head output layer: changes the pixel output). */
const MUTATIONS = { boot1: { tensor: "pixel.1.bias", offset: 0, values: [4.5] }, boot2: { tensor: "pixel.1.bias", offset: 1, values: [-3.25] } };

const phase = /(?:^|\s)vbtest\.phase=(\d)/.exec(readFileSync("/proc/cmdline", "utf8"))?.[1] ?? "?";
const childEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (k !== "BUN_BE_BUN" && v !== undefined) childEnv[k] = v;

const report = (step: string, value: unknown) => process.stdout.write(`state-disk: ${step} ${JSON.stringify(value)}\n`);

/** One vector-boot command; stdout parsed as JSON when it is. Bounded (30 s). */
function vb(args: string[]): { exit: number | null; result: unknown; stderr: string } {
  const r = Bun.spawnSync([EXE, ...args], { env: childEnv, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const out = r.stdout.toString().trim();
  let result: unknown = out;
  try {
    result = JSON.parse(out);
  } catch {
    // not JSON: kept as text
  }
  return { exit: r.exitCode, result, stderr: r.stderr.toString().trim().slice(0, 400) };
}

/** The pixel head's output through the control socket (the live weights, not the executable's base model). */
function pixels(): Promise<unknown> {
  return new Promise((resolve) => {
    const sock = net.createConnection(CONTROL);
    let buf = "";
    const timer = setTimeout(() => (sock.destroy(), resolve({ error: "no answer within 10 s" })), 10_000);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify({ id: 1, op: "pixels", pixels: PIXELS })}\n`));
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        const r = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: { output?: number[] }; error?: unknown };
        resolve(r.ok ? { output: r.result?.output } : { error: r.error });
      } catch (e) {
        resolve({ error: String(e) });
      }
    });
    sock.on("error", (e) => (clearTimeout(timer), resolve({ error: String(e) })));
  });
}

const mutate = (m: { tensor: string; offset: number; values: number[] }, confidence: number) => ({
  request: { ...m, confidence },
  ...vb(["mutate", m.tensor, String(m.offset), `--values=${m.values.join(",")}`, "--confidence", String(confidence), "--json"]),
});

// The service may start before the control socket listens: wait for it (bounded).
const deadline = Date.now() + 60_000;
let status = vb(["status", "--json"]);
while (status.exit !== 0 && Date.now() < deadline) {
  await Bun.sleep(200);
  status = vb(["status", "--json"]);
}
report("status-before", { exit: status.exit, journal: (status.result as { journal?: unknown }).journal ?? null, stderr: status.stderr });
report("pixels-before", await pixels());
report("mutate-kernel", mutate({ tensor: "kernel.cortex.threshold", offset: 0, values: [0.01] }, 0.99));
report("mutate-accepted", mutate(phase === "1" ? MUTATIONS.boot1 : MUTATIONS.boot2, 0.95));
report("pixels-after", await pixels());
const after = vb(["status", "--json"]);
report("status-after", { exit: after.exit, journal: (after.result as { journal?: unknown }).journal ?? null });
report("done", { phase });
report("poweroff", vb(["poweroff"]));
