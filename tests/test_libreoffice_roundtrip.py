"""End to end: our templates open in LibreOffice without complaint and keep their layout.

Institutions fill the forms in Excel, WPS or LibreOffice, and what comes back has been
re-saved by one of them. Here LibreOffice (headless) re-saves two generated templates
(the bureau QW000, which fills every column, and the hospital QW001, which fills the
hazard columns only) and exports them to PDF; the re-saved copy must still be our form:
same sheets, labels at the same cells, same merges, live formulas that LibreOffice
computes, the same locked/unlocked cells and in-cell checks, and the hidden ``_meta``.

Not checked, because LibreOffice's headless conversion drops view settings of every
xlsx, ours or not: frozen panes (``ws.freeze_panes``) come back as None.
"""

from __future__ import annotations

import re
import subprocess
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import openpyxl
import pytest

# `tests/` is not a package, so pytest (and mypy) put it on sys.path: `support` is top level.
from e2e_support import ModelPrefills
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from support import libreoffice as lo

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.distribute import metadata
from pipeline.distribute.templates import write_templates
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec
from pipeline.forms.layout import Layout, Merge

pytestmark = pytest.mark.libreoffice

CAMPAIGN_FILE = Path(__file__).resolve().parents[1] / "examples" / "campaign.toml"
PERIOD = Period(2026, 10)
INSTITUTIONS = ("QW000", "QW001")  # the bureau, a hospital
FORM_SHEETS = ("附件1", "附件2", "问题隐患清单", "制度措施清单")
ANNEX_TITLE = "安全生产专项整治三年行动工作进展情况"
# Last month's cumulative figures pre-filled into 附件2's 累计总计 row, so that the row
# LibreOffice computes is not all zeros (general 6/8 -> 75 %, major 1/2 -> 50 %).
PREV_CUMULATIVE = {
    "problems_province": 2,
    "problems_city": 3,
    "problems_county": 4,
    "general_found": 8,
    "general_fixed": 6,
    "major_found": 2,
    "major_fixed": 1,
    "groups_formed": 1,
    "inspections": 5,
}


def previous_cumulative(code: str, form_id: str, through: Period) -> dict[str, float]:
    return dict(PREV_CUMULATIVE) if form_id == "fujian2" else {}


@dataclass
class Roundtrip:
    """One template and what LibreOffice made of it."""

    code: str
    role: str
    conversion: lo.Conversion

    @cached_property
    def original(self) -> Workbook:
        return openpyxl.load_workbook(self.conversion.source)

    @cached_property
    def saved(self) -> Workbook:
        self.require_output()
        return openpyxl.load_workbook(self.conversion.output)

    @cached_property
    def saved_values(self) -> Workbook:
        """The LibreOffice copy with the cached results of its formulas."""
        self.require_output()
        return openpyxl.load_workbook(self.conversion.output, data_only=True)

    def require_output(self) -> None:
        if self.conversion.returncode != 0 or not self.conversion.output.is_file():
            pytest.fail(
                f"LibreOffice did not save {self.conversion.source.name} "
                f"(exit code {self.conversion.returncode}):\n{self.conversion.log}"
            )


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def soffice() -> str:
    path = lo.soffice_path()
    if path is None:
        pytest.skip(
            "LIBREOFFICE NOT AVAILABLE: "
            f"{lo.unavailable_reason('soffice')} -- "
            "the LibreOffice round trip was NOT checked"
        )
    return path


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(CAMPAIGN_FILE)


@pytest.fixture(scope="module")
def layouts(campaign: Campaign) -> dict[str, Layout]:
    """Layout of every form, by sheet name."""
    return {spec.sheet: build_layout(spec, campaign.rows_for(spec)) for spec in campaign.forms}


