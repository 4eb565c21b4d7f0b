"""The contract between the I/O runtime and the pure, per-vendor streams, and what they share.

A stream never does I/O. The runtime asks it what to send (``first_request``), sends it
(adding auth built by ``authorize``), hands the body back (``handle_response``), produces
the ``PageResult``'s events and commits ``next_cursor`` once every event is acknowledged,
then sends ``next_request`` until it is None. This is Kafka Connect's source-task model
(cursor = source offset) with Airbyte/Singer-style declarative paging.

Everything a stream must remember across pages, polls and restarts lives in the cursor:
a JSON-able dict holding the position, the poll's paging memory, each agent's last known
normalized state and what de-duplication needs, every part of it bounded.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import SecretStr

from connector.model import (
    AgentState,
    AgentStateChanged,
    DeadLetter,
    Event,
    deterministic_event_id,
    event_id_of,
    new_agent_state_changed,
    to_millis,
)
from connector.sources.auth import AuthKind, AuthParts, AuthSpec, HttpRequest, authorize, hs256_jwt
from connector.sources.timeutil import (
    RecordError,
    day_bounds_utc,
    iso_z,
    koreai_offset,
    koreai_offsets_of_day,
    local_date,
    local_to_utc,
    parse_epoch_seconds,
    parse_hms_duration,
    parse_iso_utc,
    parse_west_offset_local,
)

__all__ = [
    "AgentMemory",
    "AuthKind",
    "AuthParts",
    "AuthSpec",
    "HttpRequest",
    "Known",
    "PageResult",
    "PagingError",
    "RecordError",
    "RequestSpec",
    "StreamBase",
    "VendorError",
    "VendorStream",
    "authorize",
    "day_bounds_utc",
    "fingerprint",
    "guard_page",
    "hs256_jwt",
    "iso_z",
    "koreai_offset",
    "koreai_offsets_of_day",
    "local_date",
    "local_to_utc",
    "parse_epoch_seconds",
    "parse_hms_duration",
    "parse_iso_utc",
    "parse_west_offset_local",
]

CURSOR_VERSION = 1
#: cursor maps whose values streams replace (``m[k] = new``) but never mutate in place: copied
#: shallowly. Vonage's ``parts`` and ``ended`` hold dicts that are copied on write (see vonage.py).
_REPLACED_ONLY = frozenset({"agents", "seen", "dead", "intervals", "parts", "ended"})
#: cursor values that are only ever replaced whole (``guard_page`` builds a new ``poll``; ``held``
#: is popped and read): shared, not copied
_SHARED = frozenset({"poll", "held"})


# --- requests and results ------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSpec:
    """What the runtime should send next, without auth. ``path`` is appended to the source's
    ``base_url``, except when it is an absolute ``https://`` URL (the Vonage token endpoint)."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json_body: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # non-secret headers (e.g. Accept)


@dataclass
class PageResult:
    """What one response maps to.

    ``next_cursor`` may be committed only after every event of this page is acknowledged;
    ``next_request`` None means the poll is over: wait for the next poll interval.
    """

    events: list[Event]
    dead_letters: list[DeadLetter]
    unknown_vendor_states: Counter[str]
    next_cursor: dict[str, Any]
    next_request: RequestSpec | None


class VendorError(Exception):
    """The body is not the documented success shape (an error body, or nothing we know).

    Raised before anything of the page is mapped, so a page is never half-processed.
    ``code`` and ``vendor_message`` are the vendor's own, when it gives them.
    """

    def __init__(self, vendor: str, message: str, *, code: str | int | None = None,
                 vendor_message: str | None = None, kind: str = "error_response") -> None:
        self.vendor = vendor
        self.code = code
        self.vendor_message = vendor_message
        self.kind = kind
        detail = f" (code {code})" if code is not None else ""
        super().__init__(f"{vendor}: {message}{detail}")


class PagingError(Exception):
    """Paging would never end (a repeated position, a cycle of pages, an ever-growing total)."""

    def __init__(self, vendor: str, what: str) -> None:
        self.vendor = vendor
        self.what = what
        super().__init__(f"{vendor}: paging stopped: {what}")


# --- paging guard ---------------------------------------------------------------------------

MAX_PAGES_PER_POLL = 10_000
_GUARD_MEMORY = 50  # positions/fingerprints remembered per poll: cycles up to this length are named


def fingerprint(keys: Iterable[object]) -> str:
    """A short digest of the record keys of a page, to recognise a page that comes back."""
    digest = hashlib.sha256("\x1f".join(sorted(str(k) for k in keys)).encode()).hexdigest()
    return digest[:16]


