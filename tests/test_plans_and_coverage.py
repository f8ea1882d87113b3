"""The arithmetic under two general mechanisms, checked by hand:

- a seeded item's plan (项目进度表): the plan's percent on a day between milestones,
  across a year end and through a leap day, whether an item is behind, and by how many
  days;
- coverage by half-month (「半月覆盖」): windows that end on the 28th, 29th, 30th and
  31st, a visit on the 15th, the 16th and the last day, and the anomaly raised once, in
  the period the window ends in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.aggregate.coverage import coverage
from pipeline.config.calendar import Period
from pipeline.config.coverage import Coverage
from pipeline.config.roster import Roster, load_roster
from pipeline.errors import ConfigError
from pipeline.forms.kinds.register.schedule import (
    first_day_above,
    plan_points,
    planned,
    verdict,
)
from pipeline.forms.rows import Milestone, rows_from

D = dt.date


# --- plans --------------------------------------------------------------------------------

# From 1 July 2026 (0 %) to 40 % on 30 November, the year's target 50 % on 31 December,
# 70 % on 28 February 2027.
MILESTONES = (Milestone(D(2026, 11, 30), 40, "主体完成"), Milestone(D(2027, 2, 28), 70, "装修"))
POINTS = plan_points(D(2026, 7, 1), 0, MILESTONES, 50)


def test_the_year_target_is_a_point_on_the_last_day_of_the_year() -> None:
    assert [
        (D(2026, 7, 1), 0),
        (D(2026, 11, 30), 40),
        (D(2026, 12, 31), 50),
        (D(2027, 2, 28), 70),
    ] == POINTS


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 6, 1), 0),  # before the start
        (D(2026, 7, 1), 0),
        (D(2026, 9, 30), 40 * 91 / 152),  # 91 of the 152 days to 30 November
        (D(2026, 11, 30), 40),
        (D(2026, 12, 15), 40 + 10 * 15 / 31),
        (D(2026, 12, 31), 50),
        (D(2027, 1, 31), 50 + 20 * 31 / 59),  # across the year end: 59 days to 28 Feb
        (D(2027, 2, 28), 70),
        (D(2027, 6, 30), 70),  # after the last point the plan stays
    ],
)
def test_the_plan_rises_evenly_day_by_day(day: dt.date, expected: float) -> None:
    assert planned(POINTS, day) == pytest.approx(expected)


def test_a_leap_day_is_a_day_of_the_plan() -> None:
    points = plan_points(D(2028, 2, 1), 0, (Milestone(D(2028, 3, 1), 30),), None)
    # 1 February to 1 March 2028 is 29 days: the 29th of February is the 28th of them.
    assert planned(points, D(2028, 2, 29)) == pytest.approx(30 * 28 / 29)


def test_behind_a_missed_milestone_counts_the_days_since_the_plan_passed_the_percent() -> None:
    v = verdict(POINTS, MILESTONES, 30, D(2026, 12, 31), margin=10)
    assert v.behind and v.missed == (MILESTONES[0],)
    # The plan passes 30 % on day 115 after 1 July (30 × 152 / 40 = 114): 24 October;
    # from then to 31 December: 68 days.
    assert first_day_above(POINTS, 30) == D(2026, 10, 24)
    assert v.days_late == 68
    assert (v.planned, v.gap) == (50, 20)


def test_within_the_margin_is_not_behind_across_the_year_end() -> None:
    v = verdict(POINTS, MILESTONES, 55, D(2027, 1, 31), margin=10)
    assert not v.behind and v.days_late == 0 and v.planned == pytest.approx(60.5, abs=0.05)


def test_beyond_the_margin_across_the_year_end() -> None:
    v = verdict(POINTS, MILESTONES, 45, D(2027, 1, 31), margin=10)
    # 45 % is passed on the 16th day after 30 November (5 × 31 / 10 = 15.5): 16 December;
    # to 31 January: 15 + 31 = 46 days.
    assert v.behind and v.missed == () and v.days_late == 46


def test_a_plan_never_goes_back() -> None:
    # A year target below an earlier milestone does not pull the plan down.
    points = plan_points(D(2026, 7, 1), 0, (Milestone(D(2026, 9, 30), 60),), 50)
    assert points[-1] == (D(2026, 12, 31), 60)


@pytest.mark.parametrize(
    "milestones",
    [
        [{"date": D(2026, 9, 30), "percent": 50}, {"date": D(2026, 8, 31), "percent": 60}],
        [{"date": D(2026, 8, 31), "percent": 60}, {"date": D(2026, 9, 30), "percent": 50}],
        [{"date": D(2026, 8, 31), "percent": 160}],
        [{"date": "8月底", "percent": 60}],
    ],
)
def test_milestones_out_of_order_or_out_of_range_are_refused(milestones: list) -> None:
    with pytest.raises(ConfigError, match="milestones"):
        rows_from([{"key": "XM01", "milestones": milestones}], "work_points.toml")


# --- coverage -----------------------------------------------------------------------------

ROSTER = """机构代码,机构名称,机构级别
QW000,示例区卫生健康局,卫生健康行政部门
H1,第一医院,二级医院
H2,第二医院,二级医院
H3,第三医院,一级医院
"""
COVER = Coverage(
    title="督导覆盖情况",
    form="visits",
    date="date",
    institution="unit",
    every="half",
    who={"level": ("二级医院",)},
)


class Visits:
    """The ledger's answer to item_states for a register of visits: (day, unit) each."""

    def __init__(self, visits: list[tuple[dt.date, str]]) -> None:
        self.visits = visits

    def item_states(self, form: str, through: str) -> list[tuple]:
        out = []
        for n, (day, unit) in enumerate(self.visits, start=1):
            key = f"QW000-DD{n:04d}"
            for fld, text in (("date", day.isoformat()), ("unit", unit)):
                out.append(("QW000", "2026-W01", "2026-W01", key, fld, text, "B4", "f.xlsx", "s"))
        return out


