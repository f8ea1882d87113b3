"""Cell styles shared by the templates and every xlsx the pipeline writes."""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

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


def text_height(texts_and_widths: list[tuple[str, int]], minimum: float = 24) -> float:
    """Row height that shows every wrapped text whole (a CJK glyph is ~2 width units)."""
    lines = 1
    for text, width in texts_and_widths:
        per_line = max(1, int(width / 2) - 1)
        lines = max(lines, sum(-(-max(1, len(part)) // per_line) for part in str(text).split("\n")))
    return min(409, max(minimum, lines * LINE_HEIGHT + 6))  # 409 pt: Excel's row limit


def style(
    cell: Cell,
    *,
    font: Font = BODY_FONT,
    fill: PatternFill | None = None,
    align: Alignment = CENTER,
    border: bool = True,
) -> None:
    cell.font = font
    cell.alignment = align
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BORDER


def set_text(cell: Cell, text: str) -> None:
    """Write ``text`` as a string even when it starts with '=' (never a formula);
    characters a workbook cannot hold (control characters) become U+FFFD."""
    if isinstance(text, str):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell.value = text
    if isinstance(text, str) and text.startswith("="):
        cell.data_type = "s"
