"""The rows of a list or register, gathered from a batch of returns for the typed-field
checks, and the failures turned into findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pipeline.findings import make
from pipeline.forms.cells import column_letter
from pipeline.forms.fields import Field
from pipeline.forms.kinds.base import Returned
from pipeline.forms.kinds.fieldcheck import FieldRow, check_rows
from pipeline.forms.layout import Layout

UNREADABLE = frozenset({"V-PARSE", "V-DATE", "V-DATE-AMBIGUOUS", "V-INST"})


def _row_of(cell: str) -> int:
    return int("".join(ch for ch in cell if ch.isdigit()) or 0)


def gather(
    form: str, lay: Layout, batch: Sequence[Returned], fixed: Iterable[str] = ()
) -> list[FieldRow]:
    """One :class:`FieldRow` per row with something in it, and per ``fixed`` row key
    (pre-filled rows are checked even when left blank)."""
    field_of = {column_letter(c): key for key, c in lay.col_of.items()}
    out: list[FieldRow] = []
    fixed = tuple(fixed)
    for i, returned in enumerate(batch):
        ext = returned.extracted
        rows: dict[str, FieldRow] = {
            key: FieldRow(i, key, lay.row_of[key]) for key in fixed if key in lay.row_of
        }
        for t in ext.texts:
            if t.form != form or t.row_key.startswith("__"):
                continue
            row = rows.setdefault(t.row_key, FieldRow(i, t.row_key, _row_of(t.cell)))
            row.cells[t.field] = t
        by_row = {r.sheet_row: r for r in rows.values()}
        for f in ext.findings:
            if f.form == form and f.rule in UNREADABLE and f.cell:
                hit = by_row.get(_row_of(f.cell))
                letters = "".join(ch for ch in f.cell if ch.isalpha())
                if hit is not None and letters in field_of:
                    hit.unreadable.add(field_of[letters])
        out.extend(rows.values())
    return out


def report(
    form: str,
    sheet: str,
    fields: Sequence[Field],
    lay: Layout,
    batch: Sequence[Returned],
    rows: Sequence[FieldRow],
    period_end: dt.date,
    required: Sequence[Field] = (),
) -> None:
    """Check ``rows`` and add each failure to its return as a finding."""
    letters = {key: column_letter(c) for key, c in lay.col_of.items()}
    for fail in check_rows(fields, rows, letters, period_end, required):
        returned = batch[fail.ret]
        returned.extracted.findings.append(
            make(
                fail.rule,
                value=fail.value,
                expected=fail.expected,
                what=fail.field.header,
                form=form,
                sheet=sheet,
                cell=fail.cell,
                **returned.where,
            )
        )
