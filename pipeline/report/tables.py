"""Plain table sheets (a header row and data rows) for the reports, written safely.

Text that came from a return is always written as a string cell, never a formula, and
never turned into a hyperlink.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.distribute.styles import (
    HEADER_FILL,
    HEADER_FONT,
    LEFT,
    LEFT_NOWRAP,
    TITLE_FONT,
    set_text,
    style,
    text_height,
)


def banner(ws: Worksheet, row: int, text: str, width: int, font: Font = HEADER_FONT) -> None:
    """A line of text across the table's width (titles, due date, counts)."""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=max(1, width))
    set_text(ws.cell(row, 1), text)
    style(ws.cell(row, 1), font=font, align=LEFT_NOWRAP, border=False)


def fit_to_page(ws: Worksheet) -> None:
    """Print landscape on A4, every column on one page width."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def write_table(
    ws: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    widths: Sequence[int] | None = None,
    title: str = "",
    start_row: int = 1,
) -> int:
    """Write a titled table; returns the next free row."""
    r = start_row
    if title:
        banner(ws, r, title, len(headers), TITLE_FONT)
        r += 2
    header_row = r
    for c, h in enumerate(headers, start=1):
        set_text(ws.cell(r, c), h)
        style(ws.cell(r, c), font=HEADER_FONT, fill=HEADER_FILL)
    width_of = list(widths or [])
    for row in rows:
        r += 1
        shown: list[tuple[str, int]] = []
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c)
            if isinstance(value, str):
                set_text(cell, value)
                if c <= len(width_of):
                    shown.append((value, width_of[c - 1]))
            else:
                cell.value = value
            style(cell, align=LEFT)
        if shown:
            ws.row_dimensions[r].height = text_height(shown, minimum=15)
    for c, w in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    fit_to_page(ws)
    if r > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{r}"
    return r + 2
