"""Periods and due dates on China's working-day calendar.

A period is a month, written ``YYYY-MM``. The annex says returns are due on the 1st of the
following month, moved to the next working day when that is a weekend or public holiday;
``chinesecalendar`` knows the State Council's holiday plan including make-up working days
(调休), so a Saturday that is a working day counts as one. For a year the library does not
yet cover, weekends alone are used and the caller is told so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import chinese_calendar

from pipeline.errors import ConfigError

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PERIOD_RE.match(str(text).strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ConfigError(f"period must look like YYYY-MM, not {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def containing(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    def last_day(self) -> dt.date:
        return self.shift(1).first_day() - dt.timedelta(days=1)

    def label(self) -> str:
        """Chinese form used on sheets: ``2026年10月``."""
        return f"{self.year}年{self.month}月"

    def months_since(self, other: Period) -> int:
        return (self.year - other.year) * 12 + (self.month - other.month)


def period_range(first: Period, last: Period) -> list[Period]:
    return [first.shift(i) for i in range(last.months_since(first) + 1)]


# Public holidays on fixed dates every year (元旦, 劳动节, 国庆节), used for a year the
# holiday library does not cover yet; the lunar ones and make-up days are unknown then.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """Return (is working day, whether the holiday calendar covered the date)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS, False


@dataclass(frozen=True)
class DueRule:
    """When a period's return is due: day ``day`` of the month ``months_after`` later."""

    day: int = 1
    months_after: int = 1
    roll_to_working_day: bool = True
    # Days the clerk declares (from the State Council's notice) for years the
    # holiday library does not cover yet; they take precedence over it.
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> tuple[bool, bool]:
        if day in self.workdays:
            return True, True
        if day in self.holidays:
            return False, True
        return is_working_day(day)

    def describe(self) -> str:
        """The rule in words, as the forms and mails state it."""
        after = {1: "下个月", 2: "下下个月"}.get(self.months_after, f"{self.months_after}个月后")
        text = (
            f"{after}{self.day}日前上报本月情况"
            if self.day > 1
            else f"每月{self.day}日上报前一个月情况"
        )
        if self.months_after != 1 and self.day == 1:
            text = f"{after}1日上报"
        if self.roll_to_working_day:
            text += "，逢节假日顺延至下一个工作日"
        return text

    def due_date(self, period: Period) -> tuple[dt.date, bool]:
        """The due date and whether the holiday calendar covered it (else weekends only)."""
        target = period.shift(self.months_after)
        # A day past the month's end (e.g. 30 in February) means the month's last day.
        last = (target.shift(1).first_day() - dt.timedelta(days=1)).day
        day = dt.date(target.year, target.month, min(self.day, last))
        covered = True
        if self.roll_to_working_day:
            for _ in range(60):
                working, known = self.is_working_day(day)
                covered = covered and known
                if working:
                    break
                day += dt.timedelta(days=1)
        return day, covered


def latest_period_due(today: dt.date) -> Period:
    """The period a clerk collects now: the last complete month."""
    return Period.containing(today).shift(-1)
