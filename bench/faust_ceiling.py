"""The faust ceiling: a faust agent that does nothing with its records, on the worker's own transport.

``python -m bench.faust_ceiling CONFIG TOPIC COUNT OUT``: reads ``COUNT`` records of ``TOPIC`` from
the start in a fresh consumer group, writes ``{"events_per_second": ...}`` (first record to last)
to ``OUT`` and exits. What faust's stream machinery alone costs per record is the most a
processors worker built on it can reach, whatever its handlers do; the report sets the
worker's rate against it, beside the raw aiokafka consumer ceiling.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import faust

from connector.config import load_config
from connector.processors.options import WorkerOptions
from connector.processors.streams import _broker_settings
from connector.processors.transport import AvailabilityApp
from connector.processors.wiring import undo_spinner_debug_level

__all__ = ["main"]


def _report(out: Path, rate: float) -> None:
    out.write_text(json.dumps({"events_per_second": rate}))
    os._exit(0)  # measured; nothing to shut down cleanly for


def main(argv: list[str]) -> None:
    config, topic_name, count, out = Path(argv[0]), argv[1], int(argv[2]), Path(argv[3])
    kafka = load_config(config).kafka
    options = WorkerOptions(kafka=kafka, app_id=f"faust-ceiling-{uuid.uuid4().hex[:8]}")
    data = out.parent / f"{options.app_id}-data"
    app = AvailabilityApp(options.app_id, kafka_settings=kafka, autodiscover=False, datadir=str(data),
                          store="memory://", key_serializer="raw", value_serializer="raw", web_enabled=False,
                          **_broker_settings(options))
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    seen = {"count": 0, "started": 0.0}

    @app.task  # type: ignore[untyped-decorator]
    async def quiet_logs() -> None:
        undo_spinner_debug_level()

    @app.agent(topic)
    async def nothing(stream: faust.StreamT[Any]) -> None:
        async for _event in stream.events():
            if not seen["count"]:
                seen["started"] = time.perf_counter()
            seen["count"] += 1
            if seen["count"] >= count:
                _report(out, (count - 1) / max(time.perf_counter() - seen["started"], 1e-9))

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main(sys.argv[1:])
