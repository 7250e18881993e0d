// The evolution channel's counters (submissions, rejections by status, protocol errors, applied mutations).
import type { SafetyStats } from "./safety-gate.ts";

export interface ChannelStats {
  submissions: number;
  accepted: number;
  rejected: Record<string, number>;
  protocolErrors: number;
  completionsDropped: number;
  applied: number;
  appliedSeq: number;
  /** The safety rule of the gate (cortex mutations evaluated on the model's safety cases). */
  safety: SafetyStats;
}

/** All counters at zero; `safety` is the gate's own (live) stats object. */
export function newChannelStats(safety: SafetyStats): ChannelStats {
  return { submissions: 0, accepted: 0, rejected: {}, protocolErrors: 0, completionsDropped: 0, applied: 0, appliedSeq: 0, safety };
}
