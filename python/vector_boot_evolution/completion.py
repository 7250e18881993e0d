"""The answer to one submission, and the names of its status codes."""
from collections import namedtuple

STATUS_NAMES = {
    0: "ACCEPTED", 1: "BAD_CHECKSUM", 2: "BAD_SEQUENCE", 3: "BAD_KIND", 4: "BAD_LENGTH",
    5: "LOW_CONFIDENCE", 6: "UNKNOWN_TENSOR", 7: "PROTECTED_TENSOR", 8: "OUT_OF_RANGE",
    9: "NON_FINITE", 10: "MAGNITUDE", 11: "UNSUPPORTED_DTYPE", 12: "JOURNAL_FAILED",
    13: "BAD_NAME", 14: "APPLY_FAILED", 15: "SAFETY", 16: "NON_FINITE_OUTPUT", 17: "NOT_TAKEN",
}

_new_tuple = tuple.__new__  # builds a Completion without namedtuple's keyword handling (per ack)


class Completion(namedtuple("Completion", "tag seq status journal_seq text")):
    """Answer to one submission: status 0 = accepted (journal_seq is its durable journal sequence).

    Any other status is a refusal, never journaled (journal_seq 0), except 12 (JOURNAL_FAILED: the
    journal stopped with it, the outcome unknown: it may be replayed after a reboot) and 14
    (APPLY_FAILED: journaled, but the runtime refused to apply it; a bug, logged by the init).
    15 (SAFETY): the mutation would make the cortex fail one of the model's safety cases; `text`
    starts with "case <name>:". 16 (NON_FINITE_OUTPUT): after it an interrupt score of the cortex
    would be NaN or infinite on a probe input. 17 (NOT_TAKEN): not taken now, nothing journaled,
    nothing changed (evolution closing, the gate could not judge it, the journal stopped before it;
    `text` says which): send it again later (docs/evolution-protocol.md).
    """

    @property
    def accepted(self):
        return self.status == 0

    @property
    def not_taken(self):
        """NOT_TAKEN: nothing journaled, nothing changed; the same mutation may be sent again later."""
        return self.status == 17

    @property
    def status_name(self):
        return STATUS_NAMES.get(self.status, "STATUS_%d" % self.status)
