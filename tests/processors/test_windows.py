"""Window arithmetic and the statistics definitions (occupancy, longest unavailable stretch, watermark)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.model import AgentState
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import (
    HOPPING_1H,
    MINUTE_MS,
    TUMBLING_15M,
    WindowSpec,
    pane_starts,
    summarize,
)

A, B, W, AW, U, OFF = (
    AgentState.AVAILABLE, AgentState.BUSY, AgentState.WRAP_UP, AgentState.AWAY, AgentState.UNKNOWN,
    AgentState.OFFLINE,
)
M = MINUTE_MS


@given(lo=st.integers(-10**8, 10**8), length=st.integers(1, 10**7), spec=st.sampled_from([TUMBLING_15M, HOPPING_1H]))
def test_starts_overlapping_is_exactly_the_overlapping_windows(lo: int, length: int, spec: WindowSpec) -> None:
    hi = lo + length
    got = list(spec.starts_overlapping(lo, hi))
    candidates = range((lo // spec.step_ms - spec.size_ms // spec.step_ms - 1) * spec.step_ms,
                       hi + spec.step_ms, spec.step_ms)
    assert got == [s for s in candidates if s < hi and s + spec.size_ms > lo]
    assert list(spec.starts_overlapping(lo, lo)) == []


def test_a_moment_lies_in_one_tumbling_and_twelve_hopping_windows() -> None:
    t = 1_000 * M + 7
    assert len(TUMBLING_15M.starts_overlapping(t, t + 1)) == 1
    assert len(HOPPING_1H.starts_overlapping(t, t + 1)) == 12
    assert list(pane_starts(5 * M, 4 * M, 11 * M)) == [0, 5 * M, 10 * M]
    assert list(pane_starts(5 * M, 5 * M, 5 * M)) == []
    assert list(TUMBLING_15M.starts_from(1, 31 * M)) == [15 * M, 30 * M]


def test_settings_refuse_windows_the_panes_cannot_build() -> None:
    with pytest.raises(ValueError, match="multiples of pane_ms"):
        ProcessorSettings(pane_ms=7 * M)
    with pytest.raises(ValueError, match="longer than retention"):
        ProcessorSettings(retention_ms=30 * M)
    with pytest.raises(ValueError, match="multiple of the step"):
        WindowSpec("odd", 10 * M, 3 * M)


def test_time_in_state_occupancy_and_averages() -> None:
    # two agents over a 15-minute window: one AVAILABLE 5 min then BUSY 10; one WRAP_UP 5 then AWAY 10
    stats = summarize("w", 0, 15 * M, 15 * M, [(0, 5 * M, A), (5 * M, 15 * M, B), (0, 5 * M, W), (5 * M, 15 * M, AW)])
    assert stats.state_ms == (5 * M, 10 * M, 5 * M, 10 * M, 0)
    assert stats.logged_in_ms == 30 * M
    assert stats.occupancy == pytest.approx(15 / 20)  # (busy + wrap) / (available + busy + wrap): away left out
    assert stats.utilization == pytest.approx(25 / 30)
    assert stats.avg_available_agents == pytest.approx(1 / 3)
    assert stats.avg_logged_in_agents == pytest.approx(2.0)
    # nobody available from minute 5 to 15 with both logged in
    assert stats.longest_unavailable_ms == 10 * M


def test_longest_unavailable_needs_someone_logged_in_and_nobody_available() -> None:
    segments = [
        (0, 2 * M, B),  # unavailable 0-2
        (2 * M, 3 * M, A),  # available 2-3 breaks the stretch
        (3 * M, 5 * M, B), (5 * M, 6 * M, W), (6 * M, 8 * M, AW),  # one stretch 3-8 across states
        (8 * M, 9 * M, OFF),  # nobody logged in 8-9: not "unavailable", and it breaks the stretch
        (9 * M, 10 * M, U),
    ]
    stats = summarize("w", 0, 15 * M, 10 * M, segments)
    assert stats.longest_unavailable_ms == 5 * M
    assert stats.covered_ms == 10 * M


def test_handover_at_the_same_instant_leaves_no_gap() -> None:
    # agent 1 stops being available at 5, agent 2 becomes available at 5: always someone available
    segments = [(0, 5 * M, A), (5 * M, 10 * M, B), (0, 5 * M, B), (5 * M, 10 * M, A)]
    assert summarize("w", 0, 10 * M, 10 * M, segments).longest_unavailable_ms == 0
    # a segment split at a pane boundary is the same as one segment
    split = summarize("w", 0, 10 * M, 10 * M, [(0, 5 * M, B), (5 * M, 10 * M, B)])
    whole = summarize("w", 0, 10 * M, 10 * M, [(0, 10 * M, B)])
    assert split == whole


def test_watermark_bounds_the_covered_part_and_clips_segments() -> None:
    stats = summarize("w", 0, 15 * M, 6 * M, [(0, 10 * M, A), (-5 * M, 20 * M, B)])
    assert stats.covered_ms == 6 * M
    assert stats.state_ms[:2] == (6 * M, 6 * M)
    before = summarize("w", 0, 15 * M, -M, [(0, 10 * M, A)])
    assert before.covered_ms == 0
    assert before.avg_available_agents is None
    assert before.occupancy is None
    assert before.utilization == 0.0


def test_stats_json_is_in_seconds() -> None:
    data = summarize("tumbling-15m", 0, 15 * M, 15 * M, [(0, 15 * M, A)]).to_json()
    assert data["seconds_in_state"]["AVAILABLE"] == 900.0
    assert data["avg_available_agents"] == 1.0
    assert data["longest_unavailable_seconds"] == 0.0
