// A stand-in control socket for CLI tests: each request line is answered with what `answer` gives (nothing when undefined).
import type { Socket } from "bun";

export interface Request {
  id: number;
  op: string;
  [field: string]: unknown;
}

/** Listens on `path`; `answer` sees each request (and the connection, to end it) and gives the result to send, or undefined for none. */
export function answeringSocket(path: string, answer: (req: Request, sock: Socket<undefined>) => unknown) {
  return Bun.listen({
    unix: path,
    socket: {
      data(sock, data) {
        for (const line of data.toString().split("\n").filter(Boolean)) {
          const req = JSON.parse(line) as Request;
          const result = answer(req, sock);
          if (result !== undefined) sock.write(`${JSON.stringify({ id: req.id, ok: true, result })}\n`);
        }
      },
    },
  });
}
