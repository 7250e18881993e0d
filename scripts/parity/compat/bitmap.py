# Stand-in for the bitmap package as tini's tests use it: BitMap.fromstring("0101...").nonzero() (bit 0 = last character).


class BitMap(object):
    def __init__(self, bits):
        self.bits = bits

    @classmethod
    def fromstring(cls, s):
        return cls([i for i, c in enumerate(reversed(s)) if c == "1"])

    def nonzero(self):
        return list(self.bits)
