"""Rocket.Chat conversation counts: re-reported windows replace, repeats change nothing."""

from __future__ import annotations

from datetime import timedelta

from connector.model import AgentConversationsObserved, from_millis
from connector.processors.conversations import (
    AgentConversations,
    WindowConversations,
    apply_agent_conversations,
    apply_window_conversations,
    conversation_agent_key,
    conversation_window_key,
)
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import MINUTE_MS
from tests.processors.harness import BASE_MS

S = ProcessorSettings(retention_ms=60 * MINUTE_MS)


def report(label: str | None, window: int, conversations: int, total: int = 10) -> AgentConversationsObserved:
    start = from_millis(BASE_MS) + timedelta(minutes=5 * window)
    return AgentConversationsObserved(
        event_id=f"{label}-{window}", vendor="rocketchat", tenant="acme", source="rc", agent_label=label,
        window_start=start, window_end=start + timedelta(minutes=5), conversations=conversations,
        window_total=total, source_cursor="{}",
    )


def test_agent_windows_replace_on_re_report_and_ignore_repeats() -> None:
    record = apply_agent_conversations(None, report("alice", 0, 2), S)
    record = apply_agent_conversations(record, report("alice", 1, 1), S)
    assert record.total == 3
    re_reported = apply_agent_conversations(record, report("alice", 0, 4), S)
    assert re_reported.total == 5  # replaced, not added
    assert apply_agent_conversations(re_reported, report("alice", 0, 4), S) is re_reported
    assert conversation_agent_key(report(None, 0, 1)) == "acme:rocketchat:"
    assert AgentConversations.from_json(re_reported.to_json()) == re_reported


def test_agent_windows_are_bounded_by_retention() -> None:
    record = None
    for window in range(30):  # 150 minutes of 5-minute windows
        record = apply_agent_conversations(record, report("alice", window, 1), S)
    assert record is not None
    assert len(record.windows) == 12  # the last hour
    assert record.windows[0].start_ms == BASE_MS + 18 * 5 * MINUTE_MS


def test_window_table_holds_every_agent_and_the_unspecified_bucket() -> None:
    window = None
    for label, count in [("alice", 2), ("bob", 3), (None, 1), ("alice", 4)]:
        window = apply_window_conversations(window, report(label, 0, count, total=8))
    assert window is not None
    assert dict(window.by_agent) == {"alice": 4, "bob": 3, "": 1}
    assert window.attributed == 7 and window.window_total == 8
    assert window.key == conversation_window_key(report("bob", 0, 0))
    assert apply_window_conversations(window, report("bob", 0, 3, total=8)) is window
    assert WindowConversations.from_json(window.to_json()) == window


def test_window_total_is_the_largest_reported_whatever_the_arrival_order() -> None:
    # reports of one window come from every agent's partition: a stale total may arrive last
    newer_first = [report("alice", 0, 3, total=7), report("bob", 0, 1, total=6), report(None, 0, 3, total=6)]
    window = None
    for observation in newer_first:
        window = apply_window_conversations(window, observation)
    assert window is not None and window.window_total == 7
    older_first = None
    for observation in reversed(newer_first):
        older_first = apply_window_conversations(older_first, observation)
    assert older_first == window
