"""The arithmetic of a grid, computed once from its definition, for checks and totals.

附件2's arithmetic (排查隐患总数 = 一般 + 重大, 小计 = 省级 + 市级 + 县级, 整改率 =
已整改 / 排查 × 100, 当月累计 = sum of the topic rows, 累计总计 = last period's cumulative +
this period) is written here once, from a return's input counts; the checks compare what
a file states with it and the aggregated return is made with it. Rates are recomputed
from summed counts, never averaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec, Measure

Figures = dict[tuple[str, str], float | None]  # (row key, measure key) -> value


def rate(numerator: float, denominator: float) -> float | None:
    """整改率 in percent; no rate when nothing was found."""
    return None if not denominator else numerator / denominator * 100


def derive_row(spec: GridSpec, counts: Mapping[str, float]) -> dict[str, float | None]:
    """Every measure of one row from its counts (blank counts are zero)."""
    row: dict[str, float | None] = {m.key: float(counts.get(m.key, 0) or 0) for m in spec.inputs}
    for m in spec.measures:
        if m.kind == "sum":
            row[m.key] = sum(row[t] or 0 for t in m.terms)
        elif m.kind == "rate":
            row[m.key] = rate(row[m.numerator] or 0, row[m.denominator] or 0)  # type: ignore[index]
    return row


def derive_table(
    spec: GridSpec,
    topics: Iterable[str],
    counts: Mapping[tuple[str, str], float | None],
    prev_cumulative: Mapping[str, float] | None = None,
) -> Figures:
    """The whole sheet: topic rows, 当月累计 and 累计总计, from input counts."""
    table: Figures = {}
    month: dict[str, float] = {m.key: 0.0 for m in spec.inputs}
    for t in topics:
        row = derive_row(spec, {m.key: counts.get((t, m.key)) or 0 for m in spec.inputs})
        for key, value in row.items():
            table[(t, key)] = value
        for m in spec.inputs:
            month[m.key] += row[m.key] or 0
    cumulative = {k: (prev_cumulative or {}).get(k, 0) + v for k, v in month.items()}
    for row_key, base in ((MONTH_ROW, month), (CUMULATIVE_ROW, cumulative)):
        for key, value in derive_row(spec, base).items():
            table[(row_key, key)] = value
    return table


def per_row(
    spec: GridSpec,
    counts: Mapping[tuple[str, str], float],
    rows: list[str],
    keys: dict[tuple[str, str], tuple[str, str]] | None = None,
) -> Figures:
    """Each row's measures from its summed counts. ``keys``, shared by the calls for
    every institution, makes each (row, measure) key one tuple for all of them: the
    figures of a province's institutions are millions of entries."""
    out: Figures = {}
    same = keys.setdefault if keys is not None else None
    for r in rows:
        for key, value in derive_row(
            spec, {m.key: counts.get((r, m.key), 0) for m in spec.inputs}
        ).items():
            k = (r, key)
            out[same(k, k) if same else k] = value
    return out


def rate_words(spec: GridSpec, m: Measure) -> dict[str, str]:
    """A rate's parts in the form's own words, e.g. 已整改 / 排查 / 处."""
    num, den = spec.measure(m.numerator or ""), spec.measure(m.denominator or "")
    return {"num": num.header[-1], "den": den.header[-1], "unit": num.unit}


def computed_as(spec: GridSpec, m: Measure) -> str:
    """How a derived measure is computed, in the form's words (for 计算方法)."""
    if m.kind == "sum":
        return " + ".join(spec.measure(t).label for t in m.terms)
    num, den = spec.measure(m.numerator or ""), spec.measure(m.denominator or "")
    return f"{num.label} ÷ {den.label} × 100（{den.header[-1]}为0时不计）"
