"""JSON schemas of the streams, from Deel's OpenAPI spec (2026-01-01) and older payloads.

Every field except a record's `id` may be null or absent: Deel leaves out fields a token may
not see, and older payloads sent nulls the spec does not mention. Ids that older payloads sent
as numbers (`worker_id`, `client_legal_entity.id`, `team.id`, `direct_manager.worker_id`) are
accepted as a string or an integer. Objects do not allow unknown keys, so a record always
matches its schema exactly; a field Deel adds later is dropped (with one warning) until it is
added here.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

STRING = th.StringType
DATE = th.DateType
DATETIME = th.DateTimeType
BOOLEAN = th.BooleanType
INTEGER = th.IntegerType
NUMBER = th.NumberType

# A nullable union, e.g. an id that is a string today and was a number in older payloads.
STRING_OR_INTEGER = th.CustomType({"type": ["string", "integer", "null"]})
STRING_OR_NUMBER = th.CustomType({"type": ["string", "number", "null"]})
BOOLEAN_OR_STRING = th.CustomType({"type": ["boolean", "string", "null"]})
# An object of any keys, declared without `properties`: flattening (the SDK's, a target's) then
# keeps it whole as one JSON value instead of looking for sub-fields and finding none.
FREE_FORM_OBJECT = th.CustomType({"type": ["object", "null"], "additionalProperties": True})
STRING_OR_STRINGS = th.CustomType(
    {"type": ["string", "array", "null"], "items": {"type": "string"}}  # an array in old SDKs
)


def obj(*properties: th.Property[Any]) -> th.ObjectType:
    """A nullable object that allows exactly the given properties."""
    return th.ObjectType(*properties, additional_properties=False, nullable=True)


def array_of(item: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]]) -> th.ArrayType[Any]:
    """A nullable array."""
    return th.ArrayType(item, nullable=True)


def record_id(
    kind: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]] = STRING,
) -> th.Property[Any]:
    """The primary key: required and never null."""
    return th.Property("id", kind, required=True)


def props(*names: str) -> list[th.Property[Any]]:
    """Nullable string properties."""
    return [th.Property(name, STRING) for name in names]


def schema(*properties: th.Property[Any]) -> dict[str, Any]:
    """A stream schema (top level allows exactly the given properties)."""
    return th.PropertiesList(*properties, additional_properties=False).to_dict()


# -- people -----------------------------------------------------------------------------------

NAMED_REF = obj(th.Property("id", STRING_OR_INTEGER), th.Property("name", STRING))

EMAIL = obj(*props("type", "value"))

ADDRESS = obj(*props("streetAddress", "locality", "region", "postalCode", "country"))

DEPARTMENT_REF = obj(*props("id", "name", "parent"))

DIRECT_MANAGER = obj(
    *props("id", "first_name", "last_name", "work_email"),
    th.Property("worker_id", STRING_OR_INTEGER),
)

DIRECT_REPORT = obj(*props("id", "first_name", "last_name", "work_email"))

PAYMENT = obj(
    th.Property("rate", STRING_OR_NUMBER),  # a string for PEO on /people/{id}
    *props("scale", "currency", "contract_name"),
)

INVITATION = obj(
    *props("oid", "status", "timezone"),
    th.Property("send_at", DATETIME),
)

EMPLOYMENT = obj(
    *props("id", "name", "email", "work_email", "state", "country", "timezone"),
    th.Property("team", NAMED_REF),
    *props("job_title", "seniority", "hiring_type", "hiring_status", "new_hiring_status"),
    th.Property("start_date", DATE),
    th.Property("contract_status", STRING),
    th.Property("is_ended", BOOLEAN),
    th.Property("contract_is_archived", BOOLEAN),
    th.Property("is_user_contract_deleted", BOOLEAN),
    th.Property("contract_has_contractor", BOOLEAN),
    th.Property("termination_last_day", DATETIME),
    th.Property("completion_date", STRING),
    th.Property("voluntarily_left", BOOLEAN_OR_STRING),
    th.Property("has_eor_termination", BOOLEAN_OR_STRING),
    th.Property("payment", PAYMENT),
    th.Property("client_legal_entity", NAMED_REF),
    th.Property("contract_coverage", STRING_OR_STRINGS),
    th.Property("band_placement", STRING),
    th.Property("comparative_ratio", NUMBER),
    th.Property("compensation_band_id", STRING),
    th.Property("hris_direct_employee_invitation", INVITATION),
)

PEOPLE = schema(
    record_id(),
    th.Property("worker_id", STRING_OR_INTEGER),
    *props(
        "external_id",
        "first_name",
        "last_name",
        "full_name",
        "preferred_first_name",
        "preferred_last_name",
    ),
    th.Property("emails", array_of(EMAIL)),
    th.Property("birth_date", STRING),
    th.Property("start_date", DATE),
    th.Property("created_at", DATETIME),
    th.Property("updated_at", DATETIME),
    th.Property("completion_date", STRING),
    *props("hiring_status", "new_hiring_status", "person_status", "hiring_type"),
    th.Property("is_pwac", BOOLEAN),
    *props("job_title", "seniority"),
    th.Property("department", DEPARTMENT_REF),
    *props("work_location", "country", "state", "timezone"),
    th.Property("nationalities", array_of(STRING)),
    th.Property("addresses", array_of(ADDRESS)),
    th.Property("client_legal_entity", NAMED_REF),
    th.Property("direct_manager", DIRECT_MANAGER),
    th.Property("direct_reports", array_of(DIRECT_REPORT)),
    th.Property("direct_reports_count", INTEGER),
    th.Property("employments", array_of(EMPLOYMENT)),
    th.Property("hris_organization_user_id", STRING),
    th.Property("active_worker_termination_status", STRING),
    th.Property("direct_employee_termination_last_day", DATETIME),
    # Derived by the tap (docs/sync-rules.md); see derived.py.
    th.Property(
        "work_email",
        STRING,
        description="Derived: the work address from emails[], else from the employments.",
    ),
    th.Property(
        "active",
        th.BooleanType(nullable=False),
        required=True,
        description="Derived: hiring_status is one of the setting active_hiring_statuses.",
    ),
    th.Property(
        "team",
        STRING,
        description="Derived: team.name of the primary employment.",
    ),
    th.Property(
        "last_day",
        DATE,
        description=(
            "Derived: the date part (YYYY-MM-DD) of direct_employee_termination_last_day, "
            "else of the primary employment's termination_last_day."
        ),
    ),
)

# -- organisation data --------------------------------------------------------------------------

CONTRACTS = schema(
    record_id(),
    *props("title", "type", "status", "scale", "external_id", "who_reports"),
    th.Property("client", obj(th.Property("team", NAMED_REF))),
    th.Property(
        "worker",
        obj(
            *props("id", "full_name", "email", "image"),
            th.Property(
                "alternate_email",
                array_of(obj(th.Property("email", STRING), th.Property("isVerified", BOOLEAN))),
            ),
        ),
    ),
    th.Property("created_at", DATETIME),
    th.Property("termination_date", DATETIME),
    th.Property("is_archived", BOOLEAN),
    th.Property("is_shielded", BOOLEAN),
    th.Property("invitations", obj(*props("client_email", "worker_email"))),
    th.Property(
        "signatures",
        obj(
            th.Property("client_signed_at", DATETIME),
            th.Property("worker_signature", STRING),
            th.Property("worker_signed_at", DATETIME),
        ),
    ),
    th.Property("notice_period", NUMBER),
    th.Property(
        "cost_centers",
        array_of(obj(*props("name", "number"), th.Property("allocation_percentage", NUMBER))),
    ),
)

LEGAL_ENTITIES = schema(
    record_id(),
    *props("name", "country", "entity_type", "entity_subtype", "vat_id", "phone"),
    *props("sic_number", "registrationNumber", "industry_name"),
    th.Property("created_at", DATETIME),
    th.Property("updated_at", DATETIME),
    th.Property("archived_at", DATETIME),
    th.Property("address", obj(*props("street", "city", "state", "zip", "country"))),
)

GROUPS = schema(
    record_id(),
    *props("name", "status"),
    th.Property("managers", INTEGER, description="Number of managers of the group."),
    th.Property("created_at", DATETIME),
    th.Property("updated_at", DATETIME),
    th.Property("archived_at", DATETIME),
    th.Property(
        "external_metadata",
        FREE_FORM_OBJECT,
        description="Free-form metadata set by an external system.",
    ),
)

MANAGERS = schema(record_id(), *props("email", "first_name", "last_name"))

TEAMS = schema(record_id(), *props("name"))

DEPARTMENTS = schema(
    record_id(),
    *props("name"),
    th.Property("parent", STRING, description="Id of the parent department."),
)

WORKING_LOCATIONS = schema(
    record_id(th.CustomType({"type": ["integer", "string"]})), *props("name")
)

ORGANIZATIONS = schema(record_id(), *props("name"))
