"""Health thresholds (Convoso user-activity), hysteresis and zero-safe ratios."""

from __future__ import annotations

import pytest

from connector.model import AgentState
from connector.processors.health import Counts, HealthStatus, Thresholds, classify, next_alert_status, utilization

T = Thresholds()
H = HealthStatus


@pytest.mark.parametrize(
    ("available", "logged_in", "expected"),
    [
        (21, 100, H.HEALTHY),
        (20, 100, H.MONITOR),  # exactly 20 %: not "over 20 %"
        (1, 5, H.MONITOR),  # 20 % from small numbers, compared exactly
        (11, 100, H.MONITOR),
        (10, 100, H.MONITOR),  # exactly 10 %: ranges include their lower bound
        (1, 10, H.MONITOR),
        (9, 100, H.WARNING),
        (5, 100, H.WARNING),  # exactly 5 %
        (1, 20, H.WARNING),  # 1/20 is exactly 5 %, not 4.999...
        (4, 100, H.CRITICAL),
        (1, 21, H.CRITICAL),
        (1, 1000, H.CRITICAL),
        (0, 50, H.UNAVAILABLE),  # 0 available with agents logged in
        (0, 0, H.NO_AGENTS),  # nobody logged in: its own status
        (36, 125, H.HEALTHY),  # the document's response example, 28.8 %
        (12, 48, H.HEALTHY),  # its dashboard example, 25 %: "HEALTHY"
        (50, 50, H.HEALTHY),
    ],
)
def test_classify_on_the_documented_thresholds(available: int, logged_in: int, expected: HealthStatus) -> None:
    assert classify(available, logged_in, T) is expected


def test_custom_thresholds_are_exact_decimals() -> None:
    custom = Thresholds(healthy_above_pct=30, monitor_from_pct=12.5, warning_from_pct=0.1)
    assert classify(1, 8, custom) is H.MONITOR  # 12.5 % exactly
    assert classify(1, 1000, custom) is H.WARNING  # 0.1 % exactly
    assert classify(1, 1001, custom) is H.CRITICAL


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warning_from_pct": 10, "monitor_from_pct": 10},
        {"healthy_above_pct": 101},
        {"warning_from_pct": 0},
        {"hysteresis_pct": -1},
    ],
)
def test_thresholds_refuse_inconsistent_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Thresholds(**kwargs)


def test_utilization_and_percent_are_zero_safe() -> None:
    assert utilization(0, 0) == 0.0
    assert Counts().utilization == 0.0
    assert Counts().percent_available == 0.0
    assert utilization(36, 125) == pytest.approx(0.712)
    counts = Counts(available=12, busy=30, away=6)
    assert counts.logged_in == 48
    assert counts.utilization == 0.75
    assert counts.percent_available == 25.0


def test_counts_move_subtracts_and_adds_in_one_step() -> None:
    counts = Counts(available=2, busy=1)
    moved = counts.moved(AgentState.AVAILABLE, AgentState.BUSY)
    assert moved == Counts(available=1, busy=2)
    assert moved.logged_in == counts.logged_in
    assert counts.moved(None, AgentState.UNKNOWN) == Counts(available=2, busy=1, unknown=1)
    assert counts.moved(AgentState.BUSY, AgentState.OFFLINE) == Counts(available=2)
    assert counts.moved(AgentState.OFFLINE, None) == counts
    with pytest.raises(ValueError, match="below zero"):
        counts.moved(AgentState.AWAY, None)


def test_hysteresis_enters_worse_status_at_its_threshold() -> None:
    assert next_alert_status(H.HEALTHY, 20, 100, T) is H.MONITOR
    assert next_alert_status(H.HEALTHY, 4, 100, T) is H.CRITICAL  # skips levels when it drops far
    assert next_alert_status(H.MONITOR, 9, 100, T) is H.WARNING
    assert next_alert_status(H.CRITICAL, 0, 100, T) is H.UNAVAILABLE


def test_hysteresis_leaves_to_better_status_only_past_the_margin() -> None:
    # MONITOR -> HEALTHY needs more than 20 + 2 %
    assert next_alert_status(H.MONITOR, 21, 100, T) is H.MONITOR
    assert next_alert_status(H.MONITOR, 22, 100, T) is H.MONITOR
    assert next_alert_status(H.MONITOR, 23, 100, T) is H.HEALTHY
    # WARNING -> MONITOR needs 12 %
    assert next_alert_status(H.WARNING, 11, 100, T) is H.WARNING
    assert next_alert_status(H.WARNING, 12, 100, T) is H.MONITOR
    # CRITICAL -> WARNING needs 7 %; a big recovery goes straight to the best status cleared
    assert next_alert_status(H.CRITICAL, 6, 100, T) is H.CRITICAL
    assert next_alert_status(H.CRITICAL, 7, 100, T) is H.WARNING
    assert next_alert_status(H.CRITICAL, 50, 100, T) is H.HEALTHY
    # UNAVAILABLE -> CRITICAL needs 2 % available, not just one agent of many
    assert next_alert_status(H.UNAVAILABLE, 1, 100, T) is H.UNAVAILABLE
    assert next_alert_status(H.UNAVAILABLE, 2, 100, T) is H.CRITICAL
    assert next_alert_status(H.UNAVAILABLE, 1, 4, T) is H.HEALTHY


