"""Which stream class serves which vendor: every module in ``connector.sources`` that
defines a stream with a ``vendor`` name is found here, so a new vendor is a new module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

import connector.sources as sources_package

__all__ = ["stream_class"]


@cache
def _streams() -> dict[str, type]:
    found: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(sources_package.__path__):
        module = importlib.import_module(f"{sources_package.__name__}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            vendor = cls.__dict__.get("vendor")
            if cls.__module__ == module.__name__ and isinstance(vendor, str) and hasattr(cls, "handle_response"):
                found[vendor] = cls
    return found


def stream_class(vendor: str) -> type:
    streams = _streams()
    try:
        return streams[vendor]
    except KeyError:
        raise LookupError(f"no stream for vendor {vendor!r}; known: {sorted(streams)}") from None
