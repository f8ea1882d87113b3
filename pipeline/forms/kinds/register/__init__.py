"""The register kind: variable rows, one per item (a hazard, a measure, a problem, a
project), each with a stable ID that lives across periods until it is closed (两个清单
of seed 002, and the registers of the other seeds).

Writing sheets (openpyxl) and checking (pandas, pandera) are imported when used.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from pipeline.config.roster import Institution, Reporter, Roster
from pipeline.forms.kinds.base import (
    AggregateContext,
    Book,
    CheckContext,
    FormKind,
    PrefillContext,
    ReadContext,
    Returned,
    Totals,
)
from pipeline.forms.kinds.register.extract import extract_register
from pipeline.forms.kinds.register.items import latest_states
from pipeline.forms.kinds.register.layout import (
    MAX_ROWS,
    RegisterRows,
    blank_rows,
    register_layout,
)
from pipeline.forms.kinds.register.outputs import aggregated, book_stem, books, trace
from pipeline.forms.kinds.register.spec import RegisterSpec, load_register
from pipeline.forms.kinds.register.totals import RegisterTotals, register_totals
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.forms.rows import Row
from pipeline.forms.sheet import RawSheet
from pipeline.forms.spec import FormSpec

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


def _reg(spec: FormSpec) -> RegisterSpec:
    return cast(RegisterSpec, spec)


class RegisterKind(FormKind):
    name = "register"

    def load(self, data: dict[str, Any], where: str) -> RegisterSpec:
        return load_register(data, where)

    def layout(self, spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
        return register_layout(_reg(spec), cast(RegisterRows | None, content))

    def read_rows(self, layout: Layout) -> int:
        return layout.first_data_row + MAX_ROWS

    def shape(self, content: object) -> object:
        rows = cast(RegisterRows | None, content)
        return None if rows is None or not rows.items else ("items", id(rows))

    def restamp(self, ws: Worksheet, spec: FormSpec, lay: Layout, content: object) -> bool:
        rows = cast(RegisterRows | None, content)
        return rows is None or not rows.items  # items differ by institution: build afresh

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
        from pipeline.forms.kinds.register.sheet import write_register

        reg = _reg(spec)
        given = cast(RegisterRows | None, content) or RegisterRows(blank=reg.blank_rows)
        return write_register(ws, reg, lay, reporter, given, template)

    def to_fill(self, spec: FormSpec, role: str) -> tuple[str, ...]:
        return tuple(f.header for f in _reg(spec).inputs_for(role))

    def how_to_fill(self, spec: FormSpec) -> str:
        reg = _reg(spec)
        return (
            f"{reg.field(reg.id_field).header}由系统生成：上期未完成的条目已预填，请逐条更新"
            f"“{reg.field(reg.status_field).header}”，不要删除；新增的填在下方空行，"
            f"{reg.field(reg.id_field).header}留空"
        )

    def extract(
        self,
        sheet: RawSheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        ctx: ReadContext,
        out: Extracted,
    ) -> None:
        extract_register(sheet, _reg(spec), lay, self.read_rows(lay), ctx, out)

    def validate(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        batch: Sequence[Returned],
        ctx: CheckContext,
    ) -> None:
        from pipeline.forms.kinds.register.checks import validate_register

        validate_register(_reg(spec), register_layout(_reg(spec), None), batch, ctx)

    def prefills(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        ctx: PrefillContext,
        institutions: Sequence[Institution],
    ) -> Mapping[str, object]:
        """Every institution's open items, as last reported (the bureau's decision on
        挂牌督办 applied), with blank rows enough for new ones."""
        reg = _reg(spec)
        if ctx.records is None:
            return {}
        decisions = ctx.records.decisions(reg.id)
        by_inst: dict[str, list[tuple[str, Mapping[str, str]]]] = {}
        states = latest_states(reg, ctx.records, str(ctx.period.shift(-1)))
        for (inst, item), state in sorted(states.items()):
            values = dict(state.values)
            decided = decisions.get((inst, item))
            if reg.supervised_field and decided is not None:
                values[reg.supervised_field] = decided[1]
            if not reg.is_closed(values):
                by_inst.setdefault(inst, []).append((item, values))
        return {
            code: RegisterRows(items=tuple(items), blank=blank_rows(reg, len(items)))
            for code, items in by_inst.items()
        }

    def aggregate(self, spec: FormSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> Totals:
        return register_totals(_reg(spec), ctx)

    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        return aggregated(cast(RegisterTotals, totals))

    def books(self, totals: Totals, roster: Roster) -> list[Book]:
        return books(cast(RegisterTotals, totals), roster)

    def trace(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        t = cast(RegisterTotals, totals)
        return trace(t, f"{book_stem(t)}_{t.period}.xlsx")
