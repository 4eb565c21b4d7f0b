"""JSON shapes of the query API: table records as people and dashboards read them (ISO UTC times, 'Z').

Pure functions of stored records, so any worker renders the same answer for the same table state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.processors.agent_state import AgentRecord
from connector.processors.conversations import AgentConversations, WindowConversations
from connector.processors.groups import Alert, GroupRecord, PaneRecord, group_window_series, observed_vs_derived
from connector.processors.keys import GroupKey, parse_agent_key
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import WindowSpec, WindowStats

__all__ = [
    "WINDOW_ALIASES",
    "agent_conversations_view",
    "agent_view",
    "alert_view",
    "group_matches",
    "group_view",
    "iso",
    "parse_instant",
    "resolve_window",
    "window_conversations_view",
    "window_view",
    "windows_view",
]

#: Short names accepted by ``?window=``.
WINDOW_ALIASES = {"15m": "tumbling-15m", "1h": "hopping-1h"}


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with millisecond precision and a 'Z'."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(value: str) -> int:
    """``?at=``: epoch milliseconds, or ISO 8601 with a zone (a 'Z' is accepted)."""
    if value.lstrip("-").isdigit():
        return int(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; add 'Z' for UTC")
    return int(moment.timestamp() * 1000)


def resolve_window(name: str, settings: ProcessorSettings) -> WindowSpec:
    return settings.window(WINDOW_ALIASES.get(name, name))


def group_matches(group: str, tenant: str | None, vendor: str | None, group_type: str | None,
                  group_id: str | None = None) -> bool:
    key = GroupKey.parse(group)
    return all(wanted is None or wanted == actual for wanted, actual in (
        (tenant, key.tenant), (vendor, key.vendor), (group_type, key.group_type), (group_id, key.group_id)))


def group_view(record: GroupRecord, settings: ProcessorSettings) -> dict[str, Any]:
    """One group's live availability, with the vendor's own count beside it when there is one."""
    key = GroupKey.parse(record.group)
    counts = record.counts
    comparison = observed_vs_derived(record)
    observed = None
    if comparison is not None:
        observed = {
            "available": comparison.observed.available,
            "logged_in": comparison.observed.logged_in,
            "observed_at": iso(comparison.observed.observed_ms),
            "difference": {"available": comparison.available_difference,
                           "logged_in": comparison.logged_in_difference},
            "matches": comparison.matches,
        }
    return {
        "group": record.group,
        "tenant": key.tenant,
        "vendor": key.vendor,
        "group_type": key.group_type,
        "group_id": key.group_id,
        "counts": counts.to_json(),
        "percent_available": counts.percent_available,
        "utilization": counts.utilization,
        "health": counts.health(settings.thresholds).value,
        "alert_status": record.alert_status.value,
        "updated_at": iso(record.updated_ms),
        "last_event_id": record.last_event_id,
        "event_clock": iso(record.clock_ms),
        "observed": observed,
    }


def agent_view(record: AgentRecord) -> dict[str, Any]:
    view = record.view()
    since = view.pop("since_ms")
    tenant, vendor, _ = parse_agent_key(record.key)
    return {**view, "since": iso(since), "latest_event_at": iso(record.latest_ms),
            "group_keys": [f"{tenant}:{vendor}:{suffix}" for suffix in record.groups]}


def window_view(stats: WindowStats) -> dict[str, Any]:
    data = stats.to_json()
    start, end = data.pop("start_ms"), data.pop("end_ms")
    covered = data.pop("covered_ms")
    return {**data, "start": iso(start), "end": iso(end), "covered_seconds": covered / 1000,
            "complete": covered == end - start}


def windows_view(record: GroupRecord | None, panes: Mapping[int, PaneRecord], spec: WindowSpec, watermark: int,
                 settings: ProcessorSettings) -> dict[str, Any]:
    series = group_window_series(record, panes, spec, watermark, settings)
    return {"window": spec.name, "size_seconds": spec.size_ms / 1000, "step_seconds": spec.step_ms / 1000,
            "watermark": iso(watermark), "windows": [window_view(s) for s in series]}


def alert_view(alert: Alert) -> dict[str, Any]:
    data = alert.to_json()
    occurred = data.pop("occurred_ms")
    return {**data, "occurred_at": iso(occurred)}


def agent_conversations_view(record: AgentConversations) -> dict[str, Any]:
    """One agent's Rocket.Chat conversation counts per vendor window ('' agent: the unspecified bucket)."""
    tenant, vendor, agent = record.key.split(":", 2)
    return {
        "key": record.key, "tenant": tenant, "vendor": vendor, "agent": agent, "total": record.total,
        "windows": [{"start": iso(w.start_ms), "end": iso(w.end_ms), "conversations": w.conversations,
                     "window_total": w.window_total} for w in record.windows],
    }


def window_conversations_view(record: WindowConversations) -> dict[str, Any]:
    """One vendor window: every agent's count, the vendor's total and how much of it names an agent."""
    tenant, vendor, _ = record.key.split(":", 2)
    return {
        "key": record.key, "tenant": tenant, "vendor": vendor, "start": iso(record.start_ms),
        "end": iso(record.end_ms), "by_agent": dict(sorted(record.by_agent.items())),
        "window_total": record.window_total, "attributed": record.attributed,
    }
