// The control socket's listener: bound at its path, or the one the previous image handed over at a live re-exec (connections queued during the exec are served).
import { chmodSync, chownSync } from "node:fs";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { heldListenerAt, listenUnix, refuseHandedListener } from "../sys/control.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { wakeOnReadable } from "../sys/fd-wake.ts";
import { setInheritable } from "../sys/process.ts";
import { lazy } from "../util/lazy.ts";
import { handedFd, z } from "../util/zod-mini.ts";
import { prepareSocketDir, prepareSocketPath } from "./socket-file.ts";

const log = logger("control");

/**
 * The control part of a live re-exec handoff (handoff 6): the listening socket, kept open across the
 * execve, and the path it is bound to. Images before 6 closed it at the exec, and a client that
 * connected before the next image listened again was refused (ECONNREFUSED, or ENOENT).
 */
export const controlPartSchema = lazy(() => z.strictObject({ listener: handedFd(), path: z.string().check(z.minLength(1)) }));
export type ControlPart = z.infer<ReturnType<typeof controlPartSchema>>;

/** Where and how the control socket listens (the server's resolved options). */
interface ListenAt {
  path: string;
  socketMode: number;
  dirMode: number | null;
  allowGid: number | null;
}

/**
 * The listening descriptor for `o.path`. `handed` (a live re-exec's control part): adopted when it is
 * still a listening Unix stream socket bound to that path (the same socket: what connected meanwhile
 * waits in its backlog), its file's mode and group set as a new one's; else (refuseHandedListener,
 * shared with the evolution session socket) the path is bound anew, as without it, with a log line.
 */
export function openListener(o: ListenAt, sig: number, handed: ControlPart | null): { fd: number; adopted: boolean } {
  if (handed) {
    const fd = adopt(o, sig, handed);
    if (fd !== null) return { fd, adopted: true };
  } else {
    const held = heldListenerAt(o.path);
    if (held !== null) {
      log.warn("control socket: a listener at its path was handed over by the previous image without a handoff this image could read; adopting it", { fd: held, path: o.path });
      const fd = adopt(o, sig, { listener: held, path: o.path });
      if (fd !== null) return { fd, adopted: true };
    }
  }
  prepareSocketPath(o.path, o.dirMode, o.allowGid);
  const fd = listenUnix(o.path, o.socketMode, 64, sig);
  try {
    if (o.allowGid !== null) chownSync(o.path, process.geteuid?.() ?? 0, o.allowGid);
  } catch (e) {
    closeFdQuietly(fd);
    throw e;
  }
  return { fd, adopted: false };
}

function adopt(o: ListenAt, sig: number, handed: ControlPart): number | null {
  const fd = handed.listener;
  const refused = refuseHandedListener(fd, handed.path, o.path);
  if (refused !== null) {
    log.warn("control socket handed over at the re-exec not adopted; listening anew", { fd, why: refused.why, closed: refused.closed });
    return null;
  }
  try {
    prepareSocketDir(o.path, o.dirMode, o.allowGid);
    setInheritable(fd, false);
    wakeOnReadable(fd, sig);
    chmodSync(o.path, o.socketMode);
    if (o.allowGid !== null) chownSync(o.path, process.geteuid?.() ?? 0, o.allowGid);
    return fd;
  } catch (e) {
    closeFdQuietly(fd);
    log.warn("control socket handed over at the re-exec could not be adopted; closed it, listening anew", { fd, path: o.path, error: describeError(e) });
    return null;
  }
}
