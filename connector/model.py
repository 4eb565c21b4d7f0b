"""The event model: what every vendor's activity is converted into.

These dataclasses mirror the Avro schemas in ``schemas/`` one to one. Times are
timezone-aware UTC ``datetime`` objects inside the system; ``as_avro()`` turns
them into epoch milliseconds for the wire.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar, get_args, get_origin, get_type_hints

__all__ = [
    "EVENT_ID_NAMESPACE",
    "AgentConversationsObserved",
    "AgentGroupObserved",
    "AgentState",
    "AgentStateChanged",
    "DeadLetter",
    "Event",
    "avro_by_value",
    "avro_conversions",
    "deterministic_event_id",
    "event_id_of",
    "from_millis",
    "new_agent_state_changed",
    "to_millis",
]


class AgentState(enum.StrEnum):
    """Normalized agent state shared by every vendor.

    AVAILABLE means ready to take work (Convoso user-activity's definition);
    every state except OFFLINE counts as logged in.
    """

    OFFLINE = "OFFLINE"
    AVAILABLE = "AVAILABLE"
    BUSY = "BUSY"
    WRAP_UP = "WRAP_UP"
    AWAY = "AWAY"
    UNKNOWN = "UNKNOWN"

    @property
    def logged_in(self) -> bool:
        return self is not AgentState.OFFLINE


#: uuid5 namespace of our event ids; never change it, or every id changes.
EVENT_ID_NAMESPACE = uuid.UUID("5b0c8f52-7d2e-4c1e-9a77-2f6a3c1d9e10")


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes

try:  # CPython's own SHA-1: copying its state is a copy of a struct; OpenSSL's (hashlib's) goes through
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found]  # EVP layer: ~1.4k instructions an id more
except ImportError:  # pragma: no cover - a CPython built without it
    from hashlib import sha1 as _sha1


_ID_PREFIXES: dict[tuple[str, str], Any] = {}  # (vendor, tenant) -> SHA-1 state after namespace, prefix, \x1f
#: uuid5's RFC 4122 variant: the top two bits of byte 8 set to ``10``, i.e. its first hex digit 8, 9, a or b
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def deterministic_event_id(vendor: str, tenant: str, *record_key: object) -> str:
    """Same vendor record -> same id, so consumers can de-duplicate repeats (``event_id_of``)."""
    return event_id_of(vendor, tenant, record_key)


def event_id_of(vendor: str, tenant: str, record_key: tuple[object, ...]) -> str:
    """``deterministic_event_id(vendor, tenant, *record_key)`` for a key already in a tuple (no repacking).

    ``str(uuid.uuid5(EVENT_ID_NAMESPACE, name))`` computed directly (SHA-1 of namespace and
    name; the version digit and the variant bits set in the hex text): the same ids without
    building a ``UUID`` or an integer per event. The hash state after the namespace,
    ``vendor``/``tenant`` and the separator is kept per source and copied.
    """
    if not record_key:
        digest = _sha1(_NAMESPACE_BYTES + f"{vendor}\x1f{tenant}".encode())
    else:  # the separator before the key's first part is in the kept state already
        base = _ID_PREFIXES.get((vendor, tenant))
        if base is None:
            prefix = f"{vendor}\x1f{tenant}\x1f".encode()
            base = _ID_PREFIXES[(vendor, tenant)] = _sha1(_NAMESPACE_BYTES + prefix)
        digest = base.copy()
        digest.update("\x1f".join([str(part) for part in record_key]).encode())
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime; naive datetimes are refused (no guessing zones)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; convert it to UTC first")
    return (moment - _EPOCH) // _MILLISECOND  # floor of the microseconds / 1000, in C


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _as_utc(value: datetime | int) -> datetime:
    if isinstance(value, int):
        return from_millis(value)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; convert it to UTC first")
    return value.astimezone(UTC)


class Event(abc.ABC):
    """Base of every event type: knows its Avro schema name and Kafka key.

    ``as_avro`` / ``from_avro`` convert by field type, worked out once per class from the
    type hints: aware datetimes <-> epoch milliseconds, AgentState <-> its symbol, tuples <->
    arrays, mappings <-> maps. Field names are the Avro field names.
    """

    schema_name: ClassVar[str]
    event_type: ClassVar[str]
    #: fields whose values (nearly) never repeat from one event to the next: not worth caching their Avro bytes
    unique_fields: ClassVar[frozenset[str]] = frozenset({"event_id"})

    @abc.abstractmethod
    def kafka_key(self) -> bytes:
        """The Kafka record key: what keeps related events in order on one partition."""

    def as_avro(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, to_avro, _ in _converters(type(self)):
            value = getattr(self, name)
            out[name] = value if to_avro is None or value is None else to_avro(value)
        return out

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Self:
        values: dict[str, Any] = {}
        for name, _, from_avro in _converters(cls):
            if name in record:
                value = record[name]
                values[name] = value if from_avro is None or value is None else from_avro(value)
        return cls(**values)


Converter = Callable[[Any], Any]
Conversions = tuple[tuple[str, Converter | None, Converter | None], ...]
_CONVERSIONS: dict[type, Conversions] = {}


def _converters(cls: type) -> Conversions:
    """(field, to Avro, from Avro) per dataclass field, chosen by its type hint; computed once per class."""
    known = _CONVERSIONS.get(cls)
    if known is None:
        known = _CONVERSIONS[cls] = _conversions_of(cls)
    return known


def avro_conversions(cls: type[Event]) -> dict[str, Converter | None]:
    """Field name -> its conversion to Avro (None: the value as it is), as ``Event.as_avro`` applies them."""
    return {name: to_avro for name, to_avro, _ in _converters(cls)}


def avro_by_value(cls: type[Event]) -> dict[str, type]:
    """Fields whose Avro bytes depend only on the value's equality (aware datetimes: the instant;
    states: the member), minus the class's ``unique_fields``: the encoder may cache them by value."""
    kinds = {to_millis: datetime, _symbol: AgentState}
    return {name: kinds[to_avro] for name, to_avro, _ in _converters(cls)
            if to_avro in kinds and name not in cls.unique_fields}


