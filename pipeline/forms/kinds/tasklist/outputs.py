"""What a list with numbers gives the outputs: 「<title>汇总」, every institution's row as
it reported it (one line per institution and row), the totals of its counts (integer
fields; a score or a percent is not summed), and
for each field with a ``flag``, the institutions with a non-zero value (有红色风险的单位).
A list of texts only (附件1) has no such book: its aggregated sheet is its summary."""

from __future__ import annotations

from pipeline.config.roster import Roster
from pipeline.forms.fields import NUMERIC
from pipeline.forms.kinds.base import Book, Table
from pipeline.forms.kinds.tasklist.merge import ListTotals

TOTAL = "合计"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def books(totals: ListTotals, roster: Roster) -> list[Book]:
    spec = totals.spec
    numbers = [f for f in spec.fields if f.type in NUMERIC and f.is_input]
    if not numbers:
        return []
    counted = {f.key for f in numbers if f.type == "integer"}  # a score is not summed
    fields = [f for f in spec.fields if f.is_input]
    multi = len({k for rows in totals.by_inst.values() for k in rows}) > 1
    rows: list[list[object]] = []
    sums = {f.key: 0.0 for f in numbers}
    for inst in roster:
        for row_key, values in totals.by_inst.get(inst.code, {}).items():
            line: list[object] = [inst.code, inst.name, inst.level]
            if multi:
                line.append(row_key)
            for f in fields:
                text = values.get(f.key, "")
                line.append(_number(text) if f in numbers and text else text or None)
            for f in numbers:
                if f.key in counted:
                    sums[f.key] += _number(values.get(f.key, ""))
            rows.append(line)
    lead = ["机构代码", "机构名称", "机构级别", *(["行"] if multi else [])]
    total_row: list[object] = [TOTAL, f"{len(rows)}行", "", *([""] if multi else [])]
    total_row += [sums[f.key] if f.key in counted else "" for f in fields]
    period = totals.period.label()
    tables = [
        Table(
            sheet=f"{spec.title}汇总"[:31],
            title=f"{spec.title}汇总（{period}，{len(rows)}个单位）",
            headers=[*lead, *(f.header for f in fields)],
            rows=[*rows, total_row],
            widths=[10, 28, 14, *([10] if multi else []), *(min(f.width, 24) for f in fields)],
        )
    ]
    for f in numbers:
        if not f.flag:
            continue
        flagged = [
            r
            for r in rows
            if isinstance(r[len(lead) + fields.index(f)], float) and r[len(lead) + fields.index(f)]
        ]
        tables.append(
            Table(
                sheet=f.flag[:31],
                title=f"{f.flag}（{period}，共{len(flagged)}家）",
                headers=["序号", "机构代码", "机构名称", "机构级别", f.header],
                rows=[
                    [i, r[0], r[1], r[2], r[len(lead) + fields.index(f)]]
                    for i, r in enumerate(flagged, 1)
                ],
                widths=[6, 10, 28, 14, 12],
            )
        )
    return [Book(stem=f"{spec.title}汇总", tables=tables)]
