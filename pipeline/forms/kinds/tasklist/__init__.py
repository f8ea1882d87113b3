"""The list kind: fixed rows pre-filled by the bureau (tasks, checklist items) with typed
fields an institution fills on each, and spare rows for rows it adds (附件1 of seed 002).

Writing sheets (openpyxl) and checking (pandas, pandera) are imported when used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from pipeline.forms.kinds.tasklist.extract import extract_list
from pipeline.forms.kinds.tasklist.layout import list_layout
from pipeline.forms.kinds.tasklist.merge import ListTotals, merge
from pipeline.forms.kinds.tasklist.outputs import books
from pipeline.forms.kinds.tasklist.spec import ListSpec, load_list
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.forms.rows import Row
from pipeline.forms.sheet import RawSheet
from pipeline.forms.spec import FormSpec

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ADDED_ROWS = 500  # rows a list may carry below its spare rows (an aggregated return's)


def _list(spec: FormSpec) -> ListSpec:
    return cast(ListSpec, spec)


class ListKind(FormKind):
    name = "list"

    def load(self, data: dict[str, Any], where: str) -> ListSpec:
        return load_list(data, where)

    def layout(self, spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
        return list_layout(_list(spec), rows)

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
        """``content``: an aggregated return's (merged texts by row, added rows)."""
        from pipeline.forms.kinds.tasklist.sheet import write_list

        filled, extra = cast(tuple[Mapping[str, Mapping[str, str]], list], content or ({}, []))
        return write_list(ws, _list(spec), lay, rows, reporter, filled, extra, template)

    def to_fill(self, spec: FormSpec, role: str) -> tuple[str, ...]:
        return tuple(f.header for f in _list(spec).inputs_for(role))

    def how_to_fill(self, spec: FormSpec) -> str:
        ls = _list(spec)
        added = (
            f"；有新增的，在表格下方空行中填写，并在“{ls.field(ls.remark_field).header}”中注明“{ls.new_task_marker}”"
            if ls.spare_rows and ls.remark_field
            else ""
        )
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
        return merge(_list(spec), rows, ctx)

    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        t = cast(ListTotals, totals)
        return (t.merged, t.extra)

    def books(self, totals: Totals, roster: Roster) -> list[Book]:
        return books(cast(ListTotals, totals), roster)
