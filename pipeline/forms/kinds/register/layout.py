"""A register's sheet: one header row of field names, then the items the template comes
pre-filled with (the institution's open ones, by ID), then blank rows for new items.

Only the header is fixed: item rows are data, so every institution's register has the
same fingerprint, whatever it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.layout import Layout, footer_cells

HEADER_ROW = 3
MAX_ROWS = 50_000  # rows read below the header (a province's aggregated register)


@dataclass(frozen=True)
class RegisterRows:
    """What a register sheet holds: items (ID, field values) and blank rows below."""

    items: tuple[tuple[str, Mapping[str, str]], ...] = ()
    blank: int = 0


def blank_rows(spec: RegisterSpec, items: int) -> int:
    """Enough blank rows that nobody runs out: the definition's, and half as many again
    as the items an institution already has."""
    return max(spec.blank_rows, -(-items // 2))


def register_layout(spec: RegisterSpec, content: RegisterRows | None) -> Layout:
    rows = content or RegisterRows(blank=spec.blank_rows)
    lay = Layout(spec=spec, sheet=spec.sheet, width=len(spec.fields))
    lay.header_rows = (HEADER_ROW,)
    for i, f in enumerate(spec.fields):
        lay.col_of[f.key] = 1 + i
        lay.labels[(HEADER_ROW, 1 + i)] = f.header
    row = HEADER_ROW + 1
    lay.first_data_row = row
    for item_id, _ in rows.items:
        lay.row_of[item_id] = row
        row += 1
    spare = []
    for n in range(rows.blank):
        lay.row_of[f"new{n + 1}"] = row
        spare.append(row)
        row += 1
    lay.spare_rows = tuple(spare)
    lay.last_data_row = row - 1
    lay.footer_row = row + 1
    lay.footer_cells = footer_cells(spec, lay.width, 2 if spec.fields[0].width < 8 else 1)
    return lay
