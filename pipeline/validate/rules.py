"""Cross-field rules of a grid form, all derived from its definition.

The arithmetic of the annex (排查隐患总数 = 一般 + 重大, 小计 = 省级 + 市级 + 县级,
整改率 = 已整改 / 排查 × 100, 当月累计 = sum of the topic rows, 累计总计 = last month's
cumulative + this month) is computed here once, from a return's input counts, and used
both to check what a file states and to produce the aggregated return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipeline.extract.returns import GridCell
from pipeline.findings import Finding, make
from pipeline.forms.layout import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.spec import GridSpec, Measure

RATE_TOLERANCE = 0.05 + 1e-9  # a rate shown to one decimal, with float slack
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


def rate_words(spec: GridSpec, m: Measure) -> dict[str, str]:
    """A rate's parts in the form's own words, e.g. 已整改 / 排查 / 处."""
    num, den = spec.measure(m.numerator or ""), spec.measure(m.denominator or "")
    return {"num": num.header[-1], "den": den.header[-1], "unit": num.unit}


def _differs(m: Measure, stated: float | None, expected: float | None) -> bool:
    if m.kind == "rate":
        if expected is None or stated is None:
            return (expected is None) != (stated is None)
        return abs(stated - expected) > RATE_TOLERANCE
    return (stated or 0) != (expected or 0)


def check_return(
    spec: GridSpec,
    topics: list[str],
    values: list[GridCell],
    claims: list[GridCell],
    prev_cumulative: Mapping[str, float],
    where: dict[str, Any],
    labels: Mapping[str, str],
    foreign: Sequence[GridCell] = (),
) -> list[Finding]:
    """Compare what the file states in derived cells with what its counts give.

    ``foreign`` are counts typed into columns the reporter does not fill: not counted,
    but the file's formulas include them, so the comparison does too.
    """
    counts = {(c.row_key, c.measure): c.value for c in values if c.form == spec.id}
    typed = counts | {(c.row_key, c.measure): c.value for c in foreign if c.form == spec.id}
    expected = derive_table(spec, topics, counts, prev_cumulative)
    as_typed = derive_table(spec, topics, typed, prev_cumulative)
    findings: list[Finding] = []
    for claim in claims:
        if claim.form != spec.id:
            continue
        m = spec.measure(claim.measure)
        want = as_typed.get((claim.row_key, claim.measure))
        what = f"{labels.get(claim.row_key, claim.row_key)}/{m.short_label}"
        loc = {**where, "form": spec.id, "sheet": spec.sheet, "cell": claim.cell}
        if not claim.typed and claim.value is None:
            continue  # a formula never calculated (saved by a script): nothing to compare
        if not _differs(m, claim.value, want):
            continue
        if m.kind == "rate":  # shown as the sheet shows it, to one decimal
            want = None if want is None else round(want, 1)
        if claim.row_key == CUMULATIVE_ROW:
            findings.append(
                make("D-CUMULATIVE", value=claim.value, expected=want, what=what, **loc)
            )
        else:
            rule = "D-OVERWRITTEN" if claim.typed else "D-CACHED"
            shown = "空白" if claim.value is None else claim.value
            findings.append(
                make(
                    rule,
                    value=shown,
                    expected=want if want is not None else "空白",
                    what=what,
                    **loc,
                )
            )
    mine = [c for c in values if c.form == spec.id]
    if mine and all(c.value is None for c in mine):
        findings.append(make("A-BLANK", **{**where, "form": spec.id, "sheet": spec.sheet}))
    cell_of = {(c.row_key, c.measure): c.cell for c in claims if c.form == spec.id}
    for m in spec.measures:
        if m.kind == "rate":
            fixed = expected[(MONTH_ROW, m.numerator)] or 0  # type: ignore[index]
            found = expected[(MONTH_ROW, m.denominator)] or 0  # type: ignore[index]
            if fixed > found:
                findings.append(
                    make(
                        "A-MONTH-RATE",
                        value=fixed,
                        expected=found,
                        words=rate_words(spec, m),
                        what=f"{labels.get(MONTH_ROW, '')}/{m.short_label}",
                        **{
                            **where,
                            "form": spec.id,
                            "sheet": spec.sheet,
                            "cell": cell_of.get((MONTH_ROW, m.key), ""),
                        },
                    )
                )
    return findings
