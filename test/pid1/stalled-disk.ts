// A state disk whose writes a test can stall and then let go: ext2 on a loop device, written through a blkio cgroup throttled to nothing.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CGROUP_V1 = "/sys/fs/cgroup/blkio";

/** Why this host cannot stall a disk's writes (null: it can): root, a loop device, mkfs.ext2 and the cgroup v1 blkio throttle are needed. */
export function stalledDiskUnsupported(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync("/dev/loop-control")) return "no loop devices";
  if (!existsSync(join(CGROUP_V1, "blkio.throttle.write_iops_device"))) return "no cgroup v1 blkio throttle";
  if (Bun.spawnSync(["sh", "-c", "command -v losetup && command -v mkfs.ext2"]).exitCode !== 0) return "losetup or mkfs.ext2 missing";
  return null;
}

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

export interface StalledDisk {
  /** Where the file system is mounted. */
  mount: string;
  /** From now on the writes of `pid` (and the threads and children it has or will have) to the disk wait: an fdatasync there blocks until `release`. */
  stall(pid: number): void;
  /** Lets the writes go (the blocked fdatasync returns). */
  release(): void;
  /** Releases, unmounts, detaches the loop device and removes the cgroup (waiting, at most 10 s, for its processes to be gone). */
  remove(): Promise<void>;
}

/** A 32 MiB ext2 file system on a loop device, mounted at `dir`/disk (ext2: no journal thread whose commits the stall would hold). */
export function stalledDisk(dir: string): StalledDisk {
  const image = join(dir, "disk.img");
  writeFileSync(image, "");
  run(["truncate", "-s", "32M", image]);
  const loop = run(["losetup", "-f", "--show", image]);
  const mount = join(dir, "disk");
  mkdirSync(mount, { recursive: true });
  run(["mkfs.ext2", "-q", loop]);
  run(["mount", loop, mount]);
  const dev = run(["lsblk", "-dno", "MAJ:MIN", loop]).replace(/\s/g, "");
  const cgroup = join(CGROUP_V1, `vb-test-stall-${process.pid}-${dev.replace(":", "-")}`);
  mkdirSync(cgroup, { recursive: true });
  const limit = (v: string) => {
    for (const f of ["blkio.throttle.write_iops_device", "blkio.throttle.write_bps_device"]) writeFileSync(join(cgroup, f), `${dev} ${v}`);
  };
  return {
    mount,
    stall(pid) {
      limit("1");
      writeFileSync(join(cgroup, "cgroup.procs"), String(pid));
    },
    release: () => limit("0"),
    async remove() {
      try {
        limit("0");
      } catch {
        /* already gone */
      }
      Bun.spawnSync(["umount", "-l", mount]);
      Bun.spawnSync(["losetup", "-d", loop]);
      // A cgroup goes with rmdir (its files with it), once no process is left in it (a SIGKILL'd init may take a moment).
      const procs = join(cgroup, "cgroup.procs");
      for (let i = 0; i < 200 && existsSync(procs) && readFileSync(procs, "utf8").trim() !== ""; i++) await Bun.sleep(50);
      Bun.spawnSync(["rmdir", cgroup]);
      rmSync(image, { force: true });
    },
  };
}
