"""A list's sheet: one header row of field names, the pre-filled rows (a group's first
columns merged down over it), then spare rows for what an institution adds."""

from __future__ import annotations

from pipeline.forms.kinds.tasklist.shape import UNIT, Shape
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


def aggregate_layout(spec: ListSpec, rows: tuple[Row, ...], shape: Shape) -> Layout:
    """The aggregated list's layout (see :mod:`.shape`): the template's columns and one
    more naming the institution of each row; each task's block of rows under its own
    cells, merged down; each group's 序号/任务事项 merged over its tasks and the tasks
    added to it. Labels: the header row, and each task's 主要内容 atop its block."""
    own = list_layout(spec, rows)
    unit_col = own.width + 1
    lay = Layout(spec=spec, sheet=spec.sheet, width=unit_col, variant=shape.text)
    lay.header_rows = own.header_rows
    lay.col_of = {**own.col_of, UNIT: unit_col}
    lay.labels = {(r, c): t for (r, c), t in own.labels.items() if r == HEADER_ROW}
    lay.labels[(HEADER_ROW, unit_col)] = spec.reporter_label
    lay.first_data_row = HEADER_ROW + 1
    slots = list(shape.slots(spec, rows, lay.first_data_row))
    values = {r.key: r.values for r in rows}
    task_fields = [f.key for f in spec.fields if not f.is_input and f.key not in spec.group_fields]
    spans: dict[tuple[str, str], list[int]] = {}
    for s in slots:
        lay.row_of[s.key] = s.row
        if s.task:
            spans.setdefault(("task", s.task), []).append(s.row)
            if s.index == 1 and spec.identity_field:
                col = lay.col_of[spec.identity_field]
                lay.labels[(s.row, col)] = values[s.task].get(spec.identity_field, "")
        if s.group:
            spans.setdefault(("group", s.group), []).append(s.row)
    for (what, _), span in spans.items():
        if len(span) > 1:
            keys = task_fields if what == "task" else spec.group_fields
            lay.merges += [Merge(span[0], own.col_of[k], span[-1], own.col_of[k]) for k in keys]
    lay.last_data_row = slots[-1].row if slots else HEADER_ROW
    lay.footer_row = lay.last_data_row + 2
    lay.footer_cells = own.footer_cells
    return lay
