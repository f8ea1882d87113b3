"""Coverage (:mod:`pipeline.config.coverage`) against the ledger: for each window (a
half-month) from the campaign's start to the period's end, which institutions to be
covered have a record dated within it, and which have none.

Records are read as the ledger holds them (every accepted return's rows, each under its
ID): a visit recorded in week 36 counts for the half-month its date falls in, whatever
week reported it. A window still running at the period's end is shown as it stands; one
that ended within the period leaves each institution it missed in the anomaly list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.config.calendar import Period, period_range
from pipeline.config.coverage import Coverage
from pipeline.config.roster import Institution, Roster
from pipeline.findings import Finding, make
from pipeline.forms.kinds.base import Records


@dataclass
class Visit:
    day: dt.date
    institution: str
    item: str  # the record's ID
    file: str
    sha256: str
    cell: str


@dataclass
class Window:
    period: Period  # the half-month (or other window)
    due: tuple[Institution, ...]  # to be covered
    visits: dict[str, list[Visit]] = field(default_factory=dict)  # code -> its visits
    complete: bool = True  # ended by the period's end

    @property
    def missed(self) -> list[Institution]:
        return [i for i in self.due if i.code not in self.visits]

    @property
    def rate(self) -> float | None:
        covered = len(self.due) - len(self.missed)
        return round(covered / len(self.due) * 100, 1) if self.due else None


@dataclass
class Covered:
    coverage: Coverage
    period: Period
    windows: list[Window]
    anomalies: list[Finding] = field(default_factory=list)

    @property
    def current(self) -> list[Window]:
        """The windows the period overlaps (the ones a clerk acts on now)."""
        first, last = self.period.first_day(), self.period.last_day()
        return [
            w for w in self.windows if w.period.last_day() >= first and w.period.first_day() <= last
        ]


def coverage(
    coverages: tuple[Coverage, ...],
    start: Period,
    all_roster: Roster,
    records: Records,
    period: Period,
) -> list[Covered]:
    """``all_roster``: the whole roster (whom a record may name, in scope or not)."""
    out = []
    end = period.last_day()
    for cov in coverages:
        due = tuple(i for i in all_roster if cov.covers(i))
        visits = _visits(cov, records, str(period))
        first = Period.containing(start.first_day(), cov.every)
        windows = [
            Window(w, due, complete=w.last_day() <= end)
            for w in period_range(first, Period.containing(end, cov.every))
        ]
        for v in visits:
            for w in windows:
                if w.period.first_day() <= v.day <= w.period.last_day():
                    w.visits.setdefault(v.institution, []).append(v)
        found = Covered(cov, period, windows)
        begin = period.first_day()
        for w in windows:
            if w.complete and begin <= w.period.last_day() <= end:
                found.anomalies += [_anomaly(cov, w, inst, period) for inst in w.missed]
        out.append(found)
    return out


def _visits(cov: Coverage, records: Records, through: str) -> list[Visit]:
    rows: dict[tuple[str, str], dict[str, tuple[str, str, str, str]]] = {}
    for inst, _p, _first, item, fld, text, cell, file, sha in records.item_states(
        cov.form, through
    ):
        if fld in (cov.date, cov.institution):
            rows.setdefault((inst, item), {})[fld] = (text, cell, file, sha)
    out = []
    for (_reporter, item), cells in rows.items():
        if cov.date not in cells or cov.institution not in cells:
            continue
        try:
            day = dt.date.fromisoformat(cells[cov.date][0])
        except ValueError:
            continue
        text, cell, file, sha = cells[cov.institution]
        out.append(Visit(day, text, item, file, sha, cell))
    return out


def _anomaly(cov: Coverage, w: Window, inst: Institution, period: Period) -> Finding:
    return make(
        "A-NOT-COVERED",
        value=w.period.label(),
        what=cov.title,
        words={"window": w.period.label()},
        institution=inst.code,
        institution_name=inst.name,
        form=cov.form,
        period=str(period),
    )
