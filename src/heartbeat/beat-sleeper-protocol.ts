// Shared words between the beat clock and its sleeper thread (src/heartbeat/beat-sleeper-worker.ts).

/** Int32 slots of the control buffer: request sequence (main writes), done sequence (sleeper writes), stop flag. */
export const REQ = 0;
export const DONE = 1;
export const STOP = 2;

export interface SleeperInit {
  /** 16 bytes: Int32 slots above. */
  ctl: SharedArrayBuffer;
  /** 8 bytes: the due time of the newest request, CLOCK_MONOTONIC nanoseconds (a float64). */
  due: SharedArrayBuffer;
  /** SCHED_FIFO priority of the sleeper thread (0: normal scheduling). */
  fifoPriority: number;
}
