"""A grid for its leaders (附件2): the period's and the cumulative figures of the counts
institutions fill and their rates, as 汇总表 has them (its 当月累计 and 累计总计 rows,
read from the same aggregated table); the change from the period before and the trend,
summed from the ledger's history and derived with the grid's own arithmetic; the topics
whose rate lags; the institutions ranked by their cumulative rate; what stays open.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, cast

from pipeline.forms.kinds.base import Table
from pipeline.forms.kinds.grid.arithmetic import derive_row
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, Measure
from pipeline.forms.kinds.grid.totals import GridTotals, cumulative_counts
from pipeline.report.charts import Chart, Series, ends, fmt
from pipeline.report.digest.model import Figure, FormDigest

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.forms.kinds.base import Totals

TREND = 12  # periods shown in a trend


def _group(m: Measure) -> str:
    """The name of what a rate measures (一般隐患), from its header."""
    return m.header[-2] if len(m.header) > 1 else m.header[0]


def trend_counts(totals: GridTotals, data: PeriodData) -> list[tuple[str, dict[str, float | None]]]:
    """(period key, its 当月累计 figures) of the last periods: earlier ones summed from the
    ledger's history and derived as the grid derives them; this one as 汇总表 has it."""
    spec = totals.spec
    by_period: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for periods in totals.history.values():
        for key_, counts in periods.items():
            for key, value in counts.items():
                by_period[key_][key] += value
    out = []
    p = max(data.period.shift(-(TREND - 1)), data.campaign.start)
    while p < data.period:
        out.append((str(p), derive_row(spec, by_period.get(str(p), {}))))
        p = p.shift(1)
    out.append(
        (str(data.period), {m.key: totals.table.get((MONTH_ROW, m.key)) for m in spec.measures})
    )
    return out


def _ranked(totals: GridTotals, data: PeriodData, rate: Measure) -> list[dict[str, Any]]:
    """Institutions with something found, by their cumulative rate (highest first)."""
    out: list[dict[str, Any]] = []
    for code, counts in cumulative_counts(totals).items():
        row = derive_row(totals.spec, counts)
        if not row.get(cast(str, rate.denominator)):
            continue
        inst = data.roster.get(code)
        out.append(
            {
                "code": code,
                "name": inst.name if inst else code,
                "rate": row[rate.key],
                "found": row[cast(str, rate.denominator)],
                "fixed": row[cast(str, rate.numerator)],
            }
        )
    out.sort(key=lambda r: (-(r["rate"] or 0), -r["found"], r["code"]))
    return out


