"""The benchmark harness runs end to end in its quick mode (structure and produced numbers, never timings)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.ceilings import avro_encode_rate, json_parse_rate
from bench.pipeline import events_of, prepared_producer, records_of, replay
from bench.recording import record_vendor
from bench.report import Report, write_report
from bench.source_bench import run_source_bench
from bench.stats import Series, ratios
from connector.config import KafkaSettings

pytestmark = pytest.mark.integration


def test_ratios_are_pair_by_pair() -> None:
    a, b = Series("a", "x", [10.0, 30.0]), Series("b", "x", [20.0, 30.0])
    assert ratios(a, b, "r").values == [50.0, 100.0]
    with pytest.raises(ValueError):
        ratios(Series("a", "x", [1.0]), b, "r")


async def test_replay_produces_every_recorded_event(kafka_settings: KafkaSettings) -> None:
    recording = await record_vendor("koreai", agents=8, hours=0.5)
    expected = len(events_of(recording))
    assert recording.pages and expected > 0
    producer = await prepared_producer(kafka_settings)
    try:
        run = await replay(kafka_settings, [recording], producer)
        records = records_of(events_of(recording), producer, kafka_settings)
    finally:
        await producer.stop()
    assert run.events == expected and run.wall > 0 and run.cpu > 0
    assert all(key and value[:2] == b"\xc3\x01" for key, value, _ in records)
    assert avro_encode_rate("agentconnector.events.AgentStateChanged",
                            [e.as_avro() for e in events_of(recording)], 200) > 0
    assert json_parse_rate([p.body for p in recording.pages], 10, min_seconds=0.01) > 0


async def test_source_section_and_report(kafka_bootstrap: str, tmp_path: Path) -> None:
    figures = await run_source_bench(kafka_bootstrap, repeats=2, agents=6, hours=0.5)
    names = [s.name for s in figures.rows]
    assert "source pipeline mixed / producer ceiling" in names
    assert any(n.startswith("raw aiokafka producer ceiling") for n in names)
    assert all(len(s.values) == 2 and all(v > 0 and math.isfinite(v) for v in s.values)
               for s in figures.rows if not s.name.startswith("source pipeline, convoso-user-activity")), names
    report = Report(plan={"agents": 6}, bootstrap=kafka_bootstrap, source=figures)
    out = tmp_path / "RESULTS.md"
    write_report(report, out, quick=True)
    text = out.read_text()
    for heading in ("## Machine", "## Targets", "## Figures", "## Where the time goes"):
        assert heading in text
    assert "| source pipeline mixed / producer ceiling |" in text


def test_quick_plan_is_smaller_than_the_full_one() -> None:
    from bench.__main__ import PLANS

    quick, full = PLANS["quick"], PLANS["full"]
    assert set(quick) == set(full)
    assert quick["repeats"] <= full["repeats"] and max(full["proc_steps"]) == 20_000
    assert max(full["scale_points"]) == 100 and full["idle_sources"] == 100


def test_the_processors_cause_quotes_this_runs_ceilings() -> None:
    from bench.processors_bench import ProcessorFigures
    from bench.report import processors_cause

    assert "not measured" in processors_cause(Report(plan={}))
    figures = ProcessorFigures(rows=[
        Series("faust agent ceiling: a no-op agent (same records, same transport)", "events/s", [5000.0]),
        Series("raw aiokafka consumer ceiling (same records)", "events/s", [100_000.0]),
        Series("processors / faust agent ceiling", "%", [20.0]),
    ])
    cause = processors_cause(Report(plan={}, processors=figures))
    assert "reads 5,000 events/s" in cause and "5.0 % of the raw aiokafka consumer" in cause
    assert "reach 20 % of that faust ceiling" in cause


def test_only_accepts_known_sections_and_the_connector_alias() -> None:
    from bench.__main__ import ALIASES, SECTIONS, main

    assert set(ALIASES["connector"]) <= set(SECTIONS)
    with pytest.raises(SystemExit):
        main(["--only", "nonsense"])


def test_the_proposed_faust_ceiling_target_is_checked_with_its_cause() -> None:
    from bench.processors_bench import ProcessorFigures
    from bench.report import _targets

    def row(share: float) -> tuple[str, str, bool | None, str]:
        figures = ProcessorFigures(rows=[Series("processors / faust agent ceiling", "%", [share]),
                                         Series("processors worker CPU per event, both stages", "µs/event", [700.0])])
        return next(r for r in _targets(Report(plan={}, processors=figures)) if "faust no-op agent" in r[0])

    assert row(35.0)[2] is True and row(35.0)[3] == ""
    missed = row(20.0)
    assert missed[2] is False and "700 µs of worker CPU per event" in missed[3]