def guard_page(poll: Mapping[str, Any] | None, *, vendor: str, position: str, page_print: str | None,
               total: int | None = None, page_size: int | None = None) -> dict[str, Any]:
    """Record one page of a poll; raise PagingError when paging is not converging.

    ``position`` names where the page was read (e.g. ``offset=2000``); ``page_print`` is
    the fingerprint of its records (None for an empty page); ``total`` the vendor's count.
    """
    state: dict[str, Any] = dict(poll) if poll else {"pages": 0, "positions": [], "prints": []}
    if position in state["positions"]:
        raise PagingError(vendor, f"the next-page position {position} was already read in this poll")
    if page_print is not None:
        for earlier_print, earlier_position in state["prints"]:
            if earlier_print == page_print:
                raise PagingError(vendor, f"the page at {position} repeats the records of the page at "
                                          f"{earlier_position} (a paging cycle)")
    pages = int(state["pages"]) + 1
    if pages > MAX_PAGES_PER_POLL:
        raise PagingError(vendor, f"more than {MAX_PAGES_PER_POLL} pages in one poll")
    if total is not None:
        first = state.setdefault("first_total", total)
        expected = -(-max(int(first), 1) // max(page_size or 1, 1))
        if total > int(first) and pages > 2 * expected + 3:
            raise PagingError(vendor, f"the total keeps growing ({first} at the first page, {total} "
                                      f"after {pages} pages)")
        state["total"] = total
    state["pages"] = pages
    state["positions"] = [*state["positions"], position][-_GUARD_MEMORY:]
    if page_print is not None:
        state["prints"] = [*state["prints"], [page_print, position]][-_GUARD_MEMORY:]
    return state


# --- per-agent memory -----------------------------------------------------------------------


class Known:
    """An agent's last emitted normalized state.

    ``at`` (a datetime) is made only when asked for: streams mostly compare ``millis``, and
    building a datetime per lookup was most of what a lookup cost."""

    __slots__ = ("_at", "millis", "reason", "state")

    def __init__(self, state: AgentState, reason: str | None, at: datetime | None = None, millis: int = 0) -> None:
        self.state, self.reason, self.millis, self._at = state, reason, millis, at

    @property
    def at(self) -> datetime:
        if self._at is None:
            self._at = datetime.fromtimestamp(self.millis / 1000, tz=UTC)
        return self._at

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Known):
            return NotImplemented
        return (self.state, self.reason, self.at) == (other.state, other.reason, other.at)

    def __hash__(self) -> int:
        return hash((self.state, self.reason, self.at))

    def __repr__(self) -> str:
        return f"Known(state={self.state!r}, reason={self.reason!r}, at={self.at!r}, millis={self.millis})"


_STATES: dict[str, AgentState] = {state.value: state for state in AgentState}
_STATE_VALUES: dict[AgentState, str] = {state: state.value for state in AgentState}
MAX_AGENTS = 50_000
AGENT_MEMORY_DAYS = 31


class AgentMemory:
    """``cursor["agents"]``: agent id -> ``[state, reason, at_millis]`` of its last event.

    It is how ``previous_state`` survives polls and restarts, and why an event is emitted
    only when an agent's (state, reason) changes. Agents silent for 31 days are forgotten
    (their next event then has ``previous_state`` null).
    """

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table

    def get(self, agent_id: str) -> Known | None:
        entry = self.table.get(agent_id)
        if entry is None:
            return None
        state, reason, millis = entry
        return Known(_STATES.get(state) or AgentState(state), reason, None, millis)

    def set(self, agent_id: str, state: AgentState, reason: str | None, at: datetime,
            millis: int | None = None) -> None:
        """Remember an agent's last event; ``millis`` is ``at`` in epoch ms when the caller has it."""
        self.table[agent_id] = [_STATE_VALUES[state], reason, to_millis(at) if millis is None else millis]

    def prune(self, now: datetime) -> None:
        horizon = to_millis(now - timedelta(days=AGENT_MEMORY_DAYS))
        for agent_id in [a for a, entry in self.table.items() if entry[2] < horizon]:
            del self.table[agent_id]
        if len(self.table) > MAX_AGENTS:
            keep = sorted(self.table.items(), key=lambda item: item[1][2])[-MAX_AGENTS:]
            self.table.clear()
            self.table.update(keep)


# --- the stream contract ----------------------------------------------------------------------


class VendorStream(Protocol):
    """One per vendor module; pure; state lives only in the cursor dict."""

    vendor: ClassVar[str]
    auth: ClassVar[AuthSpec]

    def initial_cursor(self, now: datetime) -> dict[str, Any]: ...

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None: ...

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult: ...

    def reset_poll(self, cursor: dict[str, Any]) -> dict[str, Any]: ...

    def auth_parts(self, now: datetime, *, access_token: str | None = None) -> AuthParts: ...

    def authorize(self, request: RequestSpec, now: datetime, *, access_token: str | None = None) -> HttpRequest: ...

    def token_request(self) -> RequestSpec | None: ...


