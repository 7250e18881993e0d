"""Opening a producer session: the consumer's hello line, the shared memory it names, the channel header."""
import json
import math
import mmap
import os
import struct
import zlib

from .errors import ChannelError
from .layout import CMP_SLOT_SIZE, HEADER_MAGIC, HEADER_SIZE, PROTOCOL_VERSION, SUB_SLOT_SIZE
from .unix_path import connect_unix
from .words import ControlWords


class Session:
    """What a hello gave: the mapping, its control words, this session's ring and the header's geometry."""

    __slots__ = ("mem", "words", "ring", "rings", "stride", "slots", "max_values", "max_name")


def check_arguments(socket_path, timeout):
    """Client()'s arguments: TypeError/ValueError naming the one that is wrong (Client(None) blamed the consumer's hello)."""
    if not isinstance(socket_path, (str, bytes, os.PathLike)):
        raise TypeError("socket_path must be a path (str, bytes or os.PathLike), got %r" % (socket_path,))
    if timeout is not None and (timeout.__class__ is bool or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf):
        raise ValueError("timeout must be a positive number of seconds or None (no limit), got %r" % (timeout,))


def shown_path(socket_path):
    """The socket path as the errors name it (text, also for bytes or os.PathLike)."""
    return os.fsdecode(socket_path)


def open_session(sock, socket_path, timeout):
    """Connects `sock`, reads the hello and maps the ring it names; on failure closes what it opened here and raises.

    Every ChannelError names the socket: with several instances, which consumer failed.
    """
    at = shown_path(socket_path)
    sock.settimeout(timeout)
    try:
        connect_unix(sock, socket_path)
        hello = _read_line(sock, at)
    except OSError as e:
        raise ChannelError("cannot reach the evolution channel at %s: %s" % (at, e))
    if not isinstance(hello, dict):
        raise ChannelError("consumer at %s sent a hello that is not a JSON object: %.100r" % (at, hello))
    if "error" in hello:
        raise ChannelError("consumer at %s refused the session: %s" % (at, hello["error"]))
    if hello.get("v") != PROTOCOL_VERSION:
        raise ChannelError("consumer at %s speaks protocol version %r, not %d" % (at, hello.get("v"), PROTOCOL_VERSION))
    s = Session()
    s.mem = s.words = None
    try:
        try:
            fd = os.open(hello["path"], os.O_RDWR)
            try:
                s.mem = mmap.mmap(fd, hello["size"], mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise ChannelError("cannot map the channel memory %r named by the consumer at %s: %s" % (hello.get("path"), at, e))
        try:
            s.words = ControlWords(s.mem)
        except (TypeError, ValueError) as e:
            raise ChannelError("cannot use the channel memory of the consumer at %s: %s" % (at, e))
        _read_header(s, at)
        s.ring = hello.get("ring")
        if s.ring.__class__ is not int or not 0 <= s.ring < s.rings:
            raise ChannelError("consumer at %s gave ring %r, outside the header's %d rings" % (at, s.ring, s.rings))
        return s
    except BaseException:
        close_session(s)
        raise


def close_session(s):
    """Releases the control words, then the mapping (an exported buffer keeps mmap from closing)."""
    if s.words is not None:
        s.words.release()
        s.words = None
    if s.mem is not None:
        s.mem.close()
        s.mem = None


def _read_line(sock, at):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ChannelError("consumer at %s closed the session during hello" % at)
        buf += chunk
        if len(buf) > 65536:
            raise ChannelError("consumer at %s sent a hello line over 65536 bytes" % at)
    try:
        return json.loads(buf.decode())
    except ValueError as e:  # not UTF-8, or not JSON
        raise ChannelError("consumer at %s sent a hello that is not JSON: %s" % (at, e))


def _read_header(s, at):
    f = struct.unpack_from("<13I", s.mem, 0)
    magic, version, hsize, rings, stride, slots, sub_size, cmp_slots, cmp_size, maxv, maxn, _pid, crc = f
    if magic != HEADER_MAGIC or version != PROTOCOL_VERSION or hsize != HEADER_SIZE:
        raise ChannelError("bad channel header from the consumer at %s (magic %#x version %d)" % (at, magic, version))
    if crc != zlib.crc32(s.mem[0:48]):
        raise ChannelError("channel header checksum mismatch from the consumer at %s" % at)
    if sub_size != SUB_SLOT_SIZE or cmp_size != CMP_SLOT_SIZE or cmp_slots != slots or slots & (slots - 1):
        raise ChannelError("unsupported slot geometry from the consumer at %s" % at)
    s.rings, s.stride, s.slots = rings, stride, slots
    s.max_values, s.max_name = maxv, maxn
