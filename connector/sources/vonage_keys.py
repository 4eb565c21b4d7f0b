"""Vonage's de-duplication keys, compact: what a re-read window needs, and nothing else.

An activity is identified by a 64-bit digest of (agent, type, start, category, interaction),
written as 11 base64url characters. ``cursor["seen"]`` maps the keys of ongoing activities
to ``[start_ms, null]``; ``cursor["ended"]`` keeps the keys of ended ones in buckets of
5 minutes of end time, each bucket one string of concatenated keys (no per-key JSON, no end
time: the bucket is the only time pruning needs). Cursors written before this form (16 hex
digits per key, buckets as ``{key: end_ms}`` maps, or ended keys in ``seen``) are converted
on read: the digest is the same, only its spelling changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import defaultdict
from typing import Any

__all__ = ["ENDED_BUCKET_MS", "KEY_CHARS", "EndedKeys", "activity_key", "migrate_keys"]

ENDED_BUCKET_MS = 300 * 1000  # ended keys are kept in buckets of 5 minutes of end time
KEY_CHARS = 11                # base64url of 8 bytes, without padding
_HEX_CHARS = 16               # the older spelling of the same 8 bytes


_sha256 = hashlib.sha256
_b64 = binascii.b2a_base64
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def activity_key(agent: str, kind: str, start_ms: int, category: str, guid: str) -> str:
    """The first 8 bytes of SHA-256 of what identifies an activity, as 11 base64url characters
    (``base64.urlsafe_b64encode`` spelled out: one per record of a page)."""
    digest = _sha256(f"{agent}|{kind}|{start_ms}|{category}|{guid}".encode()).digest()
    return _b64(digest[:8], newline=False)[:KEY_CHARS].translate(_URLSAFE).decode()


def _from_hex(key: str) -> str:
    """An older cursor's key (16 hex digits of the same digest) in today's spelling."""
    if len(key) != _HEX_CHARS:
        return key
    return base64.urlsafe_b64encode(bytes.fromhex(key))[:KEY_CHARS].decode()


def _tokens(text: str) -> list[str]:
    return [text[i:i + KEY_CHARS] for i in range(0, len(text), KEY_CHARS)]


class EndedKeys:
    """``cursor["ended"]``: keys of ended activities in 5-minute end-time buckets of joined keys.

    ``buckets`` is the page's own shallow copy of the cursor's map; buckets are immutable
    strings, so the input cursor stays intact without copying them. ``index`` is the set of
    every key, built once from the buckets (or handed over from the previous page). Keys
    added are joined onto their bucket when ``buckets`` is next read (or on ``flush``), not
    one concatenation each: a bucket holds hundreds.
    """

    def __init__(self, buckets: dict[str, str], index: set[str] | None = None) -> None:
        self._buckets = buckets
        self.index = index if index is not None else {k for text in buckets.values() for k in _tokens(text)}
        self._added: defaultdict[int, list[str]] = defaultdict(list)  # bucket number -> keys added, not joined on

    @property
    def buckets(self) -> dict[str, str]:
        """The buckets, every key added joined on (the dict given, changed in place)."""
        if self._added:
            self.flush()
        return self._buckets

    def __contains__(self, key: str) -> bool:
        return key in self.index

    def __len__(self) -> int:
        return len(self.index)

    def add(self, key: str, end_ms: int) -> None:
        if key in self.index:
            return
        self.index.add(key)
        self._added[end_ms // ENDED_BUCKET_MS].append(key)

    def flush(self) -> None:
        """Join the keys added onto their buckets (in the order added): ``buckets`` is then whole."""
        buckets = self._buckets
        for number, keys in self._added.items():
            name = str(number)
            buckets[name] = buckets.get(name, "") + "".join(keys)
        self._added.clear()

    def prune(self, horizon_ms: int) -> None:
        """Forget buckets whose every end is before ``horizon_ms``."""
        for name in [n for n in self.buckets if (int(n) + 1) * ENDED_BUCKET_MS <= horizon_ms]:
            self.index.difference_update(_tokens(self.buckets.pop(name)))

    def cap(self, limit: int) -> None:
        """At most ``limit`` keys: the oldest buckets go first, then a bucket's earliest-added keys."""
        excess = len(self.index) - max(limit, 0)
        for name in sorted(self.buckets, key=int):
            if excess <= 0:
                return
            tokens = _tokens(self.buckets[name])
            dropped, kept = tokens[:excess], tokens[excess:]
            self.index.difference_update(dropped)
            excess -= len(dropped)
            if kept:
                self.buckets[name] = "".join(kept)
            else:
                del self.buckets[name]


def migrate_keys(state: dict[str, Any]) -> None:
    """Older cursors in today's form: hex keys re-spelled, ``{key: end_ms}`` buckets joined, ended
    keys kept in ``seen`` (before buckets existed) moved into buckets. A no-op on a current cursor."""
    seen: dict[str, list[Any]] = state.get("seen") or {}
    ended = state.get("ended")
    current = isinstance(ended, dict) and all(type(v) is str for v in ended.values())
    if current and all(len(k) == KEY_CHARS for k in seen):
        return
    keys = EndedKeys({})
    for name, bucket in (ended or {}).items():
        if isinstance(bucket, str):
            keys.buckets[name] = bucket
            keys.index.update(_tokens(bucket))
        else:
            for key, end_ms in bucket.items():
                keys.add(_from_hex(key), end_ms)
    ongoing: dict[str, list[Any]] = {}
    for key, (start_ms, end_ms) in seen.items():
        if end_ms is None:
            ongoing[_from_hex(key)] = [start_ms, None]
        else:
            keys.add(_from_hex(key), end_ms)
    state["seen"], state["ended"] = ongoing, keys.buckets
