"""The connector, the simulators and processors workers as subprocesses, for whole-process CPU and memory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from bench.common import ProcStat, proc_stat
from connector.broker import free_port
from connector.config import KafkaSettings

__all__ = ["Connector", "Simulators", "Worker"]

REPO = Path(__file__).resolve().parent.parent


class _Process:
    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._log: IO[bytes] = log.open("ab")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, cwd=REPO,
                                        env={**os.environ, **(env or {})})

    @property
    def pid(self) -> int:
        return self.process.pid

    def stat(self) -> ProcStat:
        return proc_stat(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Simulators(_Process):
    """``bench.simserver``: N tenants' simulators; ``config`` is the connector config it wrote."""

    def __init__(self, workdir: Path, settings: KafkaSettings, *, tenants: int, agents: int,
                 poll_interval: float, start_minutes_ago: float = 5.0, vendors: str = "",
                 speed: float = 1.0, poll_jitter: float = 0.5, name: str = "sim") -> None:
        self.config = workdir / f"{name}.yaml"
        self.http_port = free_port()
        kafka = settings.model_dump(mode="json", exclude_none=True)
        super().__init__([sys.executable, "-m", "bench.simserver", "--tenants", str(tenants), "--agents", str(agents),
                          "--poll-interval", str(poll_interval), "--poll-jitter", str(poll_jitter),
                          "--start-minutes-ago", str(start_minutes_ago), "--speed", str(speed),
                          "--vendors", vendors, "--http-port", str(self.http_port),
                          "--kafka-json", json.dumps(kafka), "--config-out", str(self.config)],
                         workdir / f"{name}.log")
        self.info: dict[str, Any] = {}

    def wait_ready(self, timeout: float = 240.0) -> Simulators:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"simulators exited: {self.tail()}")
            if line.startswith(b"{"):
                self.info = json.loads(line)
                return self
        raise TimeoutError("simulators did not start")


class Connector(_Process):
    """``agent-connector run CONFIG`` in its own process; counts come from its /metrics."""

    def __init__(self, config: Path, http_port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.http_port = http_port
        super().__init__([sys.executable, "-m", "connector.cli", "--log-level", "WARNING", "run", str(config)],
                         log, env)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5).text

    def records(self) -> int:
        """Records produced so far (events, observations, dead letters) over every source."""
        return int(sum(float(v) for v in re.findall(r"^connector_records_total\{[^}]*\} (\S+)$", self.metrics(),
                                                      re.MULTILINE)))

    def polls(self) -> int:
        return int(sum(float(v) for v in re.findall(r'^connector_polls_total\{outcome="ok"[^}]*\} (\S+)$',
                                                      self.metrics(), re.MULTILINE)))

    def wait_started(self, timeout: float = 60.0) -> Connector:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"connector exited: {self.tail()}")
            try:
                self.metrics()
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("connector did not start")


class Worker(_Process):
    """``agent-connector process CONFIG``: one availability processors worker with its query API."""

    def __init__(self, config: Path, app_id: str, workdir: Path, name: str = "worker",
                 profile_to: Path | None = None) -> None:
        self.port = free_port()
        self.app_id = app_id
        env = {"PROCESSORS_APP_ID": app_id, "PROCESSORS_COMMIT_INTERVAL": "1.0"}
        command = ["-m", "connector.processors.cli", str(config), "--web-port", str(self.port),
                   "--data-dir", str(workdir / f"data-{name}"), "--loglevel", "warning"]
        if profile_to is not None:
            command = (["-m", "cProfile", "-o", str(profile_to), *command] if profile_to.suffix == ".prof" else
                       ["-m", "pyinstrument", "--renderer", "text", "--outfile", str(profile_to), *command])
        super().__init__([sys.executable, *command], workdir / f"{name}.log", env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
