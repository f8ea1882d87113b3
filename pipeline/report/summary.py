"""汇总表_<period>.xlsx: the district's return in the annexes' own layout; 汇总明细, every
institution's figures to check or filter; and each form's own books (a register's
清单汇总). Every form is written by its kind.

汇总表 is built by the same workbook code as the templates, for the bureau as reporter,
so the file is itself a valid return for the level above (district → city → province).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import write_atomic
from pipeline.config.roster import Reporter
from pipeline.distribute.workbook import build_workbook
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import Table
from pipeline.report.tables import TableBook

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData


def filename(period: object) -> str:
    return f"汇总表_{period}.xlsx"


def write(data: PeriodData, outbox: Path) -> Path:
    campaign = data.campaign
    contents = {
        spec.id: kind_of(spec).aggregated(spec, campaign.rows_for(spec), data.totals[spec.id])
        for spec in campaign.forms
    }
    bureau = Reporter(code=campaign.bureau.code, name=campaign.bureau.name, role="bureau")
    wb = build_workbook(campaign, bureau, data.period, contents=contents, kind="aggregate")
    return write_atomic(outbox / filename(data.period), wb.save)


def write_tables(path: Path, tables: list[Table], stage: str = "") -> Path:
    """A workbook of table sheets, written atomically; ``stage`` after each title."""

    def _write(tmp: Path) -> None:
        with TableBook(tmp, stage) as book:
            for t in tables:
                book.sheet(t.sheet).table(
                    t.headers,
                    t.rows,
                    widths=t.widths,
                    title=t.title,
                    fit_rows=t.fit_rows,
                    blank_cells=t.blank_cells,
                    printed=t.printed,
                )

    return write_atomic(path, _write)


def write_detail(data: PeriodData, outbox: Path) -> Path:
    """汇总明细: every institution's figures, a sheet per form that has them. Kept apart
    from 汇总表, which is sent up as a return and stays small."""
    tables = [
        t
        for spec in data.campaign.forms
        for t in kind_of(spec).detail(data.totals[spec.id], data.roster)
    ]
    if not tables:
        tables = [
            Table(
                "明细",
                f"{data.campaign.name}（{data.period.label()}）",
                ["说明"],
                [["本工作的报表没有分机构的数字明细"]],
            )
        ]
    return write_tables(outbox / f"汇总明细_{data.period}.xlsx", tables, data.stage)


def write_books(data: PeriodData, outbox: Path) -> list[Path]:
    """Each form's own workbooks (a register's 清单汇总)."""
    return [
        write_tables(outbox / f"{book.stem}_{data.period}.xlsx", list(book.tables), data.stage)
        for spec in data.campaign.forms
        for book in kind_of(spec).books(data.totals[spec.id], data.roster)
    ]
