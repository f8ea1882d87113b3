"""Outputs of a run, each a view of the ledger for one period, written atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import remove_leftovers

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.ledger.store import Ledger


def write_outputs(
    data: PeriodData,
    ledger: Ledger,
    outbox: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Path]:
    """Every output of the period, one after the other; ``progress`` is told after
    each (writing them is a third of a cold run at province scale)."""
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
        lambda: summary.write_detail(data, outbox),
        lambda: summary.write_books(data, outbox),
        lambda: targets.write(data, outbox),
        lambda: coverage.write(data, outbox),
        lambda: anomaly_list.write(data, outbox),
        lambda: status.write(data, ledger, outbox),
        lambda: validation_log.write(data, outbox),
    ]
    written: list[Path] = []
    for done, writer in enumerate(writers, start=1):
        out = writer()
        written += out if isinstance(out, list) else [out]
        if progress:
            progress("写出", done, len(writers))
    return written
