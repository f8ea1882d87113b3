"""The grid kind: fixed rows (topics) × numeric measures, with derived sums and rates,
a period total row and a cumulative row (附件2 of seed 002).

Writing sheets (openpyxl) and checking (pandas, pandera) are imported when used: a rerun
that finds nothing new loads neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from pipeline.config.roster import Institution, Reporter, Roster
from pipeline.forms.kinds.base import (
    AggregateContext,
    CheckContext,
    FormKind,
    PrefillContext,
    ReadContext,
    Returned,
    Table,
    Totals,
)
from pipeline.forms.kinds.grid.anomalies import ledger_anomalies
from pipeline.forms.kinds.grid.extract import extract_grid
from pipeline.forms.kinds.grid.layout import grid_layout
from pipeline.forms.kinds.grid.outputs import derivations, detail, trace
from pipeline.forms.kinds.grid.spec import GridSpec, load_grid
from pipeline.forms.kinds.grid.totals import GridTotals, cumulative_counts, grid_totals
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.forms.rows import Row
from pipeline.forms.sheet import RawSheet
from pipeline.forms.spec import FormSpec

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


def _grid(spec: FormSpec) -> GridSpec:
    return cast(GridSpec, spec)


class GridKind(FormKind):
    name = "grid"

    def load(self, data: dict[str, Any], where: str) -> GridSpec:
        return load_grid(data, where)

    def layout(self, spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
        return grid_layout(_grid(spec), rows)

    def read_rows(self, layout: Layout) -> int:
        return layout.last_data_row + 2

    def write_sheet(
        self,
        ws: Worksheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        reporter: Reporter,
        content: object,
        template: bool,
    ) -> int:
        """``content``: a template's cumulative counts through last period, or the
        aggregated return's figures."""
        from pipeline.forms.kinds.grid.sheet import write_grid

        if template:
            prev = cast(Mapping[str, float], content or {})
            return write_grid(ws, _grid(spec), lay, reporter, None, prev)
        return write_grid(ws, _grid(spec), lay, reporter, cast(Any, content), {})

    def restamp(self, ws: Worksheet, spec: FormSpec, lay: Layout, content: object) -> bool:
        from pipeline.forms.kinds.grid.sheet import restamp_grid

        restamp_grid(ws, _grid(spec), lay, cast(Mapping[str, float], content or {}))
        return True

    def to_fill(self, spec: FormSpec, role: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.header[0] for m in _grid(spec).inputs_for(role)))

    def how_to_fill(self, spec: FormSpec) -> str:
        g = _grid(spec)
        return f"逐行填写各{g.row_header or '行'}本期的数字，{g.month_total_label}和{g.cumulative_label}自动计算"

    def extract(
        self,
        sheet: RawSheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        ctx: ReadContext,
        out: Extracted,
    ) -> None:
        extract_grid(sheet, _grid(spec), lay, ctx, out)

    def validate(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        batch: Sequence[Returned],
        ctx: CheckContext,
    ) -> None:
        from pipeline.forms.kinds.grid.checks import validate_grid

        validate_grid(_grid(spec), rows, grid_layout(_grid(spec), rows), batch, ctx)

    def prefills(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        ctx: PrefillContext,
        institutions: Sequence[Institution],
    ) -> Mapping[str, object]:
        """Every institution's cumulative counts through last period, for 累计总计."""
        if ctx.records is None:
            return {}
        totals = grid_totals(_grid(spec), rows, ctx.records, ctx.start, ctx.period.shift(-1))
        return cumulative_counts(totals)

    def aggregate(self, spec: FormSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> Totals:
        grid = _grid(spec)
        totals = grid_totals(grid, rows, ctx.records, ctx.start, ctx.period)
        returned = ctx.records.returned(str(ctx.start), str(ctx.period))
        totals.anomalies = ledger_anomalies(
            totals,
            grid_layout(grid, rows),
            ctx.roster,
            ctx.anomalies,
            ctx.current,
            ctx.start,
            returned,
        )
        return totals

    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        # Full precision: the sheet shows one decimal by number format, while the level
        # above recomputes and compares the exact figure.
        return dict(cast(GridTotals, totals).table)

    def detail(self, totals: Totals, roster: Roster) -> list[Table]:
        return [detail(cast(GridTotals, totals), roster)]

    def trace(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        return trace(cast(GridTotals, totals), lay, output)

    def derivations(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        return derivations(cast(GridTotals, totals), lay, output)
