// The shim's core symbols, opened once through bun:ffi (the only FFI binding of the PID-1 core).
import { FFIType } from "bun:ffi";
import { openShim } from "./lib.ts";

const i32 = FFIType.i32;
const f64 = FFIType.f64;
const ptr = FFIType.ptr;

export const native = openShim({
  vb_getpid: { args: [], returns: i32 },
  vb_getppid: { args: [], returns: i32 },
  vb_setsid: { args: [], returns: i32 },
  vb_setpgid: { args: [i32, i32], returns: i32 },
  vb_getpgid: { args: [i32], returns: i32 },
  vb_kill: { args: [i32, i32], returns: i32 },
  vb_flock: { args: [i32, i32], returns: i32 },
  vb_sealed_copy: { args: [ptr, f64, f64], returns: i32 },
  vb_set_cloexec: { args: [i32, i32], returns: i32 },
  vb_sync_start: { args: [], returns: i32 },
  vb_sync_done: { args: [], returns: i32 },
  vb_isatty: { args: [i32], returns: i32 },
  vb_tcgetpgrp: { args: [i32], returns: i32 },
  vb_tcsetpgrp: { args: [i32, i32], returns: i32 },
  vb_signal_disposition: { args: [i32, i32], returns: i32 },
  vb_sigcount_install: { args: [i32], returns: i32 },
  vb_sigcount_read: { args: [i32], returns: f64 },
  vb_sigcount_install_set: { args: [ptr, ptr], returns: i32 },
  vb_sigcount_read_all: { args: [ptr], returns: FFIType.void },
  vb_sigcount_install_shared: { args: [i32], returns: i32 },
  vb_sigcount_wake_fd: { args: [], returns: i32 },
  vb_signal_state: { args: [ptr], returns: i32 },
  vb_reap: { args: [ptr, ptr, i32], returns: i32 },
  vb_waitpid: { args: [i32, ptr, i32], returns: i32 },
  vb_has_children: { args: [], returns: i32 },
  vb_spawn: { args: [ptr, i32, ptr, i32, ptr, i32, i32, ptr, i32, i32, i32, i32, i32, f64, f64], returns: i32 },
  vb_spawn_in_cgroup: { args: [ptr, ptr, i32, ptr, i32, ptr, i32, i32, ptr, i32, i32, i32, i32, i32, f64, f64], returns: i32 },
  vb_drop_bounding: { args: [f64], returns: i32 },
  vb_restrict_caps: { args: [f64, ptr], returns: i32 },
  vb_mount: { args: [ptr, ptr, ptr, f64, ptr], returns: i32 },
  vb_umount: { args: [ptr, i32], returns: i32 },
  vb_mkdir: { args: [ptr, i32], returns: i32 },
  vb_mknod: { args: [ptr, i32, i32, i32], returns: i32 },
  vb_sethostname: { args: [ptr, i32], returns: i32 },
  vb_set_subreaper: { args: [i32], returns: i32 },
  vb_is_subreaper: { args: [], returns: i32 },
  vb_set_no_new_privs: { args: [], returns: i32 },
  vb_set_pdeathsig: { args: [i32], returns: i32 },
  vb_reboot: { args: [i32], returns: i32 },
  vb_sync: { args: [], returns: FFIType.void },
  vb_clock_ns: { args: [i32], returns: f64 },
  vb_file_size: { args: [ptr, ptr], returns: i32 },
  vb_mmap_ro: { args: [ptr, f64, f64, ptr], returns: i32 },
  vb_munmap: { args: [f64, f64], returns: i32 },
  vb_madvise: { args: [f64, f64, i32], returns: i32 },
  vb_page_size: { args: [], returns: FFIType.i64 },
  vb_execve: { args: [ptr, ptr, i32, ptr, i32], returns: i32 },
  vb_raw_strings_size: { args: [i32, ptr], returns: i32 },
  vb_raw_strings_copy: { args: [i32, ptr, i32], returns: i32 },
  vb_finit_module: { args: [ptr, ptr, i32], returns: i32 },
  vb_close: { args: [i32], returns: i32 },
  vb_read_ready: { args: [i32, ptr, i32], returns: i32 },
  vb_open_cwd: { args: [], returns: i32 },
}).symbols;








