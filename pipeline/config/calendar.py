"""Reporting periods of every kind, and due dates on China's working-day calendar.

A campaign reports by week (Monday–Sunday), half-month (1st–15th, 16th–end), month, two
months, quarter, half-year or year. A period is a value with a kind, written in files
and the ledger as a stable key that sorts in time within its kind, and on forms as clerks
write it:

    kind        key          on forms
    week        2026-W27     2026年第27周（6月29日—7月5日）   (ISO weeks, Monday first)
    half        2026-07a     2026年7月上半月  (b: 下半月)
    month       2026-07      2026年7月
    bimonth     2026-B4      2026年7—8月     (B1 is January–February)
    quarter     2026-Q3      2026年第三季度
    halfyear    2026-H2      2026年下半年
    year        2026         2026年

A due rule places the due date from the period (see :class:`DueRule`), moved to the next
working day when the campaign says so: ``chinesecalendar`` knows the State Council's
holiday plan including make-up working days (调休). For a year the library does not yet
cover, weekends and the fixed-date holidays are used and the caller is told so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from pipeline.errors import ConfigError

Kind = Literal["week", "half", "month", "bimonth", "quarter", "halfyear", "year"]
KINDS: tuple[Kind, ...] = ("week", "half", "month", "bimonth", "quarter", "halfyear", "year")
# Periods of a kind in a year (weeks vary: 52 or 53 ISO weeks).
PER_YEAR = {"half": 24, "month": 12, "bimonth": 6, "quarter": 4, "halfyear": 2, "year": 1}
MONTHS = {"half": 1, "month": 1, "bimonth": 2, "quarter": 3, "halfyear": 6, "year": 12}
KIND_ZH = {
    "week": "周",
    "half": "半月",
    "month": "月",
    "bimonth": "两个月",
    "quarter": "季度",
    "halfyear": "半年",
    "year": "年",
}
_QUARTERS = "一二三四"

_KEYS: list[tuple[Kind, re.Pattern[str]]] = [
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("half", re.compile(r"^(\d{4})-(\d{2})([ab])$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("bimonth", re.compile(r"^(\d{4})-B(\d)$")),
    ("quarter", re.compile(r"^(\d{4})-Q(\d)$")),
    ("halfyear", re.compile(r"^(\d{4})-H(\d)$")),
    ("year", re.compile(r"^(\d{4})$")),
]
# As clerks write them (after removing spaces): 2026年第27周, 2026年7月上半月, 2026-07上半月,
# 2026年7月, 2026年第三季度 / 第3季度, 2026年上半年, 2026年.
_WRITTEN: list[tuple[Kind, re.Pattern[str]]] = [
    ("week", re.compile(r"^(\d{4})年第(\d{1,2})周")),
    ("half", re.compile(r"^(\d{4})(?:年|-)(\d{1,2})月?([上下])半月$")),
    ("bimonth", re.compile(r"^(\d{4})年(\d{1,2})[-—–~至](\d{1,2})月$")),
    ("month", re.compile(r"^(\d{4})年(\d{1,2})月$")),
    ("quarter", re.compile(r"^(\d{4})年第([1-4一二三四])季度$")),
    ("halfyear", re.compile(r"^(\d{4})年([上下])半年$")),
    ("year", re.compile(r"^(\d{4})年(?:度)?$")),
]


@dataclass(frozen=True, order=True)
class Period:
    """``index`` is the month for a month (the default kind), else the period's number in
    its year: ISO week, half-month 1..24, two months 1..6, quarter, half-year, 1 for a year.
    Periods of one kind order in time; periods of two kinds do not compare meaningfully."""

    year: int
    index: int
    kind: Kind = "month"

    def __post_init__(self) -> None:
        top = _weeks_in(self.year) if self.kind == "week" else PER_YEAR.get(self.kind)
        if top is None or not 1 <= self.index <= top:
            raise ConfigError(
                f"报告期无效：{self.year}年没有第{self.index}个{KIND_ZH.get(self.kind, self.kind)}"
                " / invalid period"
            )

    # -- reading -----------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, kind: Kind | None = None) -> Period:
        """A key (``2026-07``, ``2026-W27``…) or a period as written on forms; with
        ``kind``, anything else is refused, saying what the kind's keys look like."""
        clean = "".join(str(text).split())
        period = _parse_key(clean) or _parse_written(clean)
        if period is None:
            raise ConfigError(_bad(text, kind))
        if kind is not None and period.kind != kind:
            raise ConfigError(
                f"报告期“{text}”是{KIND_ZH[period.kind]}，本工作按{KIND_ZH[kind]}报送，"
                f"应写作 {EXAMPLE_KEY[kind]} / period {text!r} is not a {kind}"
            )
        return period

    @classmethod
    def containing(cls, day: dt.date, kind: Kind = "month") -> Period:
        if kind == "week":
            iso = day.isocalendar()
            return cls(iso.year, iso.week, "week")
        if kind == "half":
            return cls(day.year, (day.month - 1) * 2 + (1 if day.day <= 15 else 2), "half")
        if kind == "year":
            return cls(day.year, 1, "year")
        return cls(day.year, (day.month - 1) // MONTHS[kind] + 1, kind)

    # -- writing -----------------------------------------------------------------------
    def __str__(self) -> str:
        if self.kind == "week":
            return f"{self.year:04d}-W{self.index:02d}"
        if self.kind == "half":
            month, half = divmod(self.index - 1, 2)
            return f"{self.year:04d}-{month + 1:02d}{'ab'[half]}"
        if self.kind == "month":
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind == "year":
            return f"{self.year:04d}"
        letter = {"bimonth": "B", "quarter": "Q", "halfyear": "H"}[self.kind]
        return f"{self.year:04d}-{letter}{self.index}"

    def label(self) -> str:
        """The period as forms and reports write it: ``2026年10月``, ``2026年第三季度``…"""
        if self.kind == "month":
            return f"{self.year}年{self.index}月"
        if self.kind == "week":
            a, b = self.first_day(), self.last_day()
            return f"{self.year}年第{self.index}周（{a.month}月{a.day}日—{b.month}月{b.day}日）"
        if self.kind == "half":
            month, half = divmod(self.index - 1, 2)
            return f"{self.year}年{month + 1}月{'上下'[half]}半月"
        if self.kind == "bimonth":
            first = (self.index - 1) * 2 + 1
            return f"{self.year}年{first}—{first + 1}月"
        if self.kind == "quarter":
            return f"{self.year}年第{_QUARTERS[self.index - 1]}季度"
        if self.kind == "halfyear":
            return f"{self.year}年{'上下'[self.index - 1]}半年"
        return f"{self.year}年"

    @property
    def month(self) -> int:
        """The calendar month of a month period (its last month for longer ones)."""
        return self.index if self.kind == "month" else self.last_day().month

    # -- arithmetic --------------------------------------------------------------------
    def first_day(self) -> dt.date:
        if self.kind == "week":
            return dt.date.fromisocalendar(self.year, self.index, 1)
        if self.kind == "half":
            month, half = divmod(self.index - 1, 2)
            return dt.date(self.year, month + 1, 1 if half == 0 else 16)
        if self.kind == "year":
            return dt.date(self.year, 1, 1)
        return dt.date(self.year, (self.index - 1) * MONTHS[self.kind] + 1, 1)

    def last_day(self) -> dt.date:
        return self.shift(1).first_day() - dt.timedelta(days=1)

    def ordinal(self) -> int:
        """A running number: consecutive periods of a kind differ by one."""
        if self.kind == "week":
            return self.first_day().toordinal() // 7
        return self.year * PER_YEAR[self.kind] + self.index - 1

    def shift(self, n: int) -> Period:
        if self.kind == "week":
            return Period.containing(self.first_day() + dt.timedelta(weeks=n), "week")
        count = PER_YEAR[self.kind]
        year, index = divmod(self.ordinal() + n, count)
        return Period(year, index + 1, self.kind)

    def steps_since(self, other: Period) -> int:
        return self.ordinal() - other.ordinal()

    def months_since(self, other: Period) -> int:  # months: kept for the month's callers
        return self.steps_since(other)


EXAMPLE_KEY: dict[str, str] = {
    "week": "2026-W27（或 2026年第27周）",
    "half": "2026-07a（或 2026年7月上半月）",
    "month": "2026-07（或 2026年7月）",
    "bimonth": "2026-B4（或 2026年7—8月）",
    "quarter": "2026-Q3（或 2026年第三季度）",
    "halfyear": "2026-H2（或 2026年下半年）",
    "year": "2026（或 2026年）",
}


def _bad(text: str, kind: Kind | None) -> str:
    want = EXAMPLE_KEY[kind] if kind else "2026-07"
    month = re.match(r"^\s*\d{4}-(\d{2})\s*$", str(text))
    if month and not 1 <= int(month.group(1)) <= 12:
        return f"报告期“{text}”的月份无效（1—12），应写作如 {want} / invalid month in {text!r}"
    return f"报告期“{text}”无法识别，应写作如 {want} / period must look like {want.split('（')[0]}"


def _weeks_in(year: int) -> int:
    return dt.date(year, 12, 28).isocalendar().week


def _parse_key(text: str) -> Period | None:
    for kind, pattern in _KEYS:
        m = pattern.match(text)
        if m is None:
            continue
        try:
            if kind == "half":
                month = int(m.group(2))
                if not 1 <= month <= 12:
                    return None
                return Period(
                    int(m.group(1)), (month - 1) * 2 + (1 if m.group(3) == "a" else 2), "half"
                )
            if kind == "year":
                return Period(int(m.group(1)), 1, "year")
            return Period(int(m.group(1)), int(m.group(2)), kind)
        except ConfigError:
            return None
    return None


def _parse_written(text: str) -> Period | None:
    for kind, pattern in _WRITTEN:
        m = pattern.match(text)
        if m is None:
            continue
        year = int(m.group(1))
        try:
            if kind == "week":
                return Period(year, int(m.group(2)), "week")
            if kind == "half":
                month = int(m.group(2))
                return Period(year, (month - 1) * 2 + (1 if m.group(3) == "上" else 2), "half")
            if kind == "bimonth":
                first, last = int(m.group(2)), int(m.group(3))
                if first % 2 != 1 or last != first + 1:
                    return None
                return Period(year, (first + 1) // 2, "bimonth")
            if kind == "month":
                return Period(year, int(m.group(2)), "month")
            if kind == "quarter":
                q = m.group(2)
                return Period(year, int(q) if q.isdigit() else _QUARTERS.index(q) + 1, "quarter")
            if kind == "halfyear":
                return Period(year, 1 if m.group(2) == "上" else 2, "halfyear")
            return Period(year, 1, "year")
        except ConfigError:
            return None
    return None


def period_range(first: Period, last: Period) -> list[Period]:
    return [first.shift(i) for i in range(last.steps_since(first) + 1)]


# Public holidays on fixed dates every year (元旦, 劳动节, 国庆节), used for a year the
# holiday library does not cover yet; the lunar ones and make-up days are unknown then.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """Return (is working day, whether the holiday calendar covered the date)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS, False


WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class DueRule:
    """When a period's return is due, from the period:

    - ``weekday`` (0 = Monday … 6 = Sunday): that day of the period's last week, e.g.
      Friday of the same week for a weekly return (``weeks_after`` later weeks);
    - else ``days_after``: that many days after the period's last day;
    - else day ``day`` of the month ``months_after`` after the period's last month: the
      1st of the next month (the annex's rule, the default), or the 30th of the same
      month (``months_after = 0``); a day past a month's end is its last day.

    ``roll_to_working_day`` moves it to the next working day on China's calendar. Days the
    clerk declares from the State Council's notice take precedence over the library.
    """

    day: int = 1
    months_after: int = 1
    roll_to_working_day: bool = True
    weekday: int | None = None
    weeks_after: int = 0
    days_after: int | None = None
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> tuple[bool, bool]:
        if day in self.workdays:
            return True, True
        if day in self.holidays:
            return False, True
        return is_working_day(day)

    def nominal(self, period: Period) -> dt.date:
        """The due date before any move to a working day."""
        end = period.last_day()
        if self.weekday is not None:
            monday = end - dt.timedelta(days=end.weekday())
            return monday + dt.timedelta(days=self.weekday, weeks=self.weeks_after)
        if self.days_after is not None:
            return end + dt.timedelta(days=self.days_after)
        target = Period.containing(end, "month").shift(self.months_after)
        last = target.last_day().day
        return dt.date(target.year, target.index, min(self.day, last))

    def due_date(self, period: Period) -> tuple[dt.date, bool]:
        """The due date and whether the holiday calendar covered it (else weekends only)."""
        day = self.nominal(period)
        covered = True
        if self.roll_to_working_day:
            for _ in range(60):
                working, known = self.is_working_day(day)
                covered = covered and known
                if working:
                    break
                day += dt.timedelta(days=1)
        return day, covered

    def describe(self, kind: Kind = "month") -> str:
        """The rule in words, as forms and mails state it."""
        unit = {"week": "每周", "half": "每半月", "month": "每月"}.get(kind, "每期")
        if self.weekday is not None:
            when = "本周" if self.weeks_after == 0 else f"{self.weeks_after}周后的"
            text = f"{unit}{when}星期{WEEKDAYS_ZH[self.weekday]}前上报"
        elif self.days_after is not None:
            text = f"{unit}结束后{self.days_after}日内上报"
        elif self.months_after == 0:
            text = f"{unit}{self.day}日前上报本期情况"
        elif self.months_after == 1 and kind == "month":
            text = f"每月{self.day}日上报前一个月情况"
        else:
            after = "下个月" if self.months_after == 1 else f"{self.months_after}个月后"
            text = f"本期结束后{after}{self.day}日前上报"
        if self.roll_to_working_day:
            text += "，逢节假日顺延至下一个工作日"
        return text


def default_due(kind: Kind) -> DueRule:
    """The rule a campaign of ``kind`` gets when its file names none: Friday of the same
    week for a week; the day after a half-month (the 16th, or the 1st); the 1st of the
    next month for any other period."""
    if kind == "week":
        return DueRule(weekday=4)
    if kind == "half":
        return DueRule(days_after=1)
    return DueRule()


def latest_period_due(today: dt.date, kind: Kind = "month") -> Period:
    """The period a clerk collects now: the last complete one (last month, last week…)."""
    return Period.containing(today, kind).shift(-1)


def open_periods(today: dt.date, kind: Kind, due: DueRule, start: Period) -> list[Period]:
    """The periods a run collects today: the last complete one, and the current one too
    when its return is due before it ends (a week's, due on its Friday): its returns
    arrive while it runs."""
    last = latest_period_due(today, kind)
    current = last.shift(1)
    out = [last] if last >= start else []
    if current >= start and due.nominal(current) <= current.last_day():
        out.append(current)
    return out
