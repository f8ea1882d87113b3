"""From a workbook's raw cells to a return: who sent it, for when, and what it says.

Identification reads the hidden metadata and checks it against what the sheets show;
the layout check compares every fixed label with the form's layout; extraction turns
input cells into tidy records, normalising what clerks type and logging each change.
Everything wrong becomes a finding; nothing here raises for a bad return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Roster
from pipeline.distribute.metadata import FORMAT, form_key
from pipeline.findings import Finding, make
from pipeline.forms.cells import column_letter
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import ReadContext
from pipeline.forms.layout import FOOTER_ROW, Declared, Layout, footer_key
from pipeline.forms.records import Extracted, TextCell
from pipeline.forms.sheet import RawSheet, RawWorkbook
from pipeline.forms.values import normalise_text, parse_date

MAX_LABEL_FINDINGS = 3


@dataclass(frozen=True)
class Identity:
    institution: Institution | None
    period: Period | None
    findings: list[Finding]
    # True when the refusal depends on the roster or the period of this run, so the
    # file is judged again on a later run instead of being recorded as rejected.
    transient: bool = False
    aggregate: bool = False  # an aggregated return of the level below


def layouts_for(campaign: Campaign) -> dict[str, Layout]:
    """Every form's layout as a return is read (a register's without items)."""
    return {spec.id: kind_of(spec).layout(spec, campaign.rows_for(spec)) for spec in campaign.forms}


def read_bounds(campaign: Campaign, layouts: Mapping[str, Layout]) -> dict[str, tuple[int, int]]:
    """Sheet name -> (rows, columns) to read of a returned file."""
    return {
        lay.sheet: (kind_of(spec).read_rows(lay), lay.width)
        for spec in campaign.forms
        for lay in (layouts[spec.id],)
    }


def declared_bounds(
    raw: RawWorkbook,
    campaign: Campaign,
    layouts: Mapping[str, Layout],
    bounds: Mapping[str, tuple[int, int]],
) -> dict[str, tuple[int, int]] | None:
    """The bounds an aggregated return must be read again with when a layout it
    declares reaches beyond those it was read with (a list with a row for each of its
    thousands of institutions); None when they suffice. Only an aggregate declares one,
    so a return from a template is never read further than its form needs."""
    declared, _ = declared_layouts(raw, campaign, layouts)
    grown = dict(bounds)
    for spec in campaign.forms:
        lay = declared[spec.id]
        if lay is layouts[spec.id]:
            continue
        rows, cols = grown.get(lay.sheet, (0, 0))
        need = kind_of(spec).read_rows(lay)
        if need > rows or lay.width > cols:
            grown[lay.sheet] = (max(need, rows), max(lay.width, cols))
    return grown if grown != bounds else None


def identify(
    raw: RawWorkbook,
    campaign: Campaign,
    roster: Roster,
    periods: Sequence[Period],
    layouts: Mapping[str, Layout],
) -> Identity:
    """Who sent the workbook, for which of the campaign's ``periods`` (those run now);
    a return of another period is refused for now (judged again when it is run)."""
    meta = raw.meta
    if not meta or meta.get("format") != FORMAT:
        return Identity(None, None, [make("M-NO-META")])
    if meta.get("campaign") != campaign.code:
        return Identity(
            None, None, [make("M-CAMPAIGN", value=meta.get("campaign", ""), expected=campaign.name)]
        )
    code = meta.get("institution_code", "")
    if meta.get("kind") == "aggregate" and code == campaign.bureau.code:
        return Identity(None, None, [make("M-OWN-AGGREGATE")])
    inst = roster.get(code)
    if inst is None:
        return Identity(None, None, [make("M-UNKNOWN-INST", value=code)], transient=True)
    try:
        stated = campaign.period(meta.get("period", ""))
    except Exception:
        return Identity(inst, None, [make("M-NO-META")])
    if stated not in periods:
        expected = "、".join(str(p) for p in periods) or "（本次未运行该工作）"
        return Identity(
            inst, stated, [make("M-PERIOD", value=stated, expected=expected)], transient=True
        )
    findings = []
    for spec in campaign.forms_for(inst.role):
        stated_print = meta.get(form_key(spec.id, "fingerprint"), "")
        if stated_print != layouts[spec.id].fingerprint:
            findings.append(
                make(
                    "L-FINGERPRINT",
                    value=stated_print or "无",
                    expected=layouts[spec.id].fingerprint,
                    form=spec.id,
                    sheet=spec.sheet,
                )
            )
        version = meta.get(form_key(spec.id, "version"), "")
        if version != str(spec.version):
            findings.append(
                make(
                    "M-VERSION",
                    value=version or "无",
                    expected=spec.version,
                    form=spec.id,
                    sheet=spec.sheet,
                )
            )
    return Identity(inst, stated, findings, aggregate=meta.get("kind") == "aggregate")


def check_header(sheet: RawSheet, lay: Layout, inst: Institution, period: Period) -> list[Finding]:
    """The visible 填报单位 and 报告期 lines must agree with the metadata."""
    spec = lay.spec
    findings = []
    row = lay.unit_row
    unit = sheet.text(row, 1)
    loc: dict[str, Any] = {"form": spec.id, "sheet": sheet.name}
    if unit and inst.name not in unit:
        findings.append(make("M-HEADER", value=unit, expected=inst.name, cell=f"A{row}", **loc))
    for (r, c), value in sheet.cells.items():
        text = str(value)
        if r == row and c > 1 and text.startswith(spec.period_label) and period.label() not in text:
            cell = f"{column_letter(c)}{r}"
            findings.append(make("M-HEADER", value=text, expected=period.label(), cell=cell, **loc))
    return findings


def check_layout(raw: RawWorkbook, layouts: Mapping[str, Layout]) -> list[Finding]:
    findings: list[Finding] = []
    form_sheets = {lay.sheet for lay in layouts.values()}
    for name, sheet in raw.sheets.items():
        if name not in form_sheets and any(s in name for s in form_sheets) and sheet.cells:
            original = next(s for s in form_sheets if s in name)
            findings.append(make("L-SHEET-COPY", value=name, expected=original, sheet=name))
    for form_id, lay in layouts.items():
        form_sheet = raw.sheets.get(lay.sheet)
        if form_sheet is None:
            findings.append(make("L-SHEET-MISSING", expected=lay.sheet, form=form_id))
            continue
        sheet = form_sheet
        if sheet.state != "visible":
            findings.append(
                make("L-SHEET-HIDDEN", expected=lay.sheet, form=form_id, sheet=lay.sheet)
            )
        wrong = 0
        for (r, c), expected in sorted(lay.labels.items()):
            found = sheet.text(r, c)
            if lay.accepts(r, c, found):
                continue
            wrong += 1
            if wrong <= MAX_LABEL_FINDINGS:
                findings.append(
                    make(
                        "L-LABEL",
                        value=found or "空白",
                        expected=expected,
                        form=form_id,
                        sheet=lay.sheet,
                        cell=f"{column_letter(c)}{r}",
                    )
                )
        if not wrong:  # the rows are where the layout says: a hidden one is the form's
            findings.extend(
                make("L-ROW-HIDDEN", value=r, form=form_id, sheet=lay.sheet, cell=f"A{r}")
                for r in sorted(sheet.hidden_rows)
                if r <= lay.last_data_row
            )
    return findings


def extract(
    raw: RawWorkbook,
    campaign: Campaign,
    ident: Identity,
    layouts: Mapping[str, Layout],
    where: Mapping[str, Any],
    institutions: Mapping[str, str] | None = None,
) -> Extracted:
    """Tidy records of every form sheet present, each read by its form's kind; layout
    problems become findings."""
    assert ident.institution is not None and ident.period is not None
    inst, period = ident.institution, ident.period
    ext = Extracted(institution=inst, period=period, aggregate=ident.aggregate)
    forms = campaign.forms_for(inst.role)
    layout_findings: list[Finding] = []
    if ident.aggregate:
        layouts, layout_findings = declared_layouts(raw, campaign, layouts)
    layout_findings += check_layout(raw, {spec.id: layouts[spec.id] for spec in forms})
    ext.findings.extend(_located(f, where) for f in layout_findings)
    misplaced = {f.form for f in layout_findings if f.severity == "error"}
    ctx = ReadContext(inst, period, where, institutions or {})
    for spec in forms:
        lay = layouts[spec.id]
        sheet = raw.sheets.get(lay.sheet)
        if sheet is None or spec.id in misplaced:
            continue  # cells are not where the layout says: reading them would mislead
        ext.findings.extend(_located(f, where) for f in check_header(sheet, lay, inst, period))
        kind_of(spec).extract(sheet, spec, lay, campaign.rows_for(spec), ctx, ext)
        _footer_names(ext, spec.id, lay, sheet)
    return ext


def declared_layouts(
    raw: RawWorkbook, campaign: Campaign, layouts: Mapping[str, Layout]
) -> tuple[dict[str, Layout], list[Finding]]:
    """The layouts an aggregated return declares in its metadata for forms it lays out
    otherwise than the template (a list's row for each institution under each task);
    a declaration that is not one for this campaign's form is an error of that form."""
    out, findings = dict(layouts), []
    for spec in campaign.forms:
        text = (raw.meta or {}).get(form_key(spec.id, "variant"), "")
        if not text:
            continue
        try:
            out[spec.id] = kind_of(spec).layout(spec, campaign.rows_for(spec), Declared(text))
        except ValueError:
            shown = text if len(text) <= 60 else text[:60] + "…"
            findings.append(make("L-VARIANT", value=shown, form=spec.id, sheet=spec.sheet))
    return out, findings


def _footer_names(ext: Extracted, form: str, lay: Layout, sheet: RawSheet) -> None:
    """Names typed beside 审核人/填表人 (the footer sits lower under added rows)."""
    if not lay.footer_cells:
        return
    label, col = lay.footer_cells[0]
    rows = sorted(r for (r, c) in sheet.cells if c == col and r >= lay.first_data_row)
    row = next((r for r in rows if sheet.text(r, col).startswith(footer_key(label))), None)
    if row is None:
        return
    for label, col in lay.footer_cells:
        raw = sheet.cells.get((row, col + 1))
        text = normalise_text(raw)
        if text and footer_key(label).endswith(("日期", "时间")):  # 填报日期: as a date
            day = parse_date(raw, ext.period.year).value
            text = day.isoformat() if day else text
        if text:
            cell = f"{column_letter(col + 1)}{row}"
            ext.texts.append(TextCell(form, FOOTER_ROW, footer_key(label), cell, text))


def _located(f: Finding, where: Mapping[str, Any]) -> Finding:
    return replace(f, **where)
