"""A list's sheet: one header row of field names, the pre-filled rows (a group's first
columns merged down over it), then spare rows for what an institution adds."""

from __future__ import annotations

from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import Layout, Merge, footer_cells
from pipeline.forms.rows import Row

HEADER_ROW = 3
NARROW = 8  # a first column narrower than this (序号) holds no footer label


def list_layout(spec: ListSpec, rows: tuple[Row, ...]) -> Layout:
    lay = Layout(spec=spec, sheet=spec.sheet, width=len(spec.fields))
    header = HEADER_ROW
    lay.header_rows = (header,)
    for i, f in enumerate(spec.fields):
        lay.col_of[f.key] = 1 + i
        lay.labels[(header, 1 + i)] = f.header
    row = header + 1
    lay.first_data_row = row
    identity = spec.identity_field
    group_start: int | None = None
    for t in rows:
        lay.row_of[t.key] = row
        if identity:
            lay.labels[(row, lay.col_of[identity])] = t.values.get(identity, "")
        if spec.opens_group(t):
            group_start = row
        elif group_start is not None:
            for key in spec.group_fields:
                col = lay.col_of[key]
                lay.merges = [
                    m for m in lay.merges if (m.first_row, m.first_col) != (group_start, col)
                ]
                lay.merges.append(Merge(group_start, col, row, col))
        row += 1
    spare = []
    for n in range(spec.spare_rows):
        lay.row_of[f"new{n + 1}"] = row
        spare.append(row)
        row += 1
    lay.spare_rows = tuple(spare)
    lay.last_data_row = row - 1
    lay.footer_row = row + 1
    start = 2 if spec.fields[0].width < NARROW else 1
    lay.footer_cells = footer_cells(spec, lay.width, start)
    return lay
