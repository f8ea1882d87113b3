"""A grid's period and cumulative totals, from the ledger's records alone.

Counts are summed over the period's current (accepted, not superseded) returns; the
cumulative counts add every period since the campaign's start, or since an imported
baseline. Sums and rates are then recomputed from the summed counts with the same
arithmetic the checks use; rates are never averaged. Every summed figure keeps the list
of cells it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from pipeline.config.calendar import Period
from pipeline.forms.kinds.base import Records, Totals
from pipeline.forms.kinds.grid.arithmetic import Figures, derive_row, per_row
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec
from pipeline.forms.rows import Row


@dataclass(frozen=True, slots=True)
class Contribution:
    """One source figure: a cell of a return, or a row of an imported baseline."""

    institution: str
    period: str  # the period, or "≤YYYY-MM" for a baseline
    file: str
    sha256: str
    sheet: str
    cell: str
    value: float


Key = tuple[str, str]  # (row key, measure key)


@dataclass
class GridTotals(Totals):
    spec: GridSpec  # type: ignore[assignment]
    rows: tuple[str, ...] = ()  # the topic row keys, in sheet order
    labels: dict[str, str] = field(default_factory=dict)  # row key -> label
    table: Figures = field(default_factory=dict)  # the aggregated sheet
    sources: dict[Key, list[Contribution]] = field(default_factory=dict)
    # institution -> (topic, input) -> its summed count, period and cumulative
    month_counts_by_inst: dict[str, dict[Key, float]] = field(default_factory=dict)
    cumulative_counts_by_inst: dict[str, dict[Key, float]] = field(default_factory=dict)
    # institution -> period -> measure -> the period's total over topics (the z-score)
    history: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # (institution, row key, measure, stated value, source, cell) of derived baseline figures
    baseline_derived: list[tuple[str, str, str, float, str, str]] = field(default_factory=list)
    baseline_through: dict[str, str] = field(default_factory=dict)  # institution -> period
    # institution -> the last period its baseline stands for, whatever figures it gives (a
    # row of totals alone too): months up to it are no gap in its cumulative
    baseline_covers: dict[str, str] = field(default_factory=dict)
    # institution -> (row key, measure) -> the baseline's own counts: what its derived
    # figures are checked against (the cumulative adds later months the baseline never saw)
    baseline_counts: dict[str, dict[Key, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    # institution -> periods with a current return (even a blank one), through this one
    months_by_inst: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # one (row, measure) tuple for every institution's figures (see per_row)
    _keys: dict[Key, Key] = field(default_factory=dict, repr=False, compare=False)

    # Derived when first asked for: a template's 累计总计 and the checks of a batch need
    # only the counts (cumulative_counts below), not every rate of 2,000 institutions.
    @cached_property
    def month_by_inst(self) -> dict[str, Figures]:
        """institution -> (topic, measure) -> value, counts and derived, this period."""
        return {
            i: per_row(self.spec, c, list(self.rows), self._keys)
            for i, c in self.month_counts_by_inst.items()
        }

    @cached_property
    def cumulative_by_inst(self) -> dict[str, Figures]:
        """institution -> (topic, measure) -> value, counts and derived, cumulative."""
        rows = list(self.rows)
        return {
            i: per_row(self.spec, c, rows, self._keys)
            for i, c in self.cumulative_counts_by_inst.items()
        }


def grid_totals(
    spec: GridSpec, rows: Sequence[Row], records: Records, start: Period, period: Period
) -> GridTotals:
    topics = [r.key for r in rows]
    inputs = {m.key for m in spec.inputs}
    first, this = str(start), str(period)
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
    totals = GridTotals(
        spec=spec,
        period=period,
        rows=tuple(topics),
        labels={r.key: r.label for r in rows},
        sources=sources,
    )

    for inst, through, row_key, measure, base_value, source, cell in records.baselines(spec.id):
        if through > this or row_key not in topics:
            continue  # a baseline ending after this period says nothing about it
        totals.baseline_covers[inst] = max(through, totals.baseline_covers.get(inst, ""))
        if measure not in inputs:
            totals.baseline_derived.append((inst, row_key, measure, base_value, source, cell))
            continue
        baseline_through[inst] = through
        totals.baseline_counts[inst][(row_key, measure)] += base_value
        cum[(row_key, measure)] += base_value
        inst_cum[inst][(row_key, measure)] += base_value
        sources[(CUMULATIVE_ROW, measure)].append(
            Contribution(inst, f"≤{through}", source, "", "基线", cell, base_value)
        )

    same = totals._keys.setdefault
    for inst, p, row_key, measure, value, cell, file, sha in records.accepted_values(
        spec.id, first, this
    ):
        totals.months_by_inst[inst].add(p)
        if p == this and measure in inputs:
            covered.add(measure)  # on the form of a return of this period, even if blank
        if row_key not in topics or measure not in inputs or value is None:
            continue
        c = Contribution(inst, p, file, sha, spec.sheet, cell, value)
        at = same(k := (row_key, measure), k)  # one tuple for every institution's count
        if p > baseline_through.get(inst, ""):  # else already inside the imported baseline
            cum[at] += value
            inst_cum[inst][at] += value
            sources[(CUMULATIVE_ROW, measure)].append(c)
        if p == this:
            month[at] += value
            inst_month[inst][at] += value
            sources[(row_key, measure)].append(c)
            sources[(MONTH_ROW, measure)].append(c)
        else:
            history[inst][p][measure] += value

    table = per_row(spec, month, topics)
    month_sum = {m.key: sum(month.get((t, m.key), 0) for t in topics) for m in spec.inputs}
    cum_sum = {m.key: sum(cum.get((t, m.key), 0) for t in topics) for m in spec.inputs}
    for row_key, counts in ((MONTH_ROW, month_sum), (CUMULATIVE_ROW, cum_sum)):
        for key, figure in derive_row(spec, counts).items():
            table[(row_key, key)] = figure
    # A column no return of this period carries (e.g. the bureau has not reported) is
    # blank in the period's rows, not a misleading 0; 累计总计 keeps the history.
    for m in spec.measures:
        if not m.parts & covered:
            for row_key in [*topics, MONTH_ROW]:
                table[(row_key, m.key)] = None
    totals.table = table
    totals.baseline_through = baseline_through
    totals.month_counts_by_inst = dict(inst_month)
    totals.cumulative_counts_by_inst = dict(inst_cum)
    totals.history = {i: {p: dict(v) for p, v in h.items()} for i, h in history.items()}
    return totals


def cumulative_counts(totals: GridTotals) -> dict[str, dict[str, float]]:
    """Institution -> count -> its cumulative summed over the topics: what a template's
    累计总计 adds this period to, the same figure as the aggregated return's."""
    inputs = [m.key for m in totals.spec.inputs]
    by_inst: dict[str, dict[str, float]] = {}
    for inst, counts in totals.cumulative_counts_by_inst.items():
        sums: dict[str, float] = {}
        for row in totals.rows:  # as cumulative_by_inst's rows hold them, summed in order
            for measure in inputs:
                sums[measure] = sums.get(measure, 0.0) + float(counts.get((row, measure), 0) or 0)
        by_inst[inst] = sums
    return by_inst
