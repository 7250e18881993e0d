"""Client of the vector-boot evolution channel (see docs/evolution-protocol.md). Standard library only."""
from .client import Client
from .completion import Completion, STATUS_NAMES
from .errors import ChannelError
from .layout import MAX_VALUES
from .reconnecting import ReconnectingClient
from .crc32c import crc32c
from .fleet import FleetClient, FleetError, FleetLocalError, FleetRefusedError
from .version import __version__


def __getattr__(name):
    # The control client is imported when first asked for: imported here, it was already in
    # sys.modules when `python -m vector_boot_evolution.control` ran it (runpy's RuntimeWarning).
    if name in ("ControlClient", "ControlError", "ControlTimeout", "ControlProtocolError"):
        from . import control
        return getattr(control, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


__all__ = ["Client", "ReconnectingClient", "Completion", "ChannelError", "STATUS_NAMES", "MAX_VALUES", "crc32c", "ControlClient", "ControlError", "ControlTimeout", "ControlProtocolError", "FleetClient", "FleetError", "FleetLocalError", "FleetRefusedError"]
