"""Typed fields on a sheet, for the kinds made of them (lists, registers): each input
cell written with the in-cell check its type calls for, and each cell read back as its
type, with what was normalised or unreadable said as a finding.

In-cell checks are a help to the person typing, never the check itself (the pipeline
reads and checks every cell again): a choice is a drop-down that refuses other text; a
date only warns, so that a date typed as text ("2026.7.3") can stand and be read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipeline.findings import make
from pipeline.forms.cells import column_letter
from pipeline.forms.fields import NUMERIC, Field, read_field
from pipeline.forms.records import Extracted, TextCell
from pipeline.forms.sheet import RawSheet

if TYPE_CHECKING:
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

LISTS_SHEET = "_选项"  # long drop-down lists live here, hidden
INLINE_LIST_CHARS = 250  # Excel's limit on a list typed into the check is 255


def read_cell(
    sheet: RawSheet,
    f: Field,
    row: int,
    col: int,
    row_key: str,
    form: str,
    year: int,
    where: Mapping[str, Any],
    out: Extracted,
    institutions: Mapping[str, str] | None = None,
) -> TextCell | None:
    """The cell as ``f``'s type into a :class:`TextCell` (None when blank); what was read
    differently from what was typed (N-NORMALISED), or could not be read, as findings."""
    raw = sheet.cells.get((row, col))
    got = read_field(f, raw, year, institutions)
    cell = f"{column_letter(col)}{row}"
    if got.rule:
        loc = {**where, "form": form, "sheet": sheet.name, "cell": cell}
        shown = raw if raw is not None else ""
        if got.rule == "N-NORMALISED":
            out.findings.append(
                make(got.rule, value=shown, expected=got.shown, what=f.header, **loc)
            )
        else:
            out.findings.append(make(got.rule, value=shown, what=f.header, **loc))
    if not got.text:
        return None
    return TextCell(form, row_key, f.key, cell, got.text, got.value)


def typed_value(f: Field, text: str) -> object:
    """A field's text as kept on record, as the cell value to write: a date as a date
    (so it reads back as one), a number as a number, anything else as text."""
    try:
        if f.type == "date":
            return dt.date.fromisoformat(text)
        if f.type in NUMERIC:
            number = float(text)
            return int(number) if number.is_integer() else number
    except ValueError:
        pass
    return text


def field_checks(ws: Worksheet, fields: tuple[Field, ...], period_word: str) -> dict[str, Any]:
    """An in-cell check per input field that has one, keyed by field."""
    from pipeline.forms.kinds.writing import input_check

    out: dict[str, Any] = {}
    for f in fields:
        dv: DataValidation | None = None
        if f.type == "text" and f.max_length:
            dv = input_check(
                "textLength",
                "lessThanOrEqual",
                (f.max_length,),
                "文字过长",
                f"“{f.header}”最多{f.max_length}个字，请精简。",
                f"请填写{period_word}{f.header}（不超过{f.max_length}字）。",
            )
        elif f.type == "choice" and f.choices:
            dv = input_check(
                "list",
                None,
                (_list_formula(ws, f),),
                "请从下拉列表中选择",
                f"“{f.header}”只能选择：{'、'.join(f.choices)}。",
                f"请从下拉列表中选择{f.header}。",
            )
        elif f.type == "date":
            dv = input_check(
                "date",
                "between",
                ("DATE(2000,1,1)", "DATE(2100,12,31)"),
                "日期格式",
                f"“{f.header}”请填写日期，如 2026-07-03。",
                f"请填写{f.header}（日期，如 2026-07-03）。",
                stop=False,
            )
        elif f.type in ("integer", "decimal", "percent"):
            low, high = f.bounds
            dv = input_check(
                "whole" if f.type == "integer" else "decimal",
                "between",
                (_num(low, 0), _num(high, 1e9)),
                "数值不正确",
                f"“{f.header}”请填写{_range_words(f)}。",
                f"请填写{f.header}（{_range_words(f)}）。",
            )
        if dv is not None:
            out[f.key] = dv
    return out


def _num(value: float | None, default: float) -> str:
    v = default if value is None else value
    return str(int(v)) if float(v).is_integer() else str(v)


def _range_words(f: Field) -> str:
    low, high = f.bounds
    kind = "整数" if f.type == "integer" else "数字"
    if low is not None and high is not None:
        return f"{_num(low, 0)}到{_num(high, 0)}之间的{kind}"
    if low is not None:
        return f"不小于{_num(low, 0)}的{kind}"
    return kind


def _list_formula(ws: Worksheet, f: Field) -> str:
    """The choices as the check's list: typed in when short, else a column of a hidden
    sheet (a list typed into the check may not pass 255 characters or hold a comma)."""
    joined = ",".join(f.choices)
    if len(joined) <= INLINE_LIST_CHARS and not any("," in c or '"' in c for c in f.choices):
        return f'"{joined}"'
    wb = ws.parent
    if LISTS_SHEET in wb.sheetnames:
        lists = wb[LISTS_SHEET]
    else:
        lists = wb.create_sheet(LISTS_SHEET)
        lists.sheet_state = "hidden"
        lists.protection.sheet = True
    col = lists.max_column + 1 if lists.max_row > 1 or lists["A1"].value is not None else 1
    for i, choice in enumerate(f.choices, start=1):
        lists.cell(i, col).value = choice
        lists.cell(i, col).data_type = "s"
    letter = column_letter(col)
    return f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(f.choices)}"