def test_hovering_on_a_threshold_does_not_flap() -> None:
    status = H.HEALTHY
    changes = 0
    for available in [21, 20, 21, 20, 21, 22, 20, 21]:  # around the 20 % boundary of 100 agents
        new = next_alert_status(status, available, 100, T)
        changes += new is not status
        status = new
    assert changes == 1
    assert status is H.MONITOR


def test_no_agents_is_entered_and_left_at_once() -> None:
    assert next_alert_status(H.WARNING, 0, 0, T) is H.NO_AGENTS
    assert next_alert_status(H.NO_AGENTS, 1, 100, T) is H.CRITICAL
    assert next_alert_status(H.NO_AGENTS, 21, 100, T) is H.HEALTHY
    assert next_alert_status(None, 0, 3, T) is H.UNAVAILABLE


def test_zero_margin_means_no_hysteresis() -> None:
    bare = Thresholds(hysteresis_pct=0, hysteresis_agents=0)
    assert next_alert_status(H.MONITOR, 21, 100, bare) is H.HEALTHY
    assert next_alert_status(H.UNAVAILABLE, 1, 100, bare) is H.CRITICAL


def test_one_agent_going_back_and_forth_in_a_small_group_does_not_flap() -> None:
    """6 agents: 1 available is MONITOR (16.7 %), 2 is HEALTHY (33 %); hovering between them raises no alerts."""
    status = next_alert_status(None, 1, 6, T)
    assert status is H.MONITOR
    seen = [status]
    for available in [2, 1, 2, 1, 2, 1, 2]:
        status = next_alert_status(status, available, 6, T)
        seen.append(status)
    assert set(seen) == {H.MONITOR}
    assert next_alert_status(H.MONITOR, 3, 6, T) is H.HEALTHY  # a real improvement still shows
    assert next_alert_status(H.UNAVAILABLE, 1, 6, T) is H.MONITOR  # the first available agent shows at once
    assert next_alert_status(H.HEALTHY, 1, 6, T) is H.MONITOR  # worse applies at once


def _classify_by_fractions(available: int, logged_in: int, thresholds: Thresholds, shift_pct: float) -> HealthStatus:
    """The rule as written, in Fraction arithmetic (the reference the integer comparisons must match)."""
    from fractions import Fraction

    if logged_in <= 0:
        return HealthStatus.NO_AGENTS
    if available <= 0:
        return HealthStatus.UNAVAILABLE
    pct, shift = Fraction(100 * available, logged_in), Fraction(str(shift_pct))
    if pct > Fraction(str(thresholds.healthy_above_pct)) + shift:
        return HealthStatus.HEALTHY
    if pct >= Fraction(str(thresholds.monitor_from_pct)) + shift:
        return HealthStatus.MONITOR
    if pct >= Fraction(str(thresholds.warning_from_pct)) + shift:
        return HealthStatus.WARNING
    return HealthStatus.CRITICAL if pct >= shift else HealthStatus.UNAVAILABLE


def test_classify_matches_exact_fraction_arithmetic_on_and_around_every_threshold() -> None:
    odd = Thresholds(healthy_above_pct=33.3, monitor_from_pct=12.5, warning_from_pct=0.1, hysteresis_pct=2.5)
    for thresholds in (Thresholds(), odd):
        for shift in (0.0, thresholds.hysteresis_pct):
            for logged_in in range(0, 1001, 7):
                for available in range(0, logged_in + 1, max(1, logged_in // 60)):
                    assert classify(available, logged_in, thresholds, shift_pct=shift) == _classify_by_fractions(
                        available, logged_in, thresholds, shift), (available, logged_in, thresholds, shift)
            for logged_in, available in ((10, 2), (20, 4), (8, 1), (1000, 1), (40, 5), (1000, 333), (3, 1)):
                assert classify(available, logged_in, thresholds, shift_pct=shift) == _classify_by_fractions(
                    available, logged_in, thresholds, shift)
