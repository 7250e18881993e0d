// `vector-boot top`: what the operator has chosen (sort, selected service, a pending confirmation) and how keys change it.
import type { Key } from "./top-keys.ts";
import type { TopService } from "./top-snapshot.ts";

/** Sort orders, in the order `s` cycles through them. `config`: as the instance lists them (dependency order). */
export const sortKeys = ["config", "name", "cpu", "memory", "restarts"] as const;
export type SortKey = (typeof sortKeys)[number];

export interface TopState {
  sort: SortKey;
  /** The selected service, by name (so it stays selected when the order changes); null: the first row. */
  selected: string | null;
  /** A restart waiting for y/N: the service's name. */
  confirm: string | null;
  /** One line for the operator (the last restart's outcome), shown until the next key. */
  message: string | null;
  quit: boolean;
}

export const initialState: TopState = { sort: "config", selected: null, confirm: null, message: null, quit: false };

/** What a key asks the command to do besides changing the state. */
export type Effect = { type: "restart"; name: string } | null;

/** The services in display order; ties keep the instance's order. */
export function ordered(list: readonly TopService[], sort: SortKey): TopService[] {
  const key: Record<SortKey, (s: TopService) => number | string> = {
    config: () => 0,
    name: (s) => s.name,
    // Descending: the busiest first.
    cpu: (s) => -(s.cpuPct ?? -1),
    memory: (s) => -(s.cgroup?.memoryBytes ?? -1),
    restarts: (s) => -s.restarts,
  };
  const k = key[sort];
  return list
    .map((s, i) => ({ s, i }))
    .sort((a, b) => {
      const x = k(a.s);
      const y = k(b.s);
      return x < y ? -1 : x > y ? 1 : a.i - b.i;
    })
    .map((e) => e.s);
}

/** Index of the selected row in `rows` (the first when the selection is unset or gone). */
export function selectedIndex(state: TopState, rows: readonly TopService[]): number {
  const i = state.selected === null ? -1 : rows.findIndex((s) => s.name === state.selected);
  return i < 0 ? 0 : i;
}

/** One key. `rows` are the services in the order shown; `page` the number of service rows on screen. */
export function step(state: TopState, key: Key, rows: readonly TopService[], page = 10): { state: TopState; effect: Effect } {
  const none = (s: TopState) => ({ state: s, effect: null as Effect });
  if (key === "interrupt") return none({ ...state, quit: true, confirm: null });
  if (state.confirm !== null) {
    // Only y restarts; any other key cancels.
    const name = state.confirm;
    if (key === "yes") return { state: { ...state, confirm: null, message: `restarting ${name} ...` }, effect: { type: "restart", name } };
    return none({ ...state, confirm: null, message: `restart of ${name} cancelled` });
  }
  const cleared = { ...state, message: null };
  const at = selectedIndex(state, rows);
  const move = (to: number) => {
    if (rows.length === 0) return none(cleared);
    return none({ ...cleared, selected: rows[Math.max(0, Math.min(rows.length - 1, to))]!.name });
  };
  switch (key) {
    case "quit":
      return none({ ...cleared, quit: true });
    case "up":
      return move(at - 1);
    case "down":
      return move(at + 1);
    case "page-up":
      return move(at - Math.max(1, page));
    case "page-down":
      return move(at + Math.max(1, page));
    case "home":
      return move(0);
    case "end":
      return move(rows.length - 1);
    case "sort": {
      const next = sortKeys[(sortKeys.indexOf(state.sort) + 1) % sortKeys.length]!;
      // Keep the selected service selected (by name) in the new order.
      return none({ ...cleared, sort: next, selected: rows[at]?.name ?? null });
    }
    case "restart":
      return rows[at] ? none({ ...cleared, selected: rows[at].name, confirm: rows[at].name }) : none({ ...cleared, message: "no service to restart" });
    default:
      return none(cleared);
  }
}
