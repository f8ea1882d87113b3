"""A register's rows as records: every row with something in it, down to the footer.

A row with an 编号 is that item's state this period; a row without one is a new item,
keyed by its sheet row until the ledger gives it an ID. The bureau's own field
(挂牌督办) is read only to notice a change by an institution, and is never taken from one.
"""

from __future__ import annotations

from pipeline.forms.kinds.base import ReadContext
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.kinds.typed import read_cell
from pipeline.forms.layout import Layout, footer_key
from pipeline.forms.records import Extracted, NewItem, TextCell
from pipeline.forms.sheet import RawSheet

NEW = "new:"  # row key prefix of an item without an ID yet
AGAIN = "@"  # an ID met again on the sheet is keyed <ID>@<row> (the checks refuse it)


def rows_of(sheet: RawSheet, lay: Layout, last: int) -> list[int]:
    """Rows from the first data row to the footer (or the last row read) with text."""
    footer = {footer_key(label) for label, _ in lay.footer_cells}
    label_col = lay.footer_cells[0][1] if lay.footer_cells else 1
    rows = sorted({r for (r, c) in sheet.cells if lay.first_data_row <= r <= last})
    out = []
    for r in rows:
        if any(sheet.text(r, label_col).startswith(k) for k in footer if k):
            break
        if any(sheet.text(r, c) for c in lay.col_of.values()):
            out.append(r)
    return out


def extract_register(
    sheet: RawSheet, spec: RegisterSpec, lay: Layout, last: int, ctx: ReadContext, out: Extracted
) -> None:
    role = ctx.institution.role
    mine = {f.key for f in spec.inputs_for(role)}
    year = ctx.period.year
    id_col = lay.col_of[spec.id_field]
    ids: set[str] = set()
    for r in rows_of(sheet, lay, last):
        item_id = sheet.text(r, id_col)
        row_key = item_id or f"{NEW}{r}"
        if item_id and item_id in ids:
            row_key = f"{item_id}{AGAIN}{r}"
        ids.add(item_id)
        cells: list[TextCell] = []
        seen: list[TextCell] = []
        for f in spec.fields:
            if f.key == spec.id_field:
                continue
            got = read_cell(
                sheet,
                f,
                r,
                lay.col_of[f.key],
                row_key,
                spec.id,
                year,
                ctx.where,
                out,
                # an aggregate names the units of the level below, not of our roster
                None if out.aggregate else ctx.institutions,
            )
            if got is None:
                continue
            if f.key in mine or f.fill == "prefilled":
                cells.append(got)
            else:  # the bureau's: compared with its decision, never taken
                seen.append(got)
        if not cells:
            continue  # an ID alone, the rest cleared: the item is missing (the checks say)
        out.texts.extend(cells)
        out.not_taken.extend(seen)
        if AGAIN in row_key:
            continue  # a second row of one ID: refused, never an item
        if item_id and out.aggregate:
            out.new_items.append(NewItem(spec.id, row_key, spec.id_prefix, "", item_id))
        elif not item_id:
            identity = next((c.text for c in cells if c.field == spec.identity_field), "")
            out.new_items.append(NewItem(spec.id, row_key, spec.id_prefix, identity))
