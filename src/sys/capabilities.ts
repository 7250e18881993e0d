// Linux capability names and numbers, masks for the shim, and restricting the init's own capabilities.
import { check } from "./lib.ts";
import { bootNative } from "./native-boot.ts";

/** capabilities(7) numbers. */
export const Cap = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
} as const;
export type CapName = keyof typeof Cap;
export const capNames = Object.keys(Cap) as CapName[];

/** Bit mask (bit n = capability n) as a float64 the shim converts back (exact below 2^53). */
export function capMask(names: readonly CapName[]): number {
  let m = 0;
  for (const n of names) m += 2 ** Cap[n];
  return m;
}

/** Removes every capability not in `keep` from this process's bounding set (irreversible). */
export function dropBoundingSet(keep: readonly CapName[]): void {
  check(bootNative().vb_drop_bounding(capMask([...new Set(keep)])), "prctl(PR_CAPBSET_DROP)");
}

/** What `restrictCapabilities` did, thread by thread. */
export interface RestrictReport {
  /** Threads of this process now holding only `keep` (the calling one included). */
  threads: number;
  /** Threads whose own capset/bounding-set drop failed (they keep what they had). */
  failed: number;
  /** Threads still alive that never answered; -1: other threads could not be reached at all. */
  unanswered: number;
}

/**
 * Restricts every thread of this process (capability sets are per thread, and Bun's own threads
 * exist before any of our code runs): the bounding set to `keep`, the permitted and effective sets
 * to `keep` (within what each holds), the inheritable and ambient sets to nothing. Irreversible.
 * Throws when the calling thread itself could not be restricted.
 */
export function restrictCapabilities(keep: readonly CapName[]): RestrictReport {
  const out = new Int32Array(3);
  check(bootNative().vb_restrict_caps(capMask([...new Set(keep)]), out), "capset");
  return { threads: out[0]!, failed: out[1]!, unanswered: out[2]! };
}
