"""What a list with numbers or tallied choices gives the outputs: 「<title>汇总」 —

- every institution's row as it reported it (one line per institution and row), with a
  合计 line for the fields that are totalled (counts; a score, a percent or an average
  such as 排队时间 is not unless the definition says so) and a 平均 line for the others;
- for each field with a ``flag``, the institutions with a non-zero value (有红色风险的单位);
- for each ``tally`` choice, row by row, how many institutions chose each value and who
  chose the last one (不达标 per checklist item);
- with ``trend``, the totals period by period (the last eight weeks), with the change.

A list of texts only (附件1) has no such book: its aggregated sheet is its summary.
"""

from __future__ import annotations

from pipeline.config.roster import Roster
from pipeline.forms.fields import NUMERIC, Field
from pipeline.forms.kinds.base import Book, Table
from pipeline.forms.kinds.tasklist.merge import ListTotals

TOTAL = "合计"
MEAN = "平均"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def books(totals: ListTotals, roster: Roster) -> list[Book]:
    spec = totals.spec
    numbers = [f for f in spec.fields if f.type in NUMERIC and f.is_input]
    tallied = [f for f in spec.fields if f.tally and f.is_input]
    if not numbers and not tallied:
        return []
    tables = []
    if numbers:
        tables += _summary(totals, roster, numbers)
    tables += [_tally(totals, roster, f) for f in tallied]
    if totals.history:
        tables.append(_trend(totals, numbers))
    return [Book(stem=f"{spec.title_for(totals.period.year)}汇总", tables=tables)]


def _summary(totals: ListTotals, roster: Roster, numbers: list[Field]) -> list[Table]:
    spec = totals.spec
    fields = [f for f in spec.fields if f.is_input]
    multi = len({k for rows in totals.by_inst.values() for k in rows}) > 1
    rows: list[list[object]] = []
    seen: dict[str, list[float]] = {f.key: [] for f in numbers}
    for inst in roster:
        for row_key, values in totals.by_inst.get(inst.code, {}).items():
            line: list[object] = [inst.code, inst.name, inst.level]
            if multi:
                line.append(row_key)
            for f in fields:
                text = values.get(f.key, "")
                number = _number(text) if f in numbers and text else None
                line.append(number if number is not None else text or None)
                if number is not None:
                    seen[f.key].append(number)
            rows.append(line)
    lead = ["机构代码", "机构名称", "机构级别", *(["行"] if multi else [])]
    pad = [""] * (len(lead) - 2)
    total_row: list[object] = [TOTAL, f"{len(rows)}行", *pad]
    total_row += [round(sum(seen[f.key]), 4) if f in numbers and f.summed else "" for f in fields]
    mean_row: list[object] = [MEAN, "", *pad]
    mean_row += [
        round(sum(v) / len(v), 2) if f in numbers and not f.summed and (v := seen[f.key]) else ""
        for f in fields
    ]
    extra = [total_row] + ([mean_row] if any(not f.summed for f in numbers) else [])
    period = totals.period.label()
    tables = [
        Table(
            sheet=f"{spec.title_for(totals.period.year)}汇总"[:31],
            title=f"{spec.title_for(totals.period.year)}汇总（{period}，{len(rows)}个单位）",
            headers=[*lead, *(f.header for f in fields)],
            rows=[*rows, *extra],
            widths=[10, 28, 14, *([10] if multi else []), *(min(f.width, 24) for f in fields)],
        )
    ]
    for f in numbers:
        if not f.flag:
            continue
        at = len(lead) + fields.index(f)
        flagged = [r for r in rows if isinstance(r[at], float) and r[at]]
        tables.append(
            Table(
                sheet=f.flag[:31],
                title=f"{f.flag}（{period}，共{len(flagged)}家）",
                headers=["序号", "机构代码", "机构名称", "机构级别", f.header],
                rows=[[i, r[0], r[1], r[2], r[at]] for i, r in enumerate(flagged, 1)],
                widths=[6, 10, 28, 14, 12],
            )
        )
    return tables


def _tally(totals: ListTotals, roster: Roster, f: Field) -> Table:
    """Per pre-filled row: how many chose each value, and who chose the last one."""
    spec = totals.spec
    worst = f.choices[-1] if f.choices else ""
    rows = []
    for row in totals.rows:
        chosen = {
            inst.code: totals.by_inst.get(inst.code, {}).get(row.key, {}).get(f.key, "")
            for inst in roster
        }
        counts = [sum(1 for v in chosen.values() if v == c) for c in f.choices]
        named = [inst.name for inst in roster if chosen.get(inst.code) == worst]
        label = row.label or row.values.get(spec.identity_field, "") or row.key
        rows.append([label, *counts, sum(counts), "、".join(named) or "无"])
    return Table(
        sheet=f"{f.header}统计"[:31],
        title=f"{spec.title_for(totals.period.year)}：各项目{f.header}（{totals.period.label()}）",
        headers=[
            "项目",
            *(f"{c}（家）" for c in f.choices),
            "已填报（家）",
            f"“{worst}”的单位",
        ],
        rows=rows,
        widths=[40, *([10] * len(f.choices)), 10, 40],
    )


def _trend(totals: ListTotals, numbers: list[Field]) -> Table:
    """The numbers period by period; the change of each total from the period before."""
    summed = [f for f in numbers if f.summed]
    averaged = [f for f in numbers if not f.summed]
    rows = []
    before = None
    for point in totals.history:
        line: list[object] = [point.label, point.reports]
        for f in summed:
            now = point.sums.get(f.key, 0.0)
            line.append(now)
            line.append(None if before is None else round(now - before.sums.get(f.key, 0.0), 4))
        line += [point.means.get(f.key) for f in averaged]
        rows.append(line)
        before = point
    headers = ["报告期", "报送单位数"]
    for f in summed:
        headers += [f"{f.header}合计", "比上期增减"]
    headers += [f"{f.header}（平均）" for f in averaged]
    return Table(
        sheet="趋势",
        title=f"{totals.spec.title_for(totals.period.year)}：近{len(rows)}期合计",
        headers=headers,
        rows=rows,
        widths=[30, 10, *([12, 10] * len(summed)), *([14] * len(averaged))],
    )
