// A service whose stop is under way across a live re-exec (its SIGTERM handler waits for a gate), and a stop or restart asked of it then: the set-up of the re-exec-during-stop tests.
import { writeFileSync } from "node:fs";
import { runShippedAsync } from "../harness/artifact.ts";
import { waitFor } from "./harness.ts";
import { lines } from "./file-text.ts";
import { bootOne, liveReexec, newImageAnswers, untilGate, untilUp } from "./live-reexec.ts";

/** Boots a service whose SIGTERM handler takes until `gate` exists (bounded): its stop is under way across the re-exec. */
export async function bootSlowStopper() {
  const b = bootOne(({ ev, gate }) => ({ name: "svc", argv: ["sh", "-c", `trap 'echo term >> ${ev}; ${untilGate(gate)}; exit 0' TERM; echo main >> ${ev}; while :; do sleep 0.05; done`], grace_ms: 60_000 }));
  await untilUp(b.run, () => lines(b.ev).includes("main"), "the service");
  return b;
}

/** Asks `action` of svc, re-execs the instance while the service's stop is under way, then lets the stop end; the command's result. */
export async function acrossReexec(action: "stop" | "restart") {
  const b = await bootSlowStopper();
  const asked = runShippedAsync([action, "svc", "--socket", b.sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(b.ev).includes("term"), 30_000, `the ${action}'s stop signal`);
  await liveReexec(b.run, b.sock);
  await newImageAnswers(b.sock);
  writeFileSync(b.gate, "");
  return { ...b, result: await asked };
}
