"""Usernames of new users are given in order of start date, then stream order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.model import ActionKind, DesiredUser
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.sync.directory import Directory
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record

from tests.target_jumpcloud.target_io_helpers import person


def _sam(profile_id: str, start: str | None) -> dict[str, object]:
    return person(profile_id, "Sam", "Lee", email=f"{profile_id}@acme.example", start_date=start)


def _usernames(records: list[dict[str, object]]) -> dict[str, str]:
    mapped = [map_record(r, DEFAULT_MAPPING, i) for i, r in enumerate(records)]
    plan = plan_sync(mapped, Directory([]), PlanOptions())
    return {
        a.desired.profile_id: str(a.username) for a in plan.actions if a.kind is ActionKind.CREATE
    }


def test_the_earliest_start_date_keeps_the_plain_name_whatever_the_stream_order():
    # Stream order as the tap pages it: by random profile id, not by start date.
    records = [_sam("f3", "2025-03-01"), _sam("0a", "2025-01-15"), _sam("9c", "2025-02-01")]
    assert _usernames(records) == {"0a": "sam.lee", "9c": "sam.lee1", "f3": "sam.lee2"}


def test_records_without_a_start_date_come_after_those_with_one():
    records = [_sam("p1", None), _sam("p2", "2026-06-01"), _sam("p3", "not a date")]
    assert _usernames(records) == {"p2": "sam.lee", "p1": "sam.lee1", "p3": "sam.lee2"}


def test_the_same_start_date_keeps_stream_order():
    records = [_sam("p2", "2025-01-01"), _sam("p1", "2025-01-01")]
    assert _usernames(records) == {"p2": "sam.lee", "p1": "sam.lee1"}


def test_a_date_time_counts_by_its_date_and_a_bad_date_warns():
    mapped = map_record(_sam("p1", "2025-01-05T23:00:00Z"), DEFAULT_MAPPING, 0)
    assert isinstance(mapped, DesiredUser)
    assert mapped.start_date == "2025-01-05"
    assert mapped.warnings == ()
    bad = map_record(_sam("p2", "05/01/2025"), DEFAULT_MAPPING, 0)
    assert isinstance(bad, DesiredUser)
    assert bad.start_date is None
    assert bad.warnings == (
        "start_date ignored: start_date is '05/01/2025', not a date (YYYY-MM-DD)",
    )


def test_start_date_is_never_sent_to_jumpcloud():
    mapped = [map_record(_sam("p1", "2025-01-05"), DEFAULT_MAPPING, 0)]
    (action,) = plan_sync(mapped, Directory([]), PlanOptions()).actions
    assert "start_date" not in action.payload
    assert "start_date" not in action.desired.attributes


_DATES = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))


@given(st.lists(_DATES, min_size=1, max_size=8, unique=True), st.randoms(use_true_random=False))
def test_distinct_start_dates_give_the_same_names_in_any_stream_order(dates, rnd):
    records = [_sam(f"p{i}", start) for i, start in enumerate(dates)]
    shuffled = records[:]
    rnd.shuffle(shuffled)
    assert _usernames(shuffled) == _usernames(records)