class SourceSettings(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def start_at(self) -> datetime | None: ...
    @property
    def lookback_seconds(self) -> float: ...


C = TypeVar("C", bound=SourceSettings)

MAX_DEAD_MEMORY = 1000
DEAD_MEMORY = timedelta(days=2)

_SECRET_KEYS = frozenset({"auth_token", "access_token", "token", "jwt", "auth", "client_secret", "secret",
                          "password", "authorization", "x-auth-token", "refresh_token"})
_MASK = "***"


def _copy_value(key: str, value: Any) -> Any:
    """One cursor value copied as deep as streams may change it in place (see ``_REPLACED_ONLY``)."""
    if value is None or isinstance(value, (str, int, float)) or key in _SHARED:
        return value
    if isinstance(value, dict) and (key in _REPLACED_ONLY or key == "next"):
        return dict(value)  # ``next`` holds scalars only
    return copy.deepcopy(value)


class StreamBase(Generic[C]):
    """Shared plumbing of the five streams: identity, auth, event and dead-letter building."""

    vendor: ClassVar[str]
    auth: ClassVar[AuthSpec]
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    position_keys: ClassVar[tuple[str, ...]] = ()  # cursor keys copied into every source_cursor

    def __init__(self, source_config: C, *, drop_personal_data: bool = True) -> None:
        self.config = source_config
        self.drop_personal_data = drop_personal_data

    @property
    def tenant(self) -> str:
        return self.config.tenant

    @property
    def source(self) -> str:
        return self.config.name

    def start_of_history(self, now: datetime) -> datetime:
        """Where a source with no cursor starts: ``start_at``, else now minus the lookback."""
        return self.config.start_at or now - timedelta(seconds=self.config.lookback_seconds)

    # cursor helpers

    @staticmethod
    def copy_cursor(cursor: Mapping[str, Any]) -> dict[str, Any]:
        """handle_response never mutates its input: a failed page leaves the old cursor intact."""
        if cursor.get("v") != CURSOR_VERSION:
            raise ValueError(f"unsupported cursor version {cursor.get('v')!r} (expected {CURSOR_VERSION})")
        # the large per-record maps are only ever assigned to, never changed in place: a shallow
        # copy of each keeps the input intact at a fraction of deepcopy's cost (it dominated paging)
        return {key: _copy_value(key, value) for key, value in cursor.items()}

    def source_cursor(self, cursor: Mapping[str, Any]) -> str:
        """The position part of the cursor as JSON; per-agent memory stays out of every event."""
        position = {key: cursor.get(key) for key in self.position_keys}
        return json.dumps(position, sort_keys=True, separators=(",", ":"))

    def reset_poll(self, cursor: dict[str, Any]) -> dict[str, Any]:
        """Forget an unfinished poll (after a PagingError): the next poll starts afresh."""
        fresh = self.copy_cursor(cursor)
        fresh["next"] = None
        fresh["poll"] = None
        return fresh

    # auth

    def _secret(self, name: str) -> str | None:
        value = getattr(self.config, name, None)
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return value if isinstance(value, str) else None

    def auth_parts(self, now: datetime, *, access_token: str | None = None) -> AuthParts:
        """Headers/params/form fields carrying the credentials of this source, per ``auth``."""
        spec = self.auth
        if spec.kind in (AuthKind.QUERY_PARAM, AuthKind.FORM_FIELD):
            token = self._secret("auth_token") or ""
            if spec.kind is AuthKind.QUERY_PARAM:
                return AuthParts(headers=dict(spec.headers), params={spec.name: token})
            return AuthParts(headers=dict(spec.headers), form={spec.name: token})
        if spec.kind is AuthKind.USER_TOKEN_HEADERS:
            return AuthParts(headers={**spec.headers, "X-User-Id": str(getattr(self.config, "user_id", "")),
                                      "X-Auth-Token": self._secret("auth_token") or ""})
        raise NotImplementedError(f"{self.vendor}: {spec.kind} auth is built by the vendor module")

    def authorize(self, request: RequestSpec, now: datetime, *, access_token: str | None = None) -> HttpRequest:
        return authorize(request, self.auth_parts(now, access_token=access_token))

    def token_request(self) -> RequestSpec | None:
        """The request that fetches a bearer token (OAuth2 client credentials), if any."""
        return None

    # records and events

    def secret_values(self) -> list[str]:
        values = [v.get_secret_value() for v in vars(self.config).values() if isinstance(v, SecretStr)]
        return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def _clean(self, node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                lowered = str(key).lower()
                if lowered in _SECRET_KEYS:
                    out[key] = _MASK
                elif self.drop_personal_data and lowered in self.personal_fields:
                    continue
                else:
                    out[key] = self._clean(value)
            return out
        if isinstance(node, list):
            return [self._clean(item) for item in node]
        return node

    def scrub(self, record: Any) -> str:
        """The record as JSON, secrets masked and (by default) personal data dropped."""
        text = json.dumps(self._clean(record), sort_keys=True, default=str)
        for secret in self.secret_values():
            text = text.replace(secret, _MASK)
        return text

    def dead_letter(self, *, record: Any, location: str, error: RecordError | str, source_cursor: str,
                    now: datetime, kind: str | None = None, extra: Mapping[str, str] | None = None,
                    key: tuple[object, ...] = ()) -> DeadLetter:
        """A record that cannot be mapped, kept whole (minus secrets) on the dead-letter topic.

        Its id is of (source_cursor, location, *key): the same place of the same page.
        """
        if isinstance(error, RecordError):
            kind = kind or error.kind
        return DeadLetter(
            event_id=deterministic_event_id(self.vendor, self.tenant, "dead-letter", source_cursor, location, *key),
            vendor=self.vendor,
            tenant=self.tenant,
            source=self.source,
            error=f"{error} (at {location})",
            error_kind=kind or "unmappable",
            raw_record=self.scrub(record),
            source_cursor=source_cursor,
            failed_at=now,
            location=location,
            extra=dict(extra or {}),
        )

    def dead_letter_once(self, state: dict[str, Any], *, record: Any, location: str, error: RecordError | str,
                         source_cursor: str, now: datetime, kind: str | None = None) -> DeadLetter | None:
        """A dead letter, unless this very record was dead-lettered before.

        Streams that re-read (a whole day, a Processed window) would otherwise report one
        broken record on every poll. ``state["dead"]`` maps record digests to when they
        were reported; ``prune_dead`` forgets them after DEAD_MEMORY.
        """
        memo: dict[str, int] = state.setdefault("dead", {})
        digest = fingerprint([self.scrub(record)])
        if digest in memo:
            return None
        memo[digest] = to_millis(now)
        if len(memo) > MAX_DEAD_MEMORY:
            for old, _ in sorted(memo.items(), key=lambda item: item[1])[: len(memo) - MAX_DEAD_MEMORY]:
                del memo[old]
        return self.dead_letter(record=record, location=location, error=error, source_cursor=source_cursor,
                                now=now, kind=kind)

    @staticmethod
    def prune_dead(state: dict[str, Any], now: datetime) -> None:
        horizon = to_millis(now - DEAD_MEMORY)
        state["dead"] = {k: v for k, v in state.get("dead", {}).items() if v >= horizon}

    def state_changed(self, *, key: tuple[object, ...], agent_id: str, state: AgentState,
                      previous: AgentState | None, vendor_state: str, occurred_at: datetime,
                      source_cursor: str, now: datetime, reason: str | None = None,
                      campaign_id: str | None = None, campaign_name: str | None = None,
                      queue_id: str | None = None, skills: tuple[str, ...] = (),
                      vendor_record_id: str | None = None) -> AgentStateChanged:
        """The event of one state change; every field given (no ``**fields``: one per event adds up), by
        position in the class's field order (``STATE_CHANGED_FIELDS``, checked in tests): a keyword
        call of 17 fields costs about a microsecond more per event."""
        config = self.config
        vendor, tenant = self.vendor, config.tenant
        return new_agent_state_changed(  # ``AgentStateChanged(...)`` without a call per field
            event_id_of(vendor, tenant, key), vendor, tenant, config.name, agent_id, state, previous,
            vendor_state, occurred_at, source_cursor, reason, campaign_id, campaign_name, queue_id, skills,
            vendor_record_id, now,
        )


#: ``AgentStateChanged``'s fields in the order ``StreamBase.state_changed`` passes them
STATE_CHANGED_FIELDS = ("event_id", "vendor", "tenant", "source", "agent_id", "state", "previous_state",
                        "vendor_state", "occurred_at", "source_cursor", "reason", "campaign_id", "campaign_name",
                        "queue_id", "skills", "vendor_record_id", "ingested_at")


def require_mapping(vendor: str, body: Any, what: str) -> dict[str, Any]:
    """The body must be a JSON object; anything else is a VendorError naming what was expected."""
    if not isinstance(body, dict):
        raise VendorError(vendor, f"expected a JSON object ({what}), got {type(body).__name__}",
                          kind="unknown_shape")
    return body


def vendor_failure(vendor: str, body: Mapping[str, Any]) -> VendorError:
    """A VendorError carrying whatever code/message an error body has (Convoso, Rocket.Chat, Vonage)."""
    code = body.get("code")
    message = body.get("error") or body.get("message") or body.get("errorType")
    if isinstance(message, dict):
        message = json.dumps(message, sort_keys=True)
    text = f"error response: {message}" if message else "error response without a message"
    return VendorError(vendor, text, code=code if isinstance(code, (int, str)) else None,
                       vendor_message=str(message) if message else None)
