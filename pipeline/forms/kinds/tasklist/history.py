"""A list across periods, from the ledger: the totals of its numbers period by period
(the week's activities over the last eight weeks), and a choice an institution has
reported for the same row several periods running (自评结果 不达标 two weeks running).

Each period counts the current returns of that period only: an institution that did
not report a week adds nothing to it, and the number of reports is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.findings import Finding, make
from pipeline.forms.fields import NUMERIC
from pipeline.forms.kinds.base import AggregateContext
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import FOOTER_ROW
from pipeline.forms.rows import Row


@dataclass
class PeriodTotals:
    period: str
    label: str
    reports: int  # institutions with a current return of the period
    sums: dict[str, float] = field(default_factory=dict)  # summed fields
    means: dict[str, float | None] = field(default_factory=dict)  # the others


def trend(spec: ListSpec, ctx: AggregateContext) -> list[PeriodTotals]:
    """The last ``spec.trend`` periods up to this one (not before the campaign began)."""
    if not spec.trend:
        return []
    numbers = [f for f in spec.fields if f.type in NUMERIC and f.is_input]
    first = max(ctx.period.shift(-(spec.trend - 1)), ctx.start)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    reporters: dict[str, set[str]] = defaultdict(set)
    wanted = {f.key for f in numbers}
    for inst, period, row, fld, text, *_ in ctx.records.accepted_texts(
        spec.id, str(first), str(ctx.period)
    ):
        if row == FOOTER_ROW:
            continue
        reporters[period].add(inst)
        if fld in wanted:
            try:
                values[period][fld].append(float(text))
            except ValueError:
                continue
    out = []
    p = first
    while p <= ctx.period:
        key = str(p)
        got = values.get(key, {})
        sums = {f.key: sum(got.get(f.key, [])) for f in numbers if f.summed}
        means = {
            f.key: round(sum(v) / len(v), 2) if (v := got.get(f.key)) else None
            for f in numbers
            if not f.summed
        }
        out.append(PeriodTotals(key, p.label(), len(reporters.get(key, ())), sums, means))
        p = p.shift(1)
    return out


def streaks(spec: ListSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> list[Finding]:
    """Each institution and row whose ``streak`` field had its value in each of the
    last N periods (this one included), at the cell of this period's return."""
    watched = [f for f in spec.fields if f.streak is not None and f.is_input]
    out: list[Finding] = []
    labels = {r.key: r.values.get(spec.identity_field, "") or r.label for r in rows}
    for f in watched:
        assert f.streak is not None
        value, n = f.streak
        first = ctx.period.shift(-(n - 1))
        seen: dict[tuple[str, str], dict[str, tuple[str, str, str, str]]] = defaultdict(dict)
        for inst, period, row, fld, text, cell, file, sha in ctx.records.accepted_texts(
            spec.id, str(first), str(ctx.period)
        ):
            if fld == f.key:
                seen[(inst, row)][period] = (text, cell, file, sha)
        periods = [str(first.shift(i)) for i in range(n)]
        for (inst, row), by_period in sorted(seen.items()):
            if not all(by_period.get(p, ("",))[0] == value for p in periods):
                continue
            _, cell, file, sha = by_period[str(ctx.period)]
            who = ctx.roster.get(inst)
            out.append(
                make(
                    "A-STREAK",
                    value=value,
                    expected=n,
                    what=f"{spec.title_for(ctx.period.year)}/{f.header}",
                    words={
                        "item": labels.get(row, row)[:40],
                        "when": "、".join(periods),
                    },
                    institution=inst,
                    institution_name=who.name if who else inst,
                    form=spec.id,
                    period=str(ctx.period),
                    file=file,
                    sha256=sha,
                    sheet=spec.sheet,
                    cell=cell,
                )
            )
    return out
