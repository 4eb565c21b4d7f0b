"""The connector process's GC settings (in a child process: they are process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import gc, json
from connector.runtime.gcsetup import tune_gc
before = gc.get_threshold()
tune_gc()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "tracked": len(gc.get_objects())}))
"""


def test_start_up_is_frozen_and_young_collections_are_rarer() -> None:
    out = json.loads(subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                                    check=True).stdout)
    assert out["after"] == [10_000, *out["before"][1:]]
    assert out["frozen"] > 1000 and out["tracked"] < out["frozen"] // 10


async def test_the_connector_tunes_the_collector_once_started(monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.runtime import runner

    calls: list[str] = []

    class Runtime:
        def __init__(self, config: object) -> None: ...
        def request_stop(self) -> None: ...
        async def start(self) -> None:
            calls.append("start")
        async def wait(self) -> None:
            calls.append("wait")
        async def stop(self) -> None:
            calls.append("stop")

    monkeypatch.setattr(runner, "ConnectorRuntime", Runtime)
    monkeypatch.setattr(runner, "tune_gc", lambda: calls.append("tune_gc"))
    await runner.run_connector(object())  # type: ignore[arg-type]
    assert calls == ["start", "tune_gc", "wait", "stop"]
