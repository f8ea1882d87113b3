"""Read the cells a form needs, and nothing more, from a workbook.

Each sheet is read only up to the extent its layout needs (plus a margin to notice
inserted rows), in openpyxl's streaming mode, so a sheet that claims a million rows
cannot exhaust memory. Formulas and their cached results are both kept: the pipeline
never trusts a formula cell, it recomputes and compares.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from pipeline.distribute.metadata import META_SHEET, parse_rows

MARGIN_ROWS = 20
MARGIN_COLS = 5
META_ROWS = 200


class Formula(str):
    """A cell's formula text (``=A1+B1``), as opposed to a string that starts with '='."""


@dataclass
class RawSheet:
    name: str
    state: str
    cells: dict[tuple[int, int], object] = field(default_factory=dict)
    cached: dict[tuple[int, int], object] = field(default_factory=dict)

    def text(self, row: int, col: int) -> str:
        value = self.cells.get((row, col))
        return "" if value is None else str(value).strip()


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet]
    meta: dict[str, str] | None


def _read(
    path: Path, data_only: bool, bounds: dict[str, tuple[int, int]], default: tuple[int, int]
) -> tuple[dict[str, RawSheet], dict[str, str] | None]:
    sheets: dict[str, RawSheet] = {}
    meta = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about unknown extensions
        wb = load_workbook(path, read_only=True, data_only=data_only, keep_links=False)
    try:
        for ws in wb.worksheets:
            if ws.title == META_SHEET:
                rows = ws.iter_rows(min_row=1, max_row=META_ROWS, max_col=2, values_only=True)
                meta = parse_rows((r[0], r[1]) for r in rows if len(r) >= 2)
                continue
            max_row, max_col = bounds.get(ws.title, default)
            sheet = RawSheet(ws.title, ws.sheet_state)
            for row in ws.iter_rows(
                min_row=1, max_row=max_row + MARGIN_ROWS, max_col=max_col + MARGIN_COLS
            ):
                for cell in row:
                    value = getattr(cell, "value", None)
                    if value is None:
                        continue
                    if not data_only and getattr(cell, "data_type", None) == "f":
                        value = Formula(value)
                    sheet.cells[(cell.row, cell.column)] = value
            sheets[ws.title] = sheet
    finally:
        wb.close()
    return sheets, meta


def read_workbook(
    path: Path, bounds: dict[str, tuple[int, int]], default: tuple[int, int] = (60, 30)
) -> RawWorkbook:
    """Cells of every sheet within ``bounds`` (max row, max column by sheet name).

    Raises whatever openpyxl raises for an unreadable file; the caller turns it into a
    finding.
    """
    sheets, meta = _read(path, False, bounds, default)
    cached, _ = _read(path, True, bounds, default)
    for name, sheet in sheets.items():
        if name in cached:
            sheet.cached = cached[name].cells
    return RawWorkbook(sheets=sheets, meta=meta)
