"""Client of the vector-boot evolution channel (see docs/evolution-protocol.md). Standard library only."""
from .client import Client
from .completion import Completion, STATUS_NAMES
from .errors import ChannelError
from .layout import MAX_VALUES
from .reconnecting import ReconnectingClient
from .crc32c import crc32c
from .control import ControlClient, ControlError
from .fleet import FleetClient, FleetError

__all__ = ["Client", "ReconnectingClient", "Completion", "ChannelError", "STATUS_NAMES", "MAX_VALUES", "crc32c", "ControlClient", "ControlError", "FleetClient", "FleetError"]
