"""Producer side of the vector-boot evolution channel: one session = one ring (docs/evolution-protocol.md)."""
import json
import math
import select
import socket
import struct
import time
import zlib

from .completion import Completion, _new_tuple
from .errors import ChannelError
from .layout import (
    CMP_HEAD, CMP_SLOT_SIZE, CMP_TAIL, CONTROL_SIZE, HEADER_SIZE, COMPLETION_SETTLE_S,
    SLOT_KIND_MUTATION, SUB_HEAD, SUB_SLOT_SIZE, SUB_TAIL, _CMP_FMT, _U32, _slot_fmt,
)
from .session import check_arguments, open_session, shown_path
from .slot_checks import SlotChecks
from .values import _U64_MAX, _checked, _listed


def _deadline(timeout):
    """The monotonic time `timeout` seconds from now; none (infinity) for None."""
    return math.inf if timeout is None else time.monotonic() + timeout


class Client(SlotChecks):
    """One producer session. Not thread-safe: use one Client per thread or process.

    Every ChannelError names the socket (`socket_path`): a process with several instances can tell which one failed.
    """

    def __init__(self, socket_path="/run/vector-boot/evolution.sock", timeout=10.0):
        """`timeout`: seconds to wait for the consumer (connect, room in the ring, a completion), or None: no limit."""
        check_arguments(socket_path, timeout)  # the caller's mistakes, raised before connecting (not "an unusable hello")
        self.socket_path = socket_path
        self.timeout = timeout
        self._at = shown_path(socket_path)  # as the errors name it
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            session = open_session(self.sock, socket_path, timeout)
        except BaseException as e:
            # Whatever the consumer sent (or did not): nothing left open (open_session closed its part), and one exception type.
            self.sock.close()
            if isinstance(e, ChannelError) or not isinstance(e, Exception):
                raise
            raise ChannelError("consumer at %s sent an unusable hello: %s: %s" % (self._at, type(e).__name__, e)) from e
        self.mem, self._words, self.ring = session.mem, session.words, session.ring
        self.rings, self.stride, self.slots = session.rings, session.stride, session.slots
        self.max_values, self.max_name = session.max_values, session.max_name
        self.base = HEADER_SIZE + self.ring * self.stride
        self.sock.setblocking(False)
        self.sub_tail = self._load(SUB_TAIL)
        self.cmp_head = self._load(CMP_HEAD)
        self._head_seen = self._load(SUB_HEAD)
        self._next_tag = 1
        self._scratch = bytearray(SUB_SLOT_SIZE)  # where _check packs a mutation of unusual types
        self._name = None  # the last tensor name, its length and its zero-padded name field
        self._name_len = 0
        self._name_field = b""
        self._seq = 0  # 64-bit position of the next submission since the session began
        self._pending = {}  # seq -> tag of each submission not yet completed
        self._done = {}  # tag -> completion not yet returned by wait
        self._user_tags = set()  # tags given to submit, from submission until wait returns them
        self._unsettled_since = None  # when the completion at cmp_head first failed its checksum

    # -- shared memory ---------------------------------------------------------------------------
    def _load(self, field):
        return self._words.load(self.base + field)

    def _store(self, field, value):
        self._words.store(self.base + field, value)

    # -- submissions -----------------------------------------------------------------------------
    def in_flight(self):
        """Submissions the consumer has not taken yet."""
        self._head_seen = self._load(SUB_HEAD)
        return (self.sub_tail - self._head_seen) & 0xFFFFFFFF

    def submit(self, tensor, offset, values, confidence, tag=None, ring_doorbell=True):
        """Publishes one mutation; blocks (reaping completions) while the ring is full. Returns its tag.

        `tag`: a whole number 0..2**64-1 to match the completion by (`wait(tag)`), or None for the
        next automatic one. A tag is in use from its submission until `wait` returns its completion:
        a tag of yours already in use is refused (ValueError), and automatic tags skip yours.
        """
        mine = tag is not None
        if mine:
            if tag.__class__ is bool or not isinstance(tag, int) or not 0 <= tag <= _U64_MAX:
                raise ValueError("tag must be a whole number 0..2**64-1, got %r" % (tag,))
            if tag in self._done or tag in self._user_tags or tag in self._pending.values():
                raise ValueError("tag %d is in use: its completion has not been waited for" % tag)
        tag = self._put(tensor, offset, values, confidence, tag)
        if mine:  # in use once written (a refused submission leaves it free)
            self._user_tags.add(tag)
        self._publish()
        if ring_doorbell:
            self.doorbell()
        return tag

    def _put(self, tensor, offset, values, confidence, tag=None, checked=False):
        """Writes one submission into the slot at our tail (waiting while the ring is full); `_publish` makes it visible.

        `checked`: `_check` has passed these arguments (and made `values` a list or tuple).
        """
        if tensor.__class__ is not str or tensor != self._name:
            self._set_name(tensor)
        if not checked:
            if not isinstance(values, (list, tuple)):
                values = _listed(values)
            # A bool packs as 0 or 1: refused here, as `_checked` and vb-evolve refuse it (the rest
            # of the checking is the packing's, below).
            if offset.__class__ is bool or confidence.__class__ is bool or bool in map(type, values):
                _checked(offset, confidence, values)
        count = len(values)
        if not 0 < count <= self.max_values:
            raise ValueError("1..%d values per mutation (split larger ones)" % self.max_values)
        if tag is None:
            tag = self._next_tag
            self._next_tag += 1
            if self._user_tags:
                while tag in self._user_tags:  # a caller's tag still in use: skipped
                    tag = self._next_tag
                    self._next_tag += 1
        # Never more outstanding submissions than completion slots: the consumer only takes a
        # submission when it can answer it, so a full completion ring would stall us both.
        # The consumer's head only grows: counted from the last head read, the ring is never fuller
        # than it looks, so shared memory is read only when it may be full.
        slots = self.slots
        if len(self._pending) >= slots or (self.sub_tail - self._head_seen) & 0xFFFFFFFF >= slots:
            # What is written is published and rung first: the room we wait for comes from it.
            self._publish()
            self.doorbell()
            deadline = _deadline(self.timeout)
            while self.in_flight() >= slots or len(self._pending) >= slots:
                self._pump(deadline)
        # Written in place: the slot at the tail is ours until the tail is published.
        mem = self.mem
        off = self.base + CONTROL_SIZE + (self.sub_tail & (slots - 1)) * SUB_SLOT_SIZE
        try:
            _slot_fmt(count).pack_into(mem, off + 4, SLOT_KIND_MUTATION, self._seq, tag, offset, confidence, self._name_len, count, 0, self._name_field, *values)
        except (struct.error, OverflowError, TypeError):
            # Only on the failing path (the packing is the hot one): say which argument, or round a
            # finite value beyond float32 to the infinity float32 gives it (the gate answers NON_FINITE).
            offset, confidence, values = _checked(offset, confidence, values)
            _slot_fmt(count).pack_into(mem, off + 4, SLOT_KIND_MUTATION, self._seq, tag, offset, confidence, self._name_len, count, 0, self._name_field, *values)
        _U32.pack_into(mem, off, zlib.crc32(mem[off + 4:off + 112 + 4 * count]))
        self.sub_tail = (self.sub_tail + 1) & 0xFFFFFFFF
        self._pending[self._seq] = tag
        self._seq += 1
        return tag

    def _publish(self):
        """Makes every slot written so far visible to the consumer (one counter store, after the slots)."""
        self._words.store(self.base + SUB_TAIL, self.sub_tail)

    def doorbell(self):
        try:
            self.sock.send(b"!")
        except BlockingIOError:
            pass  # the socket buffer is full of doorbells: the consumer will wake anyway
        except OSError as e:
            raise ChannelError("consumer at %s gone: %s" % (self._at, e))

    # -- completions -----------------------------------------------------------------------------
    def _reap(self):
        tail = self._load(CMP_TAIL)
        n = 0
        while self.cmp_head != tail:
            off = self.base + CONTROL_SIZE + self.slots * SUB_SLOT_SIZE + (self.cmp_head & (self.slots - 1)) * CMP_SLOT_SIZE
            raw = self.mem[off:off + CMP_SLOT_SIZE]  # one snapshot: checked, then decoded
            crc, status, _r, seq, tag, jseq, text = _CMP_FMT.unpack(raw)
            if crc != zlib.crc32(raw[4:]) or self._pending.get(seq) != tag:
                # Seen before its bytes (nothing orders our reads after the consumer's writes on a
                # weakly ordered CPU): torn bytes, or the previous lap's completion still in the slot
                # (a valid checksum, for a submission already answered). Leave it at the head and
                # read it again later. Only a completion that stays bad is a broken consumer.
                now = time.monotonic()
                if self._unsettled_since is None:
                    self._unsettled_since = now
                elif now - self._unsettled_since > COMPLETION_SETTLE_S:
                    raise ChannelError("completion slot %d stays corrupt or answers nothing in flight (seq %d): the consumer at %s broke the protocol" % (self.cmp_head, seq, self._at))
                break
            self._unsettled_since = None
            self.cmp_head = (self.cmp_head + 1) & 0xFFFFFFFF
            self._done[tag] = _new_tuple(Completion, (tag, seq, status, jseq, text.split(b"\0", 1)[0].decode("ascii", "replace") if text[0] else ""))
            del self._pending[seq]
            n += 1
        if n:
            self._store(CMP_HEAD, self.cmp_head)
        return n

    def _pump(self, deadline):
        """Reaps completions, or sleeps until the consumer's bell, at most 0.5 s, or `deadline`.

        The half-second wake reads the ring again without a bell: a completion whose bytes were not
        yet visible when its bell was answered (see `_reap`) gets no second bell.
        """
        if self._reap():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChannelError("timed out waiting for the consumer at %s" % self._at)
        r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
        if r:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                data = b"!"
            except OSError as e:
                raise ChannelError("consumer at %s gone: %s" % (self._at, e))
            if not data:
                raise ChannelError("consumer at %s closed the session" % self._at)
        self._reap()

    def wait(self, tag, timeout=None):
        """Blocks until the completion of `tag` arrives and returns it.

        A tag that is not waiting for its completion (never submitted, or already returned by wait)
        raises ValueError at once: it waited the whole timeout and blamed the consumer.
        """
        if tag not in self._done and tag not in self._pending.values():
            raise ValueError("no submission with tag %r is waiting for its completion (never submitted, or wait already returned it)" % (tag,))
        deadline = _deadline(self.timeout if timeout is None else timeout)
        while tag not in self._done:
            self._pump(deadline)
        if self._user_tags:
            self._user_tags.discard(tag)
        return self._done.pop(tag)

    def mutate(self, tensor, offset, values, confidence, timeout=None):
        """Submits one mutation and waits for its completion."""
        return self.wait(self.submit(tensor, offset, values, confidence), timeout)

    def submit_batch(self, mutations, timeout=None):
        """Submits (tensor, offset, values, confidence) tuples, pipelined; returns completions in order.

        The whole batch is checked before any of it is written: a mutation no slot can hold raises
        ValueError naming its index, and nothing of the batch is submitted.
        """
        batch = self._check_batch(mutations)
        tags = []
        put = self._put
        for tensor, offset, values, confidence in batch:
            tags.append(put(tensor, offset, values, confidence, None, True))
            if len(tags) % 16 == 0:  # published and rung every 16 (and before any wait for room)
                self._publish()
                self.doorbell()
        self._publish()
        self.doorbell()
        done, out = self._done, []
        for t in tags:
            c = done.pop(t, None)  # most are in already: no wait (and no clock read) for those
            out.append(c if c is not None else self.wait(t, timeout))
        return out

    def close(self):
        try:
            self._words.release()  # before the mapping: an exported buffer keeps mmap from closing
            self.mem.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
