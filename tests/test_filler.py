"""The demo filler: reproducible figures, exact cells, clerks' habits, planted errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.demo.filler import (
    HABITS,
    MonthData,
    fill_return,
    fill_template,
    habit_text,
    random_month,
)
from pipeline.distribute.templates import write_template
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import MONTH_ROW

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "campaign.toml"
PERIOD = Period(2026, 10)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(EXAMPLE)


@pytest.fixture(scope="module")
def hospital(campaign: Campaign) -> Institution:
    return next(i for i in campaign.roster() if i.role == "institution")


@pytest.fixture(scope="module")
def bureau(campaign: Campaign) -> Institution:
    return next(i for i in campaign.roster() if i.role == "bureau")


@pytest.fixture
def template(campaign: Campaign, hospital: Institution, tmp_path: Path) -> Path:
    return write_template(campaign, hospital, PERIOD, tmp_path / "blank")


def grid(campaign: Campaign):
    spec = campaign.form("fujian2")
    return spec, build_layout(spec, campaign.rows_for(spec))


def tasks(campaign: Campaign):
    spec = campaign.form("fujian1")
    return spec, build_layout(spec, campaign.rows_for(spec))


def test_random_month_is_deterministic(campaign: Campaign, hospital: Institution) -> None:
    a = random_month(campaign, hospital, PERIOD, random.Random(7))
    b = random_month(campaign, hospital, PERIOD, random.Random(7))
    c = random_month(campaign, hospital, PERIOD, random.Random(8))
    assert a == b
    assert a != c


def test_random_month_of_an_institution_respects_role_and_invariants(
    campaign: Campaign, hospital: Institution
) -> None:
    spec, _ = grid(campaign)
    expected = {m.key for m in spec.inputs_for(hospital.role)}
    assert expected == {"general_found", "general_fixed", "major_found", "major_fixed"}
    topics = {t.key for t in campaign.rows_for(campaign.form("fujian2"))}
    over_fixed = majors = 0
    for seed in range(60):
        data = random_month(campaign, hospital, PERIOD, random.Random(seed), scale=1.5)
        rows = data.grid[spec.id]
        assert set(rows) == topics
        for row in rows.values():
            assert set(row) == expected
            assert all(type(v) is int and v >= 0 for v in row.values())
            assert row["major_fixed"] <= row["major_found"] <= 1
            assert row["general_fixed"] <= row["general_found"] + 1
            over_fixed += row["general_fixed"] > row["general_found"]
            majors += row["major_found"]
    assert over_fixed and majors  # both happen, and rarely
    assert over_fixed < 60 * len(topics) * 0.15 and majors < 60 * len(topics) * 0.2


def test_random_month_of_the_bureau_fills_its_own_columns_only(
    campaign: Campaign, bureau: Institution
) -> None:
    spec, _ = grid(campaign)
    expected = {m.key for m in spec.inputs_for("bureau")}
    assert "interviews" in expected and "general_found" not in expected
    for seed in range(10):
        rows = random_month(campaign, bureau, PERIOD, random.Random(seed)).grid[spec.id]
        for row in rows.values():
            assert set(row) == expected
            assert all(type(v) is int and v >= 0 for v in row.values())


def test_random_month_texts_and_new_tasks(campaign: Campaign, hospital: Institution) -> None:
    spec, _ = tasks(campaign)
    inputs = {f.key for f in spec.inputs}
    seen_new = 0
    for seed in range(30):
        data = random_month(campaign, hospital, PERIOD, random.Random(seed))
        texts = data.texts[spec.id]
        assert set(texts) == {t.key for t in campaign.rows_for(campaign.form("fujian1"))}
        for row in texts.values():
            assert set(row) <= inputs and row["progress"] and row["outcome"]
        for new in data.new_tasks.get(spec.id, []):
            seen_new += 1
            assert spec.new_task_marker in new["remark"]
            assert set(new) <= {f.key for f in spec.fields}
    assert seen_new > 0


def test_fill_writes_exact_values_in_exact_cells(
    campaign: Campaign, hospital: Institution, template: Path, tmp_path: Path
) -> None:
    data = random_month(campaign, hospital, PERIOD, random.Random(3))
    out = fill_template(campaign, template, tmp_path / "out" / "filled.xlsx", data)
    assert out.exists()
    wb = load_workbook(out)
    spec, lay = grid(campaign)
    ws = wb[lay.sheet]
    for topic, row in data.grid[spec.id].items():
        for key, value in row.items():
            cell = ws[lay.cell(topic, key)]
            assert cell.value == value and isinstance(cell.value, int)
        assert ws[lay.cell(topic, "interviews")].value is None  # bureau column untouched
        assert ws[lay.cell(topic, "hazards_total")].value.startswith("=")
    lspec, llay = tasks(campaign)
    lws = wb[llay.sheet]
    for task, fields in data.texts[lspec.id].items():
        for key, text in fields.items():
            assert lws[llay.cell(task, key)].value == text
    assert "_meta" in wb.sheetnames and wb["_meta"].sheet_state == "veryHidden"
    assert ws.protection.sheet and lws.protection.sheet


def test_missing_measures_stay_blank(campaign: Campaign, template: Path, tmp_path: Path) -> None:
    spec, lay = grid(campaign)
    data = MonthData(grid={spec.id: {"T1": {"general_found": 4}}})
    ws = load_workbook(fill_template(campaign, template, tmp_path / "f.xlsx", data))[lay.sheet]
    assert ws[lay.cell("T1", "general_found")].value == 4
    assert ws[lay.cell("T1", "general_fixed")].value is None
    assert ws[lay.cell("T2", "general_found")].value is None


@pytest.mark.parametrize(
    ("habit", "five", "twelve"),
    [
        ("fullwidth", "５", "１２"),
        ("unit", "5处", "12处"),
        ("text", "5", "12"),
        ("spaces", " 5 ", " 12 "),
    ],
)
def test_habits_write_the_expected_raw_text(
    campaign: Campaign, template: Path, tmp_path: Path, habit: str, five: str, twelve: str
) -> None:
    assert habit_text(5, habit, "处") == five
    spec, lay = grid(campaign)
    data = MonthData(
        grid={
            spec.id: {"T1": {"general_found": 5, "general_fixed": 0}, "T2": {"general_found": 12}}
        }
    )
    out = fill_template(campaign, template, tmp_path / "h.xlsx", data, habits=frozenset({habit}))
    ws = load_workbook(out)[lay.sheet]
    assert ws[lay.cell("T1", "general_found")].value == five
    assert ws[lay.cell("T2", "general_found")].value == twelve
    assert ws[lay.cell("T1", "general_fixed")].value == 0  # zeros stay numeric


def test_several_habits_take_turns_never_stacked(
    campaign: Campaign, hospital: Institution, template: Path, tmp_path: Path
) -> None:
    data = random_month(campaign, hospital, PERIOD, random.Random(11), scale=2)
    out = fill_template(campaign, template, tmp_path / "m.xlsx", data, habits=frozenset(HABITS))
    spec, lay = grid(campaign)
    ws = load_workbook(out)[lay.sheet]
    used = set()
    for topic, row in data.grid[spec.id].items():
        for key, value in row.items():
            raw = ws[lay.cell(topic, key)].value
            if value == 0:
                assert raw == 0
                continue
            unit = spec.measure(key).unit
            options = {h: habit_text(value, h, unit) for h in HABITS}
            assert raw in options.values()
            used |= {h for h, text in options.items() if text == raw}
    assert used == set(HABITS)
    with pytest.raises(ValueError, match="unknown habit"):
        fill_template(campaign, template, tmp_path / "x.xlsx", data, habits=frozenset({"ink"}))


def test_overwrite_formula_plants_a_number(
    campaign: Campaign, template: Path, tmp_path: Path
) -> None:
    spec, lay = grid(campaign)
    data = MonthData(grid={spec.id: {"T1": {"general_found": 3, "major_found": 1}}})
    plant = {spec.id: {("T1", "hazards_total"): 5, (MONTH_ROW, "general_rate"): 90.5}}
    out = fill_template(campaign, template, tmp_path / "p.xlsx", data, overwrite_formula=plant)
    ws = load_workbook(out)[lay.sheet]
    assert ws[lay.cell("T1", "hazards_total")].value == 5
    assert ws[lay.cell(MONTH_ROW, "general_rate")].value == 90.5
    assert ws[lay.cell("T2", "hazards_total")].value.startswith("=")
    with pytest.raises(ValueError, match="derived"):
        bad = MonthData(grid={spec.id: {"T1": {"hazards_total": 4}}})
        fill_template(campaign, template, tmp_path / "q.xlsx", bad)


def test_new_tasks_land_in_spare_rows(campaign: Campaign, template: Path, tmp_path: Path) -> None:
    spec, lay = tasks(campaign)
    new = [
        {"content": "开展有限空间作业安全排查", "progress": "已建台账", "remark": "新增任务"},
        {"content": "=SUM(1)", "remark": "新增"},
    ]
    data = MonthData(new_tasks={spec.id: new})
    ws = load_workbook(fill_template(campaign, template, tmp_path / "n.xlsx", data))[lay.sheet]
    first, second = lay.spare_rows[:2]
    for r, row in ((first, new[0]), (second, new[1])):
        for key, text in row.items():
            assert ws.cell(r, lay.col_of[key]).value == text
    assert ws.cell(lay.spare_rows[2], lay.col_of["content"]).value is None
    too_many = MonthData(new_tasks={spec.id: [{"remark": "新增"}] * (len(lay.spare_rows) + 1)})
    with pytest.raises(ValueError, match="spare rows"):
        fill_template(campaign, template, tmp_path / "o.xlsx", too_many)


def test_fill_return_writes_the_template_name(
    campaign: Campaign, bureau: Institution, tmp_path: Path
) -> None:
    data = random_month(campaign, bureau, PERIOD, random.Random(1))
    out = fill_return(campaign, bureau, PERIOD, tmp_path / "inbox", data)
    blank = write_template(campaign, bureau, PERIOD, tmp_path / "blank")
    assert out == tmp_path / "inbox" / blank.name
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == [blank.name]  # no leftovers
    wb = load_workbook(out)
    spec, lay = grid(campaign)
    assert (
        wb[lay.sheet][lay.cell("T3", "interviews")].value == data.grid[spec.id]["T3"]["interviews"]
    )
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}
    assert meta["institution_code"] == bureau.code and meta["period"] == str(PERIOD)
