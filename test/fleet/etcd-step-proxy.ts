// An HTTP proxy in front of one etcd member's gateway that runs a test's step after a matching call's answer, before passing the answer on.
import { z } from "zod";

export interface StepProxy {
  /** The URL to give a client instead of the member's. */
  url: string;
  stop(): void;
}

const jsonBody = z.record(z.string(), z.unknown());

/**
 * Forwards every call to `target` (unary calls only: a watch's stream is read to its end first).
 * After etcd answered a call, `after(path, body)` runs; the caller gets the answer once it resolved:
 * whatever it does lands between that call and the caller's next one. `refuse(path)`: true fails
 * that call at once (HTTP 503, nothing forwarded), e.g. a node's lease keepalives.
 */
export function stepProxy(target: string, after: (path: string, body: Record<string, unknown>) => Promise<void>, refuse?: (path: string) => boolean): StepProxy {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const text = await req.text();
      // Refused: not forwarded, answered as a member without a leader answers (the call fails as after a cut connection).
      if (refuse?.(path)) return Response.json({ error: "etcdserver: no leader", code: 14 }, { status: 503 });
      const r = await fetch(`${target}${path}`, { method: req.method, headers: { "content-type": "application/json" }, ...(req.method === "GET" ? {} : { body: text }) });
      const answer = await r.arrayBuffer();
      const parsed = jsonBody.safeParse(text ? JSON.parse(text) : {});
      await after(path, parsed.success ? parsed.data : {});
      return new Response(answer, { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "application/json" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
