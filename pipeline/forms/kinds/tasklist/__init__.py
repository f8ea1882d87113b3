"""The list kind: fixed rows pre-filled by the bureau (tasks, checklist items) with typed
fields an institution fills on each, and spare rows for rows it adds (附件1 of seed 002).

Writing sheets (openpyxl) and checking (pandas, pandera) are imported when used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from pipeline.config.roster import Reporter, Roster
from pipeline.forms.kinds.base import (
    AggregateContext,
    Book,
    CheckContext,
    FormKind,
    ReadContext,
    Returned,
    Totals,
)
from pipeline.forms.kinds.rowcheck import gather, report
from pipeline.forms.kinds.tasklist.checks import steps_back
from pipeline.forms.kinds.tasklist.extract import extract_aggregate, extract_list
from pipeline.forms.kinds.tasklist.history import streaks, trend
from pipeline.forms.kinds.tasklist.layout import aggregate_layout, list_layout
from pipeline.forms.kinds.tasklist.merge import ListAggregate, ListTotals, laid_out, merge
from pipeline.forms.kinds.tasklist.outputs import books
from pipeline.forms.kinds.tasklist.shape import Shape
from pipeline.forms.kinds.tasklist.spec import ListSpec, load_list
from pipeline.forms.layout import Declared, Layout
from pipeline.forms.records import Extracted
from pipeline.forms.rows import Row
from pipeline.forms.sheet import RawSheet
from pipeline.forms.spec import FormSpec

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ADDED_ROWS = 500  # rows a list may carry below its spare rows (typed below the table)


def _list(spec: FormSpec) -> ListSpec:
    return cast(ListSpec, spec)


class ListKind(FormKind):
    name = "list"

    def load(self, data: dict[str, Any], where: str) -> ListSpec:
        return load_list(data, where)

    def layout(self, spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
        """The template's layout; an aggregated list's (``content`` its aggregate, or the
        shape a return one level down declares: ValueError when it is not one of ours)."""
        ls = _list(spec)
        if isinstance(content, ListAggregate):
            return aggregate_layout(ls, rows, content.shape)
        if isinstance(content, Declared):
            return aggregate_layout(ls, rows, Shape.parse(content, ls, rows))
        return list_layout(ls, rows)

    def read_rows(self, layout: Layout) -> int:
        return layout.last_data_row + 2 + ADDED_ROWS

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
        """``content``: an aggregated return's :class:`ListAggregate`."""
        from pipeline.forms.kinds.tasklist.sheet import write_aggregate, write_list

        if isinstance(content, ListAggregate):
            return write_aggregate(ws, _list(spec), lay, rows, content)
        return write_list(ws, _list(spec), lay, rows, reporter, template)

    def to_fill(self, spec: FormSpec, role: str) -> tuple[str, ...]:
        return tuple(f.header for f in _list(spec).inputs_for(role))

    def how_to_fill(self, spec: FormSpec) -> str:
        ls = _list(spec)
        added = (
            f"；有新增的，在表格下方空行中填写，并在“{ls.field(ls.remark_field).header}”中注明“{ls.new_task_marker}”"
            if ls.spare_rows and ls.remark_field
            else ""
        )
        heads = [ls.field(k).header for k in ls.group_fields]
        if added and heads:  # filling note 4 (归类填写): how an added row names its group
            group = heads[-1]
            named = "或".join([*(f"“{h}”填其{h}" for h in heads[:-1]), f"“{group}”照抄其名称"])
            added += f"；新增的属于上方某一{group}的，{named}，汇总时归入该{group}"
        return f"逐项填写本期情况{added}"

    def extract(
        self,
        sheet: RawSheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        ctx: ReadContext,
        out: Extracted,
    ) -> None:
        if lay.variant:
            extract_aggregate(sheet, _list(spec), lay, rows, ctx, out)
        else:
            extract_list(sheet, _list(spec), lay, ctx, out)

    def validate(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        batch: Sequence[Returned],
        ctx: CheckContext,
    ) -> None:
        ls = _list(spec)
        lay = list_layout(ls, rows)
        required = [f for f in ls.fields if f.required and f.is_input]
        found = gather(ls.id, lay, batch, fixed=[r.key for r in rows] if required else ())
        report(ls.id, ls.sheet, ls.fields, lay, batch, found, ctx.period.last_day(), required)
        steps_back(ls, lay, batch, ctx)

    def aggregate(self, spec: FormSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> Totals:
        ls = _list(spec)
        totals = merge(ls, rows, ctx)
        totals.history = trend(ls, ctx)
        totals.rows = rows
        totals.anomalies += streaks(ls, rows, ctx)
        return totals

    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        return laid_out(_list(spec), rows, cast(ListTotals, totals))

    def books(self, totals: Totals, roster: Roster) -> list[Book]:
        return books(cast(ListTotals, totals), roster)
