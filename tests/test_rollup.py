"""The aggregated return of a district is itself a valid return for the city.

Two districts (甲区, 乙区), each a campaign file of its own (the example's contents with
another bureau and roster) with the bureau and two hospitals, run 2026-07. A city
campaign whose roster holds the city bureau and both district bureaus (机构级别
卫生健康行政部门: a district reports every column) receives the two 汇总表 files as
returns. The campaign ``code`` is the same at both levels: the metadata checks it.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import (
    COUNTS,
    EXAMPLE,
    FORM,
    HAZARD_COUNTS,
    RATES,
    ROWS,
    SUMS,
    TOPICS,
    Grid,
    counted,
    derive,
    due_moment,
    expected_table,
    grid_layout,
    mismatches,
    read_jsonl,
    read_table,
    run_cli,
    set_received,
)
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.forms.kinds import build_layout, kind_of
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW

PERIOD = Period(2026, 7)
ROSTER_HEADER = "机构代码,机构名称,机构级别,经济类型,电子邮箱,联系人,联系电话\n"
BUREAU_LEVEL = "卫生健康行政部门"


@dataclass
class Level:
    """One campaign folder: its file, the roster, and what each reporter sent."""

    name: str
    code: str
    folder: Path
    campaign: Campaign
    sent: dict[str, Grid]  # institution -> counted figures

    @property
    def summary(self) -> Path:
        return self.folder / "outbox" / str(PERIOD) / f"汇总表_{PERIOD}.xlsx"


def write_campaign(
    folder: Path, name: str, code: str, members: list[tuple[str, str, str]]
) -> Campaign:
    """A copy of the example campaign for bureau ``name``/``code``, paths inside ``folder``."""
    folder.mkdir(parents=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    replacements = {
        'name = "示例区卫生健康局"': f'name = "{name}"',
        'code = "QW000"': f'code = "{code}"',
        'roster = "roster.csv"': 'roster = "roster.csv"',
        'ledger = "../ledger.sqlite"': 'ledger = "ledger.sqlite"',
        'inbox = "../inbox"': 'inbox = "inbox"',
        'outbox = "../outbox"': 'outbox = "outbox"',
        'templates = "../form_templates"': 'templates = "form_templates"',
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    rows = "".join(f"{c},{n},{lvl},公立,,," + "\n" for c, n, lvl in members)
    (folder / "roster.csv").write_text(ROSTER_HEADER + rows, encoding="utf-8")
    (folder / "inbox").mkdir()
    return load_campaign(folder / "campaign.toml")


def make_district(
    base: Path,
    name: str,
    code: str,
    prefix: str,
    seed: int,
    plant: dict | None = None,
    more: int = 0,
) -> Level:
    """The bureau, two hospitals and ``more`` clinics, each sending its return."""
    members = [
        (code, name, BUREAU_LEVEL),
        (f"{prefix}001", f"{name[:2]}人民医院", "二级医院"),
        (f"{prefix}002", f"{name[:2]}中心卫生院", "卫生院"),
    ]
    members += [(f"{prefix}{n:03d}", f"{name[:2]}第{n}诊所", "门诊部") for n in range(3, 3 + more)]
    campaign = write_campaign(base / code, name, code, members)
    rng = random.Random(seed)
    sent: dict[str, Grid] = {}
    for inst in campaign.roster():
        data = random_month(campaign, inst, PERIOD, rng)
        for (who, topic, measure), value in (plant or {}).items():
            if who == inst.code:
                data.grid[FORM][topic][measure] = value
        path = fill_return(campaign, inst, PERIOD, campaign.inbox, data)
        set_received(path, due_moment(campaign, PERIOD, days=-2))
        sent[inst.code] = counted(data.grid[FORM], inst.role == "bureau")
    run_cli(str(PERIOD), campaign_file=campaign.path)
    return Level(name, code, campaign.path.parent, campaign, sent)


def make_city(base: Path, districts: list[Level]) -> Level:
    members = [("SS000", "示例市卫生健康委员会", BUREAU_LEVEL)]
    members += [(d.code, d.name, BUREAU_LEVEL) for d in districts]
    campaign = write_campaign(base / "city", "示例市卫生健康委员会", "SS000", members)
    for d in districts:
        copy = campaign.inbox / f"{d.name}_汇总表_{PERIOD}.xlsx"
        shutil.copyfile(d.summary, copy)
        set_received(copy, due_moment(campaign, PERIOD, days=1))
    run_cli(str(PERIOD), campaign_file=campaign.path)
    return Level("示例市卫生健康委员会", "SS000", campaign.path.parent, campaign, {})


@dataclass
class Hierarchy:
    a: Level
    b: Level
    city: Level


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory: pytest.TempPathFactory) -> Hierarchy:
    base = tmp_path_factory.mktemp("rollup")
    a = make_district(base, "甲区卫生健康局", "JQ000", "JQ", seed=11)
    b = make_district(base, "乙区卫生健康局", "YQ000", "YQ", seed=12)
    return Hierarchy(a, b, make_city(base, [a, b]))


def _log(level: Level) -> list[dict]:
    return read_jsonl(level.folder / "outbox" / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")


def test_districts_are_themselves_correct(hierarchy: Hierarchy) -> None:
    for d in (hierarchy.a, hierarchy.b):
        lay = grid_layout(d.campaign)
        grids = list(d.sent.values())
        assert mismatches(read_table(d.summary, lay), expected_table(grids, grids), lay) == []
        assert {r["outcome"] for r in _log(d) if r["type"] == "file"} == {"accepted"}


def test_city_accepts_both_district_returns_without_errors(hierarchy: Hierarchy) -> None:
    log = _log(hierarchy.city)
    files = {r["file"]: r for r in log if r["type"] == "file"}
    assert len(files) == 2
    assert {r["institution"]: r["outcome"] for r in files.values()} == {
        "JQ000": "accepted",
        "YQ000": "accepted",
    }
    errors = [r for r in log if r["type"] == "finding" and r["severity"] == "error"]
    assert errors == []
    # A district bureau reports every column: nothing of its return is "not yours".
    assert not [r for r in log if r["type"] == "finding" and r["rule"] == "V-NOT-YOURS"]


def test_city_figures_are_the_sum_of_the_districts(hierarchy: Hierarchy) -> None:
    lay = grid_layout(hierarchy.city.campaign)
    a, b = read_table(hierarchy.a.summary, lay), read_table(hierarchy.b.summary, lay)
    city = read_table(hierarchy.city.summary, lay)
    for row in ROWS:
        for m in (*COUNTS, *SUMS):
            assert city[(row, m)] == a[(row, m)] + b[(row, m)], (row, m)
        # Rates come from the summed counts, never from the districts' rates.
        counts = {m: city[(row, m)] for m in COUNTS}
        for m, value in derive(counts).items():
            if m in RATES:
                want = value
                got = city[(row, m)]
                assert (got is None) == (want is None), (row, m)
                if want is not None:
                    assert abs(got - want) <= 0.05 + 1e-9, (row, m, got, want)
    # And all of it equals the hand computation over every return of both districts.
    grids = [*hierarchy.a.sent.values(), *hierarchy.b.sent.values()]
    assert mismatches(city, expected_table(grids, grids), lay) == []
    assert city[(CUMULATIVE_ROW, "general_found")] == city[(MONTH_ROW, "general_found")] > 0


def test_city_summary_names_the_city(hierarchy: Hierarchy) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(hierarchy.city.summary)
    assert wb["附件2"]["A2"].value == "填报单位：示例市卫生健康委员会"
    texts = "\n".join(str(c.value) for row in wb["附件1"].iter_rows() for c in row if c.value)
    assert "甲区卫生健康局" in texts and "乙区卫生健康局" in texts  # 附件1 progress rolled up


def test_rate_on_a_rounding_boundary_still_rolls_up(tmp_path: Path) -> None:
    """A district whose 一般隐患 整改率 is 3/16 = 18.75 % shows 18.8 in its 汇总表 (one
    decimal, by number format; the cell keeps the exact figure); the city must accept
    that return: the rounding is the district's display, not an overwritten formula."""
    plant = {
        (code, t, m): 0
        for code in ("JQ000", "JQ001", "JQ002")
        for t in TOPICS
        for m in HAZARD_COUNTS
    }
    plant[("JQ001", "T1", "general_found")] = 16
    plant[("JQ001", "T1", "general_fixed")] = 3
    a = make_district(tmp_path, "甲区卫生健康局", "JQ000", "JQ", seed=11, plant=plant)
    lay = grid_layout(a.campaign)
    shown = read_table(a.summary, lay)[("T1", "general_rate")]
    assert shown == pytest.approx(18.75)
    cell = load_workbook(a.summary)["附件2"][lay.cell("T1", "general_rate")]
    assert cell.number_format == "0.0"  # displayed as 18.8
    city = make_city(tmp_path, [a])
    log = _log(city)
    errors = [
        (r["rule"], r["cell"], r["value"], r["expected"])
        for r in log
        if r["type"] == "finding" and r["severity"] == "error"
    ]
    assert errors == []
    assert [r["outcome"] for r in log if r["type"] == "file"] == ["accepted"]


