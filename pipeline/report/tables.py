"""Plain table outputs (a title, header row and data rows), streamed by xlsxwriter.

The validation log and the anomaly list grow with the number of institutions, so they
are written row by row in xlsxwriter's constant-memory mode, each style made once. Text
that came from a return is always written as a string cell: xlsxwriter is told never to
turn a string into a formula, a number or a hyperlink, and characters a workbook cannot
hold become U+FFFD.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.forms.styles import FONT, text_height

A4 = 9
_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
_BASE = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}


class TableBook:
    """One output workbook of table sheets; use as a context manager around its writing."""

    def __init__(self, path: Path, stage: str = "") -> None:
        """``stage``: the campaign's stage in the period (巩固提高阶段), said after every
        table's title."""
        self.wb = xlsxwriter.Workbook(str(path), _OPTIONS)
        self.stage = stage
        fmt = self.wb.add_format
        self.title = fmt({**_BASE, "font_size": 16, "bold": True})
        self.banner_format = fmt({**_BASE, "bold": True})
        self.header = fmt(
            {**_BASE, "bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"}
            | {"text_wrap": True}
        )
        self.body = fmt({**_BASE, "border": 1, "align": "left", "text_wrap": True})

    def __enter__(self) -> TableBook:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()

    def close(self) -> None:
        """Finish the file (xlsxwriter assembles the workbook here)."""
        self.wb.close()

    def sheet(self, name: str) -> TableSheet:
        return TableSheet(self, self.wb.add_worksheet(name))


class TableSheet:
    def __init__(self, book: TableBook, ws: Any) -> None:
        self.book = book
        self.ws = ws
        ws.set_landscape()
        ws.set_paper(A4)
        ws.fit_to_pages(1, 0)

    def banner(self, row: int, text: str, width: int, *, title: bool = False) -> None:
        """A line of text across the table's width (titles, due date, counts); 1-based."""
        fmt = self.book.title if title else self.book.banner_format
        if title and self.book.stage:
            text = f"{text}　{self.book.stage}"
        if width > 1:
            self.ws.merge_range(row - 1, 0, row - 1, width - 1, _clean(text), fmt)
        else:
            self.ws.write_string(row - 1, 0, _clean(text), fmt)

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        widths: Sequence[int] | None = None,
        title: str = "",
        start_row: int = 1,
        fit_rows: bool = True,
        blank_cells: bool = True,
    ) -> int:
        """Write a titled table from row ``start_row`` (1-based); returns the next free row.

        ``fit_rows`` makes each row tall enough for its wrapped text, ``blank_cells`` gives
        empty cells the table's borders; long tables of short values (traces, details)
        leave them off."""
        ws, body = self.ws, self.book.body
        r = start_row - 1
        if title:
            self.banner(r + 1, title, len(headers), title=True)
            r += 2
        width_of = list(widths or [])
        for c, w in enumerate(width_of):
            ws.set_column(c, c, w)
        header_row = r
        for c, h in enumerate(headers):
            ws.write_string(r, c, _clean(h), self.book.header)
        for row in rows:
            r += 1
            if fit_rows:
                shown = [
                    (v, width_of[c])
                    for c, v in enumerate(row)
                    if isinstance(v, str) and c < len(width_of)
                ]
                if shown:
                    ws.set_row(r, text_height(shown, minimum=15))
            for c, value in enumerate(row):
                if blank_cells or (value is not None and value != ""):
                    _write(ws, r, c, value, body)
        ws.freeze_panes(header_row + 1, 0)
        ws.repeat_rows(header_row)
        if r > header_row:
            ws.autofilter(header_row, 0, r, len(headers) - 1)
        return r + 3


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _write(ws: Any, r: int, c: int, value: object, fmt: Any) -> None:
    if value is None or value == "":
        ws.write_blank(r, c, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, int | float) and math.isfinite(value):
        ws.write_number(r, c, value, fmt)
    elif isinstance(value, dt.date | dt.datetime):
        ws.write_string(r, c, value.isoformat(), fmt)
    else:
        ws.write_string(r, c, _clean(str(value)), fmt)
