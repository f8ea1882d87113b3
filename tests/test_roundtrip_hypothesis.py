"""Property: whatever whole numbers a reporter types, the pipeline reads exactly those back.

For any figures of an institution (its 排查整治隐患 columns) and of the bureau (every
column), typed plainly or with clerks' habits (full-width digits, units, numbers as text,
stray spaces): fill the blank templates, read them through the pipeline's own reading path
(read_workbook → identify → extract), and run the whole month (run_period on a fresh
ledger): the values read equal the values written, both returns are accepted, and every
figure of the 汇总表 is the sum of what was written, rates recomputed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from e2e_support import (
    BUREAU_COUNTS,
    FORM,
    HAZARD_COUNTS,
    TOPICS,
    campaign_in,
    expected_table,
    grid_layout,
    mismatches,
    read_table,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.demo.filler import HABITS, MonthData, fill_template
from pipeline.distribute.templates import template_filename, write_template
from pipeline.extract.reader import read_workbook
from pipeline.extract.returns import extract, identify, layouts_for, read_bounds
from pipeline.run import run_period

PERIOD = Period(2026, 7)
MAX = 100_000  # schemas/fujian2_progress.toml [bounds] max_count: the largest valid figure


def grids(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, dict[str, int]]]:
    # Mostly small figures (the realistic case), sometimes anything up to the bound.
    value = st.one_of(st.integers(0, 30), st.integers(0, MAX))
    return st.fixed_dictionaries(
        {t: st.fixed_dictionaries({k: value for k in keys}) for t in TOPICS}
    )


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("roundtrip")
    campaign = campaign_in(base)
    roster = campaign.roster()
    bureau = roster.get(campaign.bureau.code)
    hospital = roster.get("QW001")
    assert bureau is not None and bureau.role == "bureau"
    assert hospital is not None and hospital.role == "institution"
    blanks = {
        i.code: write_template(campaign, i, PERIOD, base / "blank") for i in (bureau, hospital)
    }
    return campaign, roster, {"bureau": bureau, "hospital": hospital}, blanks


def _read_back(campaign: Campaign, roster, path: Path) -> tuple[dict, list]:
    layouts = layouts_for(campaign)
    raw = read_workbook(path, read_bounds(campaign, layouts))
    ident = identify(raw, campaign, roster, [PERIOD], layouts)
    assert not ident.findings and ident.period == PERIOD and ident.institution is not None
    ext = extract(raw, campaign, ident, layouts, {"file": path.name})
    values = {(c.row_key, c.measure): c.value for c in ext.values if c.form == FORM}
    return values, ext.findings


def _fill(
    campaign: Campaign, blank: Path, inst: Institution, inbox: Path, grid: dict, habits: frozenset
) -> Path:
    out = inbox / template_filename(PERIOD, inst, campaign.code)
    return fill_template(campaign, blank, out, MonthData(grid={FORM: grid}), habits=habits)


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    hospital=grids(HAZARD_COUNTS),
    bureau=grids(BUREAU_COUNTS),
    habits=st.frozensets(st.sampled_from(HABITS)),
)
def test_written_figures_are_read_back_and_summed(setting, hospital, bureau, habits) -> None:
    campaign, roster, who, blanks = setting
    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        base = Path(tmp)
        camp = campaign_in(base)
        inbox = base / "inbox"
        written = {"hospital": hospital, "bureau": bureau}
        for role, grid in written.items():
            inst = who[role]
            path = _fill(camp, blanks[inst.code], inst, inbox, grid, habits)
            values, findings = _read_back(camp, roster, path)
            assert values == {(t, k): float(v) for t, row in grid.items() for k, v in row.items()}
            nonzero = sum(1 for row in grid.values() for v in row.values() if v)
            rules = [f.rule for f in findings]
            assert rules == ["N-NORMALISED"] * (nonzero if habits else 0), rules
        result = run_period(camp, PERIOD)
        assert result.count("accepted") == 2, [
            (f.name, f.outcome, f.findings) for f in result.files
        ]
        table = read_table(result.outbox / f"汇总表_{PERIOD}.xlsx", grid_layout(camp))
    expected = expected_table([hospital, bureau], [hospital, bureau])
    assert mismatches(table, expected, grid_layout(campaign)) == []
    for t in TOPICS:  # the bureau's own columns are the bureau's figures alone
        for k in BUREAU_COUNTS:
            assert table[(t, k)] == bureau[t][k]


# -- what clerks really type, cell by cell ---------------------------------------------
HOSPITALS = ("QW001", "QW002", "QW003", "QW004")


@pytest.fixture(scope="module")
def hospital_blanks(setting, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    campaign, roster, _, _ = setting
    folder = tmp_path_factory.mktemp("hospital-blanks")
    return {code: write_template(campaign, roster.get(code), PERIOD, folder) for code in HOSPITALS}


Typed = tuple[str, object]  # (what the clerk did, the cell's value)
REFUSED = {"negative": "V-NEGATIVE", "fraction": "V-INTEGER", "over": "V-MAX"}


def typed_cell(refusable: bool) -> st.SearchStrategy[Typed]:
    """One cell as a clerk leaves it: blank, a plain whole number, a whole number with a
    typing habit (full-width, a unit, as text, spaces), or (``refusable``) a figure the
    form refuses: a negative, a fraction, or one over the bound."""
    whole = st.one_of(st.integers(0, 30), st.integers(0, MAX))
    kept = [
        st.just(("blank", None)),
        whole.map(lambda v: ("plain", v)),
        st.tuples(st.sampled_from(HABITS), st.integers(1, 500)).map(lambda t: (t[0], t[1])),
    ]
    refused = [
        st.integers(-500, -1).map(lambda v: ("negative", v)),
        st.tuples(st.integers(0, 50), st.sampled_from((0.5, 0.25, 0.04))).map(
            lambda t: ("fraction", t[0] + t[1])
        ),
        st.integers(MAX + 1, 10 * MAX).map(lambda v: ("over", v)),
    ]
    return st.one_of(*kept, *(refused if refusable else []))


def typed_grid() -> st.SearchStrategy[dict[str, dict[str, Typed]]]:
    """A return: mostly plain small numbers, as most are; a careful clerk's odd cells are
    blanks and habits only, a careless one's may be refused too (about half of each)."""

    def grid(refusable: bool) -> st.SearchStrategy[dict[str, dict[str, Typed]]]:
        plain = st.integers(0, 30).map(lambda v: ("plain", v))
        cell = st.one_of(plain, plain, plain, typed_cell(refusable))
        return st.fixed_dictionaries(
            {t: st.fixed_dictionaries({k: cell for k in HAZARD_COUNTS}) for t in TOPICS}
        )

    return st.booleans().flatmap(grid)


