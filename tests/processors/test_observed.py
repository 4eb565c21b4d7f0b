"""Observed (Convoso user-activity snapshots) vs derived counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.model import AgentGroupObserved, from_millis
from connector.processors.groups import GroupRecord, apply_group_observation, observed_vs_derived
from connector.processors.health import Counts
from connector.processors.observed import compare_observed, derived_group_key, snapshot_of
from connector.processors.settings import ProcessorSettings
from tests.processors.harness import BASE_MS

S = ProcessorSettings()


def observation(group_key: str, available: int = 3, logged_in: int = 10, *, seconds: int = 0,
                event_id: str = "obs-1", vendor: str = "convoso-user-activity") -> AgentGroupObserved:
    return AgentGroupObserved(
        event_id=event_id, vendor=vendor, tenant="acme", source="ua", group_key=group_key,
        observed_at=from_millis(BASE_MS) + timedelta(seconds=seconds), available_agents=available,
        logged_in_agents=logged_in, source_cursor="{}",
    )


@pytest.mark.parametrize(
    ("group_key", "expected"),
    [
        ("all", "acme:convoso-productivity:tenant:all"),
        ("campaign:111", "acme:convoso-productivity:campaign:111"),
        ("queue:222", "acme:convoso-productivity:queue:222"),
        ("skills:english", "acme:convoso-productivity:skill:english"),
        ("skills:english,spanish", None),  # agents with any of the skills: not a derived group
        ("user:12345", None),
        ("campaign:111|queue:222", None),  # filters AND-ed
        ("campaign:", None),
        ("weird", None),
    ],
)
def test_group_key_maps_to_the_derived_group(group_key: str, expected: str | None) -> None:
    assert derived_group_key(observation(group_key), S) == expected


def test_unmapped_vendor_keeps_its_name() -> None:
    assert derived_group_key(observation("all", vendor="other"), S) == "acme:other:tenant:all"


def test_difference_is_observed_minus_derived() -> None:
    comparison = compare_observed(snapshot_of(observation("campaign:111", 3, 10)), Counts(available=2, busy=6))
    assert (comparison.available_difference, comparison.logged_in_difference) == (1, 2)
    assert not comparison.matches
    assert comparison.to_json()["difference"] == {"available": 1, "logged_in": 2}
    same = compare_observed(snapshot_of(observation("all", 1, 2)), Counts(available=1, away=1))
    assert same.matches


def test_group_keeps_the_newest_snapshot_and_ignores_repeats_and_older_ones() -> None:
    group = "acme:convoso-productivity:campaign:111"
    record = GroupRecord(group, {}, Counts(available=2, busy=3), BASE_MS)
    assert observed_vs_derived(record) is None
    newer = apply_group_observation(record, group, snapshot_of(observation("campaign:111", 4, 5, seconds=60)))
    assert apply_group_observation(newer, group, snapshot_of(observation("campaign:111", 4, 5, seconds=60))) is newer
    older = snapshot_of(observation("campaign:111", 9, 9, seconds=0, event_id="obs-0"))
    assert apply_group_observation(newer, group, older) is newer
    comparison = observed_vs_derived(newer)
    assert comparison is not None
    assert (comparison.available_difference, comparison.logged_in_difference) == (2, 0)
    assert GroupRecord.from_json(newer.to_json()) == newer
