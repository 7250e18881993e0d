"""A mutation's offset, confidence and values as a slot stores them: the checks and conversions (docs/evolution-protocol.md)."""
import math


_U64_MAX = (1 << 64) - 1
_NUMBER_TYPES = frozenset((int, float))  # a value of these types always packs (beyond float32: rounded, see _checked)
# float32 rounds a finite double to infinity from here on; below it, to a finite value.
_F32_ROUNDS_FINITE = 3.4028235677973366e38  # FLT_MAX + half its ulp (2**103): from here float32 rounds to infinity


def _checked(offset, confidence, values):
    """The mutation's fields as the slot stores them, or a ValueError naming the one that cannot be."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= _U64_MAX:
        raise ValueError("offset must be a whole number 0..2**64-1, got %r" % (offset,))
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValueError("confidence must be a number, got %r" % (confidence,))
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("values[%d] must be a number, got %r" % (i, v))
        v = _float(v)
        out.append(v if v != v or abs(v) < _F32_ROUNDS_FINITE else math.copysign(math.inf, v))
    return offset, _float(confidence), out


def _listed(values):
    """`values` as a list or tuple, or a ValueError for text and bytes (each character or byte would be one value)."""
    if isinstance(values, (list, tuple)):
        return values
    if isinstance(values, str):
        raise ValueError("values must be a sequence of numbers, got str")
    if isinstance(values, (bytes, bytearray)) or (isinstance(values, memoryview) and values.format in ("B", "b", "c")):
        raise ValueError("values must be a sequence of numbers, got %s (unpack packed floats first, e.g. with array('f', data))" % type(values).__name__)
    return list(values)


def _float(v):
    """float(v), with an integer beyond a double's range as the infinity of its sign (as float('1e400') is)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf
