"""A producer that re-sends unacknowledged mutations on a new session when the init goes away for a moment."""
import time

from .client import Client
from .errors import ChannelError


class ReconnectingClient:
    """A producer that survives the init going away for a moment (a live re-exec, a restart).

    Mutations overwrite values, so re-sending one whose acknowledgement was lost is harmless: when
    the session drops, every mutation without a completion is submitted again on a new session,
    until each has one or `deadline_s` passes. Completions come back in submission order.
    """

    def __init__(self, socket_path="/run/vector-boot/evolution.sock", timeout=10.0, deadline_s=60.0, retry_s=0.05):
        self.socket_path = socket_path
        self.timeout = timeout
        self.deadline_s = deadline_s
        self.retry_s = retry_s
        self.client = None
        self.reconnects = 0

    def _connect(self, deadline):
        while True:
            try:
                self.client = Client(self.socket_path, self.timeout)
                return
            except ChannelError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(self.retry_s)

    def submit_batch(self, mutations):
        """(tensor, offset, values, confidence) tuples -> one Completion each, in order.

        The whole batch is checked before any of it is sent: a mutation no slot can hold raises
        ValueError naming its index, and nothing of the batch is submitted.
        """
        mutations = list(mutations)
        if not mutations:
            return []
        deadline = time.monotonic() + self.deadline_s
        if self.client is None:
            self._connect(deadline)
        mutations = self.client._check_batch(mutations)  # the slot limits come from the session's header
        results = [None] * len(mutations)
        todo = list(range(len(mutations)))
        while todo:
            if self.client is None:
                self._connect(deadline)
            try:
                tags = {}
                for i in todo:
                    tags[i] = self.client.submit(*mutations[i])
                for i in todo:
                    results[i] = self.client.wait(tags[i])
                todo = []
            except ChannelError:
                if time.monotonic() >= deadline:
                    raise
                done = self.client._done if self.client else {}
                for i, t in tags.items():
                    if results[i] is None and t in done:
                        results[i] = done.pop(t)
                todo = [i for i in todo if results[i] is None]
                try:
                    self.client.close()
                except Exception:
                    pass
                self.client = None
                self.reconnects += 1
        return results

    def mutate(self, tensor, offset, values, confidence):
        return self.submit_batch([(tensor, offset, values, confidence)])[0]

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
