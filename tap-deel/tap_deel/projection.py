"""Make a record match its stream schema by dropping keys the schema does not know.

singer-sdk's own conformance walks every value of every record against the schema and, for the
people schema, costs more than everything else the tap does together (profiled). A record
parsed from JSON needs none of its type conversions; it only needs unknown keys removed, since
the schemas forbid additional properties. This module compiles a schema once into a function
that does just that, and looks at nested values only where the schema has nested objects.

It also compiles the same rules into a msgspec type (`compile_checker`): decoding a record's
JSON text into it succeeds only when the projection would drop nothing, so a record that
passes can be written out as the very text Deel sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

#: Removes unknown keys from a record in place; returns the dotted paths it removed.
Projector = Callable[[dict[str, Any]], set[str]]
_Handler = Callable[[Any, set[str]], None]


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    found: set[str] = set()
    for option in [*schema.get("anyOf", []), *schema.get("oneOf", [])]:
        found |= _types(option)
    return found


def _drop_unknown(
    value: dict[str, Any], known: frozenset[str], prefix: str, dropped: set[str]
) -> None:
    for key in [key for key in value if key not in known]:
        del value[key]
        dropped.add(prefix + key)


def _all_known(known: Callable[[Any], bool], values: list[Any]) -> bool:
    """Whether no item has a key to drop, in one C loop (the usual case).

    True when every item's keys (or, for an item that is not an object, whatever iterating
    it gives) are known: objects then have nothing to drop, and other items are never pruned.
    False means: look at each item.
    """
    try:
        return all(map(known, values))
    except TypeError:  # an item that cannot be iterated
        return False


def _is_object(schema: dict[str, Any]) -> bool:
    return "object" in _types(schema) and isinstance(schema.get("properties"), dict)


def _is_leaf_object(schema: dict[str, Any]) -> bool:
    """A strict object whose properties hold nothing that could need pruning."""
    if not _is_object(schema) or schema.get("additionalProperties") is not False:
        return False
    return all(_handler(sub, "") is None for sub in schema["properties"].values())


def _handler(schema: dict[str, Any], path: str) -> _Handler | None:
    """What to do with a value at `path`; None when nothing in it can need dropping."""
    kinds = _types(schema)
    if _is_object(schema):
        prune = _object_pruner(schema, path)
        if prune is None:
            return None

        def on_object(value: Any, dropped: set[str]) -> None:  # noqa: ANN401
            if isinstance(value, dict):
                prune(value, dropped)

        return on_object
    items = schema.get("items")
    if "array" in kinds and isinstance(items, dict):
        inner = _handler(items, f"{path}[]")
        if inner is None:
            return None

        def on_array(value: Any, dropped: set[str]) -> None:  # noqa: ANN401
            if isinstance(value, list):
                for item in value:
                    inner(item, dropped)

        return on_array
    return None


def _object_pruner(
    schema: dict[str, Any], path: str
) -> Callable[[dict[str, Any], set[str]], None] | None:
    """A function pruning one object (None when nothing in it can need pruning).

    Flat nested objects, and arrays of them, are checked inline without a call per value: that
    is the common case (emails, addresses, team...) and it runs for every record.
    """
    properties: dict[str, Any] = schema.get("properties") or {}
    strict = schema.get("additionalProperties") is False
    known = frozenset(properties)
    prefix = f"{path}." if path else ""
    leaf_objects: list[tuple[str, frozenset[str], str]] = []
    leaf_arrays: list[tuple[str, frozenset[str], str, Callable[[Any], bool]]] = []
    nested: list[tuple[str, _Handler]] = []
    for name, sub in properties.items():
        items = sub.get("items")
        if _is_leaf_object(sub):
            leaf_objects.append((name, frozenset(sub["properties"]), f"{prefix}{name}."))
        elif "array" in _types(sub) and isinstance(items, dict) and _is_leaf_object(items):
            item_keys = frozenset(items["properties"])
            leaf_arrays.append((name, item_keys, f"{prefix}{name}[].", item_keys.issuperset))
        elif (handler := _handler(sub, prefix + name)) is not None:
            nested.append((name, handler))
    if not strict and not (leaf_objects or leaf_arrays or nested):
        return None

    def prune(record: dict[str, Any], dropped: set[str]) -> None:
        if strict and not known.issuperset(record):
            _drop_unknown(record, known, prefix, dropped)
        for name, sub_known, sub_prefix in leaf_objects:
            value = record.get(name)
            if type(value) is dict and not sub_known.issuperset(value):
                _drop_unknown(value, sub_known, sub_prefix, dropped)
        for name, sub_known, sub_prefix, all_known in leaf_arrays:
            values = record.get(name)
            if type(values) is list and not _all_known(all_known, values):
                for value in values:
                    if type(value) is dict and not sub_known.issuperset(value):
                        _drop_unknown(value, sub_known, sub_prefix, dropped)
        for name, handler in nested:
            value = record.get(name)
            if value is not None:
                handler(value, dropped)

    return prune


def compile_projector(schema: dict[str, Any]) -> Projector:
    """A function that removes, in place, every key of a record its schema does not declare.

    Only objects whose schema says `additionalProperties: false` are pruned; free-form objects
    are left as they are.

    Args:
        schema: The stream's JSON schema (an object schema).

    Returns:
        A function taking a record and returning the dotted paths it removed (usually none).
    """
    prune = _object_pruner(schema, "")

    def project(record: dict[str, Any]) -> set[str]:
        dropped: set[str] = set()
        if prune is not None:
            prune(record, dropped)
        return dropped

    return project


def _checker_type(schema: dict[str, Any], path: str) -> Any:  # noqa: ANN401 -- a type
    """The msgspec type that accepts a value at `path` only when nothing in it needs pruning.

    Strict objects become structs that forbid unknown fields, and arrays of them lists of
    such structs; anything the projection never prunes is `Any`. A value of another shape
    than the schema's object or array (a string where an object is declared...) is refused
    too: the caller then takes the exact, slower way.
    """
    if _handler(schema, path) is None:
        return Any
    if _is_object(schema):
        checker = _struct_for(schema, path)
        return checker | None if "null" in _types(schema) else checker
    item_type = _checker_type(schema["items"], f"{path}[]")  # (only arrays are left)
    return list[item_type] | None if "null" in _types(schema) else list[item_type]  # type: ignore[valid-type]


def _struct_for(schema: dict[str, Any], path: str) -> type[msgspec.Struct]:
    """A struct for an object schema (see `_checker_type`)."""
    prefix = f"{path}." if path else ""
    fields = [
        (
            f"f{index}",  # (attribute names of our own: a JSON key need not be an identifier)
            _checker_type(sub, prefix + name),
            msgspec.field(default=msgspec.UNSET, name=name),
        )
        for index, (name, sub) in enumerate((schema.get("properties") or {}).items())
    ]
    strict = schema.get("additionalProperties") is False
    return msgspec.defstruct(f"Checked_{path or 'record'}", fields, forbid_unknown_fields=strict)


class RecordChecker:
    """Reads a record's JSON text without building it: `None` unless nothing needs dropping.

    The text is decoded into structs compiled from the schema (`_checker_type`): the decode
    fails exactly where the projector would drop a key, or where a value has a shape the
    structs do not take. The `plain` top-level properties come back as ordinary JSON values
    (dicts, lists...), for the fields the stream reads or derives from.
    """

    def __init__(self, schema: dict[str, Any], plain: tuple[str, ...]) -> None:
        """Compile the schema (once per stream).

        Args:
            schema: The stream's JSON schema (an object schema).
            plain: Top-level properties to return as plain values (absent ones are left out).
        """
        names = list(schema.get("properties") or {})
        self._plain = tuple((name, f"f{names.index(name)}") for name in plain if name in names)
        self._decode = msgspec.json.Decoder(_struct_for(schema, "")).decode

    def __call__(self, text: bytes) -> dict[str, Any] | None:
        """The `plain` properties of a record that needs no pruning; None for any other.

        Args:
            text: One record: a JSON object.

        Returns:
            The plain properties present in the record, or None when the record has a key to
            drop, a value of another shape than its schema's, or is not valid JSON.
        """
        try:
            checked = self._decode(text)
        except msgspec.DecodeError:  # (ValidationError included)
            return None
        values = {}
        for name, attribute in self._plain:
            value = getattr(checked, attribute)
            if value is not msgspec.UNSET:
                values[name] = _to_builtins(value)  # (structs as dicts, their absent keys left out)
        return values


_to_builtins = msgspec.to_builtins
