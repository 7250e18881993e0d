// wait() for a tag never submitted, or already returned, waited the whole timeout and then said the consumer (the init) timed out.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);

test("Client.wait(tag) for a tag never submitted, or one wait had already returned, waited its whole timeout and blamed the init ('timed out waiting for the consumer'): a ValueError at once naming the tag", async () => {
  const init = await initForPython();
  const script = `
import json, sys, time
from vector_boot_evolution import Client
def error(f):
    t0 = time.monotonic()
    try:
        r = f()
    except Exception as e:
        return [type(e).__name__, str(e), time.monotonic() - t0 < 2]
    return ["returned", repr(r), time.monotonic() - t0 < 2]
with Client(sys.argv[1], timeout=20) as c:
    never = error(lambda: c.wait(12345, timeout=10))
    tag = c.submit("pixel.1.bias", 0, [0.5], 0.95)
    done = c.wait(tag)
    again = error(lambda: c.wait(tag, timeout=10))
print(json.dumps({"never": never, "done": done.status_name, "again": again, "tag": tag}))
`;
  const r = init.runPython(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  expect(out.done).toBe("ACCEPTED");
  expect(out.never).toEqual(["ValueError", "no submission with tag 12345 is waiting for its completion (never submitted, or wait already returned it)", true]);
  expect(out.again).toEqual(["ValueError", `no submission with tag ${out.tag} is waiting for its completion (never submitted, or wait already returned it)`, true]);
}, 120_000);
