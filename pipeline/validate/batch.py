"""Validate a batch of new returns together: each form's kind checks the whole batch
(one pandera call per form, then its cross-field and cross-period rules); then the rule
that spans forms and returns: a blank return never replaces a filled one.

A run validates its new returns in slices (:data:`pipeline.intake.judge.SLICE`), each
against the ledger with the slices before it recorded."""

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
        # Only the returns whose reporters have the form (the bureau's 督导记录 is not
        # missing from a hospital's return).
        mine = [r for r in batch if spec.reported_by(r.extracted.institution.role)]
        if mine:
            kind_of(spec).validate(spec, campaign.rows_for(spec), mine, ctx)
    # A blank return never replaces a filled one: recorded earlier (an earlier run or
    # slice), or received before it in this batch. A filled one received after it
    # supersedes it, as it would in a later run.
    filled: dict[str, str] = {}  # institution -> its earliest filled return's receipt
    for r in batch:
        blank_or_refused = is_blocking(r.extracted.findings) or any(
            f.rule == "A-BLANK" for f in r.extracted.findings
        )
        if not blank_or_refused:
            code = r.extracted.institution.code
            filled[code] = min(filled.get(code, r.received), r.received)
    for r in batch:
        ext = r.extracted
        blank = [f for f in ext.findings if f.rule == "A-BLANK"]
        code = ext.institution.code
        earlier = code in filled and filled[code] <= r.received
        if blank and (earlier or ledger.has_figures(code, str(period))):
            loc = {**r.where, "form": blank[0].form, "sheet": blank[0].sheet}
            ext.findings.append(replace(make("V-BLANK-RESEND"), **loc))
