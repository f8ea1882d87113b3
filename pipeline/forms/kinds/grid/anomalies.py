"""A grid's anomalies over the ledger: what no single return shows, but the periods
together do.

- cumulative 已整改 above cumulative 排查 (a cumulative rate may not pass 100);
- open items of a rate flagged ``flag_open`` (重大隐患 found and not yet closed);
- a derived baseline figure that disagrees with its terms (排查隐患总数 ≠ 一般 + 重大);
- a month's figure far from the institution's own history: the modified z-score
  0.6745·(x − median)/MAD (Iglewicz & Hoaglin), quiet until enough past months exist.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping

from pipeline.config.anomalies import AnomalyConfig
from pipeline.config.calendar import Period, period_range
from pipeline.config.roster import Roster
from pipeline.findings import Finding, as_text, make
from pipeline.forms.kinds.grid.arithmetic import rate_words
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.kinds.grid.totals import GridTotals
from pipeline.forms.layout import Layout

MIN_ABS_DEVIATION = 3  # a jump smaller than this is never flagged, whatever the z-score


def modified_zscore(x: float, past: list[float]) -> float:
    median = statistics.median(past)
    mad = statistics.median(abs(v - median) for v in past)
    if mad:
        return 0.6745 * (x - median) / mad
    mean_ad = statistics.fmean(abs(v - median) for v in past)
    if mean_ad:
        return (x - median) / (1.253314 * mean_ad)
    return 0.0 if x == median else float("inf") * (1 if x > median else -1)


def ledger_anomalies(
    totals: GridTotals,
    lay: Layout,
    roster: Roster,
    config: AnomalyConfig,
    files: Mapping[str, tuple[str, str]],
    campaign_start: Period,
    returned: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> list[Finding]:
    """``files``: institution -> (file name, sha256) of its current return this period;
    ``returned``: (institution, period) refused and not resent."""
    spec = totals.spec
    period = str(totals.period)
    out: list[Finding] = []

    def where(inst: str, row_key: str, measure: str) -> dict:
        name = roster.get(inst).name if roster.get(inst) else inst  # type: ignore[union-attr]
        file, sha = files.get(inst, ("", ""))
        return {
            "institution": inst,
            "institution_name": name,
            "form": spec.id,
            "period": period,
            "file": file,
            "sha256": sha,
            "sheet": spec.sheet,
            "cell": lay.cell(row_key, measure) if file else "",
        }

    for inst, figures in sorted(totals.cumulative_by_inst.items()):
        for m in spec.measures:
            if m.kind != "rate":
                continue
            fixed = sum(v or 0 for (r, k), v in figures.items() if k == m.numerator)
            found = sum(v or 0 for (r, k), v in figures.items() if k == m.denominator)
            what = f"{spec.cumulative_label}/{m.header[-2] if len(m.header) > 1 else m.short_label}"
            if fixed > found:  # a cumulative rate may not pass 100
                rule, cell, expected = "A-CUM-FIXED", m.numerator or "", f"≤{as_text(found)}"
            elif m.flag_open and found > fixed:  # open items still supervised
                rule, cell, expected = "A-MAJOR-OPEN", m.denominator or "", as_text(found)
            else:
                continue
            words = {**rate_words(spec, m), "fixed": as_text(fixed), "found": as_text(found)}
            out.append(
                make(
                    rule,
                    value=fixed,
                    expected=expected,
                    words=words,
                    what=what,
                    **where(inst, CUMULATIVE_ROW, cell),
                )
            )

    for inst, row_key, measure, stated, source, cell in totals.baseline_derived:
        m = spec.measure(measure)
        if m.kind != "sum":
            continue
        base = {k: v for (r, k), v in totals.baseline_counts.get(inst, {}).items() if r == row_key}
        terms_sum = sum(base.get(t) or 0 for t in m.terms)
        if stated != terms_sum:
            loc = where(inst, row_key, measure)
            loc.update(file=source, sheet="基线", cell=cell, sha256="")
            out.append(
                make("A-SUM", value=stated, expected=terms_sum, what=f"基线/{m.short_label}", **loc)
            )

    out.extend(_gaps(totals, roster, campaign_start, returned, where))
    out.extend(_zscores(totals, config, where))
    return out


def _gaps(
    totals: GridTotals,
    roster: Roster,
    start: Period,
    returned: set[tuple[str, str]],
    where,
) -> Iterable[Finding]:
    """Earlier months of the campaign an institution's cumulative lacks, each said as
    what happened (never reported, or refused and not resent) with the command that
    takes a late return. Months no institution has at all — a district that began using
    the tool after the campaign started — are one finding suggesting a baseline."""
    this = totals.period
    lacking: dict[str, list[str]] = {}
    for inst in roster:
        first = start
        if inst.code in totals.baseline_covers:
            first = max(first, Period.parse(totals.baseline_covers[inst.code]).shift(1))
        have = totals.months_by_inst.get(inst.code, set())
        lacking[inst.code] = [
            str(p) for p in period_range(first, this.shift(-1)) if str(p) not in have
        ]
    everyone = set.intersection(*(set(m) for m in lacking.values())) if lacking else set()
    nobody = sorted(
        m for m in everyone if not any(m in have for have in totals.months_by_inst.values())
    )
    if nobody and len(roster) > 1:
        yield make(
            "A-GAP-START",
            value=len(roster),
            expected="、".join(nobody),
            what=totals.spec.cumulative_label,
            words={"last": nobody[-1]},
            form=totals.spec.id,
            period=str(this),
        )
    for code, months in lacking.items():
        months = [m for m in months if m not in nobody or len(roster) == 1]
        if not months:
            continue
        said = "、".join(
            f"{m}（{'报表被退回后未重报' if (code, m) in returned else '未报送'}）" for m in months
        )
        loc = where(code, CUMULATIVE_ROW, totals.spec.inputs[0].key)
        loc.update(file="", sha256="", cell="")
        yield make(
            "A-GAP",
            value="、".join(months),
            expected=said,
            what=totals.spec.cumulative_label,
            words={"first": months[0]},
            **loc,
        )


def _zscores(totals: GridTotals, config: AnomalyConfig, where) -> Iterable[Finding]:
    spec = totals.spec
    for inst, figures in sorted(totals.month_by_inst.items()):
        past_months = totals.history.get(inst, {})
        if len(past_months) < config.zscore_min_months:
            continue
        for m in spec.inputs:
            x = sum(v or 0 for (r, k), v in figures.items() if k == m.key)
            past = [months.get(m.key, 0.0) for months in past_months.values()]
            z = modified_zscore(x, past)
            if (
                abs(z) > config.zscore_threshold
                and abs(x - statistics.median(past)) >= MIN_ABS_DEVIATION
            ):
                yield make(
                    "A-ZSCORE",
                    value=x,
                    expected=statistics.median(past),
                    what=f"{spec.month_total_label}/{m.short_label}",
                    **where(inst, MONTH_ROW, m.key),
                )
