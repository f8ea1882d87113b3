"""A grid's sheet: the row header and grouped column headers (merged where a group spans
several columns), a unit row, one row per topic, then 当月累计 and 累计总计."""

from __future__ import annotations

from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec
from pipeline.forms.layout import Layout, Merge, footer_cells
from pipeline.forms.rows import Row

HEADER_TOP = 3


def grid_layout(spec: GridSpec, rows: tuple[Row, ...]) -> Layout:
    depth = spec.header_depth
    lay = Layout(spec=spec, sheet=spec.sheet, width=1 + len(spec.measures))
    top = HEADER_TOP
    lay.header_rows = tuple(range(top, top + depth))
    unit_row = top + depth
    lay.labels[(top, 1)] = spec.row_header
    lay.merges.append(Merge(top, 1, top + depth - 1, 1))
    for i, m in enumerate(spec.measures):
        lay.col_of[m.key] = 2 + i
    _headers(spec, lay, top, depth)
    for m in spec.measures:
        lay.labels[(unit_row, lay.col_of[m.key])] = f"（{m.unit}）"
    row = unit_row + 1
    lay.first_data_row = row
    for t in rows:
        lay.row_of[t.key] = row
        lay.labels[(row, 1)] = t.label
        if t.aliases:
            lay.aliases[(row, 1)] = t.aliases
        row += 1
    for key, label in (
        (MONTH_ROW, spec.month_total_label),
        (CUMULATIVE_ROW, spec.cumulative_label),
    ):
        lay.row_of[key] = row
        lay.labels[(row, 1)] = label
        row += 1
    lay.last_data_row = row - 1
    lay.footer_row = row + 1
    lay.footer_cells = footer_cells(spec, lay.width)
    return lay


def _headers(spec: GridSpec, lay: Layout, top: int, depth: int) -> None:
    """Merge equal header prefixes across columns; a path's last label extends down."""
    for level in range(depth):
        i = 0
        while i < len(spec.measures):
            m = spec.measures[i]
            if len(m.header) <= level:
                i += 1
                continue
            j = i
            while (
                j + 1 < len(spec.measures)
                and len(spec.measures[j + 1].header) > level
                and spec.measures[j + 1].header[: level + 1] == m.header[: level + 1]
                and len(m.header) > level + 1
            ):
                j += 1
            last_row = top + level if len(m.header) > level + 1 else top + depth - 1
            lay.labels[(top + level, 2 + i)] = m.header[level]
            if j > i or last_row > top + level:
                lay.merges.append(Merge(top + level, 2 + i, last_row, 2 + j))
            i = j + 1
