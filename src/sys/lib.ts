// Locates the native shim library (embedded in the compiled executable, extracted by Bun on dlopen).
import shimFile from "../../dist/native/libvbshim.so" with { type: "file" };
import { SysError } from "../errors.ts";
import { errnoName } from "./errno.ts";

/** Path of libvbshim.so to pass to `dlopen` (each src/sys module opens it with its own symbols). */
export const shimPath: string = shimFile;

/** Turns the shim's `-errno` convention into a value or a thrown SysError naming the call. */
export function check(ret: number, syscall: string, detail?: string): number {
  if (ret < 0) throw new SysError(syscall, errnoName(-ret), -ret, detail);
  return ret;
}

/** NUL-terminated UTF-8 bytes of a string, for `cstring`-style arguments. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}
