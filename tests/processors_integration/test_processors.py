"""The processors on the embedded broker, against the simulated contact centre's ground truth.

Ground-truth events of a simulated hour are replayed into the input topic (with
late and repeated ones); workers run as real subprocesses; at quiescence (every
input and internal record committed) the query API must give the simulator's
counts for every group it knows, the reference fold's counts for every group and
its windows, and the output topics must decode. Then the same with a worker
SIGKILLed mid-stream and restarted, and with two workers splitting the partitions.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.config import KafkaSettings
from connector.kafka.producer import EventProducer
from connector.kafka.tail import tail_topic
from connector.kafka.topics import TopicSpec, provision_topics
from connector.model import AgentConversationsObserved, to_millis
from connector.processors.health import SEVERITY, HealthStatus, Thresholds, classify, held_status_limit
from connector.processors.outputs import ALERT_SCHEMA, AVAILABILITY_SCHEMA
from connector.processors.presenters import window_view
from connector.processors.reference import Reference
from connector.processors.settings import ProcessorSettings
from connector.serde.codec import EventDeserializer
from tests.processors_integration.replay import Replay, expected_counts, observations
from tests.processors_integration.workers import Worker, eventually, offsets, produce, write_config

pytestmark = pytest.mark.integration

SETTINGS = ProcessorSettings()
REPLAY = Replay.build(seed=7, minutes=60)
QUIESCE_TIMEOUT = 60.0


class Deployment:
    """A unique app id and config for one test; workers started from it share the consumer group."""

    def __init__(self, settings: KafkaSettings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.app_id = f"availability-{uuid.uuid4().hex[:8]}"
        self.config = write_config(workdir / "connector.yaml", settings)
        self.workers: list[Worker] = []
        self.group_changes = f"{self.app_id}-group-changes"
        self.produced: dict[str, int] = {}
        self.last_offsets: dict[str, tuple[int, int]] = {}

    def worker(self, name: str) -> Worker:
        worker = Worker(self.config, self.app_id, self.workdir, name).start()
        self.workers.append(worker)
        return worker

    async def produce(self, events: Any, topic: str | None = None) -> None:
        topic = topic or self.settings.topics.agent_state
        await produce(self.settings, topic, events, self.settings.partitions)
        self.produced[topic] = self.produced.get(topic, 0) + len(events)

    async def produce_raw(self, payloads: list[bytes], topic: str) -> None:
        """Records that are not our Avro at all (a misconfigured producer): they must reach the dead letters."""
        await provision_topics(self.settings, [TopicSpec(topic, self.settings.partitions)])
        async with EventProducer(self.settings) as producer:
            futures = [await producer.send_raw(topic, b"garbage", payload) for payload in payloads]
            await asyncio.gather(*futures)
        self.produced[topic] = self.produced.get(topic, 0) + len(payloads)

    async def committed_input(self) -> int:
        """Input records committed by the group (offsets are record counts: one producer, no gaps)."""
        self.last_offsets = await offsets(self.settings, self.app_id, [*self.produced, self.group_changes])
        return sum(c for tp, (c, _) in self.last_offsets.items() if not tp.startswith(self.group_changes))

    async def quiescent(self) -> None:
        """Every input record committed, group changes committed to their end, and nothing moving."""
        previous: dict[str, tuple[int, int]] = {}

        async def settled() -> bool | None:
            nonlocal previous
            for worker in self.workers:
                assert worker.process is not None and worker.process.returncode in (None, -9), worker.tail()
            done = await self.committed_input() == sum(self.produced.values()) and all(
                committed >= end for tp, (committed, end) in self.last_offsets.items()
                if tp.startswith(self.group_changes))
            stable = done and self.last_offsets == previous
            previous = self.last_offsets
            return True if stable else None

        await eventually(settled, limit=QUIESCE_TIMEOUT, interval=0.6,
                         what=lambda: f"the processors to commit {self.produced} records ({self.last_offsets})")

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def deployment(kafka_settings: KafkaSettings, tmp_path: Path) -> Any:
    deployment = Deployment(kafka_settings, tmp_path)
    yield deployment
    deployment.stop()


async def groups_of(worker: Worker, **params: str) -> dict[str, Any]:
    status, body = await worker.get("/availability/groups", **params)
    assert status == 200, body
    return {item["group"]: item for item in body["items"]}


def counts_of(groups: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {key: (g["counts"]["logged_in"], g["counts"]["available"]) for key, g in groups.items()}


async def check_against_truth(worker: Worker) -> dict[str, Any]:
    """Every group's counts: the simulator's truth where it has one, the reference fold for all."""
    groups = await groups_of(worker)
    counts = counts_of(groups)
    truth = expected_counts(REPLAY)
    assert {k: counts.get(k) for k in truth} == truth
    reference = Reference(REPLAY.events, SETTINGS, REPLAY.end_ms)
    assert set(groups) == reference.all_groups()
    for key, group in groups.items():
        ref = reference.group_counts(key)
        assert group["counts"] == ref.to_json(), key
        assert group["health"] == ref.health(SETTINGS.thresholds).value
        assert_hysteresis(group["alert_status"], ref.available, ref.logged_in, SETTINGS.thresholds)
    return groups


def assert_hysteresis(status: str, available: int, logged_in: int, thresholds: Thresholds) -> None:
    raw = classify(available, logged_in, thresholds)
    if raw is HealthStatus.NO_AGENTS or status == HealthStatus.NO_AGENTS:
        assert status == raw
        return
    held = held_status_limit(available, logged_in, thresholds)
    assert SEVERITY[raw] <= SEVERITY[HealthStatus(status)] <= SEVERITY[held]


async def check_windows(worker: Worker, groups: list[str]) -> None:
    """Window series equal the reference fold's, window by window."""
    reference = Reference(REPLAY.events, SETTINGS, REPLAY.end_ms)
    for group in groups:
        for alias, spec in (("15m", SETTINGS.window("tumbling-15m")), ("1h", SETTINGS.window("hopping-1h"))):
            status, body = await worker.get(f"/availability/groups/{group}/windows", window=alias,
                                            at=str(REPLAY.end_ms))
            assert status == 200, body
            assert body["windows"], (group, alias)
            for window in body["windows"]:
                start = to_millis_iso(window["start"])
                assert window == window_view(reference.group_window(group, spec, start)), (group, window["start"])


