"""Cell styles shared by the templates and every xlsx the pipeline writes."""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Sequence
from copy import copy
from functools import lru_cache

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.worksheet import Worksheet

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
TITLE_FONT = Font(name=FONT, size=16, bold=True)
HEADER_FONT = Font(name=FONT, size=10, bold=True)
BODY_FONT = Font(name=FONT, size=10)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
DERIVED_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
LEFT_NOWRAP = Alignment(horizontal="left", vertical="center", wrap_text=False)
LINE_HEIGHT = 13.5  # points per line of 10-point text


MAX_ROW_PT = 409  # Excel's tallest row


@lru_cache(maxsize=65536)  # long outputs repeat their texts (names, topics) row after row
def text_lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` digits wide: a CJK or full-width
    character takes two digits, any other one; one digit on each side is padding."""
    per_line = max(2, 2 * (int(width / 2) - 1))
    lines = 0
    for part in str(text).split("\n"):
        units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in part)
        lines += max(1, -(-units // per_line))
    return lines


def text_height(texts_and_widths: Sequence[tuple[str, float]], minimum: float = 24) -> float:
    """Row height that shows every wrapped text whole, up to Excel's 409 points."""
    lines = max((text_lines(str(t), w) for t, w in texts_and_widths), default=1)
    return min(MAX_ROW_PT, max(minimum, lines * LINE_HEIGHT + 6))


# Workbook -> ids of (font, fill, alignment), border -> the style array they made, and
# the objects themselves, kept alive so that their ids cannot be reused.
_Made = dict[tuple[int, int, int, bool], tuple[StyleArray, tuple[object, ...]]]
_MADE: weakref.WeakKeyDictionary[Workbook, _Made] = weakref.WeakKeyDictionary()


def style(
    cell: Cell,
    *,
    font: Font = BODY_FONT,
    fill: PatternFill | None = None,
    align: Alignment = CENTER,
    border: bool = True,
    shared: bool = False,
) -> None:
    """Font, fill, alignment and border of a cell.

    openpyxl hashes every style object on every assignment, which made styling most of
    the cost of a large output; each combination is therefore set once per workbook and
    its resulting style array (indexes into the workbook's style tables) copied after.
    ``shared``: the cell takes that very array, not a copy, for cells whose style is
    never changed after (openpyxl changes an array in place): an aggregated list's
    hundred thousand cells, for a third of their memory.
    """
    fresh = not cell.has_style  # else it has a format or protection of its own to keep
    made = _MADE.setdefault(cell.parent.parent, {})
    key = (id(font), id(fill), id(align), border)
    known = made.get(key) if fresh else None
    if known is not None:
        cell._style = known[0] if shared else copy(known[0])
        return
    cell.font = font
    cell.alignment = align
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BORDER
    if fresh:
        made[key] = (copy(cell._style), (font, fill, align))


class _StyledMerge(MergedCellRange):
    """A merged range of cells that carry their own borders: openpyxl's gathering of
    the edge cells' borders (to redraw them) is not needed, and costs most of a merge."""

    def _get_borders(self) -> None:
        return None


def merge(ws: Worksheet, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Merge a range whose cells are styled by us (every cell its own borders).

    openpyxl's ``merge_cells`` redraws the range's outer borders cell by cell, hashing a
    style object for each: 37 ms for a task's 50 rows, minutes for an aggregated list of
    a few thousand institutions. Our cells carry their borders already, so the range is
    registered and its cells made merged ones, their styles kept."""
    for r in range(first_row, last_row + 1):
        for c in range(first_col, last_col + 1):
            old = ws._cells.get((r, c))
            if (r, c) == (first_row, first_col) or isinstance(old, MergedCell):
                continue
            merged = MergedCell(ws, row=r, column=c)
            if old is not None:  # its style array passes on with it: the cell is dropped
                merged._style = old._style
            ws._cells[(r, c)] = merged
    ref = f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"
    ws.merged_cells.ranges.add(_StyledMerge(ws, ref))  # .add() would scan every range


def set_text(cell: Cell, text: str) -> None:
    """Write ``text`` as a string even when it starts with '=' (never a formula);
    characters a workbook cannot hold (control characters) become U+FFFD."""
    if isinstance(text, str):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell.value = text
    if isinstance(text, str) and text.startswith("="):
        cell.data_type = "s"
