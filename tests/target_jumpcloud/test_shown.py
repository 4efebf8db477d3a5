"""`shown`: the one way a bad value is quoted in a config error, a reason or a warning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.shown import SHOWN_WIDTH, shown

VALUES = st.one_of(st.text(), st.integers(), st.lists(st.text(max_size=5)), st.none())


@given(VALUES, st.integers(min_value=4, max_value=120))
def test_a_value_is_its_repr_cut_to_the_width(value, width):
    text = shown(value, width)
    assert len(text) <= width
    whole = repr(value)
    assert text == whole if len(whole) <= width else text == whole[: width - 3] + "..."


def test_the_default_width_and_a_typical_message():
    assert shown("x" * 100).endswith("...")
    assert len(shown("x" * 100)) == SHOWN_WIDTH
    assert shown("soon") == "'soon'"
