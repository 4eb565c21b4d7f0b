"""JSON lines for people and scripts: timestamps as ISO-8601 UTC ending in ``Z``."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.sources.timeutil import iso_z

__all__ = ["json_line", "plain"]


def plain(value: Any) -> Any:
    """A JSON-able copy: times as ISO-8601 UTC with ``Z``, enums as their value, tuples as lists."""
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(plain(record), ensure_ascii=False, separators=(",", ":"))
