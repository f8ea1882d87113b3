"""How a sheet prints: landscape A4, the header rows on every page, and no text under
9 pt on paper.

"Fit to one page wide" is what printed a 35-column table at 3 pt: the application
shrinks until everything fits. Here every sheet prints at a fixed scale of at least
90 % (the body text is 10 pt, so 9 pt or more on paper): the columns a clerk reads fit
across the page at that scale, or are cut into bands of whole columns, each band a page
wide, with the leading key columns (who, which topic) repeated on each. A fixed scale
prints the same size in Excel, WPS and LibreOffice, whatever widths their fonts give.

The arithmetic is Excel's: a column's width is counted in digits of the workbook's
default font (Calibri 11, 7 pixels a digit), pixels are at 96 an inch, points at 72;
a row's height is in points. Other applications count a column a little wider
(LibreOffice with Carlito, Calibri's metric twin, about 5 % wider), so the columns are
laid out to fill at most :data:`SLACK` of the page, and a page's rows likewise.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

PAPER_A4 = 9  # the paperSize code of A4
PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 841.89, 595.28  # A4 landscape, 297 × 210 mm
MARGIN_SIDE_IN = 0.4  # left and right
MARGIN_TOP_IN = MARGIN_BOTTOM_IN = 0.6
MARGIN_HEADER_IN = MARGIN_FOOTER_IN = 0.3
BODY_PT = 10  # the body font of every sheet (forms.styles, report.tables)
MIN_PRINTED_PT = 9
MIN_SCALE = math.ceil(100 * MIN_PRINTED_PT / BODY_PT)  # per cent
SLACK = 0.94
DIGIT_PX = 7  # Calibri 11, the default font of our workbooks (openpyxl's, the tables')
PADDING_PX = 5  # what Excel's column-width box adds to a width's digits
PAGE_FOOTER = "&C第 &P 页，共 &N 页"


def printable_width() -> float:
    """Points across the paper between the side margins."""
    return PAGE_WIDTH_PT - 2 * 72 * MARGIN_SIDE_IN


def printable_height() -> float:
    """Points down the paper between the top and bottom margins."""
    return PAGE_HEIGHT_PT - 72 * (MARGIN_TOP_IN + MARGIN_BOTTOM_IN)


def stored_width_pt(width: float) -> float:
    """Points of a column whose width is stored as ``width`` (as openpyxl writes it)."""
    return math.trunc(width * DIGIT_PX + 128 // DIGIT_PX / 256 * DIGIT_PX) * 0.75


def table_width_pt(width: float) -> float:
    """Points of a column set to ``width`` by the table outputs' writer, which adds 5
    pixels of padding to the digits, as Excel's column-width box (and xlsxwriter) does."""
    return (int(width * DIGIT_PX + 0.5) + PADDING_PX) * 0.75


@dataclass(frozen=True)
class ColumnPlan:
    """How a sheet's printed columns go onto paper."""

    scale: int  # per cent, never under MIN_SCALE
    breaks: tuple[int, ...] = ()  # 0-based columns that start a new page across
    repeat: int = 0  # leading columns printed again at the left of every page across


def plan_columns(widths_pt: Sequence[float], repeat: int = 0) -> ColumnPlan:
    """The largest scale up to 100 % at which the columns fit one page wide, if that
    is at least :data:`MIN_SCALE`; else bands of whole columns, each fitting a page at
    that scale with the first ``repeat`` columns again on its left."""
    room = printable_width() * SLACK
    total = sum(widths_pt)
    if total * MIN_SCALE / 100 <= room:
        return ColumnPlan(min(100, math.floor(100 * room / total)) if total else 100)
    cap = room * 100 / MIN_SCALE
    keys = sum(widths_pt[:repeat]) if repeat and sum(widths_pt[:repeat]) < cap / 2 else 0.0
    repeat = repeat if keys else 0
    breaks: list[int] = []
    used, widest = 0.0, 0.0
    for col, w in enumerate(widths_pt):
        if used + w > cap and col > max(repeat, breaks[-1] if breaks else 0):
            breaks.append(col)
            widest = max(widest, used)
            used = keys
        used += w
    widest = max(widest, used)
    return ColumnPlan(
        max(MIN_SCALE, min(100, math.floor(100 * room / widest))), tuple(breaks), repeat
    )


