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
from hypothesis import HealthCheck, given, settings
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
    max_examples=25,
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
