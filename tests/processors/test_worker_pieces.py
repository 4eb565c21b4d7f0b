"""The worker's pieces that need no broker: options, internal messages, presenters, the assembled app."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connector.model import AgentState, from_millis
from connector.processors.deltas import GroupDelta, LiveSnapshot, PaneContribution
from connector.processors.groups import apply_group_delta
from connector.processors.messages import (
    DeltaBatch,
    GroupObservation,
    decode_conversation,
    decode_group_message,
    encode_conversation,
)
from connector.processors.observed import ObservedSnapshot
from connector.processors.options import WorkerOptions
from connector.processors.presenters import group_matches, iso, parse_instant, resolve_window, windows_view
from connector.processors.settings import ProcessorSettings
from connector.processors.streams import _broker_settings, processor_topics
from tests.processors.harness import BASE_MS

S = ProcessorSettings()


def test_options_read_the_config_file_and_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kafka:\n  bootstrap_servers: a:1\n  profile: embedded\n  partitions: 4\n")
    options = WorkerOptions.from_env({
        "AGENT_CONNECTOR_CONFIG": str(config), "KAFKA_BOOTSTRAP_SERVERS": "b:2,c:3", "PROCESSORS_WEB_PORT": "0",
        "PROCESSORS_APP_ID": "x", "PROCESSORS_DATA_DIR": str(tmp_path / "d"),
    })
    assert options.kafka.bootstrap_servers == "b:2,c:3" and options.kafka.partitions == 4
    assert options.app_id == "x" and options.data_dir == tmp_path / "d"
    assert options.web_port > 0  # a free port chosen up front: it is advertised to the other workers
    broker = _broker_settings(options)
    assert broker["broker"] == ["kafka://b:2", "kafka://c:3"]
    assert broker["processing_guarantee"] == "at_least_once" and broker["broker_rebalance_timeout"] == 5


def test_real_kafka_profile_keeps_faust_timeouts() -> None:
    broker = _broker_settings(WorkerOptions())
    assert "broker_rebalance_timeout" not in broker and broker["producer_acks"] == -1


def test_every_topic_has_the_input_partitions_and_availability_is_compacted() -> None:
    options = WorkerOptions()
    specs = {spec.name: spec for spec in processor_topics(options)}
    dead_letter = specs.pop(options.kafka.topics.dead_letter)
    assert dead_letter.partitions == 1  # shared with the sources, which create it with one partition
    assert {spec.partitions for spec in specs.values()} == {options.kafka.partitions}
    assert specs["agent-availability"].compact and not specs["availability-alerts"].compact
    assert "agent-availability-group-changes" in specs


def test_group_messages_round_trip_through_json() -> None:
    delta = GroupDelta("t:v:tenant:all", "t:v:a", 3, "e3", BASE_MS, BASE_MS + 5,
                       LiveSnapshot(AgentState.BUSY, BASE_MS, "e3", "call", AgentState.AVAILABLE),
                       (PaneContribution(BASE_MS, ((BASE_MS, BASE_MS + 5, AgentState.AVAILABLE),)),), replay=True)
    later = replace(delta, group="t:v:campaign:c1", agent="t:v:b", rev=1, event_id="e9", live=None, panes=(),
                    replay=False)
    again = replace(delta, rev=4, event_id="e4")
    batch = DeltaBatch((delta, later, again))
    assert decode_group_message(batch.encode()) == batch
    assert batch.by_group() == {delta.group: [delta, again], later.group: [later]}  # each group's in order
    snapshot = ObservedSnapshot("o", "convoso-user-activity", "all", BASE_MS, 2, 5)
    message = GroupObservation("t:v:tenant:all", snapshot)
    assert decode_group_message(message.encode()) == message
    with pytest.raises(ValueError, match="needs deltas"):
        DeltaBatch(()).encode()


def test_group_change_messages_of_earlier_layouts_still_decode() -> None:
    delta = GroupDelta("t:v:tenant:all", "t:v:a", 3, "e3", BASE_MS, BASE_MS + 5,
                       LiveSnapshot(AgentState.BUSY, BASE_MS, "e3", None, None),
                       (PaneContribution(BASE_MS, ((BASE_MS, BASE_MS + 5, AgentState.AVAILABLE),)),))
    one_per_message = json.dumps({"delta": delta.to_json()}).encode()
    as_objects = json.dumps({"deltas": [delta.to_json()]}).encode()
    assert decode_group_message(one_per_message) == decode_group_message(as_objects) == DeltaBatch((delta,))
    assert len(DeltaBatch((delta,)).encode()) < len(as_objects) * 0.6  # rows: positional, much smaller


def test_conversation_messages_round_trip() -> None:
    from connector.model import AgentConversationsObserved

    observation = AgentConversationsObserved("e", "rocketchat", "t", "s", None, from_millis(BASE_MS),
                                             from_millis(BASE_MS + 60_000), 3, 9, "{}")
    assert decode_conversation(encode_conversation(observation)) == observation


def test_times_are_iso_utc_with_z_and_instants_parse_both_ways() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000Z" and iso(None) is None
    assert parse_instant("2025-05-28T18:00:00Z") == parse_instant("1748455200000") == 1748455200000
    assert parse_instant(iso(BASE_MS + 7) or "") == BASE_MS + 7
    with pytest.raises(ValueError, match="no time zone"):
        parse_instant("2025-05-28T18:00:00")


def test_window_aliases_and_filters() -> None:
    assert resolve_window("15m", S).name == "tumbling-15m" and resolve_window("hopping-1h", S).size_ms == 3_600_000
    with pytest.raises(KeyError):
        resolve_window("2h", S)
    assert group_matches("t:*:tenant:all", "t", "*", "tenant", "all")
    assert group_matches("t:v:skill:a:b", None, None, "skill", "a:b")
    assert not group_matches("t:v:skill:x", "t", "w", None)


def test_windows_view_counts_open_segments_to_the_watermark() -> None:
    live = LiveSnapshot(AgentState.AVAILABLE, BASE_MS, "e1", None, None)
    record = apply_group_delta(None, {}, GroupDelta("t:v:tenant:all", "t:v:a", 1, "e1", BASE_MS, BASE_MS, live, ()),
                               S).record
    view = windows_view(record, {}, S.window("tumbling-15m"), BASE_MS + 60_000, S)
    last = view["windows"][-1]
    assert last["seconds_in_state"]["AVAILABLE"] == 60.0 and not last["complete"]
    assert view["watermark"] == iso(BASE_MS + 60_000)


def test_the_assembled_app_has_its_tables_pages_and_raw_changelog_keys(tmp_path: Path) -> None:
    from connector.processors.wiring import create_processors

    processors = create_processors(WorkerOptions(app_id="unit", data_dir=tmp_path))
    app = processors.app
    assert set(app.tables) >= {"agents", "groups", "panes", "conversation-agents", "conversation-windows"}
    # raw key bytes: the router hashes the same bytes the input and group-change topics are keyed by
    assert processors.tables.groups.table.changelog_topic.prepare_key("t:v:tenant:all", None)[0] == b"t:v:tenant:all"
    web: Any = app.web
    paths = {route.resource.canonical for route in web.web_app.router.routes() if route.resource}
    assert {"/availability/groups", "/availability/groups/{group_key}", "/availability/groups/{group_key}/windows",
            "/availability/agents/{agent_key}", "/availability/alerts"} <= paths
    assert {agent.name for agent in app.agents.values()} >= {"agent-events", "group-changes", "group-observations"}
