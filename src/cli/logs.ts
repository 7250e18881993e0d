// `vector-boot logs NAME [-f] [-n N]`: a service's recent output from a running instance (control socket), optionally followed.
import { printable } from "../util/terminal-text.ts";
import { commonOptionsHelp, parseCommon } from "../control/cli-support.ts";
import { ControlClient, ControlRequestError, controlSocketPath, type RequestBody } from "../control/client.ts";
import { CLOSING_FOR_SHUTDOWN } from "../control/protocol.ts";
import { out } from "../util/cli-args.ts";
import { SysError, UsageError } from "../errors.ts";
import { wantsHelp, type Command } from "./command.ts";

/** How long `-f` waits for the instance to answer again (a live re-exec takes well under a second). */
const REEXEC_WAIT_MS = 30_000;

const help = `Usage: vector-boot logs NAME [-f|--follow] [-n|--lines N] [--json] [--socket PATH] [--timeout MS]

Prints the last N lines (default 100) a service wrote to stdout and stderr, from the ring the
running vector-boot keeps per service (1 MiB). -f keeps printing new lines as they come (polled
over the control socket every 200 ms; a reply holds at most 512 KiB, and the rest is asked for at
once) until interrupted, or until the instance shuts down (exit 0; a live re-exec is followed
through). --json prints one JSON object per line ({"seq", "t", "line"}). Exits 64 for an unknown
service, 71 when the socket cannot be reached (with -f: for 30 s).

Options:
  -f, --follow       keep printing new lines
  -n, --lines N      how many recent lines first (default 100; 0: none, with -f only new ones)
${commonOptionsHelp}`;

interface Page {
  lines: Array<{ seq: number; t: number; line: string }>;
  next: number;
  /** The lines asked for did not fit one reply: the rest come after `next`. */
  more?: boolean;
}

export const command: Command = {
  name: "logs",
  summary: "show (and follow) a service's output (control socket)",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    let follow = false;
    let count = 100;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === "-f" || a === "--follow") follow = true;
      else if (a === "-n" || a === "--lines" || a.startsWith("--lines=")) {
        const v = a.startsWith("--lines=") ? a.slice(8) : args[++i];
        // 0, as with tail -n 0 -f: only what comes next. At most what the server sends in one page.
        if (v === undefined || !/^(0|[1-9][0-9]{0,5})$/.test(v) || Number(v) > 100_000) throw new UsageError(`logs: ${a} needs a whole number of lines, 0 to 100000 (see vector-boot logs --help)`);
        count = Number(v);
      } else rest.push(a);
    }
    const c = parseCommon("logs", rest, ["NAME"]);
    const name = c.positionals[0]!;
    const print = (p: Page) => {
      if (p.lines.length > 0) out(p.lines.map((l) => (c.json ? JSON.stringify(l) : printable(l.line, true))).join("\n"));
    };
    // One connection while it lasts: an orderly shutdown says so on it before closing (a re-exec
    // drops it unannounced), so -f ends then; it waited 30 s for the socket and exited 71.
    let conn: ControlClient | null = null;
    const ask = async (body: RequestBody): Promise<unknown> => {
      conn ??= await ControlClient.connect(controlSocketPath(c.socket), Math.min(c.timeoutMs, 5_000));
      try {
        return await conn.request(body, c.timeoutMs);
      } catch (e) {
        conn.close();
        conn = null;
        throw e;
      }
    };
    // -n 0 still asks for one line: its answer says where the output stands (next), to follow from.
    let page = (await ask({ op: "logs", name, limit: Math.max(count, 1) })) as Page;
    if (count > 0) print(page);
    // A reply holds at most 512 KiB of lines: the rest of the N, page by page.
    while (page.more) {
      page = (await ask({ op: "logs", name, after: page.next, limit: 100_000 })) as Page;
      print(page);
    }
    // Following survives a live re-exec: the socket is away for a moment (it exited 71 with
    // ECONNREFUSED). The new image's ring numbers on from the old one's; that of an image before
    // handoff 5 starts again (a cursor past it got nothing until the new numbers caught up): its
    // lines are then read from its start.
    let awaySince: number | null = null;
    while (follow) {
      if (!page.more) await Bun.sleep(200);
      let next: Page;
      let restarted = false;
      try {
        next = (await ask({ op: "logs", name, after: page.next, limit: 100_000 })) as Page;
        if ((restarted = next.next < page.next)) next = (await ask({ op: "logs", name, after: 0, limit: 100_000 })) as Page;
      } catch (e) {
        if (e instanceof ControlRequestError && e.code === "busy" && e.message.includes(CLOSING_FOR_SHUTDOWN)) {
          process.stderr.write(`logs: the instance is shutting down; no more lines of ${name}\n`);
          return 0;
        }
        awaySince ??= performance.now();
        // The connection is gone: a re-exec dropped it, or the server closed it as idle (`timeout`:
        // this process was stopped a minute, Ctrl-Z then fg), which exited 70 when its line was read.
        const lost = e instanceof SysError ? e.errno !== "EACCES" : e instanceof ControlRequestError && e.code === "timeout";
        if (!lost || performance.now() - awaySince > REEXEC_WAIT_MS) throw e;
        // A pause before each new try, also while a page said more was to come (it skipped the one
        // above: 600 connects a second, a core's worth, for the whole 30 s of an instance gone).
        if (page.more) await Bun.sleep(200);
        continue;
      }
      awaySince = null;
      // The ring (about 1 MiB per service) dropped lines before this poll read them: said, not hidden.
      const first = next.lines[0]?.seq;
      if (!restarted && first !== undefined && first > page.next + 1) process.stderr.write(`logs: ${first - page.next - 1} line(s) of ${name} were dropped from the instance's buffer before they could be read\n`);
      page = next;
      print(page);
    }
    (conn as ControlClient | null)?.close();
    return 0;
  },
};
