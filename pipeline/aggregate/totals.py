"""The month's and the cumulative totals of a grid form, from the ledger alone.

Counts are summed over the period's current (accepted, not superseded) returns; the
cumulative counts add every month since the campaign's start, or since an imported
baseline. Sums and rates are then recomputed from the summed counts with the same
:func:`~pipeline.validate.rules.derive_row` the checks use; rates are never averaged.
Every summed figure keeps the list of cells it came from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.forms.layout import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.spec import GridSpec
from pipeline.ledger.store import Ledger
from pipeline.validate.rules import Figures, derive_row


@dataclass(frozen=True)
class Contribution:
    """One source figure: a cell of a return, or a row of an imported baseline."""

    institution: str
    period: str  # the month, or "≤YYYY-MM" for a baseline
    file: str
    sha256: str
    sheet: str
    cell: str
    value: float


Key = tuple[str, str]  # (row key, measure key)


@dataclass
class GridTotals:
    spec: GridSpec
    period: Period
    table: Figures  # the aggregated sheet: topic rows, 当月累计, 累计总计
    sources: dict[Key, list[Contribution]]  # count cells of `table` -> what was summed
    # institution -> (topic, measure) -> value, counts and derived, month and cumulative
    month_by_inst: dict[str, Figures] = field(default_factory=dict)
    cumulative_by_inst: dict[str, Figures] = field(default_factory=dict)
    history: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # ^ institution -> period -> measure -> month total over topics (for the z-score)
    baseline_derived: list[tuple[str, str, str, float, str, str]] = field(default_factory=list)
    baseline_through: dict[str, str] = field(default_factory=dict)  # institution -> month
    # institution -> months with a current return (even a blank one), through this month
    months_by_inst: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # ^ (institution, row key, measure, stated value, source, cell) of derived baseline figures


def _per_row(spec: GridSpec, counts: dict[Key, float], rows: list[str]) -> Figures:
    out: Figures = {}
    for r in rows:
        for key, value in derive_row(
            spec, {m.key: counts.get((r, m.key), 0) for m in spec.inputs}
        ).items():
            out[(r, key)] = value
    return out


def grid_totals(ledger: Ledger, campaign: Campaign, spec: GridSpec, period: Period) -> GridTotals:
    topics = [t.key for t in campaign.topics]
    inputs = {m.key for m in spec.inputs}
    start, this = str(campaign.start), str(period)
    month: dict[Key, float] = defaultdict(float)
    cum: dict[Key, float] = defaultdict(float)
    sources: dict[Key, list[Contribution]] = defaultdict(list)
    inst_month: dict[str, dict[Key, float]] = defaultdict(lambda: defaultdict(float))
    inst_cum: dict[str, dict[Key, float]] = defaultdict(lambda: defaultdict(float))
    history: dict[str, dict[str, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    baseline_through: dict[str, str] = {}
    covered: set[str] = set()
    totals = GridTotals(spec=spec, period=period, table={}, sources=sources)

    for inst, through, row_key, measure, base_value, source, cell in ledger.baselines(spec.id):
        if through > this or row_key not in topics:
            continue  # a baseline ending after this month says nothing about it
        if measure not in inputs:
            totals.baseline_derived.append((inst, row_key, measure, base_value, source, cell))
            continue
        baseline_through[inst] = through
        cum[(row_key, measure)] += base_value
        inst_cum[inst][(row_key, measure)] += base_value
        sources[(CUMULATIVE_ROW, measure)].append(
            Contribution(inst, f"≤{through}", source, "", "基线", cell, base_value)
        )

    for inst, p, row_key, measure, value, cell, file, sha in ledger.accepted_values(
        spec.id, start, this
    ):
        totals.months_by_inst[inst].add(p)
        if p == this and measure in inputs:
            covered.add(measure)  # on the form of a return of this month, even if blank
        if row_key not in topics or measure not in inputs or value is None:
            continue
        c = Contribution(inst, p, file, sha, spec.sheet, cell, value)
        if p > baseline_through.get(inst, ""):  # else already inside the imported baseline
            cum[(row_key, measure)] += value
            inst_cum[inst][(row_key, measure)] += value
            sources[(CUMULATIVE_ROW, measure)].append(c)
        if p == this:
            month[(row_key, measure)] += value
            inst_month[inst][(row_key, measure)] += value
            sources[(row_key, measure)].append(c)
            sources[(MONTH_ROW, measure)].append(c)
        else:
            history[inst][p][measure] += value

    table = _per_row(spec, month, topics)
    month_sum = {m.key: sum(month.get((t, m.key), 0) for t in topics) for m in spec.inputs}
    cum_sum = {m.key: sum(cum.get((t, m.key), 0) for t in topics) for m in spec.inputs}
    for row_key, counts in ((MONTH_ROW, month_sum), (CUMULATIVE_ROW, cum_sum)):
        for key, figure in derive_row(spec, counts).items():
            table[(row_key, key)] = figure
    # A column no return of this month carries (e.g. the bureau has not reported) is
    # blank in the month's rows, not a misleading 0; 累计总计 keeps the history.
    for m in spec.measures:
        parts = {m.key} if m.is_input else set(m.terms) | {m.numerator, m.denominator} - {None}
        if not parts & covered:
            for row_key in [*topics, MONTH_ROW]:
                table[(row_key, m.key)] = None
    totals.table = table
    totals.baseline_through = baseline_through
    totals.month_by_inst = {i: _per_row(spec, c, topics) for i, c in inst_month.items()}
    totals.cumulative_by_inst = {i: _per_row(spec, c, topics) for i, c in inst_cum.items()}
    totals.history = {i: {p: dict(v) for p, v in h.items()} for i, h in history.items()}
    return totals


class CumulativeLookup:
    """An institution's cumulative counts through a month, summed over topics.

    Derived from :func:`grid_totals`, the same computation as the aggregated return's
    累计总计, so a template's prefilled cumulative and the district's figure cannot
    disagree; computed once per form and month for all institutions.
    """

    def __init__(self, ledger: Ledger, campaign: Campaign) -> None:
        self.ledger = ledger
        self.campaign = campaign
        self._cache: dict[tuple[str, Period], dict[str, dict[str, float]]] = {}

    def __call__(self, institution: str, form: str, through: Period) -> dict[str, float]:
        key = (form, through)
        if key not in self._cache:
            spec = next(s for s in self.campaign.grid_forms if s.id == form)
            totals = grid_totals(self.ledger, self.campaign, spec, through)
            inputs = {m.key for m in spec.inputs}
            by_inst: dict[str, dict[str, float]] = {}
            for inst, figures in totals.cumulative_by_inst.items():
                sums: dict[str, float] = defaultdict(float)
                for (_row, measure), value in figures.items():
                    if measure in inputs:
                        sums[measure] += value or 0
                by_inst[inst] = dict(sums)
            self._cache[key] = by_inst
        return self._cache[key].get(institution, {})
