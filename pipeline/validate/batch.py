"""Validate every new return of a run at once: each form's kind checks the whole batch
(one pandera call per form, then its cross-field and cross-period rules); then the rule
that spans forms and returns: a blank return never replaces a filled one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.findings import is_blocking, make
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import CheckContext, Returned
from pipeline.ledger.store import Ledger


def validate_batch(
    batch: Sequence[Returned], campaign: Campaign, ledger: Ledger, period: Period
) -> None:
    if not batch:
        return
    ctx = CheckContext(
        period=period,
        start=campaign.start,
        records=ledger,
        forms={spec.id: spec for spec in campaign.forms},
        rows=campaign.rows,
    )
    for spec in campaign.forms:
        kind_of(spec).validate(spec, campaign.rows_for(spec), batch, ctx)
    # A blank return never replaces a filled one, recorded earlier or arriving now.
    filled_now = {
        r.extracted.institution.code
        for r in batch
        if not any(f.rule == "A-BLANK" for f in r.extracted.findings)
        and not is_blocking(r.extracted.findings)
    }
    for r in batch:
        ext = r.extracted
        blank = [f for f in ext.findings if f.rule == "A-BLANK"]
        code = ext.institution.code
        if blank and (code in filled_now or ledger.has_figures(code, str(period))):
            loc = {**r.where, "form": blank[0].form, "sheet": blank[0].sheet}
            ext.findings.append(replace(make("V-BLANK-RESEND"), **loc))
