"""A grid's cells on a template or an aggregated return.

A template has the reporter's counts unlocked (yellow) with an in-cell check, a formula
in every derived cell (grey): sums, rates blank on a zero denominator, 当月累计 the sum of
the topic rows, 累计总计 last period's cumulative (a number, from the ledger) plus this
period. An aggregated return carries the figures as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.roster import Reporter
from pipeline.forms.kinds.grid.arithmetic import rate_words
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, TOTAL_ROWS, GridSpec, Measure
from pipeline.forms.kinds.writing import RATE_FORMAT, UNLOCKED, input_check, literal
from pipeline.forms.layout import Layout
from pipeline.forms.styles import (
    BODY_FONT,
    DERIVED_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LEFT,
    set_text,
    style,
    text_height,
)

Figures = Mapping[tuple[str, str], float | None]
LABEL_WIDTH = 26
FIGURE_WIDTH = 8


def derived_formula(lay: Layout, m: Measure, row_key: str) -> str:
    """The Excel formula of a derived cell (sum of terms, or a rate blank on zero)."""
    if m.kind == "sum":
        return "=" + "+".join(lay.cell(row_key, t) for t in m.terms)
    num = lay.cell(row_key, m.numerator or "")
    den = lay.cell(row_key, m.denominator or "")
    return f'=IF(N({den})=0,"",{num}/{den}*100)'


def cumulative_formula(lay: Layout, measure: str, prev: Mapping[str, float]) -> str:
    """累计总计 of a template: last period's cumulative, a number, plus this period."""
    return f"={literal(prev.get(measure, 0))}+{lay.cell(MONTH_ROW, measure)}"


def write_grid(
    ws: Worksheet,
    spec: GridSpec,
    lay: Layout,
    reporter: Reporter,
    values: Figures | None,
    prev_cumulative: Mapping[str, float],
) -> int:
    """``values``: the aggregated figures, or None for a template."""
    topics = [k for k in lay.row_of if k not in TOTAL_ROWS]
    inputs = {m.key for m in spec.inputs_for(reporter.role)}
    dv = input_check(
        "whole",
        "between",
        (0, spec.max_count),
        "数值不正确",
        f"请填写0到{spec.max_count}之间的整数（单位已在表头注明，不要再写“处”“个”等字）。",
        "请填写本月数字（整数）；没有请填0。",
    )
    first, last = lay.row_of[topics[0]], lay.row_of[topics[-1]]
    template = values is None
    for row_key in [*topics, *TOTAL_ROWS]:
        r = lay.row_of[row_key]
        total_row = row_key in TOTAL_ROWS
        style(ws.cell(r, 1), align=LEFT, font=HEADER_FONT if total_row else BODY_FONT)
        for m in spec.measures:
            c = lay.col_of[m.key]
            cell = ws.cell(r, c)
            is_input = template and not total_row and m.key in inputs
            computed = m.kind != "count" or total_row
            if values is not None:
                cell.value = values.get((row_key, m.key))
            elif m.kind != "count":
                cell.value = derived_formula(lay, m, row_key)
            elif row_key == MONTH_ROW:
                col = get_column_letter(c)
                cell.value = f"=SUM({col}{first}:{col}{last})"
            elif row_key == CUMULATIVE_ROW:
                cell.value = cumulative_formula(lay, m.key, prev_cumulative)
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
    # Narrow enough to print one page wide at 90 % or more (see pipeline.forms.printing):
    # a topic's name wraps onto two lines, a count needs five digits.
    ws.column_dimensions["A"].width = LABEL_WIDTH
    for m in spec.measures:
        ws.column_dimensions[get_column_letter(lay.col_of[m.key])].width = FIGURE_WIDTH
    for r in lay.header_rows:
        ws.row_dimensions[r].height = 36
    for r in range(lay.first_data_row, lay.last_data_row + 1):
        ws.row_dimensions[r].height = 30
    if values is not None:
        return explain_rates(ws, spec, lay, values)
    return lay.last_data_row


def rates_over_100(spec: GridSpec, lay: Layout, values: Figures) -> list[tuple[str, Measure]]:
    """(row key, rate) of every period rate over 100: 已整改 above 排查 in a month, when
    hazards found in earlier months were closed in this one. A cumulative rate cannot
    pass 100 (the anomaly list says so when it does), so it is not explained here."""
    return [
        (row_key, m)
        for row_key in lay.row_of
        if row_key != CUMULATIVE_ROW
        for m in spec.measures
        if m.kind == "rate" and (values.get((row_key, m.key)) or 0) > 100
    ]


def explain_rates(ws: Worksheet, spec: GridSpec, lay: Layout, values: Figures) -> int:
    """A comment on each period rate over 100, and a note line under the table naming
    the rows and columns, so that a leader reading the return does not query them.
    Returns the last row used."""
    over = rates_over_100(spec, lay, values)
    if not over:
        return lay.last_data_row
    parts = []
    for row_key, m in over:
        words = rate_words(spec, m)
        found = literal(values.get((row_key, m.denominator or "")) or 0)
        fixed = literal(values.get((row_key, m.numerator or "")) or 0)
        rate = f"{values[(row_key, m.key)]:.1f}%"
        row_label = lay.labels.get((lay.row_of[row_key], 1), row_key)
        column = "/".join(m.header[1:]) if len(m.header) > 1 else m.header[0]
        why = (
            f"本期{words['den']}{found}{words['unit']}、{words['num']}{fixed}{words['unit']}，"
            f"{words['num']}中含以前月份{words['den']}出、本期整改完成的隐患，故{m.header[-1]}超过100%。"
        )
        cell = ws[lay.cell(row_key, m.key)]
        cell.comment = Comment(f"{m.header[-1]}{rate}：{why}", "汇总程序", width=240, height=90)
        parts.append(f"“{row_label}”行“{column}”{rate}（{cell.coordinate}，{why.rstrip('。')}）")
    row = lay.last_data_row + 1
    note = "注：" + "；".join(parts) + "。"
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=lay.width)
    set_text(ws.cell(row, 1), note)
    style(ws.cell(row, 1), align=LEFT, border=False)
    width = LABEL_WIDTH + FIGURE_WIDTH * len(spec.measures)
    ws.row_dimensions[row].height = text_height([(note, width)])
    return row


def restamp_grid(ws: Worksheet, spec: GridSpec, lay: Layout, prev: Mapping[str, float]) -> None:
    """Only 累计总计 depends on the reporter: last period's cumulative is its own."""
    r = lay.row_of[CUMULATIVE_ROW]
    for m in spec.inputs:
        ws.cell(r, lay.col_of[m.key]).value = cumulative_formula(lay, m.key, prev)
