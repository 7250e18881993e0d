// `vector-boot reexec [PATH]`: asks a running instance to re-exec itself (or a new binary), then checks the new image answers.
import { z } from "zod";
import { SysError, UsageError } from "../errors.ts";
import { ControlClient, controlSocketPath } from "../control/client.ts";
import { commonOptionsHelp, describeObject, parseCommon } from "../control/cli-support.ts";
import { out } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";
import { PREFLIGHT_STEP_MS } from "../boot/preflight.ts";

const help = `Usage: vector-boot reexec [PATH] [--json] [--socket PATH] [--timeout MS]

Asks the running vector-boot (over its control socket) to replace its image live: the new
executable (PATH, absolute; default the running one) must answer --version first, as a vector-boot
that reads this image's handoff version ("handoff 2,3,4,5,6,7" in its version line: the versions it reads), then PID 1
hands over its state (services and their pids, counters, beat number) and execs it. Services keep
running. The connection drops at the exec; this command then reconnects until the new image
answers (within --timeout from the exec) and checks that its re-exec generation went up. The request
itself waits --timeout plus the instance's preflight (up to 30 s for each of its two questions).

Exits 0 when the new image answers; 65 when the instance refused the new image (its preflight: not a
vector-boot, another handoff version, a config or model it would not boot, another base model) and
70 when the re-exec failed otherwise (a PATH that does not exist, the exec): the old image carries on;
64 when it does not support re-exec, 71 when the socket cannot be reached or PATH is not safe to run
(permission_denied), 75 when the machine is shutting down.

Options:
${commonOptionsHelp}`;

const absolute = z.string().startsWith("/", "PATH must be absolute");
const statusSchema = z.object({ generation: z.number().int().min(0).optional(), pid: z.number().optional() }).loose();

export const command: Command = {
  name: "reexec",
  summary: "re-exec a running instance live, keeping its services (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const a = parseCommon("reexec", args, [], ["PATH"]);
    const path = a.positionals[0];
    if (path !== undefined) {
      const p = absolute.safeParse(path);
      if (!p.success) throw new UsageError(`reexec: ${p.error.issues[0]!.message}, got ${JSON.stringify(path)}`);
    }
    const socket = controlSocketPath(a.socket);
    const c = await ControlClient.connect(socket);
    let result: unknown;
    let before: z.infer<typeof statusSchema> | undefined;
    try {
      before = statusSchema.parse(await c.request({ op: "status" }, a.timeoutMs));
      // The instance asks the new image two questions first (up to PREFLIGHT_STEP_MS each): a slow
      // preflight exited 71 ("not answered") while the re-exec went on, and a late refusal was never 65.
      result = await c.request(path === undefined ? { op: "reexec" } : { op: "reexec", path }, a.timeoutMs + 2 * PREFLIGHT_STEP_MS);
    } catch (e) {
      // The connection dropping is what a successful exec looks like (our socket is close-on-exec),
      // once the re-exec was asked: dropped at the first `status`, nothing was asked (it read the
      // generation of no status: a TypeError, exit 70).
      if (!(e instanceof SysError && e.errno === "ECONNRESET") || before === undefined) throw e;
      result = undefined;
    } finally {
      c.close();
    }
    if (result !== undefined) {
      // The instance answered without exec'ing (its own report).
      out(a.json ? JSON.stringify(result) : describeObject(result));
      return 0;
    }
    // --timeout for the new image to answer, from the exec on (it shared one budget with the preflight).
    const after = await waitForNewImage(socket, performance.now() + a.timeoutMs);
    const gen0 = before!.generation ?? 0;
    const gen1 = after.generation ?? 0;
    if (gen1 <= gen0) throw new SysError("reexec", "EAGAIN", 11, `${socket}: the instance answers again but its generation is still ${gen1} (was ${gen0})`);
    if (a.json) out(JSON.stringify({ generation: gen1, previousGeneration: gen0, pid: after.pid ?? null }));
    else out(`re-exec done: generation ${gen0} -> ${gen1}${after.pid !== undefined ? `, pid ${after.pid}` : ""}`);
    return 0;
  },
};

/** Reconnects until the new image answers `status` (ECONNREFUSED/ENOENT while it starts). */
async function waitForNewImage(socket: string, deadline: number): Promise<z.infer<typeof statusSchema>> {
  let last: unknown = null;
  while (performance.now() < deadline) {
    try {
      const c = await ControlClient.connect(socket, Math.max(1, deadline - performance.now()));
      try {
        return statusSchema.parse(await c.request({ op: "status" }, Math.max(1, deadline - performance.now())));
      } finally {
        c.close();
      }
    } catch (e) {
      last = e;
      await Bun.sleep(50);
    }
  }
  throw new SysError("reexec", "ETIMEDOUT", 110, `${socket}: the new image did not answer in time`, { cause: last });
}