def _list_rows(path: Path) -> list[tuple[str, str, str]]:
    """(主要内容 of the task a row is under, 填报单位, 工作进展) of an aggregated 附件1."""
    ws = load_workbook(path)["附件1"]
    heads = {ws.cell(3, c).value: c for c in range(1, ws.max_column + 1)}
    content, unit, progress = heads["主要内容"], heads["填报单位"], heads["工作进展"]
    covering = {
        r: ws.cell(m.min_row, m.min_col).value
        for m in ws.merged_cells.ranges
        if m.min_col == content
        for r in range(m.min_row, m.max_row + 1)
    }
    return [
        (
            covering.get(r, ws.cell(r, content).value),
            ws.cell(r, unit).value,
            ws.cell(r, progress).value,
        )
        for r in range(4, ws.max_row + 1)
        if ws.cell(r, unit).value
    ]


def test_city_list_has_a_row_for_each_unit_of_each_district(hierarchy: Hierarchy) -> None:
    """The districts' 附件1 have a row per task and institution (a declared variant of
    the form's layout): the city reads every row back, named by district and unit."""
    city = _list_rows(hierarchy.city.summary)
    want = []
    for d in (hierarchy.a, hierarchy.b):
        for task, unit, text in _list_rows(d.summary):
            named = d.name if unit == d.name else f"{d.name}／{unit}"
            want.append((task, named, text))
    assert sorted(city, key=str) == sorted(want, key=str)
    assert len({u for _, u, _ in city}) == 6  # two bureaus and four hospitals
    wb = load_workbook(hierarchy.a.summary)
    meta = {k.value: v.value for k, v in wb["_meta"].iter_rows(min_col=1, max_col=2)}
    assert meta["form.fujian1.variant"].startswith("1.1=3;")  # 3 reporters a task