def _conversions_of(cls: type) -> Conversions:
    hints = get_type_hints(cls)
    table: list[tuple[str, Converter | None, Converter | None]] = []
    for field_ in dataclasses.fields(cls):  # type: ignore[arg-type]
        hint = hints[field_.name]
        kinds = set(get_args(hint)) | {hint}
        if datetime in kinds:
            table.append((field_.name, to_millis, _as_utc))
        elif AgentState in kinds:
            table.append((field_.name, _symbol, AgentState))
        elif get_origin(hint) is tuple:
            table.append((field_.name, list, tuple))
        elif get_origin(hint) is Mapping:
            table.append((field_.name, dict, dict))
        else:
            table.append((field_.name, None, None))
    return tuple(table)


def _symbol(state: AgentState) -> str:
    """``state.value`` by a dict lookup (an enum's ``value`` is a Python-level property)."""
    return _STATE_SYMBOL[state] if type(state) is AgentState else state.value


_STATE_SYMBOL: dict[AgentState, str] = {state: state.value for state in AgentState}
_T = TypeVar("_T")


def _quick_init(cls: type[_T]) -> type[_T]:
    """A frozen slots dataclass's ``__init__`` that sets each slot through its descriptor.

    The generated one calls ``object.__setattr__`` per field (frozen classes must get round their
    own ``__setattr__``): half of what building an event cost. Same signature, same defaults,
    the instance as immutable as before; only for classes without default factories or
    ``__post_init__``, which this does not reproduce.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    assert all(f.default_factory is dataclasses.MISSING for f in fields) and not hasattr(cls, "__post_init__")
    scope: dict[str, Any] = {}
    params, body = [], []
    for n, field_ in enumerate(fields):
        scope[f"S{n}"], scope[f"D{n}"] = cls.__dict__[field_.name].__set__, field_.default
        params.append(field_.name if field_.default is dataclasses.MISSING else f"{field_.name}=D{n}")
        body.append(f"    S{n}(self, {field_.name})\n")
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(body)}", scope)  # our own fields' names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _quick_factory(cls: type[_T]) -> Callable[..., _T]:
    """A positional factory of a frozen slots dataclass (every field given, in field order): the
    event is filled as an instance of an unfrozen twin of the class (the same base and slots, so
    the same memory layout) by plain attribute stores, then made an instance of ``cls``.

    Even ``_quick_init``'s descriptor calls are a call per field (~0.5 µs a field for 17 fields in
    all, measured in instructions); a slot store of the running code is not a call. The result is
    exactly what ``cls(*fields)`` builds: its class, fields, equality, hash, immutability.
    """
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    assert names == cls.__dict__["__slots__"], "a dataclass's slots are its fields, in order"
    abstract = set().union(*(getattr(base, "__abstractmethods__", ()) for base in cls.__bases__))
    concrete = {name: getattr(cls, name) for name in abstract}  # the twin is instantiated: not abstract
    meta: Any = type(cls)
    twin = meta(f"_{cls.__name__}Filling", cls.__bases__, {"__slots__": names, **concrete})
    scope: dict[str, Any] = {"new": object.__new__, "Twin": twin, "Final": cls}
    body = "".join(f"    event.{name} = {name}\n" for name in names)
    exec(f"def make({', '.join(names)}):\n    event = new(Twin)\n{body}    event.__class__ = Final\n    return event\n",
         scope)  # our own fields' names
    factory: Callable[..., _T] = scope["make"]
    factory.__qualname__ = f"new_{cls.__name__}"
    return factory


@_quick_init
@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    """One agent moved from one normalized state to another."""

    schema_name: ClassVar[str] = "agentconnector.events.AgentStateChanged"
    event_type: ClassVar[str] = "AgentStateChanged"
    unique_fields: ClassVar[frozenset[str]] = frozenset({"event_id", "vendor_record_id", "occurred_at"})

    event_id: str
    vendor: str
    tenant: str
    source: str
    agent_id: str
    state: AgentState
    previous_state: AgentState | None
    vendor_state: str
    occurred_at: datetime
    source_cursor: str
    reason: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    queue_id: str | None = None
    skills: tuple[str, ...] = ()
    vendor_record_id: str | None = None
    ingested_at: datetime | None = None

    def kafka_key(self) -> bytes:
        """``tenant:vendor:agent_id`` keeps one agent's events on one partition, in order."""
        return f"{self.tenant}:{self.vendor}:{self.agent_id}".encode()

    def as_avro(self) -> dict[str, Any]:
        """What ``Event.as_avro`` gives, written out: the most frequent event skips the generic loop."""
        previous, ingested = self.previous_state, self.ingested_at
        return {
            "event_id": self.event_id, "vendor": self.vendor, "tenant": self.tenant, "source": self.source,
            "agent_id": self.agent_id, "state": _STATE_SYMBOL[self.state],
            "previous_state": None if previous is None else _STATE_SYMBOL[previous],
            "vendor_state": self.vendor_state, "occurred_at": to_millis(self.occurred_at),
            "source_cursor": self.source_cursor, "reason": self.reason, "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name, "queue_id": self.queue_id, "skills": list(self.skills),
            "vendor_record_id": self.vendor_record_id,
            "ingested_at": None if ingested is None else to_millis(ingested),
        }