def row_breaks(
    heights: Sequence[float],
    units: Iterable[tuple[int, int]],
    *,
    above: float,
    repeated: float,
    scale: int,
) -> list[int]:
    """Indexes into ``heights`` (rows in sheet order) before which a new page starts.

    ``units`` are (first, last) index spans to keep on one page when they fit one (a
    task and its institutions' rows), in order and covering every row; ``above`` is
    what the first page holds before the first row (title, headers), ``repeated`` the
    header rows printed again at the top of every later page."""
    page = printable_height() * SLACK * 100 / scale
    breaks: list[int] = []
    used = above
    for first, last in units:
        tall = sum(heights[first : last + 1])
        if used + tall <= page:
            used += tall
            continue
        if repeated + tall <= page:  # the whole unit on a fresh page
            breaks.append(first)
            used = repeated + tall
            continue
        if used > repeated:  # taller than a page: from the top of one, breaking between rows
            breaks.append(first)
            used = repeated
        for i in range(first, last + 1):
            if used + heights[i] > page and used > repeated:
                breaks.append(i)
                used = repeated
            used += heights[i]
    return [b for b in breaks if b > 0]


# -- a form's sheet (openpyxl: templates and the aggregated return) --------------------
def sheet_plan(ws: Worksheet, width: int, repeat: int = 0) -> ColumnPlan:
    """The column plan of an openpyxl sheet's first ``width`` columns, as their widths
    are set (a column left at Excel's default is 8.43 digits); the first ``repeat``
    columns printed again on every page across when it needs several."""
    from openpyxl.utils import get_column_letter  # here: a rerun imports no openpyxl

    widths = []
    for col in range(1, width + 1):
        dim = ws.column_dimensions.get(get_column_letter(col))
        widths.append(stored_width_pt(dim.width if dim is not None and dim.width else 8.43))
    return plan_columns(widths, repeat)


def set_page(ws: Worksheet, plan: ColumnPlan, width: int, title_rows: str | None) -> None:
    """Landscape A4 at ``plan``'s scale, margins, page numbers, the first ``width``
    columns as the print area, ``title_rows`` (e.g. ``"3:6"``) on every page."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.page import PageMargins
    from openpyxl.worksheet.pagebreak import Break

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = plan.scale
    ws.page_margins = PageMargins(
        left=MARGIN_SIDE_IN,
        right=MARGIN_SIDE_IN,
        top=MARGIN_TOP_IN,
        bottom=MARGIN_BOTTOM_IN,
        header=MARGIN_HEADER_IN,
        footer=MARGIN_FOOTER_IN,
    )
    ws.oddFooter.center.text = PAGE_FOOTER.removeprefix("&C")
    if title_rows:
        ws.print_title_rows = title_rows
    if plan.breaks and plan.repeat:  # which row of the form a page across continues
        ws.print_title_cols = f"A:{get_column_letter(plan.repeat)}"
    ws.print_area = f"A1:{get_column_letter(width)}{max(ws.max_row, 1)}"
    for col in plan.breaks:
        ws.col_breaks.append(Break(id=col))


def break_pages(ws: Worksheet, rows: Sequence[int], breaks: Iterable[int]) -> None:
    """A page break before each of ``breaks`` (indexes into ``rows``); a merged range
    that crosses one is cut there and its text and look repeated below the break, so a
    task's name stands at the top of the page its rows go on to."""
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.pagebreak import Break

    from pipeline.forms.styles import merge

    starts = sorted(rows[i] for i in breaks)
    # Set at once: openpyxl's append copies and checks the whole list, each time.
    ws.row_breaks.brk = [*ws.row_breaks.brk, *(Break(id=row - 1) for row in starts)]
    for merged in list(ws.merged_cells.ranges):
        top, left = merged.min_row, merged.min_col
        right, bottom = merged.max_col, merged.max_row
        cuts = starts[bisect_right(starts, top) : bisect_right(starts, bottom)]
        if not cuts:
            continue
        source = ws.cell(top, left)
        ws.merged_cells.remove(merged)
        for first, after in pairwise([top, *cuts, bottom + 1]):
            if first != top:  # the part's first cell holds the text again
                again = Cell(ws, row=first, column=left)
                again._style = copy(source._style)
                again.value = source.value
                ws._cells[(first, left)] = again
            if (first, left) != (after - 1, right):  # one cell needs no merging
                merge(ws, first, left, after - 1, right)


@dataclass(frozen=True)
class PrintColumns:
    """The columns of a table a clerk reads on paper, in order, each with its width;
    the table's other columns follow at the right, on screen only (a full hash, a code
    for filtering). ``short`` prints the first n characters of a column in a copy of it
    (a sha256's first 12 hex digits), the whole kept on screen; ``repeat`` prints the
    first n printed columns again on every page across when the table needs several."""

    widths: tuple[tuple[str, float], ...]
    repeat: int = 0
    short: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(
        cls, widths: dict[str, float], repeat: int = 0, short: dict[str, int] | None = None
    ) -> PrintColumns:
        return cls(tuple(widths.items()), repeat, tuple((short or {}).items()))
