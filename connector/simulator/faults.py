"""Fault plans: what a simulator does wrong, and for how many requests.

One :class:`FaultPlan` per simulator, switchable at runtime from tests (``plan.add(...)``),
over HTTP (``POST /_sim/faults``) and from the CLI (``--fault vonage:rate_limit:times=3``).
Admin paths (``/_sim/...``) are never faulted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast, get_args

__all__ = [
    "DRIFT_VARIANTS",
    "FAULT_KINDS",
    "DriftRules",
    "DriftVariant",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "apply_drift",
    "apply_record_faults",
    "parse_fault_spec",
]

FaultKind = Literal[
    "rate_limit",          # 429, with Retry-After when retry_after is set
    "server_error",        # status 500 / 502 / 503 (default 503)
    "slow",                # wait `delay` wall seconds before answering (beyond a client timeout)
    "drop",                # send headers and half the body, then close the connection
    "malformed",           # 200 with a body that is not valid JSON
    "page_repeat",         # this page starts `records` records early (repeats the previous page's tail)
    "page_skip",           # this page starts `records` records late (skips records)
    "out_of_order",        # records on the page come in reverse order
    "duplicate",           # every `records`-th record on the page appears twice
    "schema_drift",        # records change shape (see `variant`)
    "expire_credentials",  # credentials stop working: 401 until the client re-authenticates
]
DriftVariant = Literal["unknown_fields", "unseen_states", "missing_optional", "nulls", "unmappable"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
DRIFT_VARIANTS: tuple[str, ...] = get_args(DriftVariant)
_PRE_KINDS = frozenset({"rate_limit", "server_error", "slow", "drop", "malformed"})
_ids = itertools.count(1)


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    times: int | None = 1
    after: int = 0
    path: str | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    records: int = 1
    variant: DriftVariant = "unknown_fields"
    seen: int = 0
    used: int = 0
    id: int = field(default_factory=lambda: next(_ids))
    #: copies of the records this fault made unmappable (variant "unmappable"), for tests to compare
    corrupted: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.variant not in DRIFT_VARIANTS:
            raise ValueError(f"unknown drift variant {self.variant!r}; known: {', '.join(DRIFT_VARIANTS)}")
        if self.kind == "server_error" and self.status not in (None, 500, 502, 503):
            raise ValueError("server_error status must be 500, 502 or 503")
        if self.records < 1:
            raise ValueError("records must be >= 1")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The active faults of one simulator. ``reauth_possible``: the API has a way to get new credentials."""

    def __init__(self, *, reauth_possible: bool = False) -> None:
        self.reauth_possible = reauth_possible
        self._faults: list[Fault] = []
        self._seen_credentials: set[str] = set()
        self._revoked: set[str] = set()
        self.on_change: Callable[[FaultPlan], None] | None = None

    def add(self, kind: FaultKind | str, **params: Any) -> Fault:
        fault = Fault(cast(FaultKind, kind), **params)
        if fault.kind == "expire_credentials" and self.reauth_possible:
            self._revoked |= self._seen_credentials
        self._faults.append(fault)
        return fault

    def add_dict(self, spec: Mapping[str, Any]) -> Fault:
        params = {k: v for k, v in spec.items() if k not in ("kind", "seen", "used", "id", "corrupted")}
        return self.add(str(spec["kind"]), **params)

    def clear(self) -> None:
        self._faults.clear()
        self._revoked.clear()

    def remove(self, fault_id: int) -> None:
        self._faults = [f for f in self._faults if f.id != fault_id]

    @property
    def faults(self) -> list[Fault]:
        return [f for f in self._faults if not f.exhausted]

    def take(self, path: str) -> list[Fault]:
        """The faults this request gets (consuming their counts); credentials faults are separate."""
        taken = []
        for fault in self._faults:
            if fault.kind == "expire_credentials" or fault.exhausted:
                continue
            if fault.path is not None and fault.path not in path:
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            fault.used += 1
            taken.append(fault)
        return taken

    def credential_ok(self, credential: str, path: str) -> bool:
        """False when an expired-credentials fault rejects this (otherwise valid) credential.

        With re-authentication possible, every credential used before the fault stays rejected
        and any new one works. Without it (static tokens), the next ``times`` requests fail.
        """
        if credential in self._revoked:
            return False
        for fault in self._faults:
            if fault.kind != "expire_credentials" or fault.exhausted:
                continue
            if fault.path is not None and fault.path not in path:
                continue
            if self.reauth_possible:
                continue  # handled by the revoked set
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            fault.used += 1
            return False
        self._seen_credentials.add(credential)
        return True

    def expired_status(self, default: int = 401) -> int:
        for fault in self._faults:
            if fault.kind == "expire_credentials" and fault.status is not None:
                return fault.status
        return default


