"""Build a workbook in the annex layout: a blank template, or a filled aggregated return.

Both come from the same code so that the district's aggregated return is itself a valid
return one level up: same sheets, same cells, same hidden metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.distribute import instructions, metadata
from pipeline.forms.layout import (
    CUMULATIVE_ROW,
    FOOTER_ROW,
    MONTH_ROW,
    Layout,
    build_layout,
    footer_key,
)
from pipeline.forms.spec import GridSpec, ListSpec, Measure
from pipeline.forms.styles import (
    BODY_FONT,
    CENTER,
    DERIVED_FILL,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LEFT,
    LEFT_NOWRAP,
    TITLE_FONT,
    set_text,
    style,
    text_height,
)

UNLOCKED = Protection(locked=False)
RATE_FORMAT = "0.0"


@dataclass(frozen=True)
class Reporter:
    """Who the workbook is for: an institution of the roster, or the bureau itself."""

    code: str
    name: str
    role: str  # see pipeline.config.roster.Institution


@dataclass
class Filling:
    """Values to write instead of blanks (the aggregated return).

    ``grid[form_id][(row_key, measure_key)]`` holds every figure including totals and
    rates (None for a blank); ``lists[form_id]`` holds rows of text by row key, and
    ``extra_rows[form_id]`` tasks added below the pre-filled ones.
    """

    grid: dict[str, dict[tuple[str, str], float | None]] = field(default_factory=dict)
    lists: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    extra_rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def _title(ws: Worksheet, lay: Layout, title: str, reporter: Reporter, period: Period) -> None:
    last = get_column_letter(lay.width)
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = title
    style(ws["A1"], font=TITLE_FONT, border=False)
    ws.row_dimensions[1].height = 30
    split = max(2, lay.width - 3)
    ws.merge_cells(f"A2:{get_column_letter(split)}2")
    set_text(ws["A2"], _unit_line(reporter))
    style(ws["A2"], font=HEADER_FONT, align=LEFT, border=False)
    ws.merge_cells(f"{get_column_letter(split + 1)}2:{last}2")
    ws.cell(2, split + 1, f"报告期：{period.label()}")
    style(ws.cell(2, split + 1), font=HEADER_FONT, align=LEFT, border=False)


def _unit_line(reporter: Reporter) -> str:
    return f"填报单位：{reporter.name}"


def _cumulative_formula(lay: Layout, measure: str, prev: Mapping[str, float]) -> str:
    """累计总计 of a template: last month's cumulative, a number, plus this month."""
    return f"={_literal(prev.get(measure, 0))}+{lay.cell(MONTH_ROW, measure)}"


def _labels(ws: Worksheet, lay: Layout) -> None:
    for (r, c), text in lay.labels.items():
        set_text(ws.cell(r, c), text)
    for m in lay.merges:
        ws.merge_cells(m.ref)
    for r in lay.header_rows:
        for c in range(1, lay.width + 1):
            style(ws.cell(r, c), font=HEADER_FONT, fill=HEADER_FILL)


def _footer(
    ws: Worksheet,
    lay: Layout,
    notes: tuple[str, ...],
    row: int,
    template: bool,
    names: Mapping[str, str],
) -> None:
    """审核人/填表人 lines, each with a cell to fill beside it, then the filling notes."""
    for label, col in lay.footer_cells:
        ws.cell(row, col, label)
        style(ws.cell(row, col), align=LEFT_NOWRAP, border=False)
        name = ws.cell(row, col + 1)
        if names.get(footer_key(label)):
            set_text(name, names[footer_key(label)])
        style(name, align=LEFT_NOWRAP, border=False, fill=INPUT_FILL if template else None)
        if template:
            name.protection = UNLOCKED
    row += 2
    ws.cell(row, 1, "填报说明：")
    style(ws.cell(row, 1), font=HEADER_FONT, align=LEFT_NOWRAP, border=False)
    for i, note in enumerate(notes, start=1):
        row += 1
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=lay.width)
        ws.cell(row, 1, f"{i}.{note}")
        style(ws.cell(row, 1), align=LEFT_NOWRAP, border=False)


