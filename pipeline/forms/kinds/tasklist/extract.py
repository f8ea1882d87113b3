"""A list's cells as records: the fields its reporter fills on each pre-filled row, and
every field of a row it added (in the spare rows, or typed below them); an aggregated
list of the level below, row by row and institution by institution."""

from __future__ import annotations

from dataclasses import replace

from pipeline.findings import make
from pipeline.forms.cells import column_letter
from pipeline.forms.kinds.base import ReadContext
from pipeline.forms.kinds.tasklist.shape import UNIT, Shape
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.kinds.typed import read_cell
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted, TextCell
from pipeline.forms.rows import Row
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
                ctx.institutions,
            )
            if got is not None:
                texts[f.key] = got.text
                out.texts.append(got)
        if r in spare and texts:
            loc = {**ctx.where, "form": spec.id, "sheet": sheet.name, "cell": f"A{r}"}
            if spec.name_fields and not any(texts.get(k) for k in spec.name_fields):
                out.findings.append(make("V-NEW-TASK-EMPTY", **loc))
            if spec.remark_field and spec.new_task_marker not in texts.get(spec.remark_field, ""):
                out.findings.append(make("V-NEW-TASK", expected=spec.new_task_marker, **loc))


def extract_aggregate(
    sheet: RawSheet,
    spec: ListSpec,
    lay: Layout,
    rows: tuple[Row, ...],
    ctx: ReadContext,
    out: Extracted,
) -> None:
    """An aggregated list of the level below (see :mod:`.shape`): each named row as an
    entry of its task or group, a row without a name continuing the entry above it."""
    year = ctx.period.year
    entries: dict[str, int] = {}  # part -> entries so far
    current: dict[str, TextCell] = {}
    part = ""
    for s in Shape.parse(lay.variant, spec, rows).slots(spec, rows, lay.first_data_row):
        here = s.key.partition("#")[0]
        fields = (
            spec.inputs
            if s.task
            else [f for f in spec.fields if not (s.group and f.key in spec.group_fields)]
        )
        unit = sheet.text(s.row, lay.col_of[UNIT])
        got: dict[str, TextCell] = {}
        for f in fields:
            read = read_cell(
                sheet, f, s.row, lay.col_of[f.key], s.key, spec.id, year, ctx.where, out
            )
            if read is not None:
                got[f.key] = read
        if not unit and current and here == part:  # the entry above goes on
            key = next(iter(current.values())).row_key
            for field_key, more in got.items():
                before = current.get(field_key)
                joined = more.text if before is None else before.text + more.text
                current[field_key] = replace(before or more, row_key=key, text=joined, value=joined)
            continue
        out.texts.extend(current.values())
        current, part = {}, here
        if not unit and not got:
            continue
        entries[here] = n = entries.get(here, 0) + 1
        key = f"{here}#{n}"
        current = {k: replace(c, row_key=key) for k, c in got.items()}
        where = f"{column_letter(lay.col_of[UNIT])}{s.row}"
        current[UNIT] = TextCell(spec.id, key, UNIT, where, unit, unit)
    out.texts.extend(current.values())
