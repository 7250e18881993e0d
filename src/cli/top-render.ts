// `vector-boot top`: a snapshot and the operator's state -> the frame's lines, cut to the terminal's width and height (pure).
import { printable } from "../util/terminal-text.ts";
import type { Snapshot, TopService } from "./top-snapshot.ts";
import { ordered, selectedIndex, type TopState } from "./top-state.ts";

export interface RenderOptions {
  width: number;
  height: number;
  /** Block characters for the sparkline and the ellipsis; ASCII otherwise (see chooseCharset). */
  unicode: boolean;
  /** Inverse video for the selected row (off under NO_COLOR or TERM=dumb; the `>` marker is always there). */
  color: boolean;
  /** The last refresh failed: shown in the footer, the last snapshot stays on screen. */
  error?: string | null;
  /** Local monotonic time of the frame (ms; default the snapshot's): ages of interrupt records keep counting between refreshes. */
  now?: number;
}

const BLOCKS = "▁▂▃▄▅▆▇█";
const ASCII_LEVELS = ".:-=+*#@";

/**
 * Unicode unless the locale is not UTF-8 or the terminal is dumb. The locale is the first of
 * LC_ALL, LC_CTYPE, LANG that is set (as setlocale(3) reads them); none set counts as not UTF-8
 * (the Linux console of a fresh machine, the pre-init's environment). NO_COLOR only turns colour off.
 */
export function chooseCharset(env: Record<string, string | undefined>): { unicode: boolean; color: boolean } {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  const dumb = env.TERM === "dumb";
  return { unicode: !dumb && /utf-?8/i.test(locale), color: !dumb && env.NO_COLOR === undefined };
}

/** `values` as one character each (the newest `width`), scaled from 0 to their maximum. */
export function sparkline(values: readonly number[], width: number, unicode: boolean): string {
  const levels = unicode ? BLOCKS : ASCII_LEVELS;
  const v = values.slice(Math.max(0, values.length - Math.max(0, width)));
  const top = Math.max(0, ...v);
  return v.map((x) => levels[top > 0 ? Math.min(levels.length - 1, Math.round((Math.max(0, x) / top) * (levels.length - 1))) : 0]).join("");
}

/** Milliseconds with the precision they deserve: 0.14, 2.6, 31, 250. */
export function ms(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
}

