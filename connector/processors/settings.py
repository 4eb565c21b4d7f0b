"""Settings of the availability processors, shared by every pure function (and so every worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from connector.processors.health import Thresholds
from connector.processors.windows import HOPPING_1H, MINUTE_MS, TUMBLING_15M, WindowSpec

__all__ = ["DEFAULT_OBSERVED_VENDORS", "ProcessorSettings"]

#: Vendor of an observation -> vendor of the per-agent events its counts should match.
DEFAULT_OBSERVED_VENDORS: Mapping[str, str] = MappingProxyType(
    {"convoso-user-activity": "convoso-productivity"}
)


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    """How far back history and windows reach, how windows are cut, and alert thresholds.

    ``retention_ms`` bounds everything that grows with time: an agent's transition
    history, the panes of group windows and the conversation windows. It is measured
    back from the newest event time seen (per agent, per group), never the wall
    clock, so replays decide the same. It is also the lateness limit: an event
    older than the agent's retained history changes nothing (see ``agent_state``).
    """

    retention_ms: int = 120 * MINUTE_MS
    pane_ms: int = 5 * MINUTE_MS
    windows: tuple[WindowSpec, ...] = (TUMBLING_15M, HOPPING_1H)
    thresholds: Thresholds = field(default_factory=Thresholds)
    cross_vendor_tenant: bool = True
    observed_vendors: Mapping[str, str] = field(default_factory=lambda: DEFAULT_OBSERVED_VENDORS)
    max_recent_alerts: int = 16

    def __post_init__(self) -> None:
        if self.pane_ms <= 0:
            raise ValueError("pane_ms must be positive")
        for spec in self.windows:
            if spec.size_ms % self.pane_ms or spec.step_ms % self.pane_ms:
                raise ValueError(f"window {spec.name}: size and step must be multiples of pane_ms")
            if spec.size_ms > self.retention_ms:
                raise ValueError(f"window {spec.name} is longer than retention_ms; it could never be complete")
        if len({spec.name for spec in self.windows}) != len(self.windows):
            raise ValueError("window names must be unique")

    def window(self, name: str) -> WindowSpec:
        for spec in self.windows:
            if spec.name == name:
                return spec
        raise KeyError(f"no window named {name!r}; known: {[s.name for s in self.windows]}")
