"""Channel layout shared with the consumer: header, ring control block offsets and slot formats (docs/evolution-protocol.md)."""
import struct

# Protocol version 2: every channel checksum is CRC-32 as zlib computes it (in C); version 1 used
# CRC32C, which the standard library lacks (a pure-Python loop capped the ack rate).
PROTOCOL_VERSION = 2
HEADER_MAGIC = 0x56454256  # "VBEV"
HEADER_SIZE = 4096
CONTROL_SIZE = 256
SUB_SLOT_SIZE = 512
CMP_SLOT_SIZE = 64
# How long a completion whose checksum fails may take to settle before it is a protocol error.
COMPLETION_SETTLE_S = 1.0
MAX_NAME_BYTES = 64
MAX_VALUES = 100
SLOT_KIND_MUTATION = 1
# ring control block offsets
SUB_TAIL, SUB_HEAD, GENERATION, CMP_TAIL, CMP_HEAD = 0, 64, 68, 128, 192

# A submission slot after its checksum: kind, seq, tag, element offset, confidence, name length,
# value count, value type, the 64-byte name field, then the values; one struct per value count.
_SLOT_FMT = {}
_CMP_FMT = struct.Struct("<IHHQQQ32s")  # checksum, status, reserved, seq, tag, journal seq, text
_U32 = struct.Struct("<I")
_ZERO_NAME = bytes(64)  # the name field is 64 bytes: the unused part is written as zeros


def _slot_fmt(count):
    f = _SLOT_FMT.get(count)
    if f is None:
        f = _SLOT_FMT[count] = struct.Struct("<IQQQdHHB3x64s%df" % count)
    return f
