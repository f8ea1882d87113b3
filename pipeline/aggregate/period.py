"""What a period's outputs need, computed from the ledger: every form's totals (each by
its kind), the submissions, the due date and the anomalies over the ledger.

The reports and the mail read a :class:`PeriodData`; they never judge files or touch the
inbox, so every output is a view of the store of record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.aggregate.targets import Progress, progress
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Roster
from pipeline.extract.returns import layouts_for
from pipeline.findings import Finding
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import AggregateContext, Totals
from pipeline.forms.layout import Layout
from pipeline.intake.outcome import FileOutcome
from pipeline.ledger.store import Ledger, Submission


@dataclass
class PeriodData:
    """Everything the reports need, computed from the ledger."""

    campaign: Campaign
    roster: Roster
    period: Period
    due: dt.date
    due_covered: bool
    files: list[FileOutcome]
    submissions: list[Submission]
    totals: dict[str, Totals]  # by form id
    layouts: dict[str, Layout]
    anomalies: list[Finding]
    progress: list[Progress] = field(default_factory=list)  # the campaign's targets

    def current(self) -> dict[str, Submission]:
        return current_returns(self.submissions)


def current_returns(subs: list[Submission]) -> dict[str, Submission]:
    """Institution -> its accepted (not superseded) return among ``subs``."""
    return {s.institution: s for s in subs if s.status == "accepted" and s.institution}


def collect(
    campaign: Campaign, roster: Roster, ledger: Ledger, period: Period, files: list[FileOutcome]
) -> PeriodData:
    layouts = layouts_for(campaign)
    due, covered = campaign.due.due_date(period)
    subs = ledger.submissions(str(period))
    current = {code: (s.file_name, s.sha256) for code, s in current_returns(subs).items()}
    ctx = AggregateContext(
        period=period,
        start=campaign.start,
        due=due,
        records=ledger,
        roster=roster,
        anomalies=campaign.anomalies,
        current=current,
    )
    totals = {
        spec.id: kind_of(spec).aggregate(spec, campaign.rows_for(spec), ctx)
        for spec in campaign.forms
    }
    found = progress(campaign, roster, ledger, period)
    anomalies = [a for t in totals.values() for a in t.anomalies]
    anomalies += [a for p in found for a in p.anomalies]
    return PeriodData(
        campaign, roster, period, due, covered, files, subs, totals, layouts, anomalies, found
    )
