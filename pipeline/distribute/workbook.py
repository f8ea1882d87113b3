"""Build a workbook in the annex layout: a blank template, or a filled aggregated return.

Both come from the same code so that the district's aggregated return is itself a valid
return one level up: same sheets, same cells, same hidden metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Reporter
from pipeline.distribute import instructions, metadata
from pipeline.forms import printing
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.writing import UNLOCKED
from pipeline.forms.layout import Layout
from pipeline.forms.spec import FormSpec
from pipeline.forms.styles import (
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LEFT,
    LEFT_NOWRAP,
    TITLE_FONT,
    merge,
    set_text,
    style,
    text_height,
)

GUIDE_SHEET = "填报说明"


def _title(
    ws: Worksheet, lay: Layout, title: str, reporter: Reporter, period: Period, stage: str
) -> None:
    last = get_column_letter(lay.width)
    r = lay.title_row
    ws.merge_cells(f"A{r}:{last}{r}")
    ws[f"A{r}"] = title
    style(ws[f"A{r}"], font=TITLE_FONT, border=False)
    ws.row_dimensions[r].height = 30
    r = lay.unit_row
    split = max(2, lay.width - 3)
    ws.merge_cells(f"A{r}:{get_column_letter(split)}{r}")
    set_text(ws[f"A{r}"], _unit_line(lay.spec, reporter))
    style(ws[f"A{r}"], font=HEADER_FONT, align=LEFT, border=False)
    ws.merge_cells(f"{get_column_letter(split + 1)}{r}:{last}{r}")
    when = f"{lay.spec.period_label}：{period.label()}" + (f"　{stage}" if stage else "")
    ws.cell(r, split + 1, when)
    style(ws.cell(r, split + 1), font=HEADER_FONT, align=LEFT, border=False)


def _unit_line(spec: FormSpec, reporter: Reporter) -> str:
    return f"{spec.reporter_label}：{reporter.name}"


def _labels(ws: Worksheet, lay: Layout) -> None:
    for (r, c), text in lay.labels.items():
        set_text(ws.cell(r, c), text)
    for m in lay.merges:
        merge(ws, m.first_row, m.first_col, m.last_row, m.last_col)
    for r in lay.header_rows:
        for c in range(1, lay.width + 1):
            style(ws.cell(r, c), font=HEADER_FONT, fill=HEADER_FILL)


def _footer(
    ws: Worksheet,
    lay: Layout,
    notes: tuple[str, ...],
    row: int,
    template: bool,
) -> None:
    """审核人/填表人 lines, each with a cell to fill beside it, then the filling notes."""
    for label, col in lay.footer_cells:
        ws.cell(row, col, label)
        style(ws.cell(row, col), align=LEFT_NOWRAP, border=False)
        name = ws.cell(row, col + 1)
        style(name, align=LEFT_NOWRAP, border=False, fill=INPUT_FILL if template else None)
        if template:
            name.protection = UNLOCKED
    row += 2
    ws.cell(row, 1, "填报说明：")
    style(ws.cell(row, 1), font=HEADER_FONT, align=LEFT_NOWRAP, border=False)
    across = sum(
        ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, lay.width + 1)
    )
    for i, note in enumerate(notes, start=1):
        row += 1
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=lay.width)
        text = f"{i}.{note}"
        ws.cell(row, 1, text)
        style(ws.cell(row, 1), align=LEFT, border=False)  # a long note wraps, never cut
        ws.row_dimensions[row].height = text_height([(text, across)], minimum=15)


def build_workbook(
    campaign: Campaign,
    reporter: Reporter,
    period: Period,
    *,
    contents: Mapping[str, object] | None = None,
    kind: Literal["template", "aggregate"] = "template",
) -> Workbook:
    """A workbook for ``reporter`` and ``period``: 填报说明, one sheet per form (each
    written by its kind), the hidden metadata.

    A template has blank, unlocked input cells with in-cell checks and formulas for
    every derived cell; ``contents`` (by form id) is what its kind pre-fills (a grid's
    cumulative through last period, a register's open items). An aggregate carries the
    aggregated ``contents`` as plain values.
    """
    wb = Workbook()
    wb.remove(wb.active)
    template = kind == "template"
    due, _ = campaign.due.due_date(period)
    instructions.write_sheet(wb.create_sheet(GUIDE_SHEET), campaign, reporter, period, due, kind)
    layouts: list[Layout] = []  # each form's own layout, whose fingerprint names the form
    variants: dict[str, str] = {}  # an aggregate laid out otherwise says how, in its metadata
    # An aggregated return goes up as a district's return: the forms its city asks of it.
    role = reporter.role if template else "administration"
    for spec in campaign.forms_for(role):
        ws = wb.create_sheet(spec.sheet)
        rows = campaign.rows_for(spec)
        content = (contents or {}).get(spec.id)
        form_kind = kind_of(spec)
        lay = form_kind.layout(spec, rows, content)
        layouts.append(form_kind.layout(spec, rows) if lay.variant else lay)
        if lay.variant:
            variants[spec.id] = lay.variant
        _title(ws, lay, spec.title_for(period.year), reporter, period, campaign.stage(period))
        _labels(ws, lay)
        last_row = form_kind.write_sheet(ws, spec, lay, rows, reporter, content, template)
        _footer(ws, lay, spec.notes, last_row + 2, template)
        ws.freeze_panes = ws.cell(lay.first_data_row, 2)
        titles = f"{lay.header_rows[0]}:{lay.first_data_row - 1}"
        # A form too wide for one page prints in bands, its first column (the topic, the
        # item's 编号, the task's 序号) again on each, so every page says whose row it is.
        plan = printing.sheet_plan(ws, lay.width, repeat=1)
        printing.set_page(ws, plan, lay.width, titles)
        if template:
            ws.protection.sheet = True
            ws.protection.formatColumns = False
            ws.protection.formatRows = False
    metadata.write_sheet(wb, campaign, reporter, period, layouts, kind, variants)
    wb.active = 1
    return wb


def restamp_template(
    wb: Workbook,
    campaign: Campaign,
    reporter: Reporter,
    period: Period,
    contents: Mapping[str, object],
) -> bool:
    """Make a template that :func:`build_workbook` made for another reporter of the same
    role and period into ``reporter``'s, changing only what depends on the reporter:
    its name in 填报说明 and on each form, what each kind pre-fills, the metadata.

    Building a workbook costs more than saving it, so a run writing many templates
    builds one per role and restamps it. Returns False (build afresh) when the text of
    填报说明 does not fit the cells already there, or a kind cannot restamp its sheet.
    """
    due, _ = campaign.due.due_date(period)
    text = instructions.lines(campaign, reporter, period, due, "template")
    guide = wb[GUIDE_SHEET]
    if len(text) != guide.max_row:
        return False
    for spec in campaign.forms_for(reporter.role):
        content = contents.get(spec.id)
        lay = kind_of(spec).layout(spec, campaign.rows_for(spec), content)
        if not kind_of(spec).restamp(wb[spec.sheet], spec, lay, content):
            return False
        set_text(wb[spec.sheet].cell(lay.unit_row, 1), _unit_line(spec, reporter))
    for r, line in enumerate(text, start=1):
        set_text(guide.cell(r, 1), line)
    metadata.restamp(wb, reporter)
    return True
