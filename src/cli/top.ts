// `vector-boot top`: a live, keyboard-driven view of a running instance (services, heartbeat, interrupts, journal, fleet).
import { z } from "zod";
import { ControlClient, controlRequest, controlSocketPath } from "../control/client.ts";

import { describeError, UsageError } from "../errors.ts";
import { wantsHelp, type Command } from "./command.ts";
import { decodeKeys } from "./top-keys.ts";
import { chooseCharset, renderFrame } from "./top-render.ts";
import { takeSnapshot, type Snapshot } from "./top-snapshot.ts";
import { initialState, ordered, step, type TopState } from "./top-state.ts";
import { checkOptions, out, readOptions } from "../util/cli-args.ts";

const help = `Usage: vector-boot top [--interval MS] [--once] [--ascii] [--socket PATH] [--timeout MS]

A live view of the running vector-boot (over its control socket), redrawn in place every
--interval: its services (state, readiness, pid, restarts, and from their cgroups CPU% since the
last refresh, memory.current and the number of processes), the heartbeat (lateness p50/p99/max, a
sparkline of the newest beats' lateness, missed beats), the interrupts that are on and the last
interrupts and actions, the journal sequence and the age of the last checkpoint, and the fleet role
when a fleet is configured. Fits an 80x24 terminal; cut to the terminal's size.

Keys: up/down (or k/j), PgUp/PgDn, Home/End select a service; s cycles the sort order (config,
name, cpu, memory, restarts); r restarts the selected service after "restart NAME? [y/N]" (only y
restarts; needs the rights of \`vector-boot restart\`); q or Ctrl-C quits. The terminal (raw mode,
alternate screen, cursor) is restored on q, SIGINT, SIGTERM, SIGHUP and on an error.

The sparkline uses the block characters ▁▂▃▄▅▆▇█ when the locale (LC_ALL, else LC_CTYPE, else
LANG) is UTF-8 and TERM is not dumb, else ASCII (.:-=+*#@); --ascii forces ASCII. The selected
row is marked with > and, unless NO_COLOR is set or TERM=dumb, shown in inverse video.

Options:
  --interval MS   refresh period (default 1000; 100 to 60000)
  --once          print one frame (taken after one interval: CPU% needs two samples) without
                  terminal control, and exit; for scripts (80x24 unless stdout is a terminal)
  --ascii         ASCII only
  --socket PATH   control socket (default $VECTOR_BOOT_CONTROL, else /run/vector-boot/control)
  --timeout MS    how long to wait for each answer (default 5000)
  -h, --help      this text

Exits 0 when quit, 64 for bad options or without a terminal (use --once), 71 when the socket
cannot be reached at start, 128+N after signal N.`;

const optionsSchema = z.object({
  interval: z
    .string()
    .regex(/^[1-9][0-9]{0,7}$/, "must be a whole number of milliseconds")
    .transform(Number)
    // At most 60 s: the server closes a connection idle for 60 s (docs/control-protocol.md).
    .refine((n) => n >= 100 && n <= 60_000, "must be 100 to 60000")
    .default(1000),
  timeout: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "must be a whole number of milliseconds")
    .transform(Number)
    .default(5000),
  once: z.boolean().default(false),
  ascii: z.boolean().default(false),
  socket: z.string().min(1, "must not be empty").optional(),
});
type Options = z.infer<typeof optionsSchema>;

function parseOptions(args: string[]): Options {
  const parsed = readOptions("top", args, { interval: { type: "string" }, timeout: { type: "string" }, once: { type: "boolean" }, ascii: { type: "boolean" }, socket: { type: "string" } }, { positionals: false });
  return checkOptions("top", optionsSchema, parsed.values);
}

const size = () => ({ width: process.stdout.columns || 80, height: process.stdout.rows || 24 });

/** One frame on stdout, no terminal control: two samples an interval apart (CPU% is a rate). */
async function once(o: Options, path: string): Promise<number> {
  const client = await ControlClient.connect(path, Math.min(o.timeout, 5000));
  try {
    const first = await takeSnapshot(client, null, o.timeout);
    await Bun.sleep(o.interval);
    const snap = await takeSnapshot(client, first, o.timeout);
    const { width, height } = process.stdout.isTTY ? size() : { width: 80, height: 24 };
    const cs = chooseCharset(process.env);
    const lines = renderFrame(snap, initialState, { width, height, unicode: cs.unicode && !o.ascii, color: false }).slice(0, -1);
    out(lines.join("\n"));
    return 0;
  } finally {
    client.close();
  }
}

const ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE = "\x1b[?25h\x1b[?1049l";

/** The live view until q (or a signal): raw mode, alternate screen, one redraw per refresh and per key. */
async function live(o: Options, path: string): Promise<number> {
  const stdin = process.stdin;
  if (!stdin.isTTY || !process.stdout.isTTY) throw new UsageError("top: stdin and stdout must be a terminal (use --once for one frame)");
  // The first answer before the screen changes: an unreachable socket is a plain error (exit 71).
  let client: ControlClient | null = await ControlClient.connect(path, Math.min(o.timeout, 5000));
  let snap: Snapshot | null;
  try {
    snap = await takeSnapshot(client, null, o.timeout);
  } catch (e) {
    client.close();
    throw e;
  }
  const cs = chooseCharset(process.env);
  const unicode = cs.unicode && !o.ascii;
  let state: TopState = initialState;
  let error: string | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let finish!: (code: number) => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<number>((resolve, reject) => ((finish = resolve), (fail = reject)));

  const draw = () => {
    if (closed) return;
    const { width, height } = size();
    const lines = renderFrame(snap, state, { width, height, unicode, color: cs.color, error, now: performance.now() });
    // Home, each line then clear-to-end-of-line, then clear below: no blank frame in between (no flicker).
    process.stdout.write(`\x1b[H${lines.join("\x1b[K\r\n")}\x1b[K\x1b[J`);
  };
  const refresh = async () => {
    try {
      client ??= await ControlClient.connect(path, Math.min(o.timeout, 5000));
      snap = await takeSnapshot(client, snap, o.timeout);
      error = null;
    } catch (e) {
      // The instance may be re-executing or gone for a moment: keep the last frame, say why, retry.
      error = describeError(e);
      client?.close();
      client = null;
    }
    draw();
  };
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => void refresh().then(schedule, fail), o.interval);
  };
  const restart = async (name: string) => {
    try {
      const r = (await controlRequest({ op: "restart", name }, { path, timeoutMs: Math.max(o.timeout, 30_000) })) as { pid?: unknown } | null;
      state = { ...state, message: `${name} restarted${typeof r?.pid === "number" ? ` (pid ${r.pid})` : ""}` };
    } catch (e) {
      state = { ...state, message: `restart ${name} failed: ${describeError(e)}` };
    }
    await refresh();
  };
  const onData = (chunk: string | Buffer) => {
    try {
      for (const key of decodeKeys(typeof chunk === "string" ? chunk : chunk.toString("utf8"))) {
        const rows = snap ? ordered(snap.services, state.sort) : [];
        const r = step(state, key, rows, Math.max(1, size().height - 12));
        state = r.state;
        if (state.quit) return finish(0);
        if (r.effect?.type === "restart") void restart(r.effect.name).catch(fail);
      }
      draw();
    } catch (e) {
      fail(e);
    }
  };
  const signals: Array<[NodeJS.Signals, number]> = [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]];
  const handlers = signals.map(([sig, n]) => [sig, () => finish(128 + n)] as const);

  const restore = () => {
    closed = true;
    if (timer) clearTimeout(timer);
    for (const [sig, h] of handlers) process.off(sig, h);
    stdin.off("data", onData);
    process.stdout.off("resize", draw);
    try {
      stdin.setRawMode(false);
    } catch {
      /* the terminal is gone (SIGHUP) */
    }
    stdin.pause();
    process.stdout.write(LEAVE);
    client?.close();
  };

  for (const [sig, h] of handlers) process.on(sig, h);
  try {
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
    process.stdout.on("resize", draw);
    process.stdout.write(ENTER);
    draw();
    schedule();
    return await done;
  } finally {
    restore();
  }
}

export const command: Command = {
  name: "top",
  summary: "live view of a running instance: services, heartbeat, interrupts (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const o = parseOptions(args);
    const path = controlSocketPath(o.socket);
    return o.once ? once(o, path) : live(o, path);
  },
};
