"""Repeated measurements: min / median / max, and ratios taken pair by pair within a run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Series:
    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def row(self) -> str:
        return f"| {self.name} | {_fmt(self.min)} | {_fmt(self.median)} | {_fmt(self.max)} | {self.unit} |"


def ratios(numerator: Series, denominator: Series, name: str) -> Series:
    """Ratio of the i-th run of one series to the i-th run of the other (same moment, same load)."""
    out = Series(name, "%")
    for a, b in zip(numerator.values, denominator.values, strict=True):
        out.add(100.0 * a / b if b else 0.0)
    return out


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"
