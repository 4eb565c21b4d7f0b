"""What every benchmark shares: the broker, unique topics, and process CPU / memory readings."""

from __future__ import annotations

import contextlib
import os
import resource
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connector.broker import EmbeddedBroker
from connector.config import KafkaSettings, TopicNames

__all__ = ["CpuClock", "ProcStat", "broker", "kafka_settings", "proc_stat", "self_rss_mb"]

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def broker(log_dir: Path) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else an embedded Tansu broker for the whole run."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=log_dir / "tansu.log") as embedded:
        yield embedded.bootstrap


def kafka_settings(bootstrap: str, partitions: int = 3) -> KafkaSettings:
    """Settings with topic names unique to one measurement, so runs never read each other's records."""
    suffix = uuid.uuid4().hex[:8]
    defaults = TopicNames()
    topics = TopicNames(**{f: f"{getattr(defaults, f)}-{suffix}" for f in TopicNames.model_fields})
    profile = os.environ.get("KAFKA_PROFILE", "kafka" if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else "embedded")
    return KafkaSettings(bootstrap_servers=bootstrap, profile=profile,  # type: ignore[arg-type]
                         partitions=partitions, topics=topics)


@dataclass(frozen=True)
class ProcStat:
    """CPU seconds (user + system) and resident memory of one process, read from /proc."""

    cpu_seconds: float
    rss_mb: float


def proc_stat(pid: int) -> ProcStat:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    with open(f"/proc/{pid}/statm") as handle:
        rss_pages = int(handle.read().split()[1])
    return ProcStat(cpu, rss_pages * _PAGE / 1e6)


def self_rss_mb() -> float:
    return proc_stat(os.getpid()).rss_mb


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class CpuClock:
    """Wall and CPU time of this process over a block: ``with CpuClock() as c: ...; c.wall, c.cpu``."""

    def __enter__(self) -> CpuClock:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self.wall = self.cpu = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
