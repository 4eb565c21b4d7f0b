"""The offsets store's cursor JSON: the same document as json.dumps, with unchanged large maps reused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from connector.kafka.cursor_json import CursorEncoder, dumps
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
    assert encoder._memos["parts"][0] is parts and encoder._memos["parts"][3]["a0"][0] is table
    assert encoder._memos["ended"][3]["1"][0] is bucket
    changed = {**parts, "a1": {"p": ["Away", "Lunch", 5], "i": {}}}  # an agent's table copied on write
    second = {**first, "parts": changed, "ended": {**first["ended"], "2": "j" * 22}}
    assert json.loads(encoder.encode(second)) == second
    grown = dict(changed)
    grown["x"] = {"p": None, "i": {}}
    third = {"v": 1, "parts": grown, "ended": {"1": bucket + "m" * 11}, "seen": {f"s{n}": [n, None] for n in range(40)}}
    assert json.loads(encoder.encode(third)) == third


def _reference(cursor: dict[str, Any]) -> str:
    """The store's document: small values first, then the large maps, as json.dumps writes them."""
    large = [k for k, v in cursor.items() if isinstance(v, dict) and (len(v) >= 32 or any(
        isinstance(x, str) and len(x) >= 256 for x in v.values()))]
    ordered = {**{k: v for k, v in cursor.items() if k not in large}, **{k: cursor[k] for k in large}}
    return json.dumps(ordered, separators=(",", ":"))


def test_the_text_is_the_same_as_before_page_after_page() -> None:
    end = START + timedelta(hours=3)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    _, cursors = read_window(stream, stream.initial_cursor(end), calls(3), end)
    encoder = CursorEncoder()
    assert [encoder.encode(c) for c in cursors] == [_reference(c) for c in cursors]


def test_an_unchanged_entry_keeps_its_text_and_a_replaced_one_is_encoded_again() -> None:
    agents = {f"a{n}": ["BUSY", None, n] for n in range(40)}
    encoder = CursorEncoder()
    encoder.encode({"v": 1, "agents": agents})
    piece = encoder._memos["agents"][3]["a1"][1]
    after = {**agents, "a2": ["AWAY", "Lunch", 7], 5: [1]}  # a value replaced, a number key added
    text = encoder.encode({"v": 1, "agents": after})
    assert encoder._memos["agents"][3]["a1"][1] is piece
    assert json.loads(text) == {"v": 1, "agents": {**{k: v for k, v in after.items() if k != 5}, "5": [1]}}
    assert text == _reference({"v": 1, "agents": after})


def test_maps_of_numbers_are_written_in_one_go_and_odd_values_refused() -> None:
    seen = {f"r{n}": n * 1000 for n in range(50)}
    encoder = CursorEncoder()
    assert encoder.encode({"seen": seen}) == _reference({"seen": seen})
    assert encoder._memos["seen"][3] == {}
    assert dumps("x\u00e9") == json.dumps("x\u00e9") and dumps([1.5, None, True]) == "[1.5,null,true]"
    with pytest.raises(TypeError):
        dumps({"at": object()})