@pytest.fixture(scope="module")
def templates(campaign: Campaign, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    prefills = ModelPrefills(previous_cumulative, PERIOD)
    paths = write_templates(campaign, PERIOD, prefills, folder=folder)  # type: ignore[arg-type]
    picked = {code: [p for p in paths if p.stem.endswith(f"_{code}")] for code in INSTITUTIONS}
    for code, found in picked.items():
        assert len(found) == 1, f"expected one template for {code} among {paths}"
    return {code: found[0] for code, found in picked.items()}


@pytest.fixture(scope="module", params=INSTITUTIONS)
def roundtrip(
    request: pytest.FixtureRequest,
    soffice: str,
    campaign: Campaign,
    templates: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Roundtrip:
    code: str = request.param
    inst = campaign.roster().get(code)
    assert inst is not None
    outdir = tmp_path_factory.mktemp(f"libreoffice-xlsx-{code}")
    return Roundtrip(code, inst.role, lo.run_convert(templates[code], "xlsx", outdir))


# --- helpers -----------------------------------------------------------------------------


def visible_sheets(wb: Workbook) -> list[str]:
    return [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]


def merges(ws: Worksheet) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def unlocked_cells(ws: Worksheet) -> set[str]:
    return {
        cell.coordinate
        for row in ws.iter_rows()
        for cell in row
        if cell.has_style and not cell.protection.locked
    }


def validations(ws: Worksheet) -> dict[tuple[object, ...], set[tuple[int, int]]]:
    """Each in-cell check (rule and messages) with the cells it covers."""
    out: dict[tuple[object, ...], set[tuple[int, int]]] = {}
    for dv in ws.data_validations.dataValidation:
        two_bounds = dv.operator in ("between", "notBetween")
        # A drop-down list has no operator; LibreOffice writes "between" and a second
        # bound of 0 for it, which Excel ignores: the list is the same.
        is_list = dv.type == "list"
        key = (
            dv.type,
            None if is_list else dv.operator,
            dv.formula1,
            dv.formula2 if two_bounds and not is_list else None,
            bool(dv.allow_blank),
            bool(dv.showErrorMessage),
            dv.errorStyle or "stop",
            dv.errorTitle,
            dv.error,
            dv.promptTitle,
            dv.prompt,
        )
        cells = out.setdefault(key, set())
        for rng in dv.sqref.ranges:
            cells.update(rng.cells)
    return out


def is_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith("=")


def normalized_formula(value: str) -> str:
    return re.sub(r"[\s$]", "", value).upper()


def meta_of(wb: Workbook) -> dict[str, str]:
    return metadata.parse_rows(wb[metadata.META_SHEET].iter_rows(max_col=2, values_only=True))


def grid(campaign: Campaign) -> GridSpec:
    spec = campaign.form("fujian2")
    assert isinstance(spec, GridSpec)
    return spec


def expected_cumulative(spec: GridSpec) -> dict[str, float | None]:
    """What the 累计总计 row must compute for a blank month."""
    values: dict[str, float | None] = {
        m.key: float(PREV_CUMULATIVE.get(m.key, 0)) for m in spec.measures if m.kind == "count"
    }
    for m in spec.measures:
        if m.kind == "sum":
            values[m.key] = sum(values[t] or 0 for t in m.terms)
    for m in spec.measures:
        if m.kind == "rate":
            num, den = values[m.numerator or ""], values[m.denominator or ""]
            values[m.key] = None if not den else (num or 0) / den * 100
    return values


def is_blank(value: object) -> bool:
    return value is None or value == ""


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- tests -------------------------------------------------------------------------------


def test_libreoffice_saves_the_template_without_complaint(roundtrip: Roundtrip) -> None:
    done = roundtrip.conversion
    assert done.returncode == 0, f"soffice exit code {done.returncode}:\n{done.log}"
    assert done.output.is_file(), f"no {done.output} after conversion:\n{done.log}"
    assert done.output.stat().st_size > 0
    assert not done.complaints, f"LibreOffice complained about {done.source.name}:\n{done.log}"
    assert "convert" in done.stdout.lower(), done.log  # it did report a conversion


def test_same_visible_sheets_in_the_same_order(roundtrip: Roundtrip) -> None:
    assert visible_sheets(roundtrip.original) == ["填报说明", *FORM_SHEETS]
    assert visible_sheets(roundtrip.saved) == visible_sheets(roundtrip.original)


def test_every_layout_label_is_at_the_same_cell(
    roundtrip: Roundtrip, layouts: dict[str, Layout]
) -> None:
    for sheet, lay in layouts.items():
        ws = roundtrip.saved[sheet]
        moved = {
            f"{ws.cell(r, c).coordinate}": (text, ws.cell(r, c).value)
            for (r, c), text in lay.labels.items()
            if ws.cell(r, c).value != text
        }
        assert not moved, f"{sheet}: labels changed by LibreOffice (expected, found): {moved}"
        assert ws["A1"].value == lay.spec.title.format(year=PERIOD.year)


def test_every_cell_keeps_its_content(roundtrip: Roundtrip) -> None:
    """Beyond the labels: titles, pre-filled tasks, footers, notes, formulas, 填报说明."""
    for before in roundtrip.original.worksheets:
        after = roundtrip.saved[before.title]
        changed = {}
        for row in before.iter_rows():
            for cell in row:
                new = after[cell.coordinate].value
                if is_formula(cell.value) and is_formula(new):
                    same = normalized_formula(cell.value) == normalized_formula(new)
                else:
                    same = new == cell.value and type(new) is type(cell.value)
                if not same:
                    changed[cell.coordinate] = (cell.value, new)
        assert not changed, f"{before.title}: cells changed (before, after): {changed}"


def _stacked(m: Merge, refs: set[str]) -> bool:
    """Whether ``refs`` hold ``m`` cut across into parts, one under the other (a merged
    task group is cut where a page breaks, its text shown again on the next page); a
    part of one row is one cell, not merged."""
    parts = [
        (top, bottom)
        for left, top, right, bottom in map(range_boundaries, refs)
        if (left, right) == (m.first_col, m.last_col)
        and top <= m.last_row
        and bottom >= m.first_row
    ]
    rows = [r for top, bottom in parts for r in range(top, bottom + 1)]
    inside = all(m.first_row <= r <= m.last_row for r in rows)
    return inside and len(rows) == len(set(rows)) and len(rows) < m.last_row - m.first_row + 1


def test_same_merged_ranges(roundtrip: Roundtrip, layouts: dict[str, Layout]) -> None:
    for sheet in FORM_SHEETS:
        before, after = merges(roundtrip.original[sheet]), merges(roundtrip.saved[sheet])
        for m in layouts[sheet].merges:  # as the layout says, or cut at page breaks
            assert m.ref in before or _stacked(m, before), (sheet, m.ref)
        assert after == before, (
            f"{sheet}: merges lost {sorted(before - after)}, gained {sorted(after - before)}"
        )


def test_derived_cells_stay_formulas_and_libreoffice_computes_them(
    roundtrip: Roundtrip, campaign: Campaign, layouts: dict[str, Layout]
) -> None:
    spec = grid(campaign)
    lay = layouts[spec.sheet]
    ws, values = roundtrip.saved[spec.sheet], roundtrip.saved_values[spec.sheet]
    topics = [t.key for t in campaign.rows_for(spec)]
    cumulative = expected_cumulative(spec)
    for row_key in [*topics, MONTH_ROW, CUMULATIVE_ROW]:
        for m in spec.measures:
            r, c = lay.coords(row_key, m.key)
            where = f"{spec.sheet}!{ws.cell(r, c).coordinate} ({row_key}, {m.label})"
            derived = m.kind != "count" or row_key in (MONTH_ROW, CUMULATIVE_ROW)
            if not derived:
                assert ws.cell(r, c).value is None, f"{where} should be a blank input"
                continue
            assert is_formula(ws.cell(r, c).value), f"{where} lost its formula"
            got = values.cell(r, c).value
            if row_key == CUMULATIVE_ROW:
                want = cumulative[m.key]
            elif m.kind == "rate":
                want = None  # blank month: no hazards found, no rate
            else:
                want = 0.0
            if want is None:
                assert is_blank(got), f"{where}: expected a blank rate, LibreOffice gave {got!r}"
            else:
                assert is_number(got), f"{where}: no computed number, got {got!r}"
                assert got == pytest.approx(want), f"{where}: {got!r} != {want!r}"


def test_month_total_row_is_zero_for_a_blank_form(
    roundtrip: Roundtrip, campaign: Campaign, layouts: dict[str, Layout]
) -> None:
    spec = grid(campaign)
    lay = layouts[spec.sheet]
    values = roundtrip.saved_values[spec.sheet]
    assert values.cell(lay.row_of[MONTH_ROW], 1).value == spec.month_total_label
    for m in spec.measures:
        if m.kind != "rate":
            got = values.cell(*lay.coords(MONTH_ROW, m.key)).value
            assert is_number(got) and got == 0, f"{spec.month_total_label} {m.label}: {got!r}"


def test_inputs_stay_unlocked_and_sheets_protected(
    roundtrip: Roundtrip, campaign: Campaign, layouts: dict[str, Layout]
) -> None:
    for sheet in FORM_SHEETS:
        before, after = roundtrip.original[sheet], roundtrip.saved[sheet]
        assert after.protection.sheet, f"{sheet} is no longer protected"
        assert unlocked_cells(before), f"{sheet}: the template has no input cells"
        assert unlocked_cells(after) == unlocked_cells(before), sheet
        assert validations(after) == validations(before), f"{sheet}: in-cell checks changed"
    # The inputs are exactly the role's count columns of the topic rows, and each has a check.
    spec = grid(campaign)
    lay = layouts[spec.sheet]
    ws = roundtrip.saved[spec.sheet]
    inputs = {m.key for m in spec.inputs_for(roundtrip.role)}  # type: ignore[arg-type]
    checked = set().union(*validations(ws).values())
    for topic in campaign.rows_for(spec):
        for m in spec.measures:
            r, c = lay.coords(topic.key, m.key)
            cell = ws.cell(r, c)
            assert cell.protection.locked is (m.key not in inputs), (
                f"{spec.sheet}!{cell.coordinate} ({m.label}) locked={cell.protection.locked}"
            )
            assert ((r, c) in checked) is (m.key in inputs), f"{cell.coordinate} validation"
    for row_key in (MONTH_ROW, CUMULATIVE_ROW):
        for m in spec.measures:
            assert ws.cell(*lay.coords(row_key, m.key)).protection.locked


def test_meta_sheet_survives_hidden_with_the_same_keys(
    roundtrip: Roundtrip, layouts: dict[str, Layout]
) -> None:
    assert metadata.META_SHEET in roundtrip.saved.sheetnames
    ws = roundtrip.saved[metadata.META_SHEET]
    assert ws.sheet_state in ("hidden", "veryHidden"), f"_meta is {ws.sheet_state}"
    if ws.sheet_state != roundtrip.original[metadata.META_SHEET].sheet_state:
        warnings.warn(
            f"LibreOffice saved _meta as {ws.sheet_state!r} (was "
            f"{roundtrip.original[metadata.META_SHEET].sheet_state!r}): it now shows in "
            "the Unhide menu",
            stacklevel=1,
        )
    meta = meta_of(roundtrip.saved)
    assert meta == meta_of(roundtrip.original)
    assert meta["institution_code"] == roundtrip.code
    assert meta["period"] == str(PERIOD)
    for lay in layouts.values():
        assert meta[metadata.form_key(lay.spec.id, "fingerprint")] == lay.fingerprint


def test_pdf_export_shows_the_annex(
    soffice: str, templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    code = "QW001"
    pdf = lo.convert(templates[code], "pdf", tmp_path_factory.mktemp("libreoffice-pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    pdftotext = lo.pdftotext_path()
    if pdftotext is None:
        pytest.skip(
            "PDFTOTEXT NOT AVAILABLE: "
            f"{lo.unavailable_reason('pdftotext')} -- the PDF was written "
            "but its text was NOT checked"
        )
    done = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pages = [re.sub(r"\s+", "", page) for page in done.stdout.split("\f")]
    text = "".join(pages)
    assert ANNEX_TITLE in text
    assert "累计总计" in text
    assert "填报单位：示例区人民医院" in text
    assert metadata.FORMAT not in text, "the hidden _meta sheet was printed"
    # 附件2 fits the page width: title, first and last column header on one page.
    assert any(
        ANNEX_TITLE in p and "专题专项" in p and "约谈警示" in p and "累计总计" in p for p in pages
    ), "附件2 is split across pages"


# --- filled returns re-saved by LibreOffice ---------------------------------------------


def test_filled_returns_resaved_by_libreoffice_are_accepted_with_the_same_figures(
    soffice: str, tmp_path: Path
) -> None:
    """The bureau's and a hospital's returns, filled, then opened and saved again by
    LibreOffice (as on Kylin or UOS): both are accepted without error (the formulas
    LibreOffice computed agree with the counts, no D-CACHED), and every figure of the
    汇总表 is the hand-computed sum of what was typed."""
    import random
    import shutil

    from e2e_support import (
        campaign_in,
        counted,
        due_moment,
        expected_table,
        grid_layout,
        mismatches,
        read_jsonl,
        read_table,
        set_received,
    )

    from pipeline.demo.filler import fill_return, random_month
    from pipeline.distribute.templates import template_filename
    from pipeline.run import run_period

    month = Period(2026, 7)  # the campaign's first month: 累计总计 is the month's
    camp = campaign_in(tmp_path)
    lay = grid_layout(camp)
    grids = []
    for code in INSTITUTIONS:
        inst = camp.roster().get(code)
        assert inst is not None
        data = random_month(camp, inst, month, random.Random(f"lo/{code}"))
        filled = fill_return(camp, inst, month, tmp_path / "filled", data)
        resaved = lo.convert(filled, "xlsx", tmp_path / "lo" / code)
        camp.inbox.mkdir(parents=True, exist_ok=True)
        path = camp.inbox / template_filename(month, inst, camp.code)
        shutil.copyfile(resaved, path)
        # LibreOffice's own file: every formula carries the result it computed.
        computed = openpyxl.load_workbook(path, data_only=True)
        total = computed["附件2"][lay.cell(MONTH_ROW, "hazards_total")].value
        computed.close()
        assert total == sum(
            row.get("general_found", 0) + row.get("major_found", 0)
            for row in data.grid["fujian2"].values()
        )  # type: ignore[union-attr]
        set_received(path, due_moment(camp, month, -1))
        grids.append(counted(data.grid["fujian2"], inst.role == "bureau"))  # type: ignore[arg-type]
    result = run_period(camp, month)
    assert [f.outcome for f in result.files] == ["accepted"] * len(INSTITUTIONS), [
        (f.name, f.outcome, [x.message for x in f.findings]) for f in result.files
    ]
    log = read_jsonl(result.outbox / f"校验日志_{month}.jsonl")
    assert [f for f in log if f["type"] == "finding" and f["severity"] == "error"] == []
    assert not [f for f in log if f.get("rule") in ("D-CACHED", "D-OVERWRITTEN")]
    table = read_table(result.outbox / f"汇总表_{month}.xlsx", lay)
    assert mismatches(table, expected_table(grids, grids), lay) == []
