"""Outputs of a run, each a view of the ledger for one period, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import remove_leftovers

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.ledger.store import Ledger


def write_outputs(data: PeriodData, ledger: Ledger, outbox: Path) -> list[Path]:
    from pipeline.report import anomaly_list, status, summary, targets, validation_log

    outbox.mkdir(parents=True, exist_ok=True)
    remove_leftovers(outbox)
    return [
        summary.write(data, outbox),
        summary.write_detail(data, outbox),
        *summary.write_books(data, outbox),
        *targets.write(data, outbox),
        *anomaly_list.write(data, outbox),
        status.write(data, ledger, outbox),
        *validation_log.write(data, outbox),
    ]
