// The heartbeat's life as an explicit state x event table; effects are returned, performed by Heartbeat.

export type HeartbeatState = "idle" | "running" | "stopping" | "stopped";
export type HeartbeatEvent = "start" | "tick" | "stop" | "worker-crash" | "stopped";
export type HeartbeatEffect =
  | "arm-watchdog"
  | "start-worker"
  | "schedule-first"
  | "beat"
  | "schedule-next"
  | "log-worker-crash"
  | "cancel-timer"
  | "stop-worker"
  | "disarm-watchdog"
  | "settle";

type Row = Partial<Record<HeartbeatEvent, [HeartbeatState, HeartbeatEffect[]]>>;

const starting: [HeartbeatState, HeartbeatEffect[]] = ["running", ["arm-watchdog", "start-worker", "schedule-first"]];
const table: Record<HeartbeatState, Row> = {
  idle: { start: starting, stop: ["stopped", ["settle"]] },
  running: {
    tick: ["running", ["beat", "schedule-next"]],
    "worker-crash": ["running", ["log-worker-crash"]],
    stop: ["stopping", ["cancel-timer", "stop-worker", "disarm-watchdog"]],
  },
  // A timer that fired while stopping, or a crash of the worker being stopped, changes nothing.
  stopping: { tick: ["stopping", []], "worker-crash": ["stopping", []], stop: ["stopping", []], stopped: ["stopped", ["settle"]] },
  stopped: { start: starting, stop: ["stopped", ["settle"]], tick: ["stopped", []], "worker-crash": ["stopped", []] },
};

/** Next state and effects; an event with no row leaves the state as it is (returned as `ignored`). */
export function heartbeatStep(state: HeartbeatState, event: HeartbeatEvent): { state: HeartbeatState; effects: HeartbeatEffect[]; ignored: boolean } {
  const row = table[state][event];
  if (!row) return { state, effects: [], ignored: true };
  return { state: row[0], effects: row[1], ignored: false };
}
