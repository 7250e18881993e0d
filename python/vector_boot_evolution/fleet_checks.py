"""What FleetClient.publish checks before any call: the limits every node's fleet schema holds a mutation to (src/fleet/keys.ts)."""
import re

ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
MAX_TENSOR_NAME = 256  # UTF-16 code units, as JavaScript counts a string's length
MAX_FLEET_VALUES = 65536
MAX_OFFSET = 2**53 - 1  # an exact JSON number in every node


def checked_mutation(mid, tensor, offset, values, confidence):
    """(None, values as floats) for a mutation every node can read, else (the problem, None).

    A mutation outside the nodes' schema was published and every node acked it MALFORMED: nothing of
    it could ever be applied, and the publisher learnt it only from the acks.
    """
    if not ID_PATTERN.match(mid):
        return "mutation id must be 1-128 letters, digits, '_', '.', '-'", None
    if not isinstance(tensor, str) or not 1 <= len(tensor.encode("utf-16-le", "surrogatepass")) // 2 <= MAX_TENSOR_NAME:
        return "tensor must be a name of 1 to %d characters, got %.80r" % (MAX_TENSOR_NAME, tensor), None
    # As given, never rounded: int(2.5) was 2 and True 1, so every node wrote one element off;
    # bytes went as one value per byte.
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        return "offset must be a whole number from 0 to 2^53-1, got %r" % (offset,), None
    if isinstance(values, (str, bytes, bytearray)) or (isinstance(values, memoryview) and values.format in ("B", "b", "c")):
        return "values must be a sequence of numbers, got %s" % type(values).__name__, None
    values = list(values)
    if len(values) > MAX_FLEET_VALUES:
        return "values: at most %d in one fleet mutation, got %d" % (MAX_FLEET_VALUES, len(values)), None
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "values[%d] must be a number, got %r" % (i, v), None
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return "confidence must be a number from 0 to 1, got %r" % (confidence,), None
    vals = [float(v) for v in values]
    if not vals or any(v != v or v in (float("inf"), float("-inf")) for v in vals):
        return "values must be finite numbers, at least one", None
    if not (0.0 <= float(confidence) <= 1.0):
        return "confidence must be from 0 to 1", None
    return None, vals
