"""Pure, I/O-free vendor streams: one module per vendor API, sharing the contract in ``base``.

A vendor module is found by itself: any module here that defines a stream class with a
``vendor`` name and a ``settings_model`` is registered, and its settings model joins the
configuration's ``sources`` (see ``connector.config``). Adding a vendor is adding a module
(plus its mapping table in docs/vendors.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from connector.sources.base import VendorStream
from connector.sources.settings import SourceSettings

__all__ = ["STREAMS", "make_stream", "settings_models"]


def _discover() -> dict[str, type[Any]]:
    streams: dict[str, type[Any]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            vendor = value.__dict__.get("vendor") if isinstance(value, type) else None
            if (isinstance(vendor, str) and value.__module__ == module.__name__
                    and "settings_model" in value.__dict__):
                if vendor in streams:
                    raise RuntimeError(f"two streams claim vendor {vendor!r}: "
                                       f"{streams[vendor].__module__} and {module.__name__}")
                streams[vendor] = value
    return streams


#: config ``vendor`` -> stream class, discovered from the modules of this package
STREAMS: dict[str, type[Any]] = _discover()


def settings_models() -> tuple[type[SourceSettings], ...]:
    """The settings model of every vendor, for the configuration's discriminated union."""
    return tuple(stream.settings_model for stream in STREAMS.values())


def make_stream(source_config: Any, *, drop_personal_data: bool = True) -> VendorStream:
    """The stream for one configured source (``config.privacy.drop_personal_data`` goes in)."""
    stream: VendorStream = STREAMS[source_config.vendor](source_config, drop_personal_data=drop_personal_data)
    return stream