def test_a_variant_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    a = make_district(tmp_path, "甲区卫生健康局", "JQ000", "JQ", seed=11)
    wb = load_workbook(a.summary)
    meta = wb["_meta"]
    row = next(
        r for r in range(1, meta.max_row + 1) if meta.cell(r, 1).value == "form.fujian1.variant"
    )
    meta.cell(row, 2).value = "1.1=3;9.9=2;*=0"
    wb.save(a.summary)
    log = _log(make_city(tmp_path, [a]))
    refused = [r for r in log if r["type"] == "finding" and r["rule"] == "L-VARIANT"]
    assert [(r["severity"], r["sheet"]) for r in refused] == [("error", "附件1")]


def test_a_district_list_longer_than_a_template_reads_is_read_whole(tmp_path: Path) -> None:
    """45 units under each of 13 tasks: 585 rows, beyond the 500-odd rows a return from a
    template is read to. The declared layout says how far to read the district's file."""
    a = make_district(tmp_path, "甲区卫生健康局", "JQ000", "JQ", seed=13, more=42)
    district = _list_rows(a.summary)
    assert len(district) > 13 * 45 - 1
    spec = a.campaign.form("fujian1")
    template = build_layout(spec, a.campaign.rows_for(spec))
    assert load_workbook(a.summary)["附件1"].max_row > kind_of(spec).read_rows(template)
    city = make_city(tmp_path, [a])
    log = _log(city)
    assert [r["outcome"] for r in log if r["type"] == "file"] == ["accepted"]
    assert not [r for r in log if r["type"] == "finding" and r["severity"] == "error"]
    units = {u for _, u, _ in _list_rows(city.summary)}
    assert len(units) == 45 and "甲区卫生健康局／甲区第44诊所" in units
