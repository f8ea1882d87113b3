"""A list's cells on a template or an aggregated return: the pre-filled rows (the
institution's fields unlocked, yellow, each with the in-cell check of its type), the
spare rows all open; an aggregated return's merged texts and added rows, the table
growing when more rows were added than it has spare."""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.roster import Reporter
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.kinds.typed import field_checks
from pipeline.forms.kinds.writing import UNLOCKED
from pipeline.forms.layout import Layout
from pipeline.forms.rows import Row
from pipeline.forms.styles import CENTER, INPUT_FILL, LEFT, set_text, style, text_height


def write_list(
    ws: Worksheet,
    spec: ListSpec,
    lay: Layout,
    rows: tuple[Row, ...],
    reporter: Reporter,
    filled: Mapping[str, Mapping[str, str]] | None,
    extra: list[dict[str, str]],
    template: bool,
) -> int:
    """Write the rows; returns the last row used (added rows may grow the table)."""
    mine = {f.key for f in spec.inputs_for(reporter.role)}
    checks = field_checks(ws, spec.fields, "本月") if template else {}
    values = {r.key: r.values for r in rows}
    spare = {r: extra[i] if i < len(extra) else {} for i, r in enumerate(lay.spare_rows)}
    all_rows = list(lay.row_of.items())
    next_row = lay.last_data_row + 1
    for item in extra[len(lay.spare_rows) :]:  # more added rows than spare: grow
        all_rows.append((f"extra{next_row}", next_row))
        spare[next_row] = item
        next_row += 1
    for row_key, r in all_rows:
        is_spare = r in spare
        base = spare[r] if is_spare else values.get(row_key, {})
        given = (filled or {}).get(row_key, {})
        shown: list[tuple[str, int]] = []
        for f in spec.fields:
            cell = ws.cell(r, lay.col_of[f.key])
            text = given.get(f.key) if f.key in given else base.get(f.key, "")
            if text and not isinstance(cell, MergedCell):
                set_text(cell, text)
                shown.append((text, f.width))
            open_cell = template and (f.key in mine or is_spare)
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
    for f in spec.fields:
        ws.column_dimensions[get_column_letter(lay.col_of[f.key])].width = f.width
    return max(r for _, r in all_rows)
