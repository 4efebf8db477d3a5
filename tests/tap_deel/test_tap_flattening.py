"""Flattened output (the SDK's `flattening_enabled`, as tap-deel-all runs it) loses nothing.

One level of nested objects becomes `parent__child` columns and lists become JSON text; a
free-form object such as `groups.external_metadata` must stay one JSON value, whatever keys it
holds, rather than being looked into for sub-fields no schema lists.
"""

from __future__ import annotations

import json

from singer_sdk.helpers._flattening import flatten_record, flatten_schema
from tap_deel import schemas

from tests.emulators.workforce import generate_workforce


def test_free_form_metadata_stays_one_json_value() -> None:
    flat = flatten_schema(schemas.GROUPS, max_level=1)
    assert flat["properties"]["external_metadata"]["type"] == ["string", "null"]
    group = {"id": "g", "name": "G", "external_metadata": {"source": {"system": "okta", "n": 1}}}
    record = flatten_record(group, flat, max_level=1)
    assert set(record) <= set(flat["properties"])
    assert json.loads(record["external_metadata"]) == group["external_metadata"]


def test_people_flatten_to_named_columns_and_json_lists() -> None:
    flat = flatten_schema(schemas.PEOPLE, max_level=1)
    for person in generate_workforce(40, seed=3).people:
        record = flatten_record(person, flat, max_level=1)
        assert set(record) <= set(flat["properties"]) | {"department", "direct_manager"}
        if person["department"]:
            assert record["department__name"] == person["department"]["name"]
        if person["direct_manager"]:
            assert record["direct_manager__id"] == person["direct_manager"]["id"]
        assert json.loads(record["employments"]) == person["employments"]
