"""Vonage's compact de-duplication keys: the same digest as before, bucketed, indexed, pruned and capped."""

from __future__ import annotations

import hashlib

from connector.sources.vonage_keys import ENDED_BUCKET_MS, KEY_CHARS, EndedKeys, activity_key, migrate_keys


def test_a_key_is_the_old_hex_digest_in_base64url() -> None:
    key = activity_key("a1", "Interaction", 1_000, "Connected", "g1")
    old = hashlib.sha256(b"a1|Interaction|1000|Connected|g1").hexdigest()[:16]
    assert len(key) == KEY_CHARS
    migrated = {"seen": {old: [1_000, None]}, "ended": {}}
    migrate_keys(migrated)
    assert migrated["seen"] == {key: [1_000, None]}


def test_added_keys_go_to_their_end_bucket_without_touching_the_input() -> None:
    original = {"3": "A" * KEY_CHARS}
    keys = EndedKeys(dict(original))
    keys.add("B" * KEY_CHARS, 3 * ENDED_BUCKET_MS + 5)
    keys.add("C" * KEY_CHARS, 7 * ENDED_BUCKET_MS)
    keys.add("C" * KEY_CHARS, 7 * ENDED_BUCKET_MS)  # a repeat is not stored twice
    assert keys.buckets == {"3": "A" * KEY_CHARS + "B" * KEY_CHARS, "7": "C" * KEY_CHARS}
    assert original == {"3": "A" * KEY_CHARS}
    assert "B" * KEY_CHARS in keys and "D" * KEY_CHARS not in keys and len(keys) == 3


def test_prune_drops_whole_buckets_and_their_index() -> None:
    keys = EndedKeys({"3": "A" * KEY_CHARS, "7": "C" * KEY_CHARS})
    keys.prune(4 * ENDED_BUCKET_MS)
    assert keys.buckets == {"7": "C" * KEY_CHARS} and "A" * KEY_CHARS not in keys and len(keys) == 1


def test_cap_drops_the_oldest_first() -> None:
    keys = EndedKeys({"9": "D" * KEY_CHARS, "3": "A" * KEY_CHARS + "B" * KEY_CHARS, "5": "C" * KEY_CHARS})
    keys.cap(2)
    assert keys.buckets == {"9": "D" * KEY_CHARS, "5": "C" * KEY_CHARS}
    keys.cap(1)
    assert keys.buckets == {"9": "D" * KEY_CHARS} and len(keys) == 1


def test_a_current_cursor_is_left_alone() -> None:
    state = {"seen": {"A" * KEY_CHARS: [1, None]}, "ended": {"3": "B" * KEY_CHARS}}
    before = {k: dict(v) for k, v in state.items()}
    migrate_keys(state)
    assert state == before
