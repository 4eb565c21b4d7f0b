"""Records of the two output topics, shaped for ``schemas/AgentAvailability.avsc`` and ``AvailabilityAlert.avsc``.

Times are epoch milliseconds (timestamp-millis on the wire). The availability
topic is compacted and keyed by group key: the latest record per group wins.
"""

from __future__ import annotations

from typing import Any

from connector.processors.groups import Alert, GroupRecord
from connector.processors.health import Counts
from connector.processors.keys import GroupKey
from connector.processors.settings import ProcessorSettings

__all__ = [
    "ALERT_SCHEMA",
    "AVAILABILITY_SCHEMA",
    "alert_record",
    "availability_record",
]

AVAILABILITY_SCHEMA = "agentconnector.events.AgentAvailability"
ALERT_SCHEMA = "agentconnector.events.AvailabilityAlert"


def _group_fields(group: str) -> dict[str, Any]:
    key = GroupKey.parse(group)
    return {
        "group_key": group,
        "tenant": key.tenant,
        "vendor": key.vendor,
        "group_type": key.group_type,
        "group_id": key.group_id,
    }


def _count_fields(counts: Counts) -> dict[str, Any]:
    return {
        "logged_in": counts.logged_in,
        "available": counts.available,
        "busy": counts.busy,
        "wrap_up": counts.wrap_up,
        "away": counts.away,
        "unknown": counts.unknown,
        "percent_available": counts.percent_available,
        "utilization": counts.utilization,
    }


def availability_record(record: GroupRecord, settings: ProcessorSettings) -> dict[str, Any]:
    """The ``agent-availability`` value of a group (key: ``record.group``)."""
    observed = record.observed
    return {
        **_group_fields(record.group),
        **_count_fields(record.counts),
        "health": record.counts.health(settings.thresholds).value,
        "updated_at": record.updated_ms if record.updated_ms is not None else record.clock_ms,
        "last_event_id": record.last_event_id,
        "alert_status": record.alert_status.value,
        "observed_available": observed.available if observed else None,
        "observed_logged_in": observed.logged_in if observed else None,
        "observed_at": observed.observed_ms if observed else None,
    }


def alert_record(alert: Alert) -> dict[str, Any]:
    """The ``availability-alerts`` value of one transition (key: ``alert.group``)."""
    return {
        "alert_id": alert.alert_id,
        **_group_fields(alert.group),
        "sequence": alert.sequence,
        "from_status": alert.from_status.value,
        "to_status": alert.to_status.value,
        "health": alert.raw_status.value,
        **_count_fields(alert.counts),
        "occurred_at": alert.occurred_ms,
        "cause_event_id": alert.cause_event_id,
        "cause_agent": alert.cause_agent,
    }
