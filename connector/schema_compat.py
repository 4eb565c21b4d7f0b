"""Backward-compatibility check of Avro schemas (new reader, old writer), per Avro's resolution rules.

Schema evolution here is planned as "new optional fields with defaults only"; this
check is what enforces it: every change must let the new schema read data written
with every released version.
"""

from __future__ import annotations

from typing import Any

__all__ = ["backward_problems"]

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class _Names:
    """Resolves references to named types defined earlier in the same schema."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def resolve(self, schema: Any, namespace: str) -> Any:
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            full = schema if "." in schema else f"{namespace}.{schema}".lstrip(".")
            return self.types.get(full, self.types.get(schema, schema))
        if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
            ns = schema.get("namespace", namespace)
            name = schema["name"]
            full = name if "." in name else f"{ns}.{name}".lstrip(".")
            self.types.setdefault(full, schema)
        return schema


def _type_name(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"]) if not isinstance(schema["type"], list | dict) else _type_name(schema["type"])
    return str(schema)


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def backward_problems(reader: Any, writer: Any, path: str = "$") -> list[str]:
    """Why ``reader`` cannot read data written with ``writer``; empty when it can."""
    return _check(reader, writer, path, _Names(), _Names(), "", "")


def _check(reader: Any, writer: Any, path: str, rn: _Names, wn: _Names, rns: str, wns: str) -> list[str]:
    reader = rn.resolve(reader, rns)
    writer = wn.resolve(writer, wns)
    if isinstance(reader, dict) and isinstance(reader.get("type"), list | dict | str) and \
            reader.get("type") not in ("record", "enum", "array", "map", "fixed") and "logicalType" not in reader:
        reader = reader["type"]
    if isinstance(writer, dict) and isinstance(writer.get("type"), list | dict | str) and \
            writer.get("type") not in ("record", "enum", "array", "map", "fixed") and "logicalType" not in writer:
        writer = writer["type"]

    if isinstance(writer, list):  # every writer branch must be readable
        problems = []
        for branch in writer:
            problems += _check(reader, branch, f"{path}<{_type_name(branch)}>", rn, wn, rns, wns)
        return problems
    if isinstance(reader, list):  # some reader branch must read the writer
        for branch in reader:
            if not _check(branch, writer, path, rn, wn, rns, wns):
                return []
        return [f"{path}: no branch of the new union {[_type_name(b) for b in reader]} "
                f"reads the old type {_type_name(writer)}"]

    rtype, wtype = _type_name(reader), _type_name(writer)
    rlogical = reader.get("logicalType") if isinstance(reader, dict) else None
    wlogical = writer.get("logicalType") if isinstance(writer, dict) else None
    if rlogical != wlogical:
        return [f"{path}: logical type changed from {wlogical} to {rlogical}"]
    if rtype in _PRIMITIVES or wtype in _PRIMITIVES:
        if rtype in _PROMOTIONS.get(wtype, {wtype}):
            return []
        return [f"{path}: type changed from {wtype} to {rtype}, which Avro cannot promote"]
    if rtype != wtype:
        return [f"{path}: type changed from {wtype} to {rtype}"]
    renamed = rtype in ("record", "enum", "fixed") and _short(reader["name"]) != _short(writer["name"])
    if renamed and writer["name"] not in reader.get("aliases", []):
        return [f"{path}: named type renamed from {writer['name']} to {reader['name']} without an alias"]
    if rtype == "record":
        rns2, wns2 = reader.get("namespace", rns), writer.get("namespace", wns)
        problems = []
        written = {f["name"]: f for f in writer["fields"]}
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", [])]
            old = next((written[n] for n in names if n in written), None)
            where = f"{path}.{field['name']}"
            if old is None:
                if "default" not in field:
                    problems.append(f"{where}: new field has no default, so old data cannot be read")
            else:
                problems += _check(field["type"], old["type"], where, rn, wn, rns2, wns2)
        return problems
    if rtype == "enum":
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            return [f"{path}: enum symbols {missing} removed and the enum has no default"]
        return []
    if rtype == "array":
        return _check(reader["items"], writer["items"], f"{path}[]", rn, wn, rns, wns)
    if rtype == "map":
        return _check(reader["values"], writer["values"], f"{path}{{}}", rn, wn, rns, wns)
    if rtype == "fixed" and reader["size"] != writer["size"]:
        return [f"{path}: fixed size changed from {writer['size']} to {reader['size']}"]
    return []
