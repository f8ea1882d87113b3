"""From a workbook's raw cells to a return: who sent it, for when, and what it says.

Identification reads the hidden metadata and checks it against what the sheets show;
the layout check compares every fixed label with the form's layout; extraction turns
input cells into tidy records, normalising what clerks type and logging each change.
Everything wrong becomes a finding; nothing here raises for a bad return.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.config.roster import Institution, Roster
from pipeline.distribute.metadata import FORMAT, form_key
from pipeline.findings import Finding, make
from pipeline.forms.cells import column_letter
from pipeline.forms.layout import (
    CUMULATIVE_ROW,
    FOOTER_ROW,
    MONTH_ROW,
    Layout,
    build_layout,
    footer_key,
)
from pipeline.forms.sheet import Formula, RawSheet, RawWorkbook
from pipeline.forms.spec import GridSpec, ListSpec
from pipeline.forms.values import normalise_number, normalise_text

MAX_LABEL_FINDINGS = 3


@dataclass(frozen=True, slots=True)
class GridCell:
    """One figure of a grid form as the file states it."""

    form: str
    row_key: str
    measure: str
    cell: str
    raw: object
    value: float | None
    typed: bool = True  # False: a formula, ``value`` is its cached result


@dataclass(frozen=True, slots=True)
class TextCell:
    form: str
    row_key: str
    field: str
    cell: str
    text: str


@dataclass
class Extracted:
    institution: Institution
    period: Period
    values: list[GridCell] = field(default_factory=list)  # input counts the reporter fills
    # counts typed into columns the reporter does not fill: not counted, but the file's
    # own formulas include them, so its derived cells are checked against them too
    foreign: list[GridCell] = field(default_factory=list)
    claims: list[GridCell] = field(default_factory=list)  # derived cells and total rows
    texts: list[TextCell] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Identity:
    institution: Institution | None
    period: Period | None
    findings: list[Finding]
    # True when the refusal depends on the roster or the period of this run, so the
    # file is judged again on a later run instead of being recorded as rejected.
    transient: bool = False


def layouts_for(campaign: Campaign) -> dict[str, Layout]:
    return {spec.id: build_layout(spec, campaign.rows_for(spec)) for spec in campaign.forms}


ADDED_ROWS = 500  # tasks a list form may carry below its spare rows (aggregated returns)


def read_bounds(layouts: dict[str, Layout]) -> dict[str, tuple[int, int]]:
    return {
        lay.sheet: (lay.last_data_row + 2 + (ADDED_ROWS if lay.spare_rows else 0), lay.width)
        for lay in layouts.values()
    }


def identify(
    raw: RawWorkbook, campaign: Campaign, roster: Roster, period: Period, layouts: dict[str, Layout]
) -> Identity:
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
        stated = Period.parse(meta.get("period", ""))
    except Exception:
        return Identity(inst, None, [make("M-NO-META")])
    if stated != period:
        return Identity(
            inst, stated, [make("M-PERIOD", value=stated, expected=period)], transient=True
        )
    findings = []
    for spec in campaign.forms:
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
    return Identity(inst, stated, findings)


def check_header(sheet: RawSheet, inst: Institution, period: Period, form: str) -> list[Finding]:
    """The visible 填报单位 and 报告期 lines must agree with the metadata."""
    findings = []
    unit = sheet.text(2, 1)
    if unit and inst.name not in unit:
        findings.append(
            make("M-HEADER", value=unit, expected=inst.name, form=form, sheet=sheet.name, cell="A2")
        )
    for (r, c), value in sheet.cells.items():
        text = str(value)
        if r == 2 and c > 1 and text.startswith("报告期") and period.label() not in text:
            findings.append(
                make(
                    "M-HEADER",
                    value=text,
                    expected=period.label(),
                    form=form,
                    sheet=sheet.name,
                    cell=f"{column_letter(c)}{r}",
                )
            )
    return findings


def check_layout(raw: RawWorkbook, layouts: dict[str, Layout]) -> list[Finding]:
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
            if _same_label(found, expected, lay, r):
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


def _same_label(found: str, expected: str, lay: Layout, row: int) -> bool:
    if "".join(found.split()) == "".join(expected.split()):
        return True
    if isinstance(lay.spec, GridSpec):
        for topic_key, r in lay.row_of.items():
            if r == row and not topic_key.startswith("__"):
                return any(found == a for a in _aliases(lay, topic_key))
    return False


def _aliases(lay: Layout, topic_key: str) -> tuple[str, ...]:
    for t in lay.spec.default_rows if isinstance(lay.spec, GridSpec) else ():
        if t.key == topic_key:
            return t.aliases
    return ()


def _grid(
    ext: Extracted, spec: GridSpec, lay: Layout, sheet: RawSheet, where: dict[str, Any]
) -> None:
    mine = {m.key for m in spec.inputs_for(ext.institution.role)}
    for row_key, r in lay.row_of.items():
        total_row = row_key in (MONTH_ROW, CUMULATIVE_ROW)
        for m in spec.measures:
            c = lay.col_of[m.key]
            cell = f"{column_letter(c)}{r}"
            raw = sheet.cells.get((r, c))
            loc = {**where, "form": spec.id, "sheet": sheet.name, "cell": cell}
            what = f"{lay.labels.get((r, 1), row_key)}/{m.short_label}"
            if m.is_input and not total_row:
                norm = normalise_number(raw)
                if norm.error:
                    ext.findings.append(make("V-PARSE", value=raw, what=what, **loc))
                    continue
                if norm.changed and norm.value is not None:
                    ext.findings.append(
                        make("N-NORMALISED", value=raw, expected=norm.value, what=what, **loc)
                    )
                if m.key not in mine:
                    if norm.value:
                        ext.findings.append(make("V-NOT-YOURS", value=norm.value, what=what, **loc))
                        ext.foreign.append(GridCell(spec.id, row_key, m.key, cell, raw, norm.value))
                    continue
                ext.values.append(GridCell(spec.id, row_key, m.key, cell, raw, norm.value))
            else:
                typed = not isinstance(raw, Formula)
                stated = raw if typed else sheet.cached.get((r, c))
                if stated == "":
                    stated = None
                norm = normalise_number(stated, rate=m.kind == "rate")
                ext.claims.append(
                    GridCell(
                        spec.id,
                        row_key,
                        m.key,
                        cell,
                        raw,
                        None if norm.error else norm.value,
                        typed,
                    )
                )


def _is_added_row(sheet: RawSheet, spec: ListSpec, lay: Layout, r: int) -> bool:
    """A row under the table with task text in it, before the footer (审核人...)."""
    first = sheet.text(r, 1)
    if any(first.startswith(f.split("：")[0]) for f in spec.footer if f):
        return False
    return any(sheet.text(r, lay.col_of[f.key]) for f in spec.fields)


def _list(
    ext: Extracted, spec: ListSpec, lay: Layout, sheet: RawSheet, where: dict[str, Any]
) -> None:
    spare = set(lay.spare_rows)
    rows = list(lay.row_of.items())
    r = lay.last_data_row + 1
    while _is_added_row(sheet, spec, lay, r):  # tasks added below the spare rows
        rows.append((f"extra{r}", r))
        spare.add(r)
        r += 1
    for row_key, r in rows:
        fields = spec.fields if r in spare else spec.inputs
        texts = {}
        for f in fields:
            c = lay.col_of[f.key]
            text = normalise_text(sheet.cells.get((r, c)))
            if not text:
                continue
            cell = f"{column_letter(c)}{r}"
            texts[f.key] = text
            ext.texts.append(TextCell(spec.id, row_key, f.key, cell, text))
            if f.max_length and len(text) > f.max_length:
                ext.findings.append(
                    make(
                        "V-TEXT-LONG",
                        value=len(text),
                        expected=f.max_length,
                        what=f.header,
                        form=spec.id,
                        sheet=sheet.name,
                        cell=cell,
                        **where,
                    )
                )
        if r in spare and texts:
            loc = {**where, "form": spec.id, "sheet": sheet.name, "cell": f"A{r}"}
            if spec.name_fields and not any(texts.get(k) for k in spec.name_fields):
                ext.findings.append(make("V-NEW-TASK-EMPTY", **loc))
            if spec.remark_field and spec.new_task_marker not in texts.get(spec.remark_field, ""):
                ext.findings.append(make("V-NEW-TASK", expected=spec.new_task_marker, **loc))


def extract(
    raw: RawWorkbook,
    campaign: Campaign,
    inst: Institution,
    period: Period,
    layouts: dict[str, Layout],
    where: dict[str, Any],
) -> Extracted:
    """Tidy records of every form sheet present; layout problems become findings."""
    ext = Extracted(institution=inst, period=period)
    layout_findings = check_layout(raw, layouts)
    ext.findings.extend(_located(f, where) for f in layout_findings)
    misplaced = {f.form for f in layout_findings if f.severity == "error"}
    for spec in campaign.forms:
        lay = layouts[spec.id]
        sheet = raw.sheets.get(lay.sheet)
        if sheet is None or spec.id in misplaced:
            continue  # cells are not where the layout says: reading them would mislead
        ext.findings.extend(_located(f, where) for f in check_header(sheet, inst, period, spec.id))
        if isinstance(spec, GridSpec):
            _grid(ext, spec, lay, sheet, where)
        else:
            _list(ext, spec, lay, sheet, where)
        _footer_names(ext, spec.id, lay, sheet)
    return ext


def _footer_names(ext: Extracted, form: str, lay: Layout, sheet: RawSheet) -> None:
    """Names typed beside 审核人/填表人 (the footer may sit lower under added tasks)."""
    if not lay.footer_cells:
        return
    label, col = lay.footer_cells[0]
    rows = sorted(r for (r, c) in sheet.cells if c == col and r >= lay.footer_row)
    row = next((r for r in rows if sheet.text(r, col).startswith(footer_key(label))), None)
    if row is None:
        return
    for label, col in lay.footer_cells:
        text = normalise_text(sheet.cells.get((row, col + 1)))
        if text:
            cell = f"{column_letter(col + 1)}{row}"
            ext.texts.append(TextCell(form, FOOTER_ROW, footer_key(label), cell, text))


def _located(f: Finding, where: dict[str, Any]) -> Finding:
    return replace(f, **where)