def _literal(value: float) -> str:
    """A number as a formula literal, exact (``{:g}`` would write 1.23457e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def derived_formula(lay: Layout, m: Measure, row_key: str) -> str:
    """The Excel formula of a derived cell (sum of terms, or a rate blank on zero)."""
    if m.kind == "sum":
        return "=" + "+".join(lay.cell(row_key, t) for t in m.terms)
    num = lay.cell(row_key, m.numerator or "")
    den = lay.cell(row_key, m.denominator or "")
    return f'=IF(N({den})=0,"",{num}/{den}*100)'


def _input_check(
    kind: str, operator: str, limits: tuple[int, ...], title: str, error: str, prompt: str
) -> DataValidation:
    """An in-cell check with a Chinese prompt on entry and a Chinese refusal."""
    dv = DataValidation(
        type=kind,
        operator=operator,
        formula1=str(limits[0]),
        formula2=str(limits[1]) if len(limits) > 1 else None,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=title,
        error=error,
        promptTitle="填写提示",
        prompt=prompt,
    )
    dv.errorStyle = "stop"
    return dv


def _number_validation(spec: GridSpec) -> DataValidation:
    return _input_check(
        "whole",
        "between",
        (0, spec.max_count),
        "数值不正确",
        f"请填写0到{spec.max_count}之间的整数（单位已在表头注明，不要再写“处”“个”等字）。",
        "请填写本月数字（整数）；没有请填0。",
    )


def _grid_sheet(
    ws: Worksheet,
    spec: GridSpec,
    lay: Layout,
    reporter: Reporter,
    topics: list[str],
    values: Mapping[tuple[str, str], float | None] | None,
    prev_cumulative: Mapping[str, float],
) -> None:
    inputs = {m.key for m in spec.inputs_for(reporter.role)}
    dv = _number_validation(spec)
    first, last = lay.row_of[topics[0]], lay.row_of[topics[-1]]
    totals = (MONTH_ROW, CUMULATIVE_ROW)
    for row_key in [*topics, MONTH_ROW, CUMULATIVE_ROW]:
        r = lay.row_of[row_key]
        style(ws.cell(r, 1), align=LEFT, font=HEADER_FONT if row_key in totals else BODY_FONT)
        for m in spec.measures:
            c = lay.col_of[m.key]
            cell = ws.cell(r, c)
            template = values is None
            is_input = template and row_key in topics and m.key in inputs
            computed = m.kind != "count" or row_key in totals
            if values is not None:
                cell.value = values.get((row_key, m.key))
            elif m.kind != "count":
                cell.value = derived_formula(lay, m, row_key)
            elif row_key == MONTH_ROW:
                col = get_column_letter(c)
                cell.value = f"=SUM({col}{first}:{col}{last})"
            elif row_key == CUMULATIVE_ROW:
                cell.value = _cumulative_formula(lay, m.key, prev_cumulative)
            # Yellow: to fill; grey: computed, or locked for this reporter.
            fill = INPUT_FILL if is_input else DERIVED_FILL if computed or template else None
            style(cell, fill=fill)
            if m.kind == "rate":
                cell.number_format = RATE_FORMAT
            if is_input:
                cell.protection = UNLOCKED
                dv.add(cell)
    if dv.sqref:
        ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 36
    for m in spec.measures:
        ws.column_dimensions[get_column_letter(lay.col_of[m.key])].width = 9
    for r in lay.header_rows:
        ws.row_dimensions[r].height = 36
    for r in range(lay.first_data_row, lay.last_data_row + 1):
        ws.row_dimensions[r].height = 30


def _list_sheet(
    ws: Worksheet,
    spec: ListSpec,
    lay: Layout,
    rows: Mapping[str, dict[str, str]],
    filled: Mapping[str, dict[str, str]] | None,
    extra: list[dict[str, str]],
    template: bool,
) -> int:
    """Write the task rows; returns the last row used (added tasks may grow the table)."""
    text_dvs = {}
    for f in spec.inputs:
        if f.max_length:
            dv = _input_check(
                "textLength",
                "lessThanOrEqual",
                (f.max_length,),
                "文字过长",
                f"“{f.header}”最多{f.max_length}个字，请精简。",
                f"请填写本月{f.header}（不超过{f.max_length}字）。",
            )
            text_dvs[f.key] = dv
    spare = {r: extra[i] if i < len(extra) else {} for i, r in enumerate(lay.spare_rows)}
    extra_rows = extra[len(lay.spare_rows) :]
    all_rows = list(lay.row_of.items())
    next_row = lay.last_data_row + 1
    for item in extra_rows:  # more added tasks than spare rows: grow the table
        all_rows.append((f"extra{next_row}", next_row))
        spare[next_row] = item
        next_row += 1
    for row_key, r in all_rows:
        is_spare = r in spare
        base = spare[r] if is_spare else rows.get(row_key, {})
        given = (filled or {}).get(row_key, {})
        shown: list[tuple[str, int]] = []
        for f in spec.fields:
            cell = ws.cell(r, lay.col_of[f.key])
            text = given.get(f.key) if f.key in given else base.get(f.key, "")
            if text and not isinstance(cell, MergedCell):
                set_text(cell, text)
                shown.append((text, f.width))
            open_cell = template and (f.input or is_spare)
            style(
                cell, align=LEFT if f.width > 10 else CENTER, fill=INPUT_FILL if open_cell else None
            )
            if open_cell:
                cell.protection = UNLOCKED
                if f.key in text_dvs:
                    text_dvs[f.key].add(cell)
        ws.row_dimensions[r].height = text_height(shown)
    for dv in text_dvs.values():
        if dv.sqref:
            ws.add_data_validation(dv)
    for f in spec.fields:
        ws.column_dimensions[get_column_letter(lay.col_of[f.key])].width = f.width
    return max(r for _, r in all_rows)


def build_workbook(
    campaign: Campaign,
    reporter: Reporter,
    period: Period,
    *,
    prev_cumulative: Mapping[str, Mapping[str, float]] | None = None,
    filling: Filling | None = None,
    kind: Literal["template", "aggregate"] = "template",
) -> Workbook:
    """A workbook for ``reporter`` and ``period``.

    A template has blank, unlocked input cells with data validation and formulas for
    every derived cell; its 累计总计 row adds this month to ``prev_cumulative`` (by form
    and measure). An aggregate carries ``filling``'s figures as plain values.
    """
    wb = Workbook()
    wb.remove(wb.active)
    template = kind == "template"
    due, _ = campaign.due.due_date(period)
    instructions.write_sheet(wb.create_sheet("填报说明"), campaign, reporter, period, due, kind)
    layouts: list[Layout] = []
    for spec in campaign.forms:
        ws = wb.create_sheet(spec.sheet)
        rows = campaign.rows_for(spec)
        lay = build_layout(spec, rows)
        layouts.append(lay)
        _title(ws, lay, spec.title.format(year=period.year), reporter, period)
        _labels(ws, lay)
        if isinstance(spec, GridSpec):
            values = filling.grid.get(spec.id) if filling else None
            prev = (prev_cumulative or {}).get(spec.id, {})
            _grid_sheet(ws, spec, lay, reporter, [t.key for t in rows], values, prev)
            last_row = lay.last_data_row
        else:
            task_rows = {t.key: t.values for t in rows}  # type: ignore[union-attr]
            filled = filling.lists.get(spec.id) if filling else None
            extra = filling.extra_rows.get(spec.id, []) if filling else []
            last_row = _list_sheet(ws, spec, lay, task_rows, filled, extra, template)
        names = filling.lists.get(spec.id, {}).get(FOOTER_ROW, {}) if filling else {}
        _footer(ws, lay, spec.notes, last_row + 2, template, names)
        ws.freeze_panes = ws.cell(lay.first_data_row, 2)
        ws.print_title_rows = f"{lay.header_rows[0]}:{lay.first_data_row - 1}"
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        if template:
            ws.protection.sheet = True
            ws.protection.formatColumns = False
            ws.protection.formatRows = False
    metadata.write_sheet(wb, campaign, reporter, period, layouts, kind)
    wb.active = 1
    return wb


def restamp_template(
    wb: Workbook,
    campaign: Campaign,
    reporter: Reporter,
    period: Period,
    prev_cumulative: Mapping[str, Mapping[str, float]],
) -> bool:
    """Make a template that :func:`build_workbook` made for another reporter of the same
    role and period into ``reporter``'s, changing only what depends on the reporter:
    its name in 填报说明 and on each form, the 累计总计 formulas, the metadata.

    Building a workbook costs more than saving it, so a run writing many templates
    builds one per role and restamps it. Returns False (build afresh) when the text of
    填报说明 does not fit the cells already there.
    """
    due, _ = campaign.due.due_date(period)
    text = instructions.lines(campaign, reporter, period, due, "template")
    guide = wb["填报说明"]
    if len(text) != guide.max_row:
        return False
    for r, line in enumerate(text, start=1):
        set_text(guide.cell(r, 1), line)
    for spec in campaign.forms:
        ws = wb[spec.sheet]
        set_text(ws["A2"], _unit_line(reporter))
        if isinstance(spec, GridSpec):
            lay = build_layout(spec, campaign.rows_for(spec))
            prev = prev_cumulative.get(spec.id, {})
            r = lay.row_of[CUMULATIVE_ROW]
            for m in spec.measures:
                if m.kind == "count":
                    ws.cell(r, lay.col_of[m.key]).value = _cumulative_formula(lay, m.key, prev)
    metadata.restamp(wb, reporter)
    return True
