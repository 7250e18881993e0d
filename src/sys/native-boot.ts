// The shim's symbols tini mode never calls (mounts, mappings, locks, capabilities, sessions, exec), opened on first use.
import { FFIType } from "bun:ffi";
import { openShim } from "./lib.ts";

const i32 = FFIType.i32;
const f64 = FFIType.f64;
const ptr = FFIType.ptr;

/**
 * Kept out of native.ts: every symbol of a bun:ffi open costs its start-up (compiling its
 * trampoline), and `vector-boot -- CMD` never calls these. Measured in a compiled program: an open of
 * the 53 symbols 3.5 ms, of 32 of them 1.5-1.8 ms (the cost is per symbol:
 * 20 symbols took 1.3 ms in one open and 1.4 ms in seven).
 */
function open() {
  return openShim({
    vb_flock: { args: [i32, i32], returns: i32 },
    vb_sealed_copy: { args: [ptr, f64, f64], returns: i32 },
    vb_sync_start: { args: [], returns: i32 },
    vb_sync_done: { args: [], returns: i32 },
    vb_drop_bounding: { args: [f64], returns: i32 },
    vb_restrict_caps: { args: [f64, ptr], returns: i32 },
    vb_mount: { args: [ptr, ptr, ptr, f64, ptr], returns: i32 },
    vb_umount: { args: [ptr, i32], returns: i32 },
    vb_mkdir: { args: [ptr, i32], returns: i32 },
    vb_mknod: { args: [ptr, i32, i32, i32], returns: i32 },
    vb_sethostname: { args: [ptr, i32], returns: i32 },
    vb_reboot: { args: [i32], returns: i32 },
    vb_sync: { args: [], returns: FFIType.void },
    vb_clock_ns: { args: [i32], returns: f64 },
    vb_file_size: { args: [ptr, ptr], returns: i32 },
    vb_mmap_ro: { args: [ptr, f64, f64, ptr], returns: i32 },
    vb_munmap: { args: [f64, f64], returns: i32 },
    vb_page_size: { args: [], returns: FFIType.i64 },
    vb_finit_module: { args: [ptr, ptr, i32], returns: i32 },
    vb_getppid: { args: [], returns: i32 },
    vb_setsid: { args: [], returns: i32 },
    vb_setpgid: { args: [i32, i32], returns: i32 },
    vb_set_cloexec: { args: [i32, i32], returns: i32 },
    vb_signal_disposition: { args: [i32, i32], returns: i32 },
    vb_sigcount_install: { args: [i32], returns: i32 },
    vb_sigcount_read: { args: [i32], returns: f64 },
    vb_sigcount_take: { args: [i32], returns: f64 },
    vb_sigcount_unblock_carried: { args: [], returns: i32 },
    vb_sigcount_install_shared: { args: [i32], returns: i32 },
    vb_spawn_in_cgroup: { args: [ptr, ptr, i32, ptr, i32, ptr, i32, i32, ptr, i32, i32, i32, i32, i32, f64, ptr], returns: i32 },
    vb_is_subreaper: { args: [], returns: i32 },
    vb_set_no_new_privs: { args: [], returns: i32 },
    vb_execve: { args: [ptr, ptr, i32, ptr, i32], returns: i32 },
  }).symbols;
}

let symbols: ReturnType<typeof open> | null = null;

/** The boot's symbols, opened at the first call. */
export function bootNative(): ReturnType<typeof open> {
  return (symbols ??= open());
}