def digest(totals: Totals, data: PeriodData) -> FormDigest:
    t = cast(GridTotals, totals)
    spec = t.spec
    table = t.table
    shown = spec.shown_for("institution")
    rates = [m for m in spec.measures if m.kind == "rate"]
    primary = [m for m in rates if m in shown] or rates
    series = trend_counts(t, data)
    previous = series[-2][1] if len(series) > 1 else None

    def figures(m: Measure) -> dict[str, Any]:
        month = table.get((MONTH_ROW, m.key))
        before = previous.get(m.key) if previous else None
        return {
            "key": m.key,
            "label": m.short_label,
            "unit": m.unit,
            "month": month,
            "cumulative": table.get((CUMULATIVE_ROW, m.key)),
            "previous": before,
            "change": None if month is None or before is None else month - before,
        }

    measures = [figures(m) for m in spec.measures]
    by_key = {f["key"]: f for f in measures}
    rate_facts = []
    for m in primary:
        found, fixed = by_key[cast(str, m.denominator)], by_key[cast(str, m.numerator)]
        cum_open = (found["cumulative"] or 0) - (fixed["cumulative"] or 0)
        rate_facts.append(
            {
                "name": _group(m),
                "rate": by_key[m.key],
                "found": found,
                "fixed": fixed,
                "found_word": spec.measure(cast(str, m.denominator)).header[-1],
                "fixed_word": spec.measure(cast(str, m.numerator)).header[-1],
                "open": cum_open,
                "supervised": m.flag_open,
            }
        )
    lead = primary[0] if primary else None
    lagging = []
    if lead is not None:
        district = table.get((MONTH_ROW, lead.key))
        for topic in t.rows:
            r = table.get((topic, lead.key))
            if r is not None and district is not None and r < district:
                lagging.append(
                    {
                        "topic": t.labels.get(topic, topic),
                        "rate": r,
                        "found": table.get((topic, cast(str, lead.denominator))),
                        "fixed": table.get((topic, cast(str, lead.numerator))),
                    }
                )
    ranked = _ranked(t, data, lead) if lead is not None else []
    n = min(3, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    facts = {
        "title": spec.title_for(data.period.year),
        "annex": spec.annex,
        "month_label": spec.month_total_label,
        "cumulative_label": spec.cumulative_label,
        "measures": [f for f, m in zip(measures, spec.measures, strict=True) if m in shown],
        "bureau_groups": _bureau_groups(measures, spec.measures, shown),
        "rates": rate_facts,
        "lead_rate": lead.short_label if lead else "",
        "lagging": lagging,
        "top": ranked[:n],
        "bottom": list(reversed(ranked[-n:])) if n else [],
        "ranked": ranked,
    }
    return FormDigest(
        form=spec.id,
        kind="grid",
        title=f"{spec.annex} {facts['title']}",
        headlines=_headlines(spec.id, measures, spec.measures, shown),
        charts=_charts(t, data, primary, series, ranked),
        table=_table(t, shown),
        facts=facts,
    )


def _bureau_groups(
    measures: list[dict[str, Any]], specs: tuple[Measure, ...], shown: tuple[Measure, ...]
) -> list[dict[str, Any]]:
    """The bureau's own columns (发现突出问题, 开展督导检查 …) by their top header."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f, m in zip(measures, specs, strict=True):
        if m not in shown:
            groups.setdefault(m.header[0], []).append({**f, "word": m.header[-1]})
    return [{"group": g, "items": items} for g, items in groups.items()]


def _headlines(
    form: str,
    measures: list[dict[str, Any]],
    specs: tuple[Measure, ...],
    shown: tuple[Measure, ...],
) -> list[Figure]:
    """The sums and rates institutions report: the period's, and the cumulative rate;
    each keyed by the cell of 汇总表 it is (row 当月累计 or 累计总计, its measure)."""
    out = []
    for f, m in zip(measures, specs, strict=True):
        if m not in shown or m.kind == "count":
            continue
        month, cum = f"{form}:{MONTH_ROW}:{m.key}", f"{form}:{CUMULATIVE_ROW}:{m.key}"
        if m.kind == "sum":
            out.append(Figure(f"本期{f['label']}", f["month"], m.unit, "本期", f["change"], month))
            out.append(Figure(f"累计{f['label']}", f["cumulative"], m.unit, "累计", None, cum))
        else:
            out.append(Figure(f"本期{f['label']}", f["month"], "%", "本期", f["change"], month))
            out.append(Figure(f"累计{f['label']}", f["cumulative"], "%", "累计", None, cum))
    return out


def _charts(
    t: GridTotals,
    data: PeriodData,
    primary: list[Measure],
    series: list[tuple[str, dict[str, float | None]]],
    ranked: list[dict[str, Any]],
) -> list[Chart]:
    spec = t.spec
    periods = tuple(p for p, _ in series)
    charts = []
    for m in primary:
        den, num = cast(str, m.denominator), cast(str, m.numerator)
        charts.append(
            Chart(
                key=f"{spec.id}-trend-{m.key}",
                title=f"{_group(m)}：各期{spec.measure(den).header[-1]}、{spec.measure(num).header[-1]}与{m.header[-1]}",
                kind="columns",
                categories=periods,
                series=(
                    Series(spec.measure(den).header[-1], tuple(f.get(den) for _, f in series)),
                    Series(spec.measure(num).header[-1], tuple(f.get(num) for _, f in series)),
                ),
                unit=spec.measure(den).unit,
                line=Series(m.header[-1], tuple(f.get(m.key) for _, f in series)),
            )
        )
    parts = [(m, key) for m in primary for key in (m.denominator, m.numerator) if key]
    if parts and t.rows:
        charts.append(
            Chart(
                key=f"{spec.id}-topics",
                title=f"各{spec.row_header or '行'}本期{'、'.join(_group(m) for m in primary)}情况",
                kind="bars",
                categories=tuple(t.labels.get(r, r) for r in t.rows),
                series=tuple(
                    Series(spec.measure(k).short_label, tuple(t.table.get((r, k)) for r in t.rows))
                    for _m, k in parts
                ),
            )
        )
    if ranked and primary:
        shown, note = ends(ranked)
        charts.append(
            Chart(
                key=f"{spec.id}-institutions",
                title=f"各单位累计{primary[0].short_label}",
                kind="bars",
                categories=tuple(r["name"] for r in shown),
                series=(Series(primary[0].short_label, tuple(r["rate"] for r in shown)),),
                unit="%",
                note=note,
            )
        )
    return charts


def _cell(value: float | None, m: Measure) -> str:
    """As 汇总表 shows it: a count whole, a rate to one decimal, blank for none."""
    if value is None:
        return ""
    return f"{value:.1f}" if m.kind == "rate" else fmt(value)


def _table(t: GridTotals, shown: tuple[Measure, ...]) -> Table:
    """The aggregated sheet's rows and the measures institutions report, as in 汇总表."""
    spec = t.spec
    rows: list[list[object]] = []
    for key, label in [
        *((r, t.labels.get(r, r)) for r in t.rows),
        (MONTH_ROW, spec.month_total_label),
        (CUMULATIVE_ROW, spec.cumulative_label),
    ]:
        rows.append([label, *(_cell(t.table.get((key, m.key)), m) for m in shown)])
    return Table(
        sheet=spec.sheet,
        title=f"{spec.annex} {spec.title_for(t.period.year)}（{t.period.label()}）",
        headers=[
            spec.row_header or "项目",
            *(f"{m.short_label}（{m.unit}）" if m.unit else m.short_label for m in shown),
        ],
        rows=rows,
    )
