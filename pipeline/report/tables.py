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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.forms import printing
from pipeline.forms.printing import PrintColumns
from pipeline.forms.styles import FONT, text_height

DEFAULT_WIDTH = 10
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
        self.body_nowrap = fmt({**_BASE, "border": 1, "align": "left"})

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
        ws.set_paper(printing.PAPER_A4)
        ws.set_margins(
            left=printing.MARGIN_SIDE_IN,
            right=printing.MARGIN_SIDE_IN,
            top=printing.MARGIN_TOP_IN,
            bottom=printing.MARGIN_BOTTOM_IN,
        )
        ws.set_header("", {"margin": printing.MARGIN_HEADER_IN})
        ws.set_footer(printing.PAGE_FOOTER, {"margin": printing.MARGIN_FOOTER_IN})

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
        widths: Sequence[float] | None = None,
        title: str = "",
        start_row: int = 1,
        fit_rows: bool = True,
        blank_cells: bool = True,
        printed: PrintColumns | None = None,
    ) -> int:
        """Write a titled table from row ``start_row`` (1-based); returns the next free row.

        ``printed`` says which columns print, in which order and how wide (the others
        follow at the right, on screen only); by default every column prints as it is.
        ``fit_rows`` makes each row tall enough for the wrapped text of its printed
        columns; without it (long tables of short values) text does not wrap, so it
        never runs into the row below. ``blank_cells`` gives empty cells the borders."""
        ws, book = self.ws, self.book
        cols = _columns(headers, widths or [], printed)
        n_printed = sum(1 for c in cols if c.printed)
        r = start_row - 1
        if title:
            self.banner(r + 1, title, n_printed, title=True)
            r += 2
        for c, col in enumerate(cols):
            ws.set_column(c, c, col.width)
        header_row = r
        ws.set_row(r, text_height([(c.header, c.width) for c in cols if c.printed], minimum=15))
        for c, col in enumerate(cols):
            ws.write_string(r, c, _clean(col.header), book.header)
        for row in rows:
            r += 1
            shown = [col.value(row) for col in cols]
            if fit_rows:
                wrapped = [
                    (v, col.width)
                    for v, col in zip(shown, cols, strict=True)
                    if col.printed and isinstance(v, str)
                ]
                if wrapped:
                    ws.set_row(r, text_height(wrapped, minimum=15))
            for c, (value, col) in enumerate(zip(shown, cols, strict=True)):
                fmt = book.body if fit_rows and col.printed else book.body_nowrap
                if blank_cells or (value is not None and value != ""):
                    _write(ws, r, c, value, fmt)
        ws.freeze_panes(header_row + 1, 0)
        ws.repeat_rows(header_row)
        if r > header_row:
            ws.autofilter(header_row, 0, r, len(cols) - 1)
        self._print_setup(cols, n_printed, r, printed.repeat if printed else 0)
        return r + 3

    def _print_setup(self, cols: list[_Column], n_printed: int, last_row: int, repeat: int) -> None:
        """Print the printed columns at a scale that keeps 10-pt text at 9 pt or more
        (see :mod:`pipeline.forms.printing`)."""
        ws = self.ws
        plan = printing.plan_columns(
            [printing.table_width_pt(c.width) for c in cols[:n_printed]], repeat
        )
        ws.print_area(0, 0, last_row, n_printed - 1)
        ws.set_print_scale(plan.scale)
        if plan.breaks:
            ws.set_v_pagebreaks(list(plan.breaks))
        if plan.repeat:
            ws.repeat_columns(0, plan.repeat - 1)


@dataclass(frozen=True)
class _Column:
    header: str
    width: float
    source: int  # index into a row
    printed: bool
    cut: int = 0  # print only the first ``cut`` characters

    def value(self, row: Sequence[object]) -> object:
        value = row[self.source] if self.source < len(row) else None
        if self.cut and isinstance(value, str):
            return value[: self.cut]
        return value


def _columns(
    headers: Sequence[str], widths: Sequence[float], printed: PrintColumns | None
) -> list[_Column]:
    """The sheet's columns: the printed ones in print order, then the others."""
    width_of = {i: (widths[i] if i < len(widths) else DEFAULT_WIDTH) for i in range(len(headers))}
    if printed is None:
        return [_Column(h, width_of[i], i, True) for i, h in enumerate(headers)]
    index = {h: i for i, h in enumerate(headers)}
    short = dict(printed.short)
    out = []
    for h, w in printed.widths:
        if h not in index:  # a column this table does not have (a form without 审核人)
            continue
        if h in short:
            out.append(_Column(f"{h}（前{short[h]}位）", w, index[h], True, short[h]))
        else:
            out.append(_Column(h, w, index[h], True))
    shown = {h for h, _ in printed.widths if h not in short and h in index}
    out += [_Column(h, width_of[i], i, False) for i, h in enumerate(headers) if h not in shown]
    return out


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
