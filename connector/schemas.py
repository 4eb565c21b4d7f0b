"""Load the Avro schemas: ``schemas/*.avsc`` is the single source of truth.

In a source checkout the files are read from ``<repo>/schemas``; in an installed
wheel they ship as ``connector/_schemas`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
import fastavro.schema

from connector.serde.fingerprint import crc64_avro

__all__ = ["SchemaInfo", "load_schema", "released_schemas", "schema_dir", "schema_names"]


def schema_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no Avro schema folder found next to {here} (looked for _schemas/ and ../schemas/)")


@dataclass(frozen=True)
class SchemaInfo:
    """One parsed schema with what the wire formats need precomputed."""

    name: str  # full name, e.g. agentconnector.events.AgentStateChanged
    source: dict[str, Any]  # the JSON as written in the .avsc file
    parsed: Any  # fastavro's parsed form
    canonical: str  # Parsing Canonical Form, per the Avro specification
    fingerprint: bytes  # CRC-64-AVRO of the canonical form, 8 bytes little-endian

    @property
    def text(self) -> str:
        """The schema as registered with a Schema Registry (docs included)."""
        return json.dumps(self.source, separators=(",", ":"))


def _info(source: dict[str, Any]) -> SchemaInfo:
    parsed = fastavro.parse_schema(source, _write_hint=False)
    canonical = fastavro.schema.to_parsing_canonical_form(source)
    name = f"{source.get('namespace', '')}.{source['name']}".lstrip(".")
    return SchemaInfo(name, source, parsed, canonical, crc64_avro(canonical.encode()))


@cache
def _all() -> dict[str, SchemaInfo]:
    infos = {}
    for path in sorted(schema_dir().glob("*.avsc")):
        info = _info(json.loads(path.read_text()))
        infos[info.name] = info
    return infos


def schema_names() -> list[str]:
    return sorted(_all())


def load_schema(name: str) -> SchemaInfo:
    """The current schema of an event type, by full or short name."""
    schemas = _all()
    if name in schemas:
        return schemas[name]
    for info in schemas.values():
        if info.name.rsplit(".", 1)[-1] == name:
            return info
    raise KeyError(f"no schema named {name!r}; known: {sorted(schemas)}")


@cache
def released_schemas() -> dict[str, list[tuple[str, SchemaInfo]]]:
    """Every released version of every schema: ``{full name: [(version, info), ...]}``, oldest first.

    ``schemas/released/<version>/<Name>.avsc`` holds the files as they were released;
    consumers may hold data written with any of them, so readers accept them all.
    """
    released: dict[str, list[tuple[str, SchemaInfo]]] = {}
    root = schema_dir() / "released"
    if not root.is_dir():
        return released
    for version_dir in sorted(root.iterdir(), key=lambda p: tuple(int(x) for x in p.name.split("."))):
        for path in sorted(version_dir.glob("*.avsc")):
            info = _info(json.loads(path.read_text()))
            released.setdefault(info.name, []).append((version_dir.name, info))
    return released
