"""Periods and due dates on China's working-day calendar (pipeline/config/calendar.py)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from pipeline.config.calendar import (
    DueRule,
    Period,
    is_working_day,
    latest_period_due,
    period_range,
)
from pipeline.errors import ConfigError

D = dt.date


# --- Period ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07", Period(2026, 7)),
        ("2026-12", Period(2026, 12)),
        ("2026-01", Period(2026, 1)),
        (" 2026-10 \n", Period(2026, 10)),
    ],
)
def test_period_parse(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-7", "2026-13", "2026-00", "26-07", "2026/07", "2026-07-01", "", "abc", "202607"]
)
def test_period_parse_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="报告期") as err:
        Period.parse(text, "month")
    message = str(err.value)
    assert f"“{text}”" in message and "2026-07" in message
    if text in ("2026-13", "2026-00"):
        assert "月份无效" in message


def test_period_str_pads_and_label_is_chinese() -> None:
    assert str(Period(2026, 7)) == "2026-07"
    assert str(Period(2026, 10)) == "2026-10"
    assert Period(2026, 7).label() == "2026年7月"
    assert Period(2026, 10).label() == "2026年10月"
    assert Period.parse(str(Period(2025, 3))) == Period(2025, 3)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-07", 1, "2026-08"),
        ("2026-12", 1, "2027-01"),
        ("2026-01", -1, "2025-12"),
        ("2026-07", 0, "2026-07"),
        ("2026-07", 18, "2028-01"),
        ("2026-07", -19, "2024-12"),
        ("2026-03", -14, "2025-01"),
    ],
)
def test_period_shift(start: str, months: int, expected: str) -> None:
    assert str(Period.parse(start).shift(months)) == expected


def test_period_order_months_since_and_range() -> None:
    a, b = Period(2025, 11), Period(2026, 2)
    assert a < b
    assert sorted([b, a]) == [a, b]
    assert b.months_since(a) == 3
    assert a.months_since(b) == -3
    assert [str(p) for p in period_range(a, b)] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert period_range(b, b) == [b]
    assert period_range(b, a) == []
    assert Period.containing(D(2026, 2, 28)) == b
    assert b.first_day() == D(2026, 2, 1)


def test_latest_period_due_is_last_complete_month() -> None:
    assert latest_period_due(D(2026, 10, 15)) == Period(2026, 9)
    assert latest_period_due(D(2026, 1, 1)) == Period(2025, 12)
    assert latest_period_due(D(2026, 3, 31)) == Period(2026, 2)


# --- due dates -------------------------------------------------------------------------


def test_national_day_holiday_moves_the_due_date() -> None:
    # 2026-10-01..07 is the National Day holiday; the 8th is the first working day.
    assert all(chinese_calendar.is_holiday(D(2026, 10, d)) for d in range(1, 8))
    assert DueRule().due_date(Period(2026, 9)) == (D(2026, 10, 8), True)


def test_sunday_first_moves_to_monday() -> None:
    assert D(2026, 11, 1).weekday() == 6
    assert DueRule().due_date(Period(2026, 10)) == (D(2026, 11, 2), True)
    assert D(2026, 2, 1).weekday() == 6
    assert chinese_calendar.is_workday(D(2026, 2, 2))
    assert DueRule().due_date(Period(2026, 1)) == (D(2026, 2, 2), True)


def test_working_day_first_is_not_moved() -> None:
    assert D(2026, 12, 1).weekday() == 1
    assert DueRule().due_date(Period(2026, 11)) == (D(2026, 12, 1), True)


def test_new_year_holiday_rolls_onto_a_make_up_sunday() -> None:
    # 2026-01-01..03 are the New Year holiday; Sunday 2026-01-04 is a make-up working day.
    assert not any(chinese_calendar.is_workday(D(2026, 1, d)) for d in (1, 2, 3))
    assert D(2026, 1, 4).weekday() == 6
    assert chinese_calendar.is_workday(D(2026, 1, 4))
    assert DueRule().due_date(Period(2025, 12)) == (D(2026, 1, 4), True)


def _make_up_saturdays() -> list[dt.date]:
    days = []
    for year in (2025, 2026):
        day = D(year, 1, 1)
        while day.year == year:
            if day.weekday() == 5 and chinese_calendar.is_workday(day):
                days.append(day)
            day += dt.timedelta(days=1)
    return days


def test_due_date_on_a_make_up_saturday_stays() -> None:
    saturdays = _make_up_saturdays()
    assert D(2026, 10, 10) in saturdays  # 调休 after the 2026 National Day holiday
    for saturday in saturdays:
        rule = DueRule(day=saturday.day)
        period = Period.containing(saturday).shift(-1)
        assert rule.due_date(period) == (saturday, True), saturday


def test_due_date_on_a_make_up_saturday_known_case() -> None:
    # Plain weekend logic would give Monday 2026-10-12; the Saturday is a working day.
    assert DueRule(day=10).due_date(Period(2026, 9)) == (D(2026, 10, 10), True)


def test_due_date_is_always_the_first_working_day_on_or_after_the_1st() -> None:
    for period in period_range(Period(2025, 1), Period(2026, 11)):
        due, covered = DueRule().due_date(period)
        first = period.shift(1).first_day()
        assert covered
        assert chinese_calendar.is_workday(due), period
        assert first <= due < first + dt.timedelta(days=15)
        day = first
        while day < due:
            assert not chinese_calendar.is_workday(day), (period, day)
            day += dt.timedelta(days=1)


def test_uncovered_year_falls_back_to_weekends() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2031, 2, 3))
    # 2031-02-01 is a Saturday: weekends alone give Monday the 3rd, and the caller is told.
    assert D(2031, 2, 1).weekday() == 5
    assert DueRule().due_date(Period(2031, 1)) == (D(2031, 2, 3), False)
    # A weekday is taken as is, even though it may really be a holiday.
    assert DueRule().due_date(Period(2031, 3)) == (D(2031, 4, 1), False)
    assert is_working_day(D(2031, 2, 1)) == (False, False)
    assert is_working_day(D(2031, 2, 3)) == (True, False)
    assert is_working_day(D(2026, 10, 1)) == (False, True)


def test_day_past_month_end_uses_last_day() -> None:
    # September has 30 days; 2026-09-30 is a Wednesday and a working day.
    assert DueRule(day=31).due_date(Period(2026, 8)) == (D(2026, 9, 30), True)
    # No rolling: the last day is kept whatever it is.
    assert DueRule(day=31, roll_to_working_day=False).due_date(Period(2026, 10)) == (
        D(2026, 11, 30),
        True,
    )
    # February: 28 days in 2026 (a make-up working Saturday), 29 in 2028.
    assert DueRule(day=30).due_date(Period(2026, 1)) == (D(2026, 2, 28), True)
    assert DueRule(day=31, roll_to_working_day=False).due_date(Period(2028, 1)) == (
        D(2028, 2, 29),
        True,
    )


def test_months_after_and_no_roll() -> None:
    # "每月30日前": the notice's other reading, due in the period's own month.
    assert DueRule(day=30, months_after=0).due_date(Period(2026, 9)) == (D(2026, 9, 30), True)
    # Without rolling, a holiday is kept as the due date.
    assert DueRule(roll_to_working_day=False).due_date(Period(2026, 9)) == (D(2026, 10, 1), True)
    assert DueRule(months_after=2).due_date(Period(2026, 8)) == (D(2026, 10, 8), True)
