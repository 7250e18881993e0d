// A network interface or disk that appears between two samples: its counters since boot are not one interval's rate.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
const MiB = 1048576;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeProc(): string {
  const dir = mkdtempSync(join(tmpdir(), "vb-newdev-"));
  dirs.push(dir);
  mkdirSync(join(dir, "net"));
  return dir;
}

/** /proc/net/dev with each interface's received and sent bytes. */
const netDev = (ifs: Record<string, [number, number]>) =>
  "Inter-|   Receive                            |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
  Object.entries(ifs)
    .map(([n, [rx, tx]]) => `${n.padStart(6)}: ${rx} 1 0 0 0 0 0 0 ${tx} 1 0 0 0 0 0 0\n`)
    .join("");
/** /proc/diskstats with each whole disk's sectors read and written. */
const diskstats = (disks: Record<string, [number, number]>) =>
  Object.entries(disks)
    .map(([n, [r, w]], i) => `   8      ${i * 16} ${n} 1 0 ${r} 0 1 0 ${w} 0 0 0 0\n`)
    .join("");

test("a network interface that appeared between two samples (a hot-plugged NIC, a container's veth, a VPN tunnel) added its bytes since boot to one interval: net.rx_mib_s read 10240 MiB/s on a link that moved 1 MiB/s", () => {
  const proc = fakeProc();
  writeFileSync(join(proc, "net/dev"), netDev({ lo: [5, 5], eth0: [100 * MiB, 50 * MiB] }));
  const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 0 });
  s.sample(0);
  // One second later: eth0 moved 1 MiB each way; wg0 came up carrying 10 GiB and 5 GiB it had counted before.
  writeFileSync(join(proc, "net/dev"), netDev({ lo: [5, 5], eth0: [101 * MiB, 51 * MiB], wg0: [10240 * MiB, 5120 * MiB] }));
  const v = s.sample(1000);
  expect(val(v, "net.rx_mib_s")).toBeCloseTo(1, 9);
  expect(val(v, "net.tx_mib_s")).toBeCloseTo(1, 9);
  // From the next interval on, the new interface counts like any other.
  writeFileSync(join(proc, "net/dev"), netDev({ lo: [5, 5], eth0: [102 * MiB, 52 * MiB], wg0: [10242 * MiB, 5120 * MiB] }));
  const w = s.sample(2000);
  expect(val(w, "net.rx_mib_s")).toBeCloseTo(3, 9);
  expect(val(w, "net.tx_mib_s")).toBeCloseTo(1, 9);
});

test("a disk that appeared between two samples (a USB stick, a hot-added virtio disk) added its sectors since boot to one interval's disk rate", () => {
  const proc = fakeProc();
  writeFileSync(join(proc, "diskstats"), diskstats({ sda: [2048 * 100, 2048 * 100] }));
  const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 0 });
  s.sample(0);
  writeFileSync(join(proc, "diskstats"), diskstats({ sda: [2048 * 102, 2048 * 101], sdb: [2048 * 4000, 2048 * 3000] })); // sda: 2 MiB read, 1 MiB written
  const v = s.sample(1000);
  expect(val(v, "disk.read_mib_s")).toBeCloseTo(2, 9);
  expect(val(v, "disk.write_mib_s")).toBeCloseTo(1, 9);
});

test("a device that went away between two samples takes nothing off the others' rates", () => {
  const proc = fakeProc();
  writeFileSync(join(proc, "net/dev"), netDev({ eth0: [100 * MiB, 100 * MiB], wg0: [500 * MiB, 500 * MiB] }));
  const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 0 });
  s.sample(0);
  writeFileSync(join(proc, "net/dev"), netDev({ eth0: [104 * MiB, 102 * MiB] }));
  const v = s.sample(1000);
  expect(val(v, "net.rx_mib_s")).toBeCloseTo(4, 9);
  expect(val(v, "net.tx_mib_s")).toBeCloseTo(2, 9);
});
