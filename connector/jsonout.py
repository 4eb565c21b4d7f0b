"""JSON lines for people and scripts: timestamps as ISO-8601 UTC ending in ``Z``."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["iso_utc", "json_line"]


def iso_utc(moment: datetime) -> str:
    """``2025-05-28T11:57:17.000Z``: always UTC, always milliseconds, always ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(_plain(record), ensure_ascii=False, separators=(",", ":"))
