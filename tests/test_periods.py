"""Periods of every kind: keys, labels, arithmetic over year ends, and due dates moved by
the Spring Festival and National Day holidays with their make-up working days (调休).

The holiday facts are the State Council's 2026 plan, written here as dates so that a
wrong holiday table in the library would fail these tests rather than agree with itself:
春节 15–23 February (make-up Saturdays 14 and 28 February), 国庆节 1–7 October (make-up
Sunday 20 September and Saturday 10 October), 元旦 1–3 January (make-up Sunday 4 January).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from pipeline.config.calendar import (
    KINDS,
    DueRule,
    Kind,
    Period,
    default_due,
    latest_period_due,
    open_periods,
    period_range,
)
from pipeline.errors import ConfigError

D = dt.date


# --- keys and labels --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "label", "first", "last"),
    [
        ("2026-W27", "2026年第27周（6月29日—7月5日）", D(2026, 6, 29), D(2026, 7, 5)),
        ("2026-07a", "2026年7月上半月", D(2026, 7, 1), D(2026, 7, 15)),
        ("2026-02b", "2026年2月下半月", D(2026, 2, 16), D(2026, 2, 28)),
        ("2028-02b", "2028年2月下半月", D(2028, 2, 16), D(2028, 2, 29)),
        ("2026-07", "2026年7月", D(2026, 7, 1), D(2026, 7, 31)),
        ("2026-B4", "2026年7—8月", D(2026, 7, 1), D(2026, 8, 31)),
        ("2026-B1", "2026年1—2月", D(2026, 1, 1), D(2026, 2, 28)),
        ("2026-Q3", "2026年第三季度", D(2026, 7, 1), D(2026, 9, 30)),
        ("2026-Q4", "2026年第四季度", D(2026, 10, 1), D(2026, 12, 31)),
        ("2026-H2", "2026年下半年", D(2026, 7, 1), D(2026, 12, 31)),
        ("2026", "2026年", D(2026, 1, 1), D(2026, 12, 31)),
    ],
)
def test_key_label_and_days(key: str, label: str, first: dt.date, last: dt.date) -> None:
    period = Period.parse(key)
    assert str(period) == key
    assert period.label() == label
    assert (period.first_day(), period.last_day()) == (first, last)
    # What the form says reads back as the same period.
    assert Period.parse(label.split("（")[0]) == period
    assert Period.containing(first, period.kind) == period
    assert Period.containing(last, period.kind) == period


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("2026年第3季度", "2026-Q3"),
        ("2026 年 7 月 上半月", "2026-07a"),
        ("2026-07下半月", "2026-07b"),
        ("2026年7-8月", "2026-B4"),
        ("2026年上半年", "2026-H1"),
        ("2026年度", "2026"),
        ("2026年第5周", "2026-W05"),
    ],
)
def test_periods_as_clerks_write_them(written: str, key: str) -> None:
    assert str(Period.parse(written)) == key


@pytest.mark.parametrize(
    "text", ["2026-W54", "2025-W53", "2026-13a", "2026-B7", "2026-Q5", "2026-H3", "2026年8—9月"]
)
def test_periods_that_do_not_exist_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="报告期"):
        Period.parse(text)


def test_a_period_of_another_kind_is_refused_saying_how_to_write_it() -> None:
    with pytest.raises(ConfigError, match="本工作按季度报送，应写作 2026-Q3"):
        Period.parse("2026-07", "quarter")
    assert Period.parse("2026年第三季度", "quarter") == Period(2026, 3, "quarter")


# --- arithmetic over year ends ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "steps", "expected"),
    [
        # 2026 has 53 ISO weeks (1 January 2026 is a Thursday); 2025 has 52.
        ("2026-W52", 1, "2026-W53"),
        ("2026-W53", 1, "2027-W01"),
        ("2025-W52", 1, "2026-W01"),
        ("2026-W01", -1, "2025-W52"),
        ("2026-12b", 1, "2027-01a"),
        ("2027-01a", -1, "2026-12b"),
        ("2026-01a", -3, "2025-11b"),
        ("2026-B6", 1, "2027-B1"),
        ("2027-B1", -7, "2025-B6"),
        ("2026-Q4", 1, "2027-Q1"),
        ("2026-Q1", -5, "2024-Q4"),
        ("2026-H2", 1, "2027-H1"),
        ("2026", 2, "2028"),
        ("2026-12", 1, "2027-01"),
    ],
)
def test_shift_over_year_ends(key: str, steps: int, expected: str) -> None:
    period = Period.parse(key)
    assert str(period.shift(steps)) == expected
    assert period.shift(steps).steps_since(period) == steps


@pytest.mark.parametrize("kind", KINDS)
def test_consecutive_periods_tile_the_calendar(kind: Kind) -> None:
    """Over three years every day belongs to exactly one period of each kind, in order."""
    start = Period.containing(D(2025, 1, 1), kind)
    periods = period_range(start, Period.containing(D(2027, 12, 31), kind))
    for a, b in itertools.pairwise(periods):
        assert b.first_day() == a.last_day() + dt.timedelta(days=1), (a, b)
        assert a < b
    assert periods[0].first_day() <= D(2025, 1, 1)
    assert periods[-1].last_day() >= D(2027, 12, 31)
    assert len({str(p) for p in periods}) == len(periods)


def test_iso_week_at_the_year_end_belongs_to_its_iso_year() -> None:
    # Monday 29 December 2025 starts week 1 of 2026; 31 December 2026 is in week 53.
    assert Period.containing(D(2025, 12, 31), "week") == Period(2026, 1, "week")
    assert Period.parse("2026-W01").label() == "2026年第1周（12月29日—1月4日）"
    assert Period.containing(D(2026, 12, 31), "week") == Period(2026, 53, "week")
    assert Period.containing(D(2027, 1, 3), "week") == Period(2026, 53, "week")


def test_last_complete_period_of_every_kind_on_new_years_day() -> None:
    today = D(2027, 1, 1)  # a Friday of ISO week 2026-W53
    assert {k: str(latest_period_due(today, k)) for k in KINDS} == {
        "week": "2026-W52",
        "half": "2026-12b",
        "month": "2026-12",
        "bimonth": "2026-B6",
        "quarter": "2026-Q4",
        "halfyear": "2026-H2",
        "year": "2026",
    }


# --- due dates --------------------------------------------------------------------------

HOLIDAYS_2026 = {
    "spring": [D(2026, 2, d) for d in range(15, 24)],
    "national": [D(2026, 10, d) for d in range(1, 8)],
}
MAKE_UP_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)]


@pytest.mark.parametrize(
    ("key", "rule", "due"),
    [
        # Week, Friday of the same week (the default): ordinary, Spring Festival, National Day.
        ("2026-W07", DueRule(weekday=4), D(2026, 2, 13)),
        ("2026-W08", DueRule(weekday=4), D(2026, 2, 24)),  # Fri 20 Feb off → Tue 24
        ("2026-W40", DueRule(weekday=4), D(2026, 10, 8)),  # Fri 2 Oct off → Thu 8
        # A Saturday/Sunday due date that is a make-up working day stays.
        ("2026-W07", DueRule(weekday=5), D(2026, 2, 14)),
        ("2026-W38", DueRule(weekday=6), D(2026, 9, 20)),
        ("2026-W41", DueRule(weekday=5), D(2026, 10, 10)),
        # Monday of the next week, over the year end: 4 January 2027.
        ("2026-W53", DueRule(weekday=0, weeks_after=1), D(2027, 1, 4)),
        # Half-month: the day after it ends (the default).
        ("2026-02a", DueRule(days_after=1), D(2026, 2, 24)),  # 16 Feb off → 24
        ("2026-02b", DueRule(days_after=1), D(2026, 3, 2)),  # Sun 1 Mar → Mon 2
        ("2026-09b", DueRule(days_after=1), D(2026, 10, 8)),
        ("2026-12b", DueRule(days_after=1), D(2027, 1, 4)),  # 2027: 元旦 + weekend
        # Month: 1st of the next month; the year end onto the make-up Sunday.
        ("2025-12", DueRule(), D(2026, 1, 4)),
        ("2026-09", DueRule(), D(2026, 10, 8)),
        # Two months: 1st after; B1 due 1 March (a Sunday) → 2 March.
        ("2026-B1", DueRule(), D(2026, 3, 2)),
        ("2026-B4", DueRule(), D(2026, 9, 1)),
        ("2026-B4", DueRule(day=30, months_after=0), D(2026, 8, 31)),  # Sun 30 Aug → Mon
        # Quarter: 10 days after it ends; Q3 lands in the National Day holiday.
        ("2026-Q3", DueRule(days_after=10), D(2026, 10, 10)),  # Sat, make-up day
        ("2026-Q3", DueRule(days_after=5), D(2026, 10, 8)),
        ("2025-Q4", DueRule(days_after=5), D(2026, 1, 5)),
        # Half-year and year: 1st after.
        ("2026-H1", DueRule(), D(2026, 7, 1)),
        ("2025", DueRule(day=15), D(2026, 1, 15)),
        ("2026", DueRule(), D(2027, 1, 4)),
    ],
)
def test_due_dates_of_every_kind(key: str, rule: DueRule, due: dt.date) -> None:
    assert rule.due_date(Period.parse(key))[0] == due


def test_the_holiday_table_agrees_with_the_state_councils_plan() -> None:
    rule = DueRule()
    for days in HOLIDAYS_2026.values():
        for day in days:
            assert rule.is_working_day(day) == (False, True), day
    for day in MAKE_UP_2026:
        assert day.weekday() >= 5
        assert rule.is_working_day(day) == (True, True), day


def test_a_clerks_declared_days_override_the_library() -> None:
    # The bureau closes on 24 February; and works on Sunday 22 February for a campaign.
    rule = DueRule(weekday=4, holidays=frozenset({D(2026, 2, 24)}))
    assert rule.due_date(Period.parse("2026-W08"))[0] == D(2026, 2, 25)
    rule = DueRule(weekday=4, workdays=frozenset({D(2026, 2, 22)}))
    assert rule.due_date(Period.parse("2026-W08"))[0] == D(2026, 2, 22)


def test_years_the_library_does_not_know_fall_back_and_say_so() -> None:
    # 2027 is not in the library yet: 1 January (元旦, a fixed date) and the weekend are
    # known, the rest of the plan is not, and the caller is told so.
    due, covered = DueRule(days_after=1).due_date(Period.parse("2026-12b"))
    assert (due, covered) == (D(2027, 1, 4), False)


@pytest.mark.parametrize("kind", KINDS)
def test_default_rule_falls_due_soon_after_the_period_or_in_its_week(kind: Kind) -> None:
    rule = default_due(kind)
    last = D(2025, 6, 30) if kind == "year" else D(2026, 6, 30)  # 2027 is not yet known
    for period in period_range(
        Period.containing(D(2024, 1, 1), kind), Period.containing(last, kind)
    ):
        due, covered = rule.due_date(period)
        assert covered
        if kind == "week":  # its own Friday, or the first working day after it
            assert period.first_day() + dt.timedelta(days=4) <= due, period
            assert due <= period.last_day() + dt.timedelta(days=10), period
        else:
            assert period.last_day() < due <= period.last_day() + dt.timedelta(days=12), period


# --- which periods a run collects -------------------------------------------------------


def test_open_periods_for_a_weekly_campaign_include_the_running_week() -> None:
    start = Period.parse("2026-W01")
    # Wednesday 9 September 2026 (W37): last week, and this week whose Friday is coming.
    assert [str(p) for p in open_periods(D(2026, 9, 9), "week", DueRule(weekday=4), start)] == [
        "2026-W36",
        "2026-W37",
    ]
    # Due the Monday after: only last week.
    rule = DueRule(weekday=0, weeks_after=1)
    assert [str(p) for p in open_periods(D(2026, 9, 9), "week", rule, start)] == ["2026-W36"]


def test_open_periods_never_before_the_campaigns_start() -> None:
    start = Period.parse("2026-Q3")
    assert open_periods(D(2026, 8, 1), "quarter", DueRule(), start) == []
    assert [str(p) for p in open_periods(D(2026, 10, 9), "quarter", DueRule(), start)] == [
        "2026-Q3"
    ]
