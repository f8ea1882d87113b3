"""Targets by a roster attribute (:mod:`pipeline.config.targets`), against the ledger.

Each institution in scope stands at the stage its latest accepted return says (a month
without a return keeps the last one: a hospital that passed in June has still passed).
Per group (机构级别…): how many institutions, how many reached each stage a deadline
names, the rate against that deadline, and whether the group met it; and every
institution past a deadline of its group without the stage, with the days late — in
the outputs and, each one, in the anomaly list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Roster
from pipeline.config.targets import Deadline, Targets
from pipeline.findings import Finding, make
from pipeline.forms.kinds.base import Records


@dataclass
class Standing:
    institution: Institution
    group: str
    stage: str  # "" when it never reported
    period: str  # of the return that says so
    file: str = ""
    sha256: str = ""
    cell: str = ""


@dataclass
class Late:
    standing: Standing
    deadline: Deadline
    days: int


@dataclass
class Progress:
    """One target's state at the end of a period."""

    targets: Targets
    period: Period
    stages: tuple[str, ...]  # the field's choices, in order
    standings: list[Standing] = field(default_factory=list)
    late: list[Late] = field(default_factory=list)
    anomalies: list[Finding] = field(default_factory=list)

    @property
    def named(self) -> list[str]:
        """The stages the deadlines name, in the field's order."""
        named = {d.reach for d in self.targets.deadlines}
        return [s for s in self.stages if s in named]

    def reached(self, standing: Standing, stage: str) -> bool:
        rank = self.stages.index(standing.stage) if standing.stage in self.stages else -1
        return rank >= self.stages.index(stage)

    def groups(self) -> list[str]:
        return list(dict.fromkeys(s.group for s in self.standings))

    def deadline(self, group: str, stage: str) -> Deadline | None:
        return next(
            (d for d in self.targets.deadlines if d.reach == stage and d.covers(group)), None
        )


def progress(
    campaign: Campaign, roster: Roster, records: Records, period: Period
) -> list[Progress]:
    out = []
    for targets in campaign.targets:
        spec = campaign.form(targets.form)
        stage_field = next(f for f in spec.fields if f.key == targets.field)
        rows = campaign.rows_for(spec)
        row_key = rows[0].key if rows else ""
        latest: dict[str, tuple[str, str, str, str, str]] = {}
        for inst, p, _first, row, fld, text, cell, file, sha in records.item_states(
            spec.id, str(period)
        ):
            if fld == targets.field and row == row_key:
                latest[inst] = (text, p, cell, file, sha)
        found = Progress(targets, period, stage_field.choices)
        for inst in roster:
            if inst.code == campaign.bureau.code:
                continue
            stage, p, cell, file, sha = latest.get(inst.code, ("", "", "", "", ""))
            group = str(getattr(inst, targets.by, ""))
            found.standings.append(Standing(inst, group, stage, p, file, sha, cell))
        end = period.last_day()
        for s in found.standings:
            for d in targets.deadlines:
                if (
                    d.covers(s.group)
                    and d.rate >= 100
                    and d.date < end
                    and not found.reached(s, d.reach)
                ):
                    found.late.append(Late(s, d, (end - d.date).days))
        found.late.sort(key=lambda late: (-late.days, late.standing.institution.code))
        found.anomalies = [_anomaly(found, late, spec.sheet, spec.id) for late in found.late]
        out.append(found)
    return out


def _anomaly(found: Progress, late: Late, sheet: str, form: str) -> Finding:
    s = late.standing
    return make(
        "A-TARGET-LATE",
        value=s.stage or "未报送",
        expected=late.deadline.reach,
        what=found.targets.title,
        words={
            "group": s.group,
            "stage": late.deadline.reach,
            "date": late.deadline.date.isoformat(),
            "days": str(late.days),
        },
        institution=s.institution.code,
        institution_name=s.institution.name,
        form=form,
        period=str(found.period),
        file=s.file,
        sha256=s.sha256,
        sheet=sheet if s.cell else "",
        cell=s.cell,
    )
