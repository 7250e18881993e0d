// What a refused connect to the control socket means: a full backlog (try again), a stale socket file, or no socket at all.
import { lstatSync } from "node:fs";
import { NotNowError, SysError } from "../errors.ts";
import { socketPathDetail } from "../util/unix-path.ts";

/**
 * Why node:net's ECONNREFUSED happened. node:net (Bun's too) reports a listener whose backlog is full
 * (connect(2): EAGAIN, the init not accepting as fast as others connect: a flood) exactly as it reports
 * a socket file nobody listens on, or a path that is no socket: the CLI said `ECONNREFUSED` and exited 71
 * for all three. `busy`: connect again, the instance is there; otherwise the error to report.
 */
export async function explainRefused(path: string, cause: Error): Promise<"busy" | SysError> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = null; // gone since: the connect below says so
  }
  if (st && !st.isSocket()) {
    const what = st.isDirectory() ? "a directory" : st.isSymbolicLink() ? "a symbolic link" : st.isFile() ? "a regular file" : "not a socket";
    return new SysError("connect", "ENOTSOCK", 88, `${socketPathDetail(path)} is ${what}, not a socket: --socket (or $VECTOR_BOOT_CONTROL) must name the control socket`);
  }
  // Asked once more without node:net, which keeps the errno (the shim is loaded only on this path).
  const { connectProbe } = await import("../sys/control.ts");
  let got: { errno: string; code: number } | null;
  try {
    got = connectProbe(path);
  } catch {
    got = { errno: "ECONNREFUSED", code: 111 };
  }
  if (got === null || got.errno === "EAGAIN") return "busy";
  if (got.errno === "ECONNREFUSED") {
    return new SysError("connect", "ECONNREFUSED", 111, `${socketPathDetail(path)}: nothing listens on this socket (left by an instance that is no longer running? is vector-boot running? --socket PATH)`);
  }
  return new SysError("connect", got.errno, got.code, socketPathDetail(path), { cause });
}

/** A connect that found the backlog full until the connect timeout: not now, try again (75). */
export function backlogFull(path: string, timeoutMs: number): NotNowError {
  return new NotNowError(`connect ${socketPathDetail(path)}: the instance is not taking connections (its queue stayed full for ${timeoutMs} ms: a flood of connections?); try again`);
}
