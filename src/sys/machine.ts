// Machine-wide calls: mounts, device nodes, hostname, reboot(2), sync, clocks.
import { check, cstr } from "./lib.ts";
import { bootNative } from "./native-boot.ts";

/** mount(2) flags used by the early-boot tables. */
export const MountFlag = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, NOATIME: 1024, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;

export function mount(source: string, target: string, fstype: string, flags: number, data = ""): void {
  check(bootNative().vb_mount(cstr(source), cstr(target), cstr(fstype), flags, cstr(data)), "mount", `${fstype} on ${target}`);
}

export function umount(target: string, flags = 0): void {
  check(bootNative().vb_umount(cstr(target), flags), "umount", target);
}

/** mkdir that treats EEXIST as success. */
export function mkdirp1(path: string, mode = 0o755): void {
  const r = bootNative().vb_mkdir(cstr(path), mode);
  if (r !== -17) check(r, "mkdir", path);
}

/** Creates a character device node (mode includes the file type bits, e.g. 0o20666). EEXIST is fine. */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  const r = bootNative().vb_mknod(cstr(path), mode, major, minor);
  if (r !== -17) check(r, "mknod", path);
}

export function sethostname(name: string): void {
  const b = Buffer.from(name, "utf8");
  check(bootNative().vb_sethostname(b, b.length), "sethostname", name);
}

export type RebootMode = "poweroff" | "reboot" | "halt";
const rebootCmd: Record<RebootMode | "cad-off", number> = { poweroff: 0, reboot: 1, halt: 2, "cad-off": 3 };

/** reboot(2). The shim refuses (EPERM) unless getpid() == 1. Returns only on failure (throws). */
export function reboot(mode: RebootMode | "cad-off"): void {
  check(bootNative().vb_reboot(rebootCmd[mode]), "reboot", mode);
}

export function sync(): void {
  bootNative().vb_sync();
}

/**
 * sync(2) on a thread of its own, waited for at most `ms` (polled): a disk that hangs cannot block
 * the event loop. Resolves true when it returned in time, false when it was abandoned (still running).
 */
export async function syncBounded(ms: number): Promise<boolean> {
  const r = bootNative().vb_sync_start();
  if (r < 0) {
    bootNative().vb_sync(); // no thread to be had: sync here
    return true;
  }
  const end = performance.now() + ms;
  while (!bootNative().vb_sync_done()) {
    if (performance.now() >= end) return false;
    await Bun.sleep(2);
  }
  return true;
}

/** Nanoseconds of CLOCK_MONOTONIC, CLOCK_BOOTTIME (time since kernel start, incl. suspend) or REALTIME. */
export function clockNs(clock: "monotonic" | "boottime" | "realtime"): number {
  return bootNative().vb_clock_ns(clock === "boottime" ? 1 : clock === "realtime" ? 2 : 0);
}

/** Loads a kernel module from a file (finit_module). Returns false when it was already loaded (EEXIST). */
export function loadModuleFile(path: string, params = ""): boolean {
  const compressed = /\.(xz|zst|gz)$/.test(path) ? 4 : 0;
  const r = bootNative().vb_finit_module(cstr(path), cstr(params), compressed);
  if (r === -17) return false;
  check(r, "finit_module", path);
  return true;
}
