// The early filesystems and device nodes as tables of values (the C pre-init has the same list).
import { MountFlag as F } from "../sys/machine.ts";

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data: string;
  /** Failure is logged at debug level only (not every kernel has it). */
  optional: boolean;
}

export const earlyMounts: readonly MountEntry[] = [
  { source: "proc", target: "/proc", fstype: "proc", flags: F.NOSUID | F.NODEV | F.NOEXEC, data: "", optional: false },
  { source: "sysfs", target: "/sys", fstype: "sysfs", flags: F.NOSUID | F.NODEV | F.NOEXEC, data: "", optional: false },
  { source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: F.NOSUID, data: "mode=0755", optional: false },
  { source: "devpts", target: "/dev/pts", fstype: "devpts", flags: F.NOSUID | F.NOEXEC, data: "gid=5,mode=0620,ptmxmode=0666", optional: true },
  { source: "tmpfs", target: "/dev/shm", fstype: "tmpfs", flags: F.NOSUID | F.NODEV, data: "mode=1777", optional: false },
  { source: "tmpfs", target: "/run", fstype: "tmpfs", flags: F.NOSUID | F.NODEV, data: "mode=0755", optional: false },
  { source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: F.NOSUID | F.NODEV, data: "mode=1777", optional: false },
  { source: "cgroup2", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: F.NOSUID | F.NODEV | F.NOEXEC, data: "", optional: true },
];

export interface DeviceNode {
  path: string;
  /** File type and permission bits (S_IFCHR = 0o020000). */
  mode: number;
  major: number;
  minor: number;
}

const chr = 0o020000;
/** Created only when missing (devtmpfs normally provides them). */
export const earlyDevices: readonly DeviceNode[] = [
  { path: "/dev/console", mode: chr | 0o600, major: 5, minor: 1 },
  { path: "/dev/null", mode: chr | 0o666, major: 1, minor: 3 },
  { path: "/dev/zero", mode: chr | 0o666, major: 1, minor: 5 },
  { path: "/dev/urandom", mode: chr | 0o666, major: 1, minor: 9 },
  { path: "/dev/kmsg", mode: chr | 0o644, major: 1, minor: 11 },
  { path: "/dev/tty", mode: chr | 0o666, major: 5, minor: 0 },
];

/** Symlinks the /dev tree is expected to have. */
export const earlyLinks: readonly { path: string; target: string }[] = [
  { path: "/dev/fd", target: "/proc/self/fd" },
  { path: "/dev/stdin", target: "/proc/self/fd/0" },
  { path: "/dev/stdout", target: "/proc/self/fd/1" },
  { path: "/dev/stderr", target: "/proc/self/fd/2" },
];