/** 9s, 3m12s, 2h03m, 4d02h. */
export function age(msValue: number | null | undefined): string {
  if (typeof msValue !== "number" || !Number.isFinite(msValue) || msValue < 0) return "-";
  const s = Math.floor(msValue / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

function bytes(b: number | null | undefined): string {
  if (typeof b !== "number") return "-";
  const units = ["B", "K", "M", "G", "T"];
  let x = b;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${u === 0 ? x : x < 10 ? x.toFixed(1) : x.toFixed(0)}${units[u]}`;
}

/** At most `width` characters (code points; every character drawn here is one column wide). */
function fit(line: string, width: number, unicode: boolean): string {
  const chars = Array.from(line);
  if (chars.length <= width) return line;
  if (width <= 0) return "";
  return chars.slice(0, width - 1).join("") + (unicode ? "…" : "~");
}

/** Fixed columns after NAME: STATE RDY PID RST CPU% MEM PIDS UP. */
const columns: Array<{ head: string; width: number; cell: (s: TopService) => string }> = [
  { head: "STATE", width: 8, cell: (s) => s.state },
  { head: "RDY", width: 3, cell: (s) => (s.ready === undefined ? "-" : s.ready ? "yes" : "no") },
  { head: "PID", width: 7, cell: (s) => (s.pid === null ? "-" : String(s.pid)) },
  { head: "RST", width: 3, cell: (s) => String(s.restarts) },
  { head: "CPU%", width: 5, cell: (s) => (s.cpuPct === null ? "-" : s.cpuPct.toFixed(1)) },
  { head: "MEM", width: 6, cell: (s) => bytes(s.cgroup?.memoryBytes) },
  { head: "PIDS", width: 4, cell: (s) => (typeof s.cgroup?.pids === "number" ? String(s.cgroup.pids) : "-") },
  { head: "UP", width: 6, cell: (s) => age(s.runningMs) },
];
const RIGHT = new Set(["PID", "RST", "CPU%", "MEM", "PIDS", "UP"]);

function serviceLine(marker: string, name: string, nameWidth: number, cells: string[]): string {
  const rest = columns.map((c, i) => (RIGHT.has(c.head) ? cells[i]!.padStart(c.width) : cells[i]!.padEnd(c.width))).join(" ");
  return `${marker} ${name.padEnd(nameWidth)} ${rest}`;
}

const FOOTER = "up/down select  s sort  r restart  q quit";

/** The frame: at most `height` lines of at most `width` characters (plus escape codes for the selected row when `color`). */
export function renderFrame(snap: Snapshot | null, state: TopState, o: RenderOptions): string[] {
  const width = Math.max(1, Math.floor(o.width));
  const height = Math.max(1, Math.floor(o.height));
  const footer = state.confirm !== null ? `restart ${printable(state.confirm)}? [y/N]` : o.error ? `refresh failed: ${printable(o.error)}` : state.message ? printable(state.message) : FOOTER;
  if (!snap) return [...(height > 1 ? ["vector-boot top: waiting for the first answer ..."] : []), footer].map((l) => fit(l, width, o.unicode));

  const st = snap.status;
  const top: string[] = [];
  top.push(["vector-boot top", `pid ${st.pid}`, st.version ? `v${printable(st.version)}` : null, `gen ${st.generation}`, st.uptimeMs !== undefined ? `up ${age(st.uptimeMs)}` : null].filter(Boolean).join("  "));
  const hb = st.heartbeat;
  if (hb) {
    top.push(`heartbeat ${ms(hb.periodMs)} ms  beat ${hb.lastBeat ?? hb.beats}  missed ${hb.missed}  late p50 ${ms(hb.jitterMs.p50)} p99 ${ms(hb.jitterMs.p99)} max ${ms(hb.jitterMs.max)} ms`);
    const series = hb.latenessRecentMs;
    const label = "late ";
    const scale = series.length > 0 ? ` 0-${ms(Math.max(0, ...series))} ms` : " (no beats yet)";
    top.push(label + sparkline(series, width - label.length - scale.length, o.unicode) + scale);
  } else {
    top.push("heartbeat: not running", "");
  }
  const j = st.journal;
  const ck = j?.checkpoint ?? null;
  top.push(j ? `journal seq ${j.nextSeq - 1} (durable ${j.durableSeq})${j.failed ? ` FAILED: ${printable(j.failed)}` : ""}  checkpoint ${ck ? `${age(ck.ageMs)} ago (seq ${ck.coveredSeq})` : "none"}` : "journal: evolution off");
  if (st.fleet) {
    const f = st.fleet;
    const lead = f.singletons.filter((s) => s.role === "leader").map((s) => printable(s.service));
    top.push(`fleet ${printable(f.fleet)}  node ${printable(f.node)}  ${printable(f.role)}${lead.length > 0 ? ` of ${lead.join(",")}` : ""}${f.singletons.length > 0 ? `  singletons ${f.singletons.length}` : ""}`);
  }
  if (hb) {
    const on = hb.interrupts.filter((i) => i.active).map((i) => printable(i.name));
    const raised = hb.interrupts.reduce((n, i) => n + i.raised, 0);
    top.push(`interrupts on: ${on.length > 0 ? on.join(" ") : "none"}  (${hb.interrupts.length} watched, raised ${raised}x, ${hb.actions} actions)`);
  }

  const rows = ordered(snap.services, state.sort);
  const sel = selectedIndex(state, rows);
  const records = hb?.recentRecords ?? [];
  // Below the top: the summary and header lines, the service rows, the actions section, the footer.
  // Up to 3 service rows come before the actions; the actions get up to 3 lines, the rest is for services.
  const avail = height - top.length - 2 - 1;
  const spare = avail - Math.min(Math.max(1, rows.length), 3);
  const shown = Math.max(0, Math.min(3, records.length, spare - 1));
  const actionLines = spare >= 1 ? 1 + shown : 0;
  const room = Math.max(1, avail - actionLines);
  const first = sel < room ? 0 : sel - room + 1;
  const visible = rows.slice(first, first + room);
  const counts = new Map<string, number>();
  for (const s of rows) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const scroll = rows.length > visible.length ? `  [${first + 1}-${first + visible.length} of ${rows.length}]` : "";
  const summary = `services ${rows.length}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ") || "none"}  sort ${state.sort}${scroll}`;

  const fixed = 2 + columns.reduce((n, c) => n + c.width + 1, 0) + 1;
  const nameWidth = Math.max(4, Math.min(Math.max(4, ...rows.map((s) => s.name.length)), width - fixed));
  const body: string[] = [summary, serviceLine(" ", "NAME", nameWidth, columns.map((c) => c.head))];
  const selectedLine = body.length + top.length + (visible.length > 0 ? sel - first : -1);
  for (const s of visible) body.push(serviceLine(rows[sel] === s ? ">" : " ", fit(printable(s.name), nameWidth, o.unicode), nameWidth, columns.map((c) => printable(c.cell(s)))));
  if (rows.length === 0) body.push("  (no services configured)");

  const actions = [records.length > 0 ? "recent interrupts and actions:" : "recent interrupts and actions: none"];
  for (const r of records.slice(-shown).reverse()) {
    const what = r.kind === "action" ? `${printable(r.interrupt)} -> ${printable(r.action ?? "?")}${r.target ? ` ${printable(r.target)}` : ""}: ${r.ok ? "ok" : "FAILED"}${r.detail ? ` (${printable(r.detail)})` : ""}` : `${printable(r.interrupt)} ${r.kind}`;
    actions.push(`  ${age(r.agoMs + Math.max(0, (o.now ?? snap.at) - snap.at)).padStart(6)} ago  ${what}`);
  }

  let lines = [...top, ...body, ...actions.slice(0, actionLines)];
  if (lines.length > height - 1) lines = lines.slice(0, height - 1);
  lines.push(footer);
  const out = lines.map((l) => fit(l, width, o.unicode));
  if (o.color && selectedLine >= 0 && selectedLine < out.length - 1) out[selectedLine] = `\x1b[7m${out[selectedLine]}\x1b[27m`;
  return out;
}
