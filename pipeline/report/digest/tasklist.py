"""A list for its leaders: the totals of its numbers (the 合计 line of its book) and their
trend, how institutions chose on each tallied item (达标 / 不达标), the institutions a
flagged number names; a list of texts (附件1) says how many tasks were reported on and
how many were added. All read from the list's book, the tables its workbook is written
from, or from its aggregation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pipeline.forms.fields import NUMERIC
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import Table
from pipeline.forms.kinds.tasklist.merge import ListTotals
from pipeline.forms.kinds.tasklist.outputs import MEAN, TOTAL
from pipeline.report.charts import Chart, Series
from pipeline.report.digest.model import Figure, FormDigest

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.forms.kinds.base import Totals


MAX_ROWS = 40  # institutions in the briefing's table


def digest(totals: Totals, data: PeriodData) -> FormDigest:
    t = cast(ListTotals, totals)
    spec = t.spec
    title = spec.title_for(data.period.year)
    tables: list[Table] = [tb for book in kind_of(spec).books(t, data.roster) for tb in book.tables]
    numbers = [f for f in spec.fields if f.type in NUMERIC and f.is_input and f.summed]
    tallied = [f for f in spec.fields if f.tally and f.is_input]
    summary = tables[0] if tables and numbers else None
    sums: list[dict[str, Any]] = []
    if summary is not None:
        total = next((r for r in summary.rows if r and r[0] == TOTAL), None)
        headers = list(summary.headers)
        for f in numbers:
            if total is not None and f.header in headers:
                value = total[headers.index(f.header)]
                sums.append({"label": f.header, "value": value if value != "" else None})
    previous = t.history[-2] if len(t.history) > 1 else None
    for s, f in zip(sums, numbers, strict=False):
        before = previous.sums.get(f.key) if previous else None
        s["change"] = None if before is None or s["value"] is None else s["value"] - before
    entries = sum(len(e) for e in t.tasks.values())
    added = sum(len(e) for e in t.added.values()) + len(t.unclaimed)
    flagged = [
        {"flag": f.flag, "names": [str(r[2]) for r in tb.rows]}
        for f in spec.fields
        if f.flag
        for tb in tables
        if tb.sheet == f.flag[:31]
    ]
    tallies = []
    charts: list[Chart] = []
    for f in tallied:
        tb = next((x for x in tables if x.sheet == f"{f.header}统计"[:31]), None)
        if tb is None:
            continue
        worst = f.choices[-1] if f.choices else ""
        at = 1 + len(f.choices) - 1
        tallies.append(
            {
                "field": f.header,
                "worst": worst,
                "rows": [{"item": r[0], "count": r[at], "names": r[-1]} for r in tb.rows if r[at]],
            }
        )
        charts.append(
            Chart(
                key=f"{spec.id}-tally-{f.key}",
                title=f"{title}：各项目{f.header}（家）",
                kind="stacked",
                categories=tuple(str(r[0]) for r in tb.rows),
                series=tuple(
                    Series(c, tuple(_num(r[1 + i]) or 0.0 for r in tb.rows))
                    for i, c in enumerate(f.choices)
                ),
                unit="家",
            )
        )
    if t.history and numbers:
        shown = numbers[:3]
        charts.insert(
            0,
            Chart(
                key=f"{spec.id}-trend",
                title=f"{title}：近{len(t.history)}期合计",
                kind="columns",
                categories=tuple(p.period for p in t.history),
                series=tuple(
                    Series(f.header, tuple(p.sums.get(f.key) for p in t.history)) for f in shown
                ),
            ),
        )
    elif sums:
        charts.insert(
            0,
            Chart(
                key=f"{spec.id}-sums",
                title=f"{title}：本期合计",
                kind="bars",
                categories=tuple(s["label"] for s in sums),
                series=(Series("合计", tuple(_num(s["value"]) for s in sums)),),
            ),
        )
    facts = {
        "title": title,
        "rows": len(t.rows),
        "entries": entries,
        "added": added,
        "reporters": len(t.by_inst),
        "sums": sums,
        "flagged": flagged,
        "tallies": tallies,
    }
    headlines = [
        Figure(f"本期{s['label']}", _num(s["value"]), "", "本期", s.get("change")) for s in sums[:4]
    ]
    return FormDigest(
        form=spec.id,
        kind="list",
        title=title,
        headlines=headlines,
        charts=charts,
        table=_compact(summary, [f.header for f in numbers]) if summary is not None else None,
        facts=facts,
    )


def _compact(summary: Table, numbers: list[str]) -> Table:
    """The summary's institutions and numbers only (its texts are for the workbook)."""
    headers = list(summary.headers)
    keep = [headers.index(h) for h in numbers if h in headers]
    rows = [
        [r[0] if r[0] in (TOTAL, MEAN) else r[1], *(r[i] for i in keep)]
        for r in summary.rows
        if any(r[i] not in ("", None) for i in keep)
    ]
    if len(rows) > MAX_ROWS:  # a province's list: its totals only (the book has the rest)
        rows = [r for r in rows if r[0] in (TOTAL, MEAN)]
    return Table(
        sheet=summary.sheet,
        title=summary.title,
        headers=[headers[1], *(headers[i] for i in keep)],
        rows=rows,
    )


def _num(value: object) -> float | None:
    try:
        return float(cast(Any, value))
    except (TypeError, ValueError):
        return None
