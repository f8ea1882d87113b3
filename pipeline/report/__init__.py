"""Outputs of a run, each a view of the ledger for one period, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import remove_leftovers

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.campaigns.campaign import Campaign
    from pipeline.ledger.store import Ledger


def for_leaders(data: PeriodData, outbox: Path) -> list[Path]:
    """What the leaders read: the briefing draft (情况通报) and the report page, both
    from one digest of the period's aggregates."""
    from pipeline.report import briefing, digest, page

    made = digest.build(data)
    folder = data.campaign.report.templates
    return [briefing.write(made, folder, outbox), page.write(made, folder, outbox)]


def write_index(campaign: Campaign) -> Path | None:
    """报告索引.html across the campaign's periods (rewritten after each run)."""
    from pipeline.report import page

    return page.write_index(
        campaign.outbox, campaign.name, campaign.kind, campaign.report.templates
    )


def write_outputs(data: PeriodData, ledger: Ledger, outbox: Path) -> list[Path]:
    from pipeline.report import (
        anomaly_list,
        coverage,
        status,
        summary,
        targets,
        validation_log,
    )

    outbox.mkdir(parents=True, exist_ok=True)
    remove_leftovers(outbox)
    return [
        *for_leaders(data, outbox),
        summary.write(data, outbox),
        summary.write_detail(data, outbox),
        *summary.write_books(data, outbox),
        *targets.write(data, outbox),
        *coverage.write(data, outbox),
        *anomaly_list.write(data, outbox),
        status.write(data, ledger, outbox),
        *validation_log.write(data, outbox),
    ]
