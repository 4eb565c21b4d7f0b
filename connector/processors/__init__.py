"""Availability processors: pure, JSON-able table logic; the faust app (``app.py``) only wires it to topics.

Flow (stage 2 wiring):

* ``agent-state-changed`` (key agent) -> ``apply_agent_event`` -> agent table
  + one ``GroupDelta`` per affected group to the group-delta repartition topic (key group);
* group-delta topic -> ``apply_group_delta`` -> group table + pane table
  -> ``agent-availability`` (compacted) and ``availability-alerts``;
* ``agent-group-observed`` -> ``derived_group_key`` (repartition key) -> ``apply_group_observation``;
* ``agent-conversations-observed`` -> ``apply_agent_conversations`` and, repartitioned by
  window, ``apply_window_conversations``.

The faust app lives in ``worker`` (``streams``: app, topics, tables; ``handlers``;
``views``). ``connector.processors.app`` is resolved lazily (PEP 562) so that
``faust -A connector.processors worker`` finds it while importing the pure modules
builds no app and reads no configuration.
"""

from typing import Any

from connector.processors.agent_state import (
    AgentRecord,
    AgentUpdate,
    agent_window_series,
    agent_window_stats,
    apply_agent_event,
)
from connector.processors.conversations import apply_agent_conversations, apply_window_conversations
from connector.processors.deltas import GroupDelta
from connector.processors.groups import (
    GroupRecord,
    GroupUpdate,
    PaneRecord,
    apply_group_delta,
    apply_group_observation,
    group_window_series,
    group_window_stats,
    observed_vs_derived,
)
from connector.processors.health import Counts, HealthStatus, Thresholds, classify, next_alert_status
from connector.processors.observed import compare_observed, derived_group_key
from connector.processors.settings import ProcessorSettings


def __getattr__(name: str) -> Any:
    if name == "app":
        from connector.processors.worker import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AgentRecord",
    "AgentUpdate",
    "Counts",
    "GroupDelta",
    "GroupRecord",
    "GroupUpdate",
    "HealthStatus",
    "PaneRecord",
    "ProcessorSettings",
    "Thresholds",
    "agent_window_series",
    "agent_window_stats",
    "apply_agent_conversations",
    "apply_agent_event",
    "apply_group_delta",
    "apply_group_observation",
    "apply_window_conversations",
    "classify",
    "compare_observed",
    "derived_group_key",
    "group_window_series",
    "group_window_stats",
    "next_alert_status",
    "observed_vs_derived",
]