def _type_into(campaign: Campaign, blank: Path, out: Path, grid: dict) -> Path:
    """The blank template with each cell typed as drawn, saved as Excel would."""
    from openpyxl import load_workbook

    from pipeline.demo.filler import habit_text
    from pipeline.forms.styles import set_text

    spec = campaign.form(FORM)
    lay = grid_layout(campaign)
    wb = load_workbook(blank)
    try:
        ws = wb[lay.sheet]
        for t, row in grid.items():
            for k, (how, value) in row.items():
                cell = ws[lay.cell(t, k)]
                if how in HABITS:
                    set_text(cell, habit_text(int(value), how, spec.measure(k).unit))
                elif value is not None:
                    cell.value = value
        out.parent.mkdir(parents=True, exist_ok=True)
        wb.save(out)
    finally:
        wb.close()
    return out


def _as_counted(grid: dict) -> dict[str, dict[str, float]]:
    """What an accepted return contributes: every figure as a number, blanks as 0."""
    return {t: {k: float(v or 0) for k, (_, v) in row.items()} for t, row in grid.items()}


# Half the profile's examples (tests/conftest.py): each runs a month of up to 4 returns.
@settings(
    max_examples=max(12, settings.default.max_examples // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    sent=st.lists(typed_grid(), min_size=1, max_size=len(HOSPITALS)),
)
def test_what_clerks_type_is_accepted_refused_or_noted_cell_by_cell(
    setting, hospital_blanks, sent
) -> None:
    """Several hospitals' returns, each cell drawn from what clerks really type. A return
    is refused exactly when a cell holds a negative, a fraction or a figure over the
    bound, with one finding at each such cell; a typing habit is read and noted at its
    cell; blanks among filled cells are counted as 0 and said; and the 汇总表 is the sum
    of the accepted returns."""
    from e2e_support import read_jsonl

    campaign, roster, _, _ = setting
    lay = grid_layout(campaign)
    with tempfile.TemporaryDirectory(prefix="typed-") as tmp:
        base = Path(tmp)
        camp = campaign_in(base)
        names = {}
        for code, grid in zip(HOSPITALS, sent, strict=False):
            inst = roster.get(code)
            assert inst is not None
            blank = hospital_blanks[code]
            path = _type_into(
                camp, blank, camp.inbox / template_filename(PERIOD, inst, camp.code), grid
            )
            names[code] = path.name
        result = run_period(camp, PERIOD)
        outcome = {f.name: f.outcome for f in result.files}
        log = read_jsonl(result.outbox / f"校验日志_{PERIOD}.jsonl")
        table = read_table(result.outbox / f"汇总表_{PERIOD}.xlsx", lay)
    accepted = []
    for code, grid in zip(HOSPITALS, sent, strict=False):
        cells = {lay.cell(t, k): typed for t, row in grid.items() for k, typed in row.items()}
        mine = [f for f in log if f["type"] == "finding" and f["file"] == names[code]]
        refused = sorted((REFUSED[how], c) for c, (how, _) in cells.items() if how in REFUSED)
        errors = sorted((f["rule"], f["cell"]) for f in mine if f["severity"] == "error")
        assert errors == refused, code
        assert outcome[names[code]] == ("rejected" if refused else "accepted"), code
        event("a return refused" if refused else "a return accepted")
        for how, _ in cells.values():
            if how != "plain":
                event(f"a cell typed: {how}")
        noted = sorted(c for c, (how, _) in cells.items() if how in HABITS)
        assert sorted(f["cell"] for f in mine if f["rule"] == "N-NORMALISED") == noted, code
        if refused:
            continue
        accepted.append(_as_counted(grid))
        blanks = [c for c, (how, _) in cells.items() if how == "blank"]
        said = [f for f in mine if f["rule"] in ("A-BLANK", "A-BLANK-CELLS")]
        if len(blanks) == len(cells):
            assert [f["rule"] for f in said] == ["A-BLANK"], code
        elif blanks:
            (f,) = said
            assert (f["rule"], f["severity"], f["value"]) == (
                "A-BLANK-CELLS",
                "warning",
                str(len(blanks)),
            )
            assert set(f["expected"].split("、")) <= set(blanks)
        else:
            assert said == [], code
    if accepted:
        hazards = (*HAZARD_COUNTS, "hazards_total", "general_rate", "major_rate")
        want = {k: v for k, v in expected_table(accepted, accepted).items() if k[1] in hazards}
        assert mismatches(table, want, lay) == []
