"""CRC32C (Castagnoli), table-driven: the checksum of the cortex journal's records (the channel uses zlib.crc32 since protocol 2)."""

_POLY = 0x82F63B78


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t.append(c)
    return t


_T = _table()


def crc32c(data, crc=0):
    """CRC32C of bytes-like `data`, continuing from `crc` (0 to start)."""
    c = crc ^ 0xFFFFFFFF
    t = _T
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
