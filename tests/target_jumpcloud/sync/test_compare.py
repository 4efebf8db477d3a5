"""The one comparison rule: trimmed; null, missing and "" equal; emails ignore case.

The planner (`diff_attributes`) and the drift check (`same_value`) both use it; the
properties check that they can never disagree about what is unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.sync.compare import diff_attributes, same_value, trimmed

ATTRIBUTES = st.sampled_from(["jobTitle", "email", "department"])
#: Short texts with the whitespace and case that the rule must see through.
TEXTS = st.one_of(st.none(), st.text(alphabet=st.sampled_from("aAbB@. \t\n\u00a0"), max_size=6))
VALUES = st.dictionaries(ATTRIBUTES, TEXTS)


@pytest.mark.parametrize(
    ("desired", "current", "expected"),
    [
        ({"jobTitle": "A"}, {"jobTitle": "A"}, {}),
        ({"jobTitle": "A"}, {"jobTitle": "B"}, {"jobTitle": ("B", "A")}),
        ({"jobTitle": " A "}, {"jobTitle": "A  "}, {}),
        ({"jobTitle": "A"}, {"jobTitle": " B "}, {"jobTitle": ("B", "A")}),
        ({"jobTitle": "A"}, {}, {"jobTitle": (None, "A")}),
        ({"jobTitle": "A"}, {"jobTitle": ""}, {"jobTitle": (None, "A")}),
        ({"jobTitle": "A"}, {"jobTitle": None}, {"jobTitle": (None, "A")}),
        ({"jobTitle": None}, {"jobTitle": "B"}, {}),  # empty never clears
        ({"jobTitle": ""}, {"jobTitle": "B"}, {}),
        ({"jobTitle": "  "}, {"jobTitle": "B"}, {}),
        ({"jobTitle": None}, {}, {}),
        ({"jobTitle": "a"}, {"jobTitle": "A"}, {"jobTitle": ("A", "a")}),  # case matters here
        ({"email": "Ada@X.io"}, {"email": "ada@x.IO"}, {}),  # but not for email
        ({"email": "ada@x.io"}, {"email": "bob@x.io"}, {"email": ("bob@x.io", "ada@x.io")}),
        ({"email": "ada@x.io"}, {}, {"email": (None, "ada@x.io")}),
        (
            {"employeeIdentifier": "P1"},
            {"employeeIdentifier": "p1"},
            {"employeeIdentifier": ("p1", "P1")},
        ),
        (
            {"jobTitle": "A", "department": "D", "company": None},
            {"jobTitle": "A", "department": "E", "company": "C"},
            {"department": ("E", "D")},
        ),
    ],
)
def test_diff_attributes(desired, current, expected):
    assert diff_attributes(desired, current) == expected


def test_diff_ignores_attributes_not_desired():
    assert diff_attributes({"jobTitle": "A"}, {"jobTitle": "A", "middlename": "Q"}) == {}


@given(VALUES, VALUES)
def test_diff_then_apply_leaves_no_diff(desired, current):
    changes = diff_attributes(desired, current)
    updated = {**current, **{k: new for k, (_, new) in changes.items()}}
    assert diff_attributes(desired, updated) == {}
    for old, new in changes.values():
        assert new is not None
        assert new == new.strip()
        assert old != new


@given(ATTRIBUTES, TEXTS, TEXTS)
def test_same_value_is_symmetric_and_sees_through_whitespace(attribute, left, right):
    assert same_value(attribute, left, left)
    assert same_value(attribute, left, right) == same_value(attribute, right, left)
    padded = None if left is None else f"  {left}\t"
    assert same_value(attribute, padded, right) == same_value(attribute, left, right)


@given(ATTRIBUTES, st.sampled_from([None, "", " ", "\t\n"]), st.sampled_from([None, "", "  "]))
def test_null_missing_and_blank_are_the_same(attribute, left, right):
    assert same_value(attribute, left, right)
    assert trimmed(left) is None
    assert diff_attributes({attribute: left}, {}) == {}  # an empty value never clears


@given(st.text(alphabet="abcXYZ@.", min_size=1, max_size=8))
def test_only_email_ignores_case(text):
    assert same_value("email", text.upper(), text.lower())
    assert same_value("jobTitle", text.upper(), text.lower()) == (text.upper() == text.lower())


@given(VALUES, VALUES)
def test_the_planner_and_the_drift_check_agree(desired, current):
    # What the planner leaves alone the drift check calls the same, and the reverse.
    changes = diff_attributes(desired, current)
    for attribute, value in desired.items():
        if trimmed(value) is None:
            assert attribute not in changes
        else:
            assert (attribute in changes) == (
                not same_value(attribute, value, current.get(attribute))
            )
    for attribute, (old, new) in changes.items():
        assert same_value(attribute, old, current.get(attribute))  # `old` is what is there
        assert same_value(attribute, new, desired[attribute])  # `new` is what is wanted
