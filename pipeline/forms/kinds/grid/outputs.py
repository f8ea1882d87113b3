"""What a grid gives the outputs: 汇总明细 (every institution's figures by topic), the
trace of every summed figure to its source cells (数据溯源), and how each derived figure
is computed (计算方法)."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.config.roster import Roster
from pipeline.forms.kinds.base import Table
from pipeline.forms.kinds.grid.arithmetic import computed_as
from pipeline.forms.kinds.grid.spec import TOTAL_ROWS
from pipeline.forms.kinds.grid.totals import GridTotals
from pipeline.forms.layout import Layout
from pipeline.forms.printing import PrintColumns

DETAIL_SHEET = "明细"
PERIOD_PREFIX = "当月"


def detail(totals: GridTotals, roster: Roster) -> Table:
    """One row per institution and topic, as on the annex: each column's period and
    cumulative figure; blank where the institution does not report the column."""
    spec = totals.spec
    heads = ["机构代码", "机构名称", spec.row_header or "行"]
    for m in spec.measures:
        unit = f"（{m.unit}）" if m.unit else ""
        heads += [f"{PERIOD_PREFIX}：{m.label}{unit}", f"{spec.cumulative_label}：{m.label}{unit}"]
    labels = totals.labels
    rows: list[list[object]] = []
    for inst in roster:
        month = totals.month_by_inst.get(inst.code)
        cum = totals.cumulative_by_inst.get(inst.code)
        if month is None and cum is None:
            continue
        shown = set(spec.shown_for(inst.role))
        for topic in totals.rows:
            row: list[object] = [inst.code, inst.name, labels.get(topic, topic)]
            for m in spec.measures:
                if m in shown:
                    key = (topic, m.key)
                    row += [_round(month.get(key)) if month else None]
                    row += [_round(cum.get(key)) if cum else None]
                else:
                    row += [None, None]
            rows.append(row)
    return Table(
        sheet=f"{spec.sheet}{DETAIL_SHEET}",
        title=f"{spec.annex} {spec.title_for(totals.period.year)}（明细）{totals.period.label()}",
        headers=heads,
        rows=rows,
        widths=[10, 30, 40] + [14] * (len(heads) - 3),
        blank_cells=False,
        # On paper: who and which topic on every page across, each figure 9 wide.
        printed=PrintColumns.of(
            {heads[0]: 8, heads[1]: 16, heads[2]: 20, **{h: 9 for h in heads[3:]}}, repeat=3
        ),
    )


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def trace(totals: GridTotals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
    """(output cell, figure, contribution) for every summed figure of the return."""
    spec = totals.spec

    def reading_order(item: tuple[tuple[str, str], object]) -> tuple[int, int]:
        row_key, measure = item[0]
        return lay.row_of[row_key], lay.col_of[measure]

    for (row_key, measure), sources in sorted(totals.sources.items(), key=reading_order):
        cell = lay.cell(row_key, measure)
        figure = totals.table.get((row_key, measure))
        for c in sources:
            yield {
                "type": "trace",
                "output": output,
                "sheet": spec.sheet,
                "cell": cell,
                "row": lay.labels.get((lay.row_of[row_key], 1), row_key),
                "measure": spec.measure(measure).label,
                "figure": figure,
                "source_file": c.file,
                "source_sha256": c.sha256,
                "source_sheet": c.sheet,
                "source_cell": c.cell,
                "source_period": c.period,
                "institution": c.institution,
                "value": c.value,
            }


def derivations(totals: GridTotals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
    """How each derived figure is computed from the traced ones."""
    spec = totals.spec
    for m in spec.measures:
        if m.is_input:
            continue
        formula = computed_as(spec, m)
        for row_key in lay.row_of:
            yield {
                "type": "derived",
                "output": output,
                "sheet": spec.sheet,
                "cell": lay.cell(row_key, m.key),
                "measure": m.label,
                "figure": totals.table.get((row_key, m.key)),
                "computed_as": formula,
                "note": "按汇总后的数量重新计算" if row_key in TOTAL_ROWS else "",
            }
