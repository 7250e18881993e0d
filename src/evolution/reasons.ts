// Completion status codes of the evolution channel: 0 = accepted, every other value names the rule that rejected (or why it was not taken).

export const Status = {
  accepted: 0,
  badChecksum: 1,
  badSequence: 2,
  badKind: 3,
  badLength: 4,
  lowConfidence: 5,
  unknownTensor: 6,
  protectedTensor: 7,
  outOfRange: 8,
  nonFinite: 9,
  magnitude: 10,
  unsupportedDtype: 11,
  journalFailed: 12,
  badName: 13,
  applyFailed: 14,
  safety: 15,
  nonFiniteOutput: 16,
  notTaken: 17,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** Symbolic names, the same strings the Python client and docs use. */
export const statusName: Record<number, string> = {
  0: "ACCEPTED",
  1: "BAD_CHECKSUM",
  2: "BAD_SEQUENCE",
  3: "BAD_KIND",
  4: "BAD_LENGTH",
  5: "LOW_CONFIDENCE",
  6: "UNKNOWN_TENSOR",
  7: "PROTECTED_TENSOR",
  8: "OUT_OF_RANGE",
  9: "NON_FINITE",
  10: "MAGNITUDE",
  11: "UNSUPPORTED_DTYPE",
  12: "JOURNAL_FAILED",
  13: "BAD_NAME",
  14: "APPLY_FAILED",
  15: "SAFETY",
  16: "NON_FINITE_OUTPUT",
  17: "NOT_TAKEN",
};
