// Stand-ins for an instance's control socket around a live re-exec: the old image that drops a request unanswered as an execve does, and a slow new image.
import net from "node:net";
import type { ServiceStatus } from "../../src/control/target.ts";

export type Row = Pick<ServiceStatus, "state" | "pid" | "restarts" | "lastStatus">;
export const row = (r: Row): ServiceStatus => ({ name: "svc", startedAt: performance.now(), ...r });

type Answer = (op: string) => unknown;

/** A line-JSON server on `path` whose answer to each request is `answer(op)`, sent `delayMs()` after it came; `undefined` drops everything as an execve does. */
function lineServer(path: string, answer: Answer, delayMs: () => number, dropped: () => void): net.Server {
  const srv = net.createServer((sock) => {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const req = JSON.parse(buf.slice(0, nl)) as { id: number; op: string };
        buf = buf.slice(nl + 1);
        const result = answer(req.op);
        if (result === undefined) {
          sock.destroy();
          srv.close(dropped);
          return;
        }
        const line = `${JSON.stringify({ id: req.id, ok: true, result })}\n`;
        const ms = delayMs();
        if (ms === 0) sock.write(line);
        else setTimeout(() => sock.writable && sock.write(line), ms);
      }
    });
  });
  srv.listen(path);
  return srv;
}

/**
 * The image before the re-exec: answers `status` (generation 0) and `services` (svc as `before`),
 * and at `dropOn` goes as an execve goes: every connection and the listener closed, nothing
 * answered. The socket file stays for the next image, which listens on it (`next`) once this one is gone.
 */
export function oldImage(path: string, before: Row, dropOn: string, next: () => void): net.Server {
  const answer = (op: string) => (op === "status" ? { pid: process.pid, version: "test", uptimeMs: 1, generation: 0 } : op === "services" ? [row(before)] : op === dropOn ? undefined : null);
  return lineServer(path, answer, () => 0, next);
}

/** The image after the re-exec (generation 1), listing svc as `after` and answering each request `delayMs()` late. */
export function slowNextImage(path: string, after: Row, delayMs: () => number): net.Server {
  const answer = (op: string) => (op === "status" ? { pid: process.pid, version: "test", uptimeMs: 2, generation: 1 } : op === "services" ? [row(after)] : null);
  return lineServer(path, answer, delayMs, () => {});
}
