"""Source side: ceilings and the pipeline per vendor and mixed, pair by pair within each run."""

from __future__ import annotations

import asyncio
import gc
import json
from dataclasses import dataclass, field
from typing import Any

from bench import ceilings
from bench.common import kafka_settings
from bench.pipeline import events_of, prepared_producer, records_of, replay
from bench.recording import Recording, record_vendor
from bench.stats import Series, ratios
from connector.runtime.gcsetup import tune_gc

__all__ = ["SourceFigures", "run_source_bench"]

VENDORS = ("convoso-productivity", "convoso-user-activity", "vonage", "koreai", "rocketchat")


@dataclass
class SourceFigures:
    rows: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events_by_vendor: dict[str, int] = field(default_factory=dict)
    payload_bytes: float = 0.0
    recordings: list[Recording] = field(default_factory=list)
    ceiling_topic: str = ""
    ceiling_records: int = 0


async def record_all(agents: int, hours: float) -> list[Recording]:
    # Convoso productivity has far fewer records per agent-hour; give it a longer window for a usable page
    return [await record_vendor(v, agents=agents, hours=hours * (3 if v.startswith("convoso") else 1))
            for v in VENDORS]


async def run_source_bench(bootstrap: str, *, repeats: int, agents: int, hours: float,
                           recordings: list[Recording] | None = None) -> SourceFigures:
    figures = SourceFigures()
    figures.recordings = recordings or await record_all(agents, hours)
    settings = kafka_settings(bootstrap)
    producer = await prepared_producer(settings)
    gc_before = gc.get_threshold()
    tune_gc()  # what the connector process does once started (connector.runtime.gcsetup): replays run as it
    try:
        events: list[Any] = []
        for recording in figures.recordings:
            mine = events_of(recording)
            figures.events_by_vendor[recording.vendor] = len(mine)
            events += mine
        records = records_of(events, producer, settings)
        figures.payload_bytes = sum(len(v) for _, v, _ in records) / len(records)
        topic = await ceilings.create_topic(bootstrap)
        figures.ceiling_topic, figures.ceiling_records = topic, 0

        producer_ceiling = Series("raw aiokafka producer ceiling (acks=all, same records)", "events/s")
        consumer_ceiling = Series("raw aiokafka consumer ceiling", "events/s")
        pipeline = {v: Series(f"source pipeline, {v} (recorded pages)", "events/s") for v in VENDORS}
        mixed = Series("source pipeline, mixed (5 sources at once)", "events/s")
        cpu = Series("source pipeline CPU per event, mixed", "µs/event")
        for _ in range(repeats):
            producer_ceiling.add(await ceilings.producer_ceiling(bootstrap, topic, records))
            figures.ceiling_records += len(records) + 1
            for recording in figures.recordings:
                pipeline[recording.vendor].add((await replay(settings, [recording], producer)).rate)
            run = await replay(settings, figures.recordings, producer)
            mixed.add(run.rate)
            cpu.add(1e6 * run.cpu / run.events)
            consumer_ceiling.add(await ceilings.consumer_ceiling(bootstrap, topic, figures.ceiling_records))
        figures.rows += [producer_ceiling, consumer_ceiling, *pipeline.values(), mixed, cpu]
        figures.rows.append(ratios(mixed, producer_ceiling, "source pipeline mixed / producer ceiling"))
        for vendor in VENDORS:
            figures.rows.append(ratios(pipeline[vendor], producer_ceiling, f"{vendor} / producer ceiling"))

        state_records = [e.as_avro() for e in events if e.schema_name.endswith("AgentStateChanged")]
        avro = Series("fastavro encode ceiling, AgentStateChanged", "events/s")
        parse = Series("JSON parse ceiling of recorded vendor pages, all vendors", "records/s")
        pages = [p.body for r in figures.recordings for p in r.pages]
        vendor_records = sum(p.records for r in figures.recordings for p in r.pages)
        for _ in range(repeats):
            avro.add(ceilings.avro_encode_rate("agentconnector.events.AgentStateChanged", state_records, 20_000))
            parse.add(ceilings.json_parse_rate(pages, vendor_records))
        figures.rows += [avro, parse]
    finally:
        gc.unfreeze()
        gc.set_threshold(*gc_before)
        await producer.stop()
    return figures


if __name__ == "__main__":  # pragma: no cover - quick look during development
    import sys
    from pathlib import Path

    from bench.common import broker

    async def _main(bootstrap: str) -> None:
        figures = await run_source_bench(bootstrap, repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 3,
                                         agents=200, hours=2)
        print(json.dumps(figures.events_by_vendor), f"payload {figures.payload_bytes:.0f} B")
        for row in figures.rows:
            print(row.row())

    with broker(Path("/tmp/bench-dev")) as address:
        asyncio.run(_main(address))
