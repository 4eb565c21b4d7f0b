"""Processors workers as real subprocesses, and the broker-side checks the tests wait on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from connector.broker import free_port
from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.producer import EventProducer
from connector.kafka.topics import TopicSpec, provision_topics
from connector.model import Event

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")

__all__ = ["Worker", "eventually", "offsets", "produce", "write_config"]


def write_config(path: Path, settings: KafkaSettings) -> Path:
    kafka = settings.model_dump(mode="json", exclude_none=True)
    path.write_text(yaml.safe_dump({"kafka": kafka}))
    return path


class Worker:
    """``python -m connector.processors.cli CONFIG`` on its own port and data dir; log in ``log``."""

    def __init__(self, config: Path, app_id: str, workdir: Path, name: str) -> None:
        self.config, self.app_id, self.name = config, app_id, name
        self.port = free_port()
        self.data_dir = workdir / f"data-{name}"
        self.log = workdir / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Worker:
        env = {**os.environ, "PROCESSORS_APP_ID": self.app_id, "PROCESSORS_COMMIT_INTERVAL": "0.5"}
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connector.processors.cli", str(self.config), "--web-port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=handle, stderr=handle, cwd=REPO, env=env,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no leave-group."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}{path}", params=params)
            return response.status_code, response.json()


async def eventually(probe: Callable[[], Awaitable[T | None]], *, limit: float, what: str | Callable[[], str],
                     interval: float = 0.25) -> T:
    """Poll ``probe`` until it returns something not None; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + limit
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = await probe()
        except (httpx.HTTPError, OSError) as exc:
            last_error, result = exc, None
        if result is not None:
            return result
        await asyncio.sleep(interval)
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {limit:.0f}s waiting for {described} (last error: {last_error})")


async def produce(settings: KafkaSettings, topic: str, events: Sequence[Event], partitions: int) -> None:
    await provision_topics(settings, [TopicSpec(topic, partitions)])
    async with EventProducer(settings) as producer:
        await producer.send_all([(topic, event) for event in events])


async def offsets(settings: KafkaSettings, group: str, topics: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per partition ``topic[p]``: (offset the group committed, end offset the broker reports).

    The embedded broker's end offsets of topics written in multi-record batches are not
    record counts, so callers compare committed offsets with what they produced where they can.
    """
    # the group's member never subscribes, so it never joins: it only reads committed offsets
    # (the admin client's OffsetFetch version does not decode against the embedded broker)
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # loads the metadata partitions_for_topic reads
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions)
        return {f"{tp.topic}[{tp.partition}]": (await consumer.committed(tp) or 0, ends[tp]) for tp in partitions}
    finally:
        await consumer.stop()
