"""Plain table outputs (a title, header row and data rows), streamed row by row.

The validation log, the detail and the anomaly list grow with the number of
institutions, so their rows are streamed to disk as they come by our own small writer
(:mod:`pipeline.report.sheetxml`: a cell costs about a microsecond of Python, where
xlsxwriter took ten). Text that came from a return is always written as a string
cell, never a formula, a number or a hyperlink, and characters a workbook cannot hold
become U+FFFD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pipeline.forms import printing
from pipeline.forms.printing import PrintColumns
from pipeline.forms.styles import FONT, text_height
from pipeline.report.sheetxml import CellStyle, Page, Sheet, Workbook

DEFAULT_WIDTH = 10


class TableBook:
    """One output workbook of table sheets; use as a context manager around its writing."""

    def __init__(self, path: Path, stage: str = "") -> None:
        """``stage``: the campaign's stage in the period (巩固提高阶段), said after every
        table's title."""
        self.wb = Workbook(path)
        self.stage = stage
        style = self.wb.add_style
        self.title = style(CellStyle(FONT, size=16, bold=True))
        self.banner_format = style(CellStyle(FONT, size=printing.BODY_PT, bold=True))
        self.header = style(
            CellStyle(
                FONT,
                size=printing.BODY_PT,
                bold=True,
                fill="DDEBF7",
                border=True,
                align="center",
                wrap=True,
            )
        )
        self.body = style(
            CellStyle(FONT, size=printing.BODY_PT, border=True, align="left", wrap=True)
        )
        self.body_nowrap = style(CellStyle(FONT, size=printing.BODY_PT, border=True, align="left"))

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
        else:
            self.wb.discard()

    def close(self) -> None:
        """Finish the file: the package is assembled and deflated here."""
        self.wb.close()

    def sheet(self, name: str) -> TableSheet:
        return TableSheet(self, self.wb.add_sheet(name))


class TableSheet:
    def __init__(self, book: TableBook, ws: Sheet) -> None:
        self.book = book
        self.ws = ws
        ws.page = Page(
            landscape=True,
            paper=printing.PAPER_A4,
            margins=(
                printing.MARGIN_SIDE_IN,
                printing.MARGIN_SIDE_IN,
                printing.MARGIN_TOP_IN,
                printing.MARGIN_BOTTOM_IN,
            ),
            header_margin=printing.MARGIN_HEADER_IN,
            footer_margin=printing.MARGIN_FOOTER_IN,
            footer=printing.PAGE_FOOTER,
        )

    def banner(self, row: int, text: str, width: int, *, title: bool = False) -> None:
        """A line of text across the table's width (titles, due date, counts); 1-based."""
        style = self.book.title if title else self.book.banner_format
        if title and self.book.stage:
            text = f"{text}　{self.book.stage}"
        width = max(width, 1)
        self.ws.row(row - 1, [text, *[None] * (width - 1)], [style] * width)
        if width > 1:
            self.ws.merge(row - 1, 0, row - 1, width - 1)

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
            ws.set_width(c, col.width)
        header_row = r
        ws.row(
            r,
            [col.header for col in cols],
            [book.header] * len(cols),
            height=text_height([(c.header, c.width) for c in cols if c.printed], minimum=15),
        )
        styles = [book.body if fit_rows and col.printed else book.body_nowrap for col in cols]
        pick = _picker(cols)
        fitted = [(i, col.width) for i, col in enumerate(cols) if col.printed] if fit_rows else []
        write = ws.row
        for row in rows:
            r += 1
            shown = pick(row)
            height = None
            if fitted:
                wrapped = [(v, w) for i, w in fitted if isinstance(v := shown[i], str)]
                if wrapped:
                    height = text_height(wrapped, minimum=15)
            write(r, shown, styles, height, blank_cells)
        ws.frozen_rows = header_row + 1
        ws.page.title_rows = (header_row, header_row)
        if r > header_row:
            ws.autofilter = (header_row, 0, r, len(cols) - 1)
        self._print_setup(cols, n_printed, r, printed.repeat if printed else 0)
        return r + 3

    def _print_setup(self, cols: list[_Column], n_printed: int, last_row: int, repeat: int) -> None:
        """Print the printed columns at a scale that keeps 10-pt text at 9 pt or more
        (see :mod:`pipeline.forms.printing`)."""
        page = self.ws.page
        plan = printing.plan_columns(
            [printing.table_width_pt(c.width) for c in cols[:n_printed]], repeat
        )
        page.area = (0, 0, last_row, n_printed - 1)
        page.scale = plan.scale
        page.col_breaks = tuple(plan.breaks)
        page.title_cols = (0, plan.repeat - 1) if plan.repeat else None


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


def _picker(cols: list[_Column]) -> Callable[[Sequence[object]], Sequence[object]]:
    """A row's values in the sheet's column order (the printed ones first, a short
    column cut); a row that is already so is passed as it is."""
    width = len(cols)
    if all(c.source == i and not c.cut for i, c in enumerate(cols)):

        def same(row: Sequence[object]) -> Sequence[object]:
            return row if len(row) == width else [*row[:width], *[None] * (width - len(row))]

        return same
    return lambda row: [col.value(row) for col in cols]
