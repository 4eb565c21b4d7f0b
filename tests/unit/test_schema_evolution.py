"""Every schema stays backward compatible with every released version of it."""

from __future__ import annotations

import copy
import io
import json

import fastavro
import pytest
from fastavro.utils import generate_many

from connector.schema_compat import backward_problems
from connector.schemas import load_schema, released_schemas, schema_dir

RELEASED = [(name, version, info) for name, versions in released_schemas().items() for version, info in versions]


def test_there_are_released_versions_to_check() -> None:
    assert {name.rsplit(".", 1)[-1] for name, _, _ in RELEASED} >= {
        "AgentStateChanged", "AgentGroupObserved", "AgentConversationsObserved", "DeadLetter"}


@pytest.mark.parametrize("name, version, released", RELEASED, ids=[f"{n}@{v}" for n, v, _ in RELEASED])
def test_current_schema_reads_released_data(name: str, version: str, released: object) -> None:
    current = load_schema(name)
    assert backward_problems(current.source, released.source) == []  # type: ignore[attr-defined]
    # and in practice: random records written with the old schema decode with the new one
    for record in generate_many(released.parsed, 25):  # type: ignore[attr-defined]
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, released.parsed, record)  # type: ignore[attr-defined]
        buffer.seek(0)
        fastavro.schemaless_reader(buffer, released.parsed, current.parsed)  # type: ignore[attr-defined]


def _current(name: str) -> dict:  # type: ignore[type-arg]
    return copy.deepcopy(json.loads((schema_dir() / f"{name}.avsc").read_text()))


def test_checker_refuses_a_new_field_without_default() -> None:
    new = _current("AgentStateChanged")
    new["fields"].append({"name": "site", "type": "string", "doc": "x"})
    assert backward_problems(new, _current("AgentStateChanged")) == [
        "$.site: new field has no default, so old data cannot be read"]


def test_checker_accepts_a_new_optional_field_with_default() -> None:
    new = _current("AgentStateChanged")
    new["fields"].append({"name": "site", "type": ["null", "string"], "default": None, "doc": "x"})
    assert backward_problems(new, _current("AgentStateChanged")) == []


def test_checker_refuses_type_changes_and_removed_enum_symbols_without_default() -> None:
    new = _current("AgentGroupObserved")
    next(f for f in new["fields"] if f["name"] == "available_agents")["type"] = "string"
    assert any("available_agents" in p for p in backward_problems(new, _current("AgentGroupObserved")))
    enum_new = {"type": "enum", "name": "E", "symbols": ["A"]}
    enum_old = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    assert backward_problems(enum_new, enum_old)
    assert backward_problems({**enum_new, "default": "A"}, enum_old) == []
    assert backward_problems("long", "int") == [] and backward_problems("int", "long")
