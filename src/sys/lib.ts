// Opens the native shim library: the file embedded in the executable (Bun extracts it to $TMPDIR on dlopen), else a memfd copy.
import { dlopen, FFIType, type FFIFunction, type Library } from "bun:ffi";
import { SysError } from "../errors.ts";
import { errnoName } from "./errno.ts";
import { nodeFs } from "../util/node-fs.ts";
import { namedShimFile } from "./shim-path.ts";

/** The shim to open: found at the first open, the memfd copy once an embedded file could not be extracted (every later open uses it). */
let shimPath: string | null = null;

/**
 * Opens libvbshim.so with `symbols` (each src/sys module opens it with its own). Compiled, Bun
 * extracts the embedded file to `$TMPDIR` on the first dlopen (or reuses an earlier extraction); a
 * container with a read-only root (or a `TMPDIR` that does not exist) has nowhere to put it, and
 * then the library is copied into a memfd and opened as /proc/self/fd/N. The first open is the real
 * one, not a probe: a probe dlopen cost tini mode 0.85 ms of start-up.
 */
export function openShim<Fns extends Record<string, FFIFunction>>(symbols: Fns): Library<Fns> {
  shimPath ??= builtShim();
  try {
    return dlopen(shimPath, symbols);
  } catch (e) {
    // The source tree's file is a real file: its failure is the answer. An embedded one Bun could not
    // extract: nowhere to put it at the first open, or, at a later one (Bun extracts again whenever it
    // cannot find its extraction), gone under the fresh tmpfs PID 1's early mounts put over /tmp (or
    // /run) when TMPDIR was there (evolution and the control socket were disabled). The memfd copy
    // needs no file system.
    if (!shimPath.startsWith("/$bunfs/")) throw e;
    noJit(e);
    shimPath = memfdCopy(shimPath);
    return dlopen(shimPath, symbols);
  }
}

/**
 * The shim's path: the file beside the sources, or the copy embedded in the executable. Named by
 * the executable's entry (src/main.ts imports src/sys/shim-file.ts), else `require`d when first
 * needed, not imported (the library): a static import of a file that was never built (a package whose
 * dist/native was not built) failed the whole `import ... from "vector-boot"` with "Cannot find
 * module '../../dist/native/libvbshim.so'", though only what calls into the shim needs it.
 */
function builtShim(): string {
  // The executable's entry imported the file statically: a require of its chunk here cost the
  // first open 0.45 ms (compiled, in every mode).
  const named = namedShimFile();
  if (named !== null) return named;
  try {
    return (require("./shim-file.ts") as { default: string }).default;
  } catch (e) {
    throw new SysError("dlopen", "ENOENT", 2, "of the native shim: dist/native/libvbshim.so of the vector-boot package is not built (`bun scripts/build.ts` there builds it)", { cause: e });
  }
}

/**
 * The symbols of `openShim(symbols)`, opened at the first use of any of them rather than when the
 * module is loaded: importing the library opens nothing, so it imports without a shim (the
 * TypeScript kernels stand in for the C ones) and a call that needs the shim throws the SysError
 * saying why. After the first use each symbol is a plain property (no cost per call).
 */
export function lazyShim<Fns extends Record<string, FFIFunction>>(symbols: Fns): Library<Fns>["symbols"] {
  const out = {} as Library<Fns>["symbols"];
  const open = (): Record<string, unknown> => {
    const real = openShim(symbols).symbols as Record<string, unknown>;
    for (const name of Object.keys(symbols)) Object.defineProperty(out, name, { value: real[name], enumerable: true });
    return real;
  };
  for (const name of Object.keys(symbols)) Object.defineProperty(out, name, { configurable: true, enumerable: true, get: () => open()[name] });
  return out;
}

/**
 * bun:ffi needs JavaScriptCore's JIT, which is off when it cannot reserve its memory: under a virtual
 * memory limit (`ulimit -v` of about 2 GiB or less) the executable ended in "TypeError: bun:ffi
 * requires the JIT" (exit 70, as if a bug). Said as what it is (exit 71).
 */
function noJit(e: unknown): void {
  if (!(e instanceof Error) || !/requires the JIT/.test(e.message)) return;
  throw new SysError("dlopen", "ENOMEM", 12, "of the native shim: bun:ffi needs the JIT, which is off in this process (a virtual memory limit such as `ulimit -v` below ~3 GiB leaves it no room to reserve; BUN_JSC_useJIT=0 turns it off)", { cause: e });
}

/** The embedded library in a memfd (no file system needed), kept open for the life of the process. */
function memfdCopy(embedded: string): string {
  const { readFileSync, writeSync } = nodeFs();
  const bytes = readFileSync(embedded);
  const libc = dlopen("libc.so.6", { memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 } });
  const MFD_CLOEXEC = 1;
  const fd = libc.symbols.memfd_create(cstr("vector-boot-shim"), MFD_CLOEXEC);
  if (fd < 0) throw new SysError("memfd_create", "EUNKNOWN", 0, `no writable TMPDIR (${process.env.TMPDIR || "/tmp"}) to extract the shim to, and no memfd either`);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  return `/proc/self/fd/${fd}`;
}

/** Turns the shim's `-errno` convention into a value or a thrown SysError naming the call. */
export function check(ret: number, syscall: string, detail?: string): number {
  if (ret < 0) throw new SysError(syscall, errnoName(-ret), -ret, detail);
  return ret;
}

const utf8 = new TextEncoder();

/**
 * NUL-terminated UTF-8 bytes of a string, for `cstring`-style arguments. TextEncoder, not
 * Buffer.from: Buffer's first use costs 0.4 ms of cold code, on tini mode's path to the spawn.
 */
export function cstr(s: string): Uint8Array {
  return utf8.encode(`${s}\0`);
}
