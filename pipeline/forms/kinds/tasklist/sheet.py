"""A list's cells on a template or an aggregated return.

A template: the pre-filled rows (the institution's fields unlocked, yellow, each with
the in-cell check of its type), the spare rows all open. An aggregated return: a row
for each institution under each task (see :mod:`.shape`). Either way every row is tall
enough for its text, a task's rows are kept on one page where they fit, and a merged
task or group cut by a page break shows its text again on the next page.
"""

from __future__ import annotations

from bisect import bisect_right

from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.roster import Reporter
from pipeline.forms import printing
from pipeline.forms.kinds.tasklist.layout import HEADER_ROW
from pipeline.forms.kinds.tasklist.merge import UNIT_WIDTH, ListAggregate
from pipeline.forms.kinds.tasklist.shape import UNIT, Shape
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.kinds.typed import field_checks
from pipeline.forms.kinds.writing import UNLOCKED
from pipeline.forms.layout import Layout
from pipeline.forms.rows import Row
from pipeline.forms.styles import (
    CENTER,
    INPUT_FILL,
    LEFT,
    LINE_HEIGHT,
    MAX_ROW_PT,
    set_text,
    style,
    text_height,
)

DEFAULT_ROW_PT = 15  # a row whose height is not set (the unit line under the title)


def write_list(
    ws: Worksheet,
    spec: ListSpec,
    lay: Layout,
    rows: tuple[Row, ...],
    reporter: Reporter,
    template: bool,
) -> int:
    """The pre-filled and spare rows; returns the last row used."""
    mine = {f.key for f in spec.inputs_for(reporter.role)}
    checks = field_checks(ws, spec.fields, "本月") if template else {}
    values = {r.key: r.values for r in rows}
    spare = set(lay.spare_rows)
    for row_key, r in lay.row_of.items():
        shown: list[tuple[str, int]] = []
        for f in spec.fields:
            cell = ws.cell(r, lay.col_of[f.key])
            text = values.get(row_key, {}).get(f.key, "")
            if text and not isinstance(cell, MergedCell):
                set_text(cell, text)
                shown.append((text, f.width))
            open_cell = template and (f.key in mine or r in spare)
            style(
                cell, align=LEFT if f.width > 10 else CENTER, fill=INPUT_FILL if open_cell else None
            )
            if open_cell:
                cell.protection = UNLOCKED
                if f.key in checks:
                    checks[f.key].add(cell)
        ws.row_dimensions[r].height = text_height(shown)
    for dv in checks.values():
        if dv.sqref:
            ws.add_data_validation(dv)
    _merged_fit(ws, lay, {f.key: f.width for f in spec.fields})
    _widths(ws, spec, lay)
    data_rows = sorted(lay.row_of.values())
    _paginate(ws, lay, data_rows, [(i, i) for i in range(len(data_rows))])
    return lay.last_data_row


def write_aggregate(
    ws: Worksheet, spec: ListSpec, lay: Layout, rows: tuple[Row, ...], content: ListAggregate
) -> int:
    """Each part's rows (as :meth:`ListAggregate.parts` gives them) under the tasks'
    own cells; returns the last row used."""
    values = {r.key: r.values for r in rows}
    width = {f.key: f.width for f in spec.fields} | {UNIT: UNIT_WIDTH}
    texts = [row for _, part in content.parts for row in part]
    slots = list(Shape(content.shape.parts).slots(spec, rows, lay.first_data_row))
    opened: set[str] = set()
    for s, row in zip(slots, texts, strict=True):
        shown = dict(row)
        if s.task and s.index == 1:  # the task's own cells, atop its block
            shown |= {k: v for k, v in values[s.task].items() if k not in spec.group_fields}
            if s.group not in opened:
                opened.add(s.group)
                shown |= {k: values[s.group].get(k, "") for k in spec.group_fields}
        for key, col in lay.col_of.items():
            cell = ws.cell(s.row, col)
            if shown.get(key) and not isinstance(cell, MergedCell):
                set_text(cell, shown[key])
            style(cell, align=LEFT if width[key] > 10 else CENTER, shared=True)
        ws.row_dimensions[s.row].height = text_height([(v, width[k]) for k, v in row.items()])
    _merged_fit(ws, lay, width)
    _widths(ws, spec, lay)
    ws.column_dimensions[get_column_letter(lay.col_of[UNIT])].width = UNIT_WIDTH
    units: list[tuple[int, int]] = []  # a task's block, or an added row, kept on a page
    for i, s in enumerate(slots):
        if s.task and s.index > 1:
            units[-1] = (units[-1][0], i)
        else:
            units.append((i, i))
    _paginate(ws, lay, [s.row for s in slots], units)
    return lay.last_data_row


