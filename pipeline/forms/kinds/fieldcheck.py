"""The checks of typed fields, for every row of every return of a run in one pandera call
per form, and each failure turned back into a finding on its sheet and cell.

From the definition: a required field is filled (or required only when another field
says so: 整改完成日期 once 整改状态 is 已整改); a choice is one of its list; a text is
not longer than its limit (a warning: it is kept whole); a number is within its bounds
and whole where it must be; a date is not after the period's end, and not before or
after the other dates it is declared against. A cell that could not be read at all is
already a finding and is not reported twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.findings import as_text
from pipeline.forms.fields import NUMERIC, PERIOD_END, Field
from pipeline.forms.records import TextCell

EXPECTED_CHOICE_MAX = 120  # characters of the choices quoted in a finding


@dataclass
class FieldRow:
    """One row of a list or register, as read: its present cells by field."""

    ret: int  # the return's index in the batch
    row_key: str
    sheet_row: int
    cells: dict[str, TextCell] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # already a finding


@dataclass(frozen=True)
class Failure:
    """What a finding needs: the return, rule, cell and figures."""

    ret: int
    rule: str
    field: Field
    cell: str
    value: object
    expected: object


def check_rows(
    fields: Sequence[Field],
    rows: Sequence[FieldRow],
    col_letter: dict[str, str],
    period_end: dt.date,
    required: Sequence[Field] = (),
) -> list[Failure]:
    """Every failure of ``rows`` against ``fields``' rules; ``required`` are the fields
    that must be filled on every row (a kind may require fewer than the definition,
    e.g. only on the rows a reporter added)."""
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    if not rows:
        return []
    by_key = {f.key: f for f in fields}
    frame = pd.DataFrame(
        {f.key: [_value(f, r.cells.get(f.key)) for r in rows] for f in fields}
    ).astype({f.key: "float64" for f in fields if f.type in NUMERIC or f.type == "date"})
    schema = pa.DataFrameSchema(
        {
            f.key: pa.Column(None, checks=list(_column_checks(f, period_end)), nullable=True)
            for f in fields
        },
        checks=list(_row_checks(fields, required)),
        strict=False,
    )
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        return _failures(exc.failure_cases, rows, by_key, col_letter, period_end)
    return []


def _value(f: Field, cell: TextCell | None) -> object:
    if cell is None or cell.value is None:
        return None
    if f.type == "date":
        value = cell.value
        return float(value.toordinal()) if isinstance(value, dt.date) else None
    return cell.value


def _column_checks(f: Field, period_end: dt.date) -> Iterator[Any]:
    import pandera.pandas as pa

    if f.type == "choice" and f.choices:
        allowed = set(f.choices)
        yield pa.Check(lambda s: s.isna() | s.isin(allowed), name=f"V-CHOICE|{f.key}")
    if f.type == "text" and f.max_length:
        n = f.max_length
        yield pa.Check(lambda s: s.isna() | (s.str.len() <= n), name=f"V-TEXT-LONG|{f.key}")
    if f.type in NUMERIC:
        low, high = f.bounds
        if low is not None:
            yield pa.Check(lambda s: s.isna() | (s >= low), name=f"V-RANGE|{f.key}")
        if high is not None:
            yield pa.Check(lambda s: s.isna() | (s <= high), name=f"V-RANGE|{f.key}")
        if f.type == "integer":
            yield pa.Check(lambda s: s.isna() | (s % 1 == 0), name=f"V-INTEGER|{f.key}")
    if f.type == "date" and PERIOD_END in f.not_after:
        end = float(period_end.toordinal())
        yield pa.Check(lambda s: s.isna() | (s <= end), name=f"V-DATE-LATE|{f.key}")


def _row_checks(fields: Sequence[Field], required: Sequence[Field]) -> Iterator[Any]:
    import pandera.pandas as pa

    for f in required:
        key = f.key
        yield pa.Check(lambda d, key=key: d[key].notna(), name=f"V-REQUIRED|{key}")
    for f in fields:
        if f.required_when and f not in required:
            yield pa.Check(_required_when(f), name=f"V-REQUIRED|{f.key}")
        for other in f.not_before:
            if other != PERIOD_END:
                yield pa.Check(
                    _order(f.key, other, before=True), name=f"V-DATE-ORDER|{f.key}|{other}"
                )
        for other in f.not_after:
            if other != PERIOD_END:
                yield pa.Check(
                    _order(f.key, other, before=False), name=f"V-DATE-AFTER|{f.key}|{other}"
                )


def _required_when(f: Field) -> Any:
    conditions = dict(f.required_when)

    def check(d: Any) -> Any:
        applies: Any = True
        for key, values in conditions.items():
            applies = applies & d[key].isin(list(values))
        return d[f.key].notna() | ~applies

    return check


def _order(key: str, other: str, *, before: bool) -> Any:
    def check(d: Any) -> Any:
        ok = d[key] >= d[other] if before else d[key] <= d[other]
        return d[key].isna() | d[other].isna() | ok

    return check


def _failures(
    cases: Any,
    rows: Sequence[FieldRow],
    by_key: dict[str, Field],
    col_letter: dict[str, str],
    period_end: dt.date,
) -> list[Failure]:
    import pandas as pd

    out: list[Failure] = []
    seen: set[tuple[int, str]] = set()
    for _, case in cases.iterrows():
        index = case.get("index")
        check = str(case["check"])
        if index is None or pd.isna(index) or "|" not in check:
            continue
        rule, key, *other = check.split("|")
        if (int(index), check) in seen:
            continue  # a row check lists each column it read
        seen.add((int(index), check))
        row = rows[int(index)]
        f = by_key[key]
        if key in row.unreadable:
            continue
        present = row.cells.get(key)
        cell = f"{col_letter[key]}{row.sheet_row}"
        value: object = present.text if present else ""
        expected: object = ""
        if rule == "V-CHOICE":
            expected = _choices(f)
        elif rule == "V-TEXT-LONG":
            value, expected = len(present.text) if present else 0, f.max_length
        elif rule == "V-RANGE":
            low, high = f.bounds
            expected = f"{as_text(low) if low is not None else ''}～{as_text(high) if high is not None else ''}"
        elif rule == "V-INTEGER":
            expected = "整数"
        elif rule == "V-DATE-LATE":
            expected = period_end.isoformat()
        elif rule in ("V-DATE-ORDER", "V-DATE-AFTER"):
            o = row.cells.get(other[0])
            expected = f"{by_key[other[0]].header}（{o.text if o else ''}）"
        out.append(Failure(row.ret, rule, f, cell, value, expected))
    return out


def _choices(f: Field) -> str:
    text = "、".join(f.choices)
    return text if len(text) <= EXPECTED_CHOICE_MAX else text[:EXPECTED_CHOICE_MAX] + "……"