def pre_faults(faults: list[Fault]) -> list[Fault]:
    return [f for f in faults if f.kind in _PRE_KINDS]


@dataclass(frozen=True, slots=True)
class DriftRules:
    """How one vendor's records drift: which fields to add, drop or null, and where states live."""

    unknown_fields: Mapping[str, Any]
    optional_fields: tuple[str, ...]
    nullable_fields: tuple[str, ...]
    state_field: str | None
    unseen_states: tuple[str, ...]
    #: (field, value) that makes a record impossible to map (variant "unmappable"), e.g. a time that is no time
    breaking: tuple[str, Any] | None = None


def apply_drift(records: list[dict[str, Any]], variant: DriftVariant, rules: DriftRules,
                corrupted: list[dict[str, Any]] | None = None) -> None:
    """Change ``records`` in place; states are replaced (and records broken) on every third record only."""
    for index, record in enumerate(records):
        if variant == "unmappable":
            if rules.breaking is not None and index % 3 == 0 and rules.breaking[0] in record:
                record[rules.breaking[0]] = rules.breaking[1]
                if corrupted is not None:
                    corrupted.append(dict(record))
            continue
        if variant == "unknown_fields":
            record.update(rules.unknown_fields)
        elif variant == "missing_optional":
            for name in rules.optional_fields:
                record.pop(name, None)
        elif variant == "nulls":
            for name in rules.nullable_fields:
                if name in record:
                    record[name] = None
        elif (variant == "unseen_states" and rules.state_field and index % 3 == 0 and rules.unseen_states
              and rules.state_field in record):
            record[rules.state_field] = rules.unseen_states[index // 3 % len(rules.unseen_states)]


def page_start(faults: list[Fault], start: int) -> int:
    """Where a page really starts after page_repeat / page_skip faults."""
    for fault in faults:
        if fault.kind == "page_repeat":
            start = max(0, start - fault.records)
        elif fault.kind == "page_skip":
            start += fault.records
    return start


def apply_record_faults(faults: list[Fault], records: list[dict[str, Any]],
                        rules: DriftRules | None) -> list[dict[str, Any]]:
    """Duplicate, reorder and drift the records of one page, as the active faults say."""
    for fault in faults:
        if fault.kind == "duplicate":
            out: list[dict[str, Any]] = []
            for index, record in enumerate(records):
                out.append(record)
                if index % fault.records == 0:
                    out.append(dict(record))
            records = out
        elif fault.kind == "out_of_order":
            records = list(reversed(records))
        elif fault.kind == "schema_drift" and rules is not None:
            apply_drift(records, fault.variant, rules, fault.corrupted)
    return records


def parse_fault_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``vendor:kind[:key=value,...]`` (CLI form) -> (vendor, fault params incl. kind)."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise ValueError(f"fault {text!r}: expected VENDOR:KIND[:key=value,...]")
    vendor, kind = parts[0], parts[1]
    params: dict[str, Any] = {"kind": kind}
    if len(parts) == 3 and parts[2]:
        for item in parts[2].split(","):
            key, _, value = item.partition("=")
            if key in ("times", "after", "status", "records"):
                params[key] = None if value in ("", "none", "forever") else int(value)
            elif key in ("retry_after", "delay"):
                params[key] = float(value)
            elif key in ("path", "variant"):
                params[key] = value
            else:
                raise ValueError(f"fault {text!r}: unknown parameter {key!r}")
    Fault(**params)  # validate now, with a clear message
    return vendor, params
