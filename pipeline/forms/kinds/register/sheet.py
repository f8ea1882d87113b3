"""A register's cells on a template or an aggregated return.

A template: the institution's open items pre-filled with their last state (编号 locked,
the bureau's 挂牌督办 locked, every other field open to update), then blank rows to add
items in (编号 left for the pipeline to give). Each open cell has the in-cell check of
its field's type: drop-downs for choices, dates, lengths.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.roster import Reporter
from pipeline.forms.kinds.register.layout import RegisterRows
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.kinds.typed import field_checks, typed_value
from pipeline.forms.kinds.writing import DATE_FORMAT, UNLOCKED
from pipeline.forms.layout import Layout
from pipeline.forms.styles import (
    CENTER,
    DERIVED_FILL,
    INPUT_FILL,
    LEFT,
    set_text,
    style,
    text_height,
)


def write_register(
    ws: Worksheet,
    spec: RegisterSpec,
    lay: Layout,
    reporter: Reporter,
    content: RegisterRows,
    template: bool,
) -> int:
    mine = {f.key for f in spec.inputs_for(reporter.role)}
    checks = (
        field_checks(ws, tuple(f for f in spec.fields if f.key in mine), "") if template else {}
    )
    values = dict(content.items)
    for row_key, r in lay.row_of.items():
        given = values.get(row_key, {})
        shown: list[tuple[str, int]] = []
        for f in spec.fields:
            cell = ws.cell(r, lay.col_of[f.key])
            text = row_key if f.key == spec.id_field and row_key in values else given.get(f.key, "")
            if text:
                value = typed_value(f, text)
                if isinstance(value, str):
                    set_text(cell, value)
                else:
                    cell.value = value
                shown.append((text, f.width))
            open_cell = template and f.key in mine
            fill = INPUT_FILL if open_cell else DERIVED_FILL if template else None
            style(cell, align=LEFT if f.width > 10 else CENTER, fill=fill)
            if f.type == "date":
                cell.number_format = DATE_FORMAT
            if open_cell:
                cell.protection = UNLOCKED
                if f.key in checks:
                    checks[f.key].add(cell)
        ws.row_dimensions[r].height = text_height(shown, minimum=20)
    for dv in checks.values():
        if dv.sqref:
            ws.add_data_validation(dv)
    for f in spec.fields:
        ws.column_dimensions[get_column_letter(lay.col_of[f.key])].width = f.width
    if template:  # more new items than blank rows: the institution inserts rows
        ws.protection.insertRows = False
    return lay.last_data_row
