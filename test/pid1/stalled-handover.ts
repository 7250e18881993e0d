// An init booted with its state dir on a stalled disk, and a live re-exec whose handover waits for a mutation's fdatasync until the test lets the disk go: the held-handover tests' set-up.
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson, type Run } from "./harness.ts";
import { listServices } from "./service-boot.ts";
import { stalledDisk, type StalledDisk } from "./stalled-disk.ts";

type Answer = { code: number; out: string; err: string };

let disk: StalledDisk | null = null;

/** For afterEach: kills what the test left running and removes its stalled disk. */
export async function cleanUpStalledBoot(): Promise<void> {
  killLeftovers();
  await disk?.remove();
  disk = null;
}

/** The booted init: its disk, control socket, the service's `sleep` argument (a marker to find its process by) and the run. */
export interface StalledBoot {
  disk: StalledDisk;
  sock: string;
  marker: string;
  run: Run;
}

/** Boots one service "svc" (`sleep <marker>`, with the `policy` keys: restart, backoff) and the state dir on a stalled disk (not yet stalled), heartbeat every 100 ms, not logged, `extra` config keys; waits until svc runs. */
export async function bootOnStalledDisk(policy: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<StalledBoot> {
  const dir = tempDir();
  const d = (disk = stalledDisk(dir));
  const sock = join(dir, "run", "control");
  const marker = String(86_000 + (process.pid % 400) + Math.random()).slice(0, 12);
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(d.mount, "state"),
    heartbeat_ms: 100,
    heartbeat_log_every: 0,
    services: [{ name: "svc", ...policy, argv: ["sleep", marker] }],
    ...extra,
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  await waitFor(async () => (await listServices(sock)).find((s) => s.name === "svc")?.state === "running", 30_000, "svc running");
  return { disk: d, sock, marker, run };
}

/** The mutation whose fdatasync waits, the re-exec asked, and `mark`: the log's length when it was asked. */
export interface HeldHandover {
  mutate: Promise<Answer>;
  reexec: Promise<Answer>;
  mark: number;
}

/**
 * Stalls the disk under a mutation (journaled, not yet durable), asks a live re-exec and waits until its beat
 * freezes (`what`: that wait's name): the handover's evolution part then waits for the journal until `disk.release()`.
 */
export async function reexecWaitingForJournal(b: StalledBoot, what: string): Promise<HeldHandover> {
  b.disk.stall(b.run.proc.pid);
  const mutate = runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", b.sock], 120_000);
  const journal = async () => JSON.parse((await runShippedAsync(["status", "--json", "--socket", b.sock])).out).journal as { nextSeq: number; durableSeq: number };
  await waitFor(async () => {
    const j = await journal();
    return j.nextSeq - 1 > j.durableSeq;
  }, 30_000, "the mutation journaled, not yet durable");
  const mark = b.run.log().length;
  const reexec = runShippedAsync(["reexec", "--socket", b.sock, "--timeout", "60000"], 120_000);
  await waitFor(() => b.run.log().slice(mark).includes("heartbeat stopped"), 60_000, what);
  return { mutate, reexec, mark };
}
