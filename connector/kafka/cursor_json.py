"""The JSON of one source's successive cursors, written at the cost of what each page changed.

A busy Vonage page's cursor is ~75 kB of JSON (per-agent memory, de-duplication keys, held
points) of which a page changes a fifth; encoding it whole on every page's commit was ~19 %
of a Vonage replay. Streams never change a cursor they were given: ``handle_response``
copies a large map before it writes to it and only ever *replaces* its values (see
``_REPLACED_ONLY`` in ``connector.sources.base``). So an entry whose value is the very same
object as in the previous commit has the same JSON, and its text is reused.

The output is the same document as ``json.dumps(cursor, separators=(",", ":"))`` with the
small values first and the large maps after them (the order the store has always written);
any JSON reader, and ``OffsetStore.load``, reads it as before.
"""

from __future__ import annotations

from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

__all__ = ["CursorEncoder", "dumps"]

#: maps at least this large are encoded entry by entry and unchanged entries' text reused
CACHED_FROM = 32
#: maps holding strings at least this long (Vonage's joined ended keys) are encoded entry by entry too
LONG_TEXT = 256


def _unserializable(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json's C encoder made once (``JSONEncoder.encode`` builds one per call: ~1 us of a small value's
# ~1.5 us); no circular-reference check, cursors are trees
_c_encode = c_make_encoder(None, _unserializable, encode_basestring_ascii, None, ":", ",", False, False, True)
_quote = encode_basestring_ascii


def dumps(value: Any) -> str:
    """Compact JSON, the same text as ``json.dumps(value, separators=(",", ":"))``."""
    if type(value) is str:
        return _quote(value)  # type: ignore[no-any-return]
    return "".join(_c_encode(value, 0))


def worth_apart(item: object) -> bool:
    """A large map, or a map holding long strings: encoded entry by entry, unchanged entries reused."""
    if type(item) is not dict:
        return False
    return len(item) >= CACHED_FROM or any(type(v) is str and len(v) >= LONG_TEXT for v in item.values())


#: a large map's last JSON: the map itself, its length, its text, and each entry's ``"key":value`` piece
_COMPOUND = frozenset({dict, list, str})
_MapMemo = tuple[dict[str, Any], int, str, dict[str, tuple[Any, str]]]


class CursorEncoder:
    """Encodes one source's cursors in commit order; each large map remembers its entries' text."""

    def __init__(self) -> None:
        self._memos: dict[str, _MapMemo] = {}

    def encode(self, cursor: dict[str, Any]) -> str:
        large = [key for key, item in cursor.items() if worth_apart(item)]
        pieces = []
        if len(large) < len(cursor):
            skip = set(large)
            small = dumps({k: v for k, v in cursor.items() if k not in skip})
            if len(small) > 2:
                pieces.append(small[1:-1])
        memos: dict[str, _MapMemo] = {}
        for key in large:
            memo = memos[key] = self._map(cursor[key], self._memos.get(key))
            pieces.append(f"{_quote(key)}:{memo[2]}")
        self._memos = memos  # keeps exactly this cursor's maps and entries alive (identities stay unique)
        return "{" + ",".join(pieces) + "}"

    @staticmethod
    def _map(value: dict[str, Any], memo: _MapMemo | None) -> _MapMemo:
        if memo is None:
            old: dict[str, tuple[Any, str]] = {}
        elif memo[0] is value and memo[1] == len(value):
            return memo  # the very map of the last commit (its size checked as a guard)
        else:
            old = memo[3]
        if type(next(iter(value.values()), None)) not in _COMPOUND:
            return value, len(value), "".join(_c_encode(value, 0)), {}  # numbers (Convoso's seen): one go is cheaper
        entries: dict[str, tuple[Any, str]] = {}
        quote, encode = _quote, _c_encode
        for key, item in value.items():
            hit = old.get(key)
            if hit is None or hit[0] is not item:
                if type(key) is str:
                    hit = (item, f"{quote(key)}:{quote(item) if type(item) is str else ''.join(encode(item, 0))}")
                else:  # json's own rules for other keys (numbers become strings)
                    hit = (item, dumps({key: item})[1:-1])
            entries[key] = hit
        text = "{" + ",".join([piece for _, piece in entries.values()]) + "}"
        return value, len(value), text, entries