def to_millis_iso(value: str) -> int:
    from datetime import datetime

    return to_millis(datetime.fromisoformat(value.replace("Z", "+00:00")))


async def check_agents(worker: Worker) -> None:
    """A sample of agents: the API's state is the simulator's at the end of the span."""
    for tenant, vendor in REPLAY.tenants().items():
        states = REPLAY.sim.truth.states_at(tenant, REPLAY.end)
        for agent_id, state in list(states.items())[:3]:
            status, body = await worker.get(f"/availability/agents/{tenant}:{vendor}:{agent_id}")
            assert status == 200, body
            assert body["state"] == state.value and body["since"].endswith("Z")


async def check_outputs(settings: KafkaSettings, groups: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Both output topics decode with EventDeserializer; the latest availability per group is the table's;
    alerts per group are a gapless sequence, each id always with the same content, ending at the status."""
    deserializer = EventDeserializer()
    latest: dict[str, dict[str, Any]] = {}
    async for item in tail_topic(settings, settings.topics.availability, deserializer):
        assert item.error is None and item.schema_name == AVAILABILITY_SCHEMA
        assert item.record is not None and item.key is not None
        assert item.key.decode() == item.record["group_key"]
        latest[item.record["group_key"]] = item.record
    assert set(latest) == set(groups)
    for key, record in latest.items():
        counts = groups[key]["counts"]
        assert (record["logged_in"], record["available"], record["busy"]) == (
            counts["logged_in"], counts["available"], counts["busy"])
        assert record["alert_status"] == groups[key]["alert_status"]
        observed = groups[key]["observed"]
        assert record["observed_logged_in"] == (observed["logged_in"] if observed else None)
    by_id: dict[str, dict[str, Any]] = {}
    async for item in tail_topic(settings, settings.topics.alerts, deserializer):
        assert item.error is None and item.schema_name == ALERT_SCHEMA and item.record is not None
        assert by_id.setdefault(item.record["alert_id"], item.record) == item.record
    per_group: dict[str, list[dict[str, Any]]] = {}
    for alert in sorted(by_id.values(), key=lambda a: a["sequence"]):
        per_group.setdefault(alert["group_key"], []).append(alert)
    assert per_group, "no alert at all: the replay should cross thresholds"
    for key, alerts in per_group.items():
        assert [a["sequence"] for a in alerts] == list(range(1, len(alerts) + 1)), key
        for before, after in itertools.pairwise(alerts):
            assert before["to_status"] == after["from_status"], key
        assert alerts[-1]["to_status"] == groups[key]["alert_status"], key
    return per_group


async def test_replayed_hour_equals_ground_truth(deployment: Deployment) -> None:
    garbage = [b'{"agent_id": "not avro"}', b"\xc3\x01" + b"\x00" * 8 + b"unknown schema"]
    await deployment.produce_raw(garbage, deployment.settings.topics.agent_state)
    await deployment.produce(REPLAY.events)
    observed = observations(REPLAY)
    await deployment.produce(observed, deployment.settings.topics.group_observations)
    worker = deployment.worker("solo")
    await deployment.quiescent()
    groups = await check_against_truth(worker)
    # the vendor's own counts (Convoso user-activity) sit beside the derived ones, and agree
    compared = {k: g["observed"] for k, g in groups.items() if g["observed"] is not None}
    assert len(compared) == len(observed)
    assert all(c["matches"] and c["observed_at"].endswith("Z") for c in compared.values()), compared
    await check_windows(worker, [k for k in groups if k.endswith(":tenant:all")])
    await check_agents(worker)
    per_group = await check_outputs(deployment.settings, groups)
    status, body = await worker.get("/availability/alerts", tenant="demo-convoso")
    assert status == 200
    recent = {a["alert_id"] for k, alerts in per_group.items() if k.startswith("demo-convoso:")
              for a in alerts[-SETTINGS.max_recent_alerts:]}
    assert {item["alert_id"] for item in body["items"]} == recent and body["count"] == len(recent)
    assert all(item["occurred_at"].endswith("Z") for item in body["items"])
    filtered = await groups_of(worker, tenant="demo-vonage", type="skill")
    assert filtered and all(k.startswith("demo-vonage:vonage:skill:") for k in filtered)
    status, body = await worker.get("/availability/groups/demo-vonage:vonage:tenant:nobody")
    assert status == 404
    # what could not be read went whole to the dead-letter topic, and the rest went on (checked above)
    dead = [item.record async for item in tail_topic(deployment.settings, deployment.settings.topics.dead_letter,
                                                       EventDeserializer())]
    assert sorted(base64.b64decode(d["raw_record"]) for d in dead if d) == sorted(garbage)
    assert {d["error_kind"] for d in dead if d} == {"undecodable"}


async def test_worker_killed_mid_stream_and_restarted(deployment: Deployment) -> None:
    third = len(REPLAY.events) // 3
    await deployment.produce(REPLAY.events[:third])
    first = deployment.worker("first")

    async def some_committed() -> int | None:
        committed = await deployment.committed_input()
        return committed if committed > 0 else None

    await eventually(some_committed, limit=QUIESCE_TIMEOUT, what="a first commit", interval=0.05)
    # more input while it runs, and the kill before its next commit (every 0.5 s) can cover it all: a
    # worker fast enough to finish its first part before committing still dies mid-stream
    await deployment.produce(REPLAY.events[third:2 * third])
    await asyncio.sleep(0.1)
    first.kill()
    committed_at_kill = await deployment.committed_input()
    assert committed_at_kill < 2 * third, "the worker had finished before it was killed: nothing was tested"
    await deployment.produce(REPLAY.events[2 * third:])
    second = deployment.worker("second")
    await deployment.quiescent()
    groups = await check_against_truth(second)
    await check_windows(second, [k for k in groups if k.endswith(":tenant:all")])
    await check_outputs(deployment.settings, groups)


def conversation_reports() -> list[AgentConversationsObserved]:
    """Rocket.Chat counts: three agents and the unspecified bucket over two windows; window 0 re-reported."""
    base = REPLAY.start.replace(second=0, microsecond=0)

    def report(label: str | None, window: int, count: int, total: int) -> AgentConversationsObserved:
        start = base + timedelta(minutes=15 * window)
        return AgentConversationsObserved(
            event_id=f"conv-{label}-{window}-{count}", vendor="rocketchat", tenant="demo-rocketchat", source="rc",
            agent_label=label, window_start=start, window_end=start + timedelta(minutes=15), conversations=count,
            window_total=total, source_cursor="{}")

    first = [report("ana", 0, 2, 6), report("bo", 0, 1, 6), report(None, 0, 3, 6)]
    second = [report("ana", 1, 4, 5), report("cy", 1, 1, 5)]
    return [*first, *second, report("ana", 0, 3, 7), report("ana", 0, 3, 7)]  # a re-report, then a repeat


async def check_conversations(a: Worker, b: Worker) -> None:
    """Both workers give the same conversation lists; re-reports replace, repeats change nothing."""
    async def windows() -> list[Any] | None:
        status, body = await a.get("/conversations/windows", tenant="demo-rocketchat")
        return body["items"] if status == 200 and body["count"] == 2 else None

    items = await eventually(windows, limit=QUIESCE_TIMEOUT, what="both conversation windows")
    assert [(w["by_agent"], w["window_total"], w["attributed"]) for w in items] == [
        ({"": 3, "ana": 3, "bo": 1}, 7, 4), ({"ana": 4, "cy": 1}, 5, 5)]
    assert all(w["start"].endswith("Z") for w in items)
    assert (await b.get("/conversations/windows", tenant="demo-rocketchat")) == (
        200, {"count": 2, "items": items})
    status, agents = await b.get("/conversations/agents", vendor="rocketchat")
    assert status == 200 and [(x["agent"], x["total"]) for x in agents["items"]] == [
        ("", 3), ("ana", 7), ("bo", 1), ("cy", 1)]
    for worker in (a, b):
        status, ana = await worker.get("/conversations/agents/demo-rocketchat:rocketchat:ana")
        assert status == 200 and [w["conversations"] for w in ana["windows"]] == [3, 4]
    assert (await a.get("/conversations/agents/demo-rocketchat:rocketchat:nobody"))[0] == 404


async def test_two_workers_split_partitions_and_answer_alike(deployment: Deployment) -> None:
    await deployment.produce(REPLAY.events)
    await deployment.produce(conversation_reports(), deployment.settings.topics.conversation_observations)
    a, b = deployment.worker("a"), deployment.worker("b")

    async def split() -> tuple[dict[str, Any], dict[str, Any]] | None:
        local_a = await groups_of(a, scope="local")
        local_b = await groups_of(b, scope="local")
        return (local_a, local_b) if local_a and local_b else None

    await deployment.quiescent()
    local_a, local_b = await eventually(split, limit=QUIESCE_TIMEOUT, what="both workers to own partitions")
    assert not set(local_a) & set(local_b)
    from_a, from_b = await groups_of(a), await groups_of(b)
    assert from_a == from_b
    assert set(from_a) == set(local_a) | set(local_b)
    await check_against_truth(a)
    for key in sorted(from_a)[::4]:
        answers = [await w.get(f"/availability/groups/{key}") for w in (a, b)]
        assert answers[0] == answers[1] == (200, from_a[key])
        windows = [await w.get(f"/availability/groups/{key}/windows", window="1h") for w in (a, b)]
        assert windows[0] == windows[1] and windows[0][0] == 200
    for tenant, vendor in REPLAY.tenants().items():
        agent_id = next(iter(REPLAY.sim.truth.states_at(tenant, REPLAY.end)))
        answers = [await w.get(f"/availability/agents/{tenant}:{vendor}:{agent_id}") for w in (a, b)]
        assert answers[0] == answers[1] and answers[0][0] == 200
    await check_conversations(a, b)
