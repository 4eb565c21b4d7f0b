"""Convoso user activity (POST /v1/user-activity/search) -> AgentGroupObserved.

A point-in-time count of available and logged-in agents per configured filter; it has no
per-agent states and no history, so each poll asks once per filter and emits one
observation per answer, timed at the moment it was read.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from connector.model import AgentGroupObserved, DeadLetter, Event, deterministic_event_id, skills_tuple, to_millis
from connector.sources.base import (
    CURSOR_VERSION,
    AuthKind,
    AuthSpec,
    PageResult,
    RequestSpec,
    StreamBase,
    VendorError,
    require_mapping,
    vendor_failure,
)
from connector.sources.settings import OFFLINE_SECRET, SourceSettings, StrictModel, offline_common

__all__ = ["ConvosoUserActivitySource", "ConvosoUserActivityStream", "group_key"]

PATH = "/v1/user-activity/search"


def group_key(flt: UserActivityFilter) -> str:
    """Canonical key of a filter: 'all', or campaign/queue/user/skills parts joined by '|'."""
    parts = []
    if flt.campaign_id:
        parts.append(f"campaign:{flt.campaign_id}")
    if flt.queue_id:
        parts.append(f"queue:{flt.queue_id}")
    if flt.user_id:
        parts.append(f"user:{flt.user_id}")
    skills = skills_tuple(flt.skills)
    if skills:
        parts.append("skills:" + ",".join(skills))
    return "|".join(parts) or "all"


def _count(data: dict[str, Any], name: str) -> int | str:
    """A non-negative integer count, or the text of what is wrong with it."""
    value = data.get(name)
    if isinstance(value, bool):
        return f"data.{name}: expected an integer, got {value!r}"
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and value >= 0:
        return value
    if value is None:
        return f"data.{name}: missing"
    return f"data.{name}: expected a non-negative integer, got {value!r}"



class UserActivityFilter(StrictModel):
    campaign_id: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    skills: list[str] = Field(default_factory=list)


class ConvosoUserActivitySource(SourceSettings):
    vendor: Literal["convoso-user-activity"]
    auth_token: SecretStr
    filters: list[UserActivityFilter] = Field(
        default_factory=lambda: [UserActivityFilter()], min_length=1,
        description="One point-in-time count per filter; the default counts the whole account.",
    )

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> ConvosoUserActivitySource:
        return cls(**offline_common("convoso-user-activity", tenant), auth_token=OFFLINE_SECRET)


class ConvosoUserActivityStream(StreamBase[ConvosoUserActivitySource]):
    """Cursor: ``{"v", "next", "poll"}``; ``next`` is the index of the filter to ask next
    within an unfinished poll (None between polls). Nothing else needs remembering."""

    vendor: ClassVar[str] = "convoso-user-activity"
    settings_model: ClassVar[type[SourceSettings]] = ConvosoUserActivitySource
    auth: ClassVar[AuthSpec] = AuthSpec(AuthKind.FORM_FIELD, name="auth_token")
    position_keys: ClassVar[tuple[str, ...]] = ("next",)

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        return {"v": CURSOR_VERSION, "next": None, "poll": None}

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        return self._request(int(cursor.get("next") or 0))

    def _request(self, index: int) -> RequestSpec:
        flt = self.config.filters[index]
        form: dict[str, str] = {}
        if flt.campaign_id:
            form["campaign_id"] = flt.campaign_id
        if flt.queue_id:
            form["queue_id"] = flt.queue_id
        if flt.user_id:
            form["user_id"] = flt.user_id
        skills = skills_tuple(flt.skills)
        if skills:
            form["filter_by_skill_options"] = ",".join(skills)
        return RequestSpec("POST", PATH, {}, form=form)

    def _index_of(self, cursor: dict[str, Any], request: RequestSpec) -> int:
        """Which configured filter a request asked for: the cursor's, checked against the form."""
        expected = int(cursor.get("next") or 0)
        if expected < len(self.config.filters) and self._request(expected).form == request.form:
            return expected
        for index in range(len(self.config.filters)):
            if self._request(index).form == request.form:
                return index
        raise ValueError(f"{self.vendor}: the request does not match any configured filter: {request.form}")

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult:
        body = require_mapping(self.vendor, body, "the user-activity response")
        if body.get("success") is not True:
            raise vendor_failure(self.vendor, body)
        data = body.get("data")
        if not isinstance(data, dict):
            raise VendorError(self.vendor, "success response without a data object", kind="unknown_shape")
        state = self.copy_cursor(cursor)
        index = self._index_of(cursor, request)
        source_cursor = self.source_cursor({"next": index})
        flt = self.config.filters[index]
        key = group_key(flt)
        events: list[Event] = []
        dead: list[DeadLetter] = []
        available, logged_in = _count(data, "available_agents"), _count(data, "logged_in_agents")
        if isinstance(available, int) and isinstance(logged_in, int):
            events.append(AgentGroupObserved(
                event_id=deterministic_event_id(self.vendor, self.tenant, key, to_millis(now)),
                vendor=self.vendor, tenant=self.tenant, source=self.source, group_key=key,
                observed_at=now, available_agents=available, logged_in_agents=logged_in,
                source_cursor=source_cursor, campaign_id=flt.campaign_id, queue_id=flt.queue_id,
                user_id=flt.user_id, skills=skills_tuple(flt.skills)))
        else:
            problem = "; ".join(p for p in (available, logged_in) if isinstance(p, str))
            kind = "missing_field" if "missing" in problem else "bad_value"
            dead.append(self.dead_letter(record=body, location="data", error=problem, kind=kind,
                                         source_cursor=source_cursor, now=now, extra={"group_key": key},
                                         key=(to_millis(now),)))  # each reading is its own record
        next_request = None
        if index + 1 < len(self.config.filters):
            state["next"] = index + 1
            next_request = self._request(index + 1)
        else:
            state["next"] = None
        return PageResult(events, dead, Counter(), state, next_request)
