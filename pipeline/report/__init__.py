"""Outputs of a run, each a view of the ledger for one period, written atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import parallel
from pipeline.atomic import remove_leftovers

INDEX_NAME = "报告索引.html"  # in a campaign's outbox: every period's report page

ASIDE_FROM, ASIDE_UP_TO = 200, 5000
"""Files in a period between which 汇总表, the costliest output (its 附件1 holds every
institution's text per task), is written in a forked process while this one writes the
others: on two cores a third of the outputs' time, for half as much memory again while
both run. Fewer files: not worth a fork. More (a province): memory comes first, and the
outputs are written one after the other."""

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


def write_outputs(
    data: PeriodData,
    ledger: Ledger,
    outbox: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Path]:
    """Every output of the period; ``progress`` is told after each (writing them is
    a third of a cold run at province scale). The paths are in a fixed order."""
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
    writers: list[Callable[[], Path | list[Path]]] = [
        lambda: summary.write(data, outbox),
        lambda: for_leaders(data, outbox),
        lambda: summary.write_detail(data, outbox),
        lambda: summary.write_books(data, outbox),
        lambda: targets.write(data, outbox),
        lambda: coverage.write(data, outbox),
        lambda: anomaly_list.write(data, outbox),
        lambda: status.write(data, ledger, outbox),
        lambda: validation_log.write(data, outbox),
    ]
    written: list[Path] = []
    join = None
    if ASIDE_FROM <= len(data.files) <= ASIDE_UP_TO:  # 汇总表 written meanwhile by a fork
        join = parallel.aside(writers.pop(0), "汇总表")
        written.append(outbox / summary.filename(data.period))
    total = len(writers) + (join is not None)
    for done, writer in enumerate(writers, start=1):
        out = writer()
        written += out if isinstance(out, list) else [out]
        if progress:
            progress("写出", done, total)
    if join is not None:
        join()
        if progress:
            progress("写出", total, total)
    return written