def _widths(ws: Worksheet, spec: ListSpec, lay: Layout) -> None:
    for f in spec.fields:
        ws.column_dimensions[get_column_letter(lay.col_of[f.key])].width = f.width
    heads = [(f.header, f.width) for f in spec.fields]
    ws.row_dimensions[HEADER_ROW].height = text_height(heads)


def _merged_fit(ws: Worksheet, lay: Layout, width: dict[str, int]) -> None:
    """Rows under a merged cell (a task's 重点措施) grown, evenly, until it shows whole."""
    key_of = {col: key for key, col in lay.col_of.items()}
    merges = sorted(lay.merges, key=lambda m: m.first_row)
    # the rows' heights read once: a task's merged cells span all its institutions' rows
    height = _heights(ws, max((m.last_row for m in merges), default=0))
    for m in merges:
        text = ws.cell(m.first_row, m.first_col).value
        if not text:
            continue
        need = text_height([(str(text), width[key_of[m.first_col]])])
        span = range(m.first_row, m.last_row + 1)
        have = sum(height[r - 1] for r in span)
        if have < need:
            more = (need - have) / len(span)
            for r in span:
                grown = min(MAX_ROW_PT, round(height[r - 1] + more + 0.5 * LINE_HEIGHT))
                ws.row_dimensions[r].height = height[r - 1] = grown


def _paginate(
    ws: Worksheet, lay: Layout, data_rows: list[int], units: list[tuple[int, int]]
) -> None:
    """Page breaks keeping each unit (a task's rows) on one page where it fits; a unit
    taller than a page starts one, and where a break cuts a merged task or group, the
    rows after it grow until its text, shown again there, fits them."""
    if not data_rows:
        return
    plan = printing.sheet_plan(ws, lay.width)
    breaks: list[int] = []
    for _ in range(5):  # a grown row moves the breaks after it; settles in one or two
        height = _heights(ws, data_rows[-1])
        breaks = printing.row_breaks(
            [height[r - 1] for r in data_rows],
            units,
            above=sum(height[: data_rows[0] - 1]),
            repeated=sum(height[r - 1] for r in lay.header_rows),
            scale=plan.scale,
        )
        if not _grow_after_breaks(ws, lay, sorted(data_rows[i] for i in breaks), height):
            break
    printing.break_pages(ws, data_rows, breaks)


def _heights(ws: Worksheet, last: int) -> list[float]:
    """Rows 1..last's heights in points (index 0 is row 1), read without making a row
    dimension for every row that has none (openpyxl makes one on each lookup)."""
    dims = ws.row_dimensions
    return [(dims[r].height if r in dims else None) or DEFAULT_ROW_PT for r in range(1, last + 1)]


def _grow_after_breaks(
    ws: Worksheet, lay: Layout, break_rows: list[int], height: list[float]
) -> bool:
    """Grow the rows of each part of a merged cell after a page break to its text's
    height; whether any grew. ``height`` (index 0 is row 1) is kept up to date."""
    width = {
        col: ws.column_dimensions[get_column_letter(col)].width for col in range(1, lay.width + 1)
    }
    grew = False
    for m in lay.merges:
        cuts = break_rows[
            bisect_right(break_rows, m.first_row) : bisect_right(break_rows, m.last_row)
        ]
        if not cuts:
            continue
        text = ws.cell(m.first_row, m.first_col).value
        if not text:
            continue
        need = text_height([(str(text), width[m.first_col] or 10)])
        for start, end in zip(cuts, [*cuts[1:], m.last_row + 1], strict=True):
            span = range(start, end)
            have = sum(height[r - 1] for r in span)
            if have + 0.5 < need:
                grew = True
                more = (need - have) / len(span)
                for r in span:
                    height[r - 1] = min(MAX_ROW_PT, round(height[r - 1] + more + 0.5))
                    ws.row_dimensions[r].height = height[r - 1]
    return grew
