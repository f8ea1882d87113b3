"""A register for its leaders (问题隐患清单, 创城问题清单, the year's projects): items on
the books, new this period, closed and open, the rate, what is overdue, supervised
(挂牌督办) or behind its plan — read from the register's own book (「…汇总」: 分类统计,
the ranking, 逾期, 挂牌督办, 进度滞后), the tables its workbook is written from.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from pipeline.config.calendar import Period
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import Table
from pipeline.forms.kinds.register.outputs import (
    BEHIND_SHEET,
    COUNTS_SHEET,
    OVERDUE_SHEET,
    SUPERVISED_SHEET,
)
from pipeline.forms.kinds.register.totals import RegisterTotals
from pipeline.report.charts import Chart, Series, ends
from pipeline.report.digest.model import Figure, FormDigest

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.forms.kinds.base import Totals

TREND = 12


def _sheet(tables: list[Table], name: str) -> Table | None:
    return next((t for t in tables if t.sheet == name), None)


def _trend(t: RegisterTotals, data: PeriodData) -> Chart | None:
    """New and closed items period by period (by first report and by closing date)."""
    spec = t.spec
    if not spec.status_field:
        return None
    first = max(data.period.shift(-(TREND - 1)), data.campaign.start)
    periods: list[Period] = []
    p = first
    while p <= data.period:
        periods.append(p)
        p = p.shift(1)
    keys = [str(p) for p in periods]
    new = Counter(v.state.first_period for v in t.items)
    closed: Counter[str] = Counter()
    for v in t.items:
        if v.closed and spec.closed_field:
            try:
                day = dt.date.fromisoformat(v.values.get(spec.closed_field, ""))
            except ValueError:
                continue
            closed[str(Period.containing(day, data.period.kind))] += 1
    done = next(iter(spec.closed_values), "已完成")
    return Chart(
        key=f"{spec.id}-trend",
        title=f"{spec.title_for(data.period.year)}：各期新增与{done}条数",
        kind="columns",
        categories=tuple(keys),
        series=(
            Series("新增", tuple(float(new.get(k, 0)) for k in keys)),
            Series(done, tuple(float(closed.get(k, 0)) for k in keys) if spec.closed_field else ()),
        ),
        unit="条",
    )


def digest(totals: Totals, data: PeriodData) -> FormDigest:
    t = cast(RegisterTotals, totals)
    spec = t.spec
    title = spec.title_for(data.period.year)
    tables = [tb for book in kind_of(spec).books(t, data.roster) for tb in book.tables]
    this = str(data.period)
    items = t.items
    closed = sum(1 for v in items if v.closed)
    overdue = sorted((v for v in items if v.overdue_days), key=lambda v: -v.overdue_days)
    supervised = [v for v in items if v.supervised]

    def named(v: Any) -> dict[str, Any]:
        inst = data.roster.get(v.institution)
        return {
            "id": v.item_id,
            "name": inst.name if inst else v.institution,
            "item": v.values.get(spec.identity_field, ""),
            "days": v.overdue_days,
            "reason": v.supervised,
        }

    ranking = _sheet(tables, f"{spec.rate_label}排名")
    ranked = [
        {"name": r[2], "items": r[3], "closed": r[4], "open": r[5], "rate": r[6]}
        for r in (ranking.rows if ranking else [])
    ]
    n = min(3, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    behind = _sheet(tables, BEHIND_SHEET)
    facts: dict[str, Any] = {
        "title": title,
        "has_status": bool(spec.status_field),
        "rate_label": spec.rate_label,
        "total": len(items),
        "new": sum(1 for v in items if v.state.first_period == this),
        "closed": closed,
        "open": len(items) - closed,
        "rate": round(closed / len(items) * 100, 1) if items and spec.status_field else None,
        "overdue": [named(v) for v in overdue],
        "supervised": [named(v) for v in supervised],
        "behind": [
            {"id": r[1], "item": r[2], "name": r[3], "days": r[-3]}
            for r in (behind.rows if behind else [])
        ],
        "top": ranked[:n],
        "bottom": list(reversed(ranked[-n:])) if n else [],
        "counts": _sheet(tables, COUNTS_SHEET),
    }
    headlines = []  # what to act on first, then what is on the books
    if spec.status_field:
        headlines += [
            Figure(f"累计{spec.rate_label}", facts["rate"], "%", "累计"),
            Figure("未完成", facts["open"], "条", "期末"),
        ]
    if _sheet(tables, OVERDUE_SHEET) is not None:
        headlines.append(Figure("逾期", len(overdue), "条", "期末"))
    if _sheet(tables, SUPERVISED_SHEET) is not None:
        headlines.append(Figure("挂牌督办", len(supervised), "条", "期末"))
    if behind is not None:
        headlines.append(Figure("进度滞后", len(behind.rows), "项", "期末"))
    headlines.append(Figure("在账", len(items), "条", "期末"))
    if spec.status_field:
        headlines.append(Figure("本期新增", facts["new"], "条", "本期"))
    return FormDigest(
        form=spec.id,
        kind="register",
        title=title,
        headlines=headlines,
        charts=_charts(t, data, facts, ranked),
        table=facts["counts"],
        facts=facts,
    )


def _charts(
    t: RegisterTotals, data: PeriodData, facts: dict[str, Any], ranked: list[dict[str, Any]]
) -> list[Chart]:
    spec = t.spec
    title = facts["title"]
    charts: list[Chart] = []
    trend = _trend(t, data)
    if trend is not None:
        charts.append(trend)
    counts: Table | None = facts["counts"]
    if counts is not None and counts.rows:
        groups = len(spec.group_by)
        statuses = list(spec.field(spec.status_field).choices) if spec.status_field else []
        rows = [r for r in counts.rows if r[0] != "合计"]
        cats = tuple("／".join(str(x) for x in r[:groups]) or title for r in rows)
        if statuses:
            charts.append(
                Chart(
                    key=f"{spec.id}-status",
                    title=f"{title}：按{'、'.join(str(h) for h in counts.headers[:groups])}分状态（截至期末）",
                    kind="stacked",
                    categories=cats,
                    series=tuple(
                        Series(s, tuple(_num(r[groups + i]) or 0.0 for r in rows))
                        for i, s in enumerate(statuses)
                    ),
                    unit="条",
                )
            )
        for i, key in enumerate(spec.sums):
            at = groups + len(statuses) + 1 + i
            charts.append(
                Chart(
                    key=f"{spec.id}-sum-{key}",
                    title=f"{title}：{counts.headers[at]}（按{'、'.join(str(h) for h in counts.headers[:groups])}）",
                    kind="bars",
                    categories=cats,
                    series=(Series(str(counts.headers[at]), tuple(_num(r[at]) for r in rows)),),
                )
            )
    if ranked:
        shown, note = ends(ranked)
        charts.append(
            Chart(
                key=f"{spec.id}-institutions",
                title=f"各单位{spec.rate_label}（{title}，累计）",
                kind="bars",
                categories=tuple(r["name"] for r in shown),
                series=(Series(spec.rate_label, tuple(r["rate"] for r in shown)),),
                unit="%",
                note=note,
            )
        )
    if facts["overdue"] or facts["supervised"]:
        names: dict[str, list[int]] = {}
        for v in facts["overdue"]:
            names.setdefault(v["name"], [0, 0])[0] += 1
        for v in facts["supervised"]:
            names.setdefault(v["name"], [0, 0])[1] += 1
        order, note = ends(sorted(names, key=lambda k: (-names[k][0], -names[k][1], k)))
        charts.append(
            Chart(
                key=f"{spec.id}-overdue",
                title=f"{title}：逾期未完成与挂牌督办（截至期末）",
                kind="bars",
                categories=tuple(order),
                series=(
                    Series("逾期", tuple(float(names[k][0]) for k in order)),
                    Series("挂牌督办", tuple(float(names[k][1]) for k in order)),
                ),
                unit="条",
                note=note,
            )
        )
    return charts


def _num(value: object) -> float | None:
    try:
        return float(cast(Any, value))
    except (TypeError, ValueError):
        return None
