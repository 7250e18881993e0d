// `vector-boot reexec --timeout MS` gave the instance's preflight (two questions to the new image, up to 30 s each) only MS, and the new image's start what was left of it.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { answeringSocket } from "./answering-socket.ts";
import { tempDir } from "./harness.ts";

test("a re-exec whose preflight took 4 s exited 71 ('not answered') under --timeout 3000 while the instance went on and exec'd: the request waits out the preflight, and the new image gets --timeout of its own", async () => {
  const path = join(tempDir(), "control");
  let generation = 0;
  const server = answeringSocket(path, (req, sock) => {
    if (req.op !== "reexec") return { generation, pid: 1 };
    // The preflight's questions, then the exec: the connection drops unanswered, the new image answers.
    setTimeout(() => {
      generation = 1;
      sock.end();
    }, 4000);
    return undefined;
  });
  try {
    const r = await runShippedAsync(["reexec", "--socket", path, "--timeout", "3000"], 60_000);
    expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: "re-exec done: generation 0 -> 1, pid 1" });
  } finally {
    server.stop(true);
  }
}, 60_000);
