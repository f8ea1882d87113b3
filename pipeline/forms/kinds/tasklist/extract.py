"""A list's cells as records: the fields its reporter fills on each pre-filled row, and
every field of a row it added (in the spare rows, or typed below them)."""

from __future__ import annotations

from pipeline.findings import make
from pipeline.forms.kinds.base import ReadContext
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.kinds.typed import read_cell
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.forms.sheet import RawSheet


def _is_added_row(sheet: RawSheet, spec: ListSpec, lay: Layout, r: int) -> bool:
    """A row under the table with text in it, before the footer (审核人...)."""
    first = sheet.text(r, 1)
    if any(first.startswith(f.split("：")[0]) for f in spec.footer if f):
        return False
    return any(sheet.text(r, lay.col_of[f.key]) for f in spec.fields)


def added_rows(sheet: RawSheet, spec: ListSpec, lay: Layout) -> list[tuple[str, int]]:
    """(row key, row) of rows typed below the spare rows (aggregated returns have many)."""
    out = []
    r = lay.last_data_row + 1
    while _is_added_row(sheet, spec, lay, r):
        out.append((f"extra{r}", r))
        r += 1
    return out


def extract_list(
    sheet: RawSheet, spec: ListSpec, lay: Layout, ctx: ReadContext, out: Extracted
) -> None:
    extra = added_rows(sheet, spec, lay)
    spare = set(lay.spare_rows) | {r for _, r in extra}
    mine = spec.inputs_for(ctx.institution.role)
    year = ctx.period.year
    for row_key, r in [*lay.row_of.items(), *extra]:
        fields = spec.fields if r in spare else mine
        texts = {}
        for f in fields:
            got = read_cell(sheet, f, r, lay.col_of[f.key], row_key, spec.id, year, ctx.where, out)
            if got is not None:
                texts[f.key] = got.text
                out.texts.append(got)
        if r in spare and texts:
            loc = {**ctx.where, "form": spec.id, "sheet": sheet.name, "cell": f"A{r}"}
            if spec.name_fields and not any(texts.get(k) for k in spec.name_fields):
                out.findings.append(make("V-NEW-TASK-EMPTY", **loc))
            if spec.remark_field and spec.new_task_marker not in texts.get(spec.remark_field, ""):
                out.findings.append(make("V-NEW-TASK", expected=spec.new_task_marker, **loc))