@_quick_init
@dataclass(frozen=True, slots=True)
class AgentGroupObserved(Event):
    """A vendor's point-in-time count of logged-in and available agents for one group filter.

    Convoso user-activity only gives counts, never per-agent states, so it is an
    observation beside the per-agent event stream, not a source of state changes.
    """

    schema_name: ClassVar[str] = "agentconnector.events.AgentGroupObserved"
    event_type: ClassVar[str] = "AgentGroupObserved"

    event_id: str
    vendor: str
    tenant: str
    source: str
    group_key: str
    observed_at: datetime
    available_agents: int
    logged_in_agents: int
    source_cursor: str
    campaign_id: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    skills: tuple[str, ...] = ()

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.group_key}".encode()



@_quick_init
@dataclass(frozen=True, slots=True)
class AgentConversationsObserved(Event):
    """How many conversations one agent (or nobody: ``agent_label`` None) had in a time window.

    Rocket.Chat's conversations-by-agent report gives counts per agent label plus
    an ``unspecified`` bucket; each becomes one of these.
    """

    schema_name: ClassVar[str] = "agentconnector.events.AgentConversationsObserved"
    event_type: ClassVar[str] = "AgentConversationsObserved"

    event_id: str
    vendor: str
    tenant: str
    source: str
    agent_label: str | None
    window_start: datetime
    window_end: datetime
    conversations: int
    window_total: int
    source_cursor: str

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.agent_label or ''}".encode()



@dataclass(frozen=True, slots=True)
class DeadLetter(Event):
    """A vendor record the connector could not map, kept whole so nothing is lost."""

    schema_name: ClassVar[str] = "agentconnector.events.DeadLetter"
    event_type: ClassVar[str] = "DeadLetter"

    event_id: str
    vendor: str
    tenant: str
    source: str
    error: str
    error_kind: str
    raw_record: str
    source_cursor: str
    failed_at: datetime
    location: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.source}".encode()



#: ``AgentStateChanged(*fields)`` (every field, in order) built without a call per field (``_quick_factory``)
new_agent_state_changed: Callable[..., AgentStateChanged] = _quick_factory(AgentStateChanged)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.schema_name: cls
    for cls in (AgentStateChanged, AgentGroupObserved, AgentConversationsObserved, DeadLetter)
}


def event_from_avro(schema_name: str, record: Mapping[str, Any]) -> Event:
    """Rebuild the typed event for a decoded Avro record of the named schema."""
    try:
        cls = EVENT_TYPES[schema_name]
    except KeyError:
        raise ValueError(f"unknown event schema {schema_name!r}; known: {sorted(EVENT_TYPES)}") from None
    return cls.from_avro(record)


def skills_tuple(skills: Iterable[str] | None) -> tuple[str, ...]:
    """Skills as a sorted, de-duplicated tuple, so the same set always encodes the same way."""
    return tuple(sorted({s.strip() for s in skills or () if s and s.strip()}))
