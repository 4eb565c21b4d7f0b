"""The offsets store's cursor JSON: the same document as json.dumps, with unchanged large maps reused."""

from __future__ import annotations

import json
from datetime import timedelta

from connector.kafka.offsets import CursorEncoder
from connector.sources.vonage import VonageStream
from tests.sources.helpers import vonage
from tests.sources.test_vonage_cursor import START, calls, read_window


def test_every_commit_decodes_to_the_cursor_it_encodes() -> None:
    end = START + timedelta(hours=3)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    _, cursors = read_window(stream, stream.initial_cursor(end), calls(3), end)
    encoder = CursorEncoder()
    for cursor in cursors:
        assert json.loads(encoder.encode(cursor)) == cursor


def test_an_unchanged_map_is_not_encoded_again_but_a_changed_one_is() -> None:
    table = {"p": ["Ready", None, 1], "i": {}}
    parts = {f"a{n}": {"p": ["Ready", None, n], "i": {}} for n in range(40)}
    parts["a0"] = table
    bucket = "k" * 11 * 300
    encoder = CursorEncoder()
    first = {"v": 1, "parts": parts, "ended": {"1": bucket, "2": "j" * 11}, "agents": {"a": ["BUSY", None, 1]}}
    assert json.loads(encoder.encode(first)) == first
    cached = {id(item) for item, _, _ in encoder._cache.values()}
    assert {id(parts), id(table), id(bucket)} <= cached
    changed = {**parts, "a1": {"p": ["Away", "Lunch", 5], "i": {}}}  # an agent's table copied on write
    second = {**first, "parts": changed, "ended": {**first["ended"], "2": "j" * 22}}
    assert json.loads(encoder.encode(second)) == second
    grown = dict(changed)
    grown["x"] = {"p": None, "i": {}}
    third = {"v": 1, "parts": grown, "ended": {"1": bucket + "m" * 11}, "seen": {f"s{n}": [n, None] for n in range(40)}}
    assert json.loads(encoder.encode(third)) == third
