"""The error every channel failure raises (consumer gone, busy, timeout, bad header)."""


class ChannelError(Exception):
    """The channel could not be opened or used (consumer gone, busy, timeout, bad header); the message names the socket."""
