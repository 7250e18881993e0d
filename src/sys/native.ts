// The shim's core symbols (processes, signals, descriptors), opened once: those tini mode calls (the rest: native-boot.ts).
import { FFIType } from "bun:ffi";
import { lazyShim } from "./lib.ts";

const i32 = FFIType.i32;
const f64 = FFIType.f64;
const ptr = FFIType.ptr;

export const native = lazyShim({
  vb_getpid: { args: [], returns: i32 },
  vb_getpgid: { args: [i32], returns: i32 },
  vb_kill: { args: [i32, i32], returns: i32 },
  vb_isatty: { args: [i32], returns: i32 },
  vb_tcgetpgrp: { args: [i32], returns: i32 },
  vb_tcsetpgrp: { args: [i32, i32], returns: i32 },
  vb_block_tty_stops: { args: [i32], returns: i32 },
  vb_sigcount_install_set: { args: [ptr, ptr], returns: i32 },
  vb_sigcount_read_all: { args: [ptr], returns: FFIType.void },
  vb_sigcount_wake_fd: { args: [], returns: i32 },
  vb_signal_state: { args: [ptr], returns: i32 },
  vb_reap: { args: [ptr, ptr, i32], returns: i32 },
  vb_has_children: { args: [], returns: i32 },
  vb_child_stopped: { args: [i32], returns: i32 },
  vb_spawn: { args: [ptr, i32, ptr, i32, ptr, i32, i32, ptr, i32, i32, i32, i32, i32, f64, ptr], returns: i32 },
  vb_set_subreaper: { args: [i32], returns: i32 },
  vb_set_pdeathsig: { args: [i32], returns: i32 },
  vb_raw_strings_size: { args: [i32, ptr], returns: i32 },
  vb_raw_strings_copy: { args: [i32, ptr, i32], returns: i32 },
  vb_close: { args: [i32], returns: i32 },
  vb_read_ready: { args: [i32, ptr, i32], returns: i32 },
  vb_open_cwd: { args: [], returns: i32 },
  vb_keep_inherited_fds: { args: [], returns: i32 },
});
