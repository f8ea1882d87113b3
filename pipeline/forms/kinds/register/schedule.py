"""A seeded item's plan (项目进度表 of seed 003) and whether the item keeps to it.

The plan is a line through dated points: the item's ``base`` percent on the campaign's
first day, each milestone (节点: by this date, this percent), and the year's target
(目标形象进度) on the last day of the campaign's first year unless a milestone falls
there. Between two points the plan rises evenly, day by day; after the last it stays.
Points may cross a year end (a milestone next March): days are counted on the calendar.

An item is behind (进度滞后) at a period's end when its reported percent is under the
plan for that day by more than the campaign's margin, or when a milestone's date has
passed and its percent is not reached. How far behind, in days: from the first day
the plan stood above the reported percent to the period's end — the time the item has
lost against its plan.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass

from pipeline.forms.rows import Milestone

Point = tuple[dt.date, float]


def plan_points(
    start: dt.date, base: float, milestones: tuple[Milestone, ...], target: float | None
) -> list[Point]:
    """The plan's points, in date order, percents never going down."""
    points: list[Point] = [(start, base)]
    points += [(m.day, m.percent) for m in milestones if m.day > start]
    if target is not None:
        year_end = dt.date(start.year, 12, 31)
        if all(day != year_end for day, _ in points):
            points.append((year_end, target))
    points.sort()
    # The plan never goes back: a later point below an earlier one is lifted to it.
    out: list[Point] = []
    for day, percent in points:
        out.append((day, max(percent, out[-1][1]) if out else percent))
    return out


def planned(points: list[Point], day: dt.date) -> float:
    """The plan's percent on ``day``."""
    if day <= points[0][0]:
        return points[0][1]
    for (d0, p0), (d1, p1) in itertools.pairwise(points):
        if day <= d1:
            return p0 + (p1 - p0) * (day - d0).days / (d1 - d0).days
    return points[-1][1]


def first_day_above(points: list[Point], percent: float) -> dt.date | None:
    """The first day the plan stands above ``percent`` (None: it never does)."""
    if points[0][1] > percent:
        return points[0][0]
    for (d0, p0), (d1, p1) in itertools.pairwise(points):
        if p1 > percent >= p0:
            # p0 + (p1 - p0) * t / span > percent  ⇔  t > (percent - p0) * span / (p1 - p0)
            span = (d1 - d0).days
            t = math.floor((percent - p0) * span / (p1 - p0)) + 1
            return d0 + dt.timedelta(days=min(t, span))
    return None


@dataclass(frozen=True)
class Verdict:
    """Where an item stands against its plan at a period's end."""

    planned: float  # the plan's percent on the day
    actual: float
    behind: bool
    missed: tuple[Milestone, ...]  # milestones past their date and not reached
    days_late: int  # 0 when not behind

    @property
    def gap(self) -> float:
        return round(self.planned - self.actual, 1)


def verdict(
    points: list[Point],
    milestones: tuple[Milestone, ...],
    actual: float,
    end: dt.date,
    margin: float,
) -> Verdict:
    plan = planned(points, end)
    missed = tuple(m for m in milestones if m.day <= end and actual < m.percent)
    behind = bool(missed) or actual < plan - margin
    late = 0
    if behind:
        since = first_day_above(points, actual)
        late = (end - since).days if since is not None and since <= end else 0
    return Verdict(round(plan, 1), actual, behind, missed, late)
