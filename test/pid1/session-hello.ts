// The evolution session server's hello, as a producer reads it: its ring, or why there was none.
import net from "node:net";

/** The first line a connection to `path` reads (the session server's hello), or the connect's error code. */
export function hello(path: string): Promise<{ ring: number } | { error: string }> {
  return new Promise((resolve) => {
    let buf = "";
    const sock = net.connect(path);
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      sock.destroy();
      const h = JSON.parse(buf.slice(0, nl)) as { ring?: number; error?: string };
      resolve(h.ring !== undefined ? { ring: h.ring } : { error: h.error ?? "?" });
    });
    sock.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    sock.on("close", () => resolve({ error: "closed unanswered" }));
  });
}