@pytest.fixture
def roster(tmp_path: Path) -> Roster:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return load_roster(tmp_path / "roster.csv", "QW000")


@pytest.mark.parametrize(
    ("year", "month", "last"),
    [(2026, 2, 28), (2028, 2, 29), (2026, 9, 30), (2026, 8, 31), (2026, 12, 31)],
)
def test_half_months_end_on_the_15th_and_the_months_last_day(
    roster: Roster, year: int, month: int, last: int
) -> None:
    visits = Visits(
        [
            (D(year, month, 15), "H1"),  # the first half's last day
            (D(year, month, 16), "H2"),  # the second half's first day
            (D(year, month, last), "H1"),  # the month's last day
        ]
    )
    period = Period.containing(D(year, month, last), "month")
    (found,) = coverage((COVER,), period, roster, visits, period)  # type: ignore[arg-type]
    a, b = found.windows
    assert (a.period.first_day(), a.period.last_day()) == (D(year, month, 1), D(year, month, 15))
    assert (b.period.first_day(), b.period.last_day()) == (D(year, month, 16), D(year, month, last))
    assert [i.code for i in a.due] == ["H1", "H2"]  # 二级医院 only
    assert sorted(a.visits) == ["H1"] and [i.code for i in a.missed] == ["H2"]
    assert sorted(b.visits) == ["H1", "H2"] and b.missed == [] and b.rate == 100
    assert [len(v) for _, v in sorted(b.visits.items())] == [1, 1]
    # Both halves ended within the month: the first half's miss is an anomaly of it.
    assert [(f.institution, f.value) for f in found.anomalies] == [("H2", a.period.label())]


def test_a_window_is_judged_once_in_the_period_it_ends_in(roster: Roster) -> None:
    visits = Visits([(D(2026, 2, 3), "H1"), (D(2026, 3, 2), "H1"), (D(2026, 3, 2), "H2")])
    start = Period.parse("2026-W05")  # 26 January – 1 February
    anomalies = {}
    for key in ("2026-W07", "2026-W08", "2026-W09", "2026-W10"):
        week = Period.parse(key)
        (found,) = coverage((COVER,), start, roster, visits, week)  # type: ignore[arg-type]
        anomalies[key] = sorted((f.institution, f.value) for f in found.anomalies)
        if key == "2026-W09":  # 23 February – 1 March: the second half of February ends
            running = [w for w in found.windows if not w.complete]
            assert [w.period.label() for w in running] == ["2026年3月上半月"]
    # First half of February (ends Sunday 15th, in W07): H2 missed. Second half (ends
    # Saturday 28th, in W09): both missed. A window still running raises nothing.
    assert anomalies == {
        "2026-W07": [("H2", "2026年2月上半月")],
        "2026-W08": [],
        "2026-W09": [("H1", "2026年2月下半月"), ("H2", "2026年2月下半月")],
        "2026-W10": [],
    }
