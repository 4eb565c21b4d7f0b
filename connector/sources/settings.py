"""Settings every source shares; each vendor module adds its own fields in a subclass.

Kept apart from ``connector.config`` so vendor modules can declare their settings next to
their stream without importing the whole configuration (which imports them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

__all__ = ["NAME_PATTERN", "OFFLINE_SECRET", "SourceSettings", "StrictModel", "check_timezone", "offline_common"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
OFFLINE_SECRET = "offline-placeholder"  # stands in for credentials when nothing is sent anywhere


def offline_common(vendor: str, tenant: str) -> dict[str, Any]:
    """The shared fields of settings for mapping a saved response offline."""
    return {"vendor": vendor, "name": "convert", "tenant": tenant, "base_url": "http://offline.invalid"}


class StrictModel(BaseModel):
    """Unknown keys are errors (a misspelt setting must not be ignored); settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'America/New_York', 'UTC')") from None
    return value



class SourceSettings(StrictModel):
    """What every source has; each vendor module subclasses it with ``vendor: Literal[...]``."""

    vendor: str  # each vendor's subclass narrows it to its Literal name, which tells the sources apart
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
    tenant: Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
    base_url: AnyHttpUrl
    enabled: bool = True
    poll_interval_seconds: float = Field(30.0, gt=0, le=86_400)
    poll_jitter_seconds: float = Field(1.0, ge=0, le=3600)
    timeout_seconds: float = Field(10.0, gt=0, le=600)
    max_retries: int = Field(5, ge=0, le=100)
    max_concurrency: int = Field(2, ge=1, le=64)
    max_requests_per_second: float = Field(5.0, gt=0, le=10_000)
    http_client: Literal["builtin", "httpx"] = Field(
        "builtin", description="builtin: the connector's own HTTP/1.1 client (least CPU per request; no proxies); "
        "httpx: httpx's client, which honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY and SSL_CERT_FILE.")
    start_at: datetime | None = Field(
        None, description="Where a source with no stored cursor starts (UTC); default: now minus lookback."
    )
    lookback_seconds: float = Field(
        3600.0, ge=0, le=31 * 86_400, description="How far back each poll re-reads, for late-arriving records."
    )

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> SourceSettings:
        """Settings that map one saved response offline (``agent-connector convert``): no
        secrets, no network; ``zone`` is the time zone of the response's local times."""
        raise TypeError(f"{cls.__name__} does not say how to map a saved response offline")

    @field_validator("start_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return value
