// `vector-boot reexec` whose connection drops before the instance answered its first `status` (the instance exiting or exec'ing for someone else).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { tempDir } from "./harness.ts";

test("a connection dropped at reexec's first `status`, before any re-exec was asked, was taken for the re-exec and read a status it never got: TypeError, exit 70; it is the connection's error (71), and nothing was asked", async () => {
  const path = join(tempDir(), "control");
  const ops: string[] = [];
  const server = Bun.listen({
    unix: path,
    socket: {
      data(sock, data) {
        for (const line of data.toString().split("\n").filter(Boolean)) ops.push((JSON.parse(line) as { op: string }).op);
        sock.end(); // the instance goes: nothing answered
      },
    },
  });
  try {
    const r = await runShippedAsync(["reexec", "--socket", path, "--timeout", "3000"], 30_000);
    expect({ code: r.code, out: r.out }).toEqual({ code: 71, out: "" });
    expect(r.err).not.toContain("TypeError");
    expect(ops).toEqual(["status"]);
  } finally {
    server.stop(true);
  }
}, 60_000);
