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
from pipeline.forms.kinds.register.seeds import seed_values, seeded, with_seed
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
        id_header = reg.field(reg.id_field).header
        if not reg.carry:
            return f"本期的每一条记录填写一行，{id_header}留空（由系统生成）"
        update = f"“{reg.field(reg.status_field).header}”" if reg.status_field else "本期情况"
        if not reg.new_items:
            return f"表中条目已由本局预填，请逐条更新{update}，不要增删条目"
        return (
            f"{id_header}由系统生成：上期未完成的条目已预填，请逐条更新{update}，"
            f"不要删除；新增的填在下方空行，{id_header}留空"
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

        validate_register(_reg(spec), rows, register_layout(_reg(spec), None), batch, ctx)

    def prefills(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        ctx: PrefillContext,
        institutions: Sequence[Institution],
    ) -> Mapping[str, object]:
        """Every institution's open items, as last reported (the bureau's decision on
        挂牌督办 and its seeded fields applied), its seeded items not reported yet, and
        blank rows enough for new ones. A register of records carries nothing."""
        reg = _reg(spec)
        seeds = seeded(reg, rows)
        order = {row.key: i for i, row in enumerate(rows)}
        decisions = ctx.records.decisions(reg.id) if ctx.records is not None else {}
        states = {}
        if ctx.records is not None and reg.carry:
            states = latest_states(reg, ctx.records, str(ctx.period.shift(-1)))
        by_inst: dict[str, list[tuple[str, Mapping[str, str]]]] = {}
        for (inst, item), state in states.items():
            values = with_seed(reg, seeds.get(inst, {}).get(item), state.values)
            decided = decisions.get((inst, item))
            if reg.supervised_field and decided is not None:
                values[reg.supervised_field] = decided[1]
            if not reg.is_closed(values):
                by_inst.setdefault(inst, []).append((item, values))
        names = {i.code: i.name for i in institutions}
        for inst, items in seeds.items():
            for item, row in items.items():
                if (inst, item) not in states:
                    by_inst.setdefault(inst, []).append((item, seed_values(reg, row)))
        for held in by_inst.values():  # an institution named, as a person reads it
            for _, shown in held:
                for f in reg.fields:
                    if f.type == "institution" and shown.get(f.key) in names:
                        cast(dict, shown)[f.key] = names[shown[f.key]]
        return {
            code: RegisterRows(
                items=tuple(sorted(items, key=lambda it: (order.get(it[0], len(order)), it[0]))),
                blank=blank_rows(reg, len(items)) if reg.new_items else 0,
            )
            for code, items in by_inst.items()
        }

    def aggregate(self, spec: FormSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> Totals:
        return register_totals(_reg(spec), rows, ctx)

    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        return aggregated(cast(RegisterTotals, totals))

    def books(self, totals: Totals, roster: Roster) -> list[Book]:
        return books(cast(RegisterTotals, totals), roster)

    def trace(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        t = cast(RegisterTotals, totals)
        return trace(t, f"{book_stem(t)}_{t.period}.xlsx")
