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
    bucket = {f"k{n}": n for n in range(100)}
    encoder = CursorEncoder()
    first = {"v": 1, "ended": {"1": bucket, "2": {f"j{n}": n for n in range(50)}}}
    assert json.loads(encoder.encode(first)) == first
    cached = {id(item) for item, _, _ in encoder._cache.values()}
    assert id(bucket) in cached
    second = {"v": 1, "ended": {**first["ended"], "2": {**first["ended"]["2"], "new": 1}}}  # copy on write
    assert json.loads(encoder.encode(second)) == second
    grown = dict(bucket)
    grown["x"] = 1
    third = {"v": 1, "ended": {"1": grown}}
    assert json.loads(encoder.encode(third)) == third
