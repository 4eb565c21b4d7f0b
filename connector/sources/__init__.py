"""Pure, I/O-free vendor streams: one module per vendor API, sharing the contract in ``base``."""

from __future__ import annotations

from typing import Any

from connector.sources.base import VendorStream
from connector.sources.convoso_productivity import ConvosoProductivityStream
from connector.sources.convoso_user_activity import ConvosoUserActivityStream
from connector.sources.koreai import KoreaiStream
from connector.sources.rocketchat import RocketchatStream
from connector.sources.vonage import VonageStream

__all__ = ["STREAMS", "make_stream"]

#: config ``vendor`` -> stream class
STREAMS: dict[str, type[Any]] = {
    ConvosoProductivityStream.vendor: ConvosoProductivityStream,
    ConvosoUserActivityStream.vendor: ConvosoUserActivityStream,
    VonageStream.vendor: VonageStream,
    KoreaiStream.vendor: KoreaiStream,
    RocketchatStream.vendor: RocketchatStream,
}


def make_stream(source_config: Any, *, drop_personal_data: bool = True) -> VendorStream:
    """The stream for one configured source (``config.privacy.drop_personal_data`` goes in)."""
    stream: VendorStream = STREAMS[source_config.vendor](source_config, drop_personal_data=drop_personal_data)
    return stream
