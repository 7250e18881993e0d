"""The rings' 32-bit counters in shared memory, loaded and stored as whole words."""
import sys

from .errors import ChannelError


class ControlWords:
    """The rings' 32-bit counters in shared memory, each loaded and stored as one whole word.

    struct.pack_into zeroes its destination before it packs: a consumer reading a counter at that
    moment saw 0 (a submission tail of 0 looked like a producer breaking the ring protocol). A
    memoryview cast to "I" loads and stores the word with one access. Native order is the
    protocol's (little-endian) on every host the init runs on; any other is refused.
    """

    def __init__(self, mem):
        if sys.byteorder != "little":
            raise ChannelError("the channel's counters are little-endian and this host is not")
        self._w = memoryview(mem).cast("I")
        if self._w.itemsize != 4:
            self._w.release()
            raise ChannelError("this Python's unsigned int is not 32 bits")

    def load(self, offset):
        return self._w[offset >> 2]

    def store(self, offset, value):
        self._w[offset >> 2] = value & 0xFFFFFFFF

    def release(self):
        self._w.release()
