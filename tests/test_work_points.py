"""The work-points campaign (seed 003, 项目进度表) end to end: the shipped workspace, its
ten seeded projects, two two-month periods through the CLI. The plan of each project is
read from the campaign file as data, and every verdict is worked out here day by day —
not with the pipeline's arithmetic:

May–June   every unit reports, but 示例区康宁医院 adds a project of its own (refused).
July–Aug.  东城街道社区卫生服务中心 reports its 迁建 lower than in June (a step back,
           warned); 示例区南山镇卫生院 deletes a project row (refused: its June figures
           stand); 示例区北湖镇卫生院 sends nothing (its June figures stand).
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import ROOT, example_workspace, read_jsonl, set_received, status_rows
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.demo.registers import RegisterFill
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

CODE = "gdyd-2026"
B3, B4 = Period(2026, 3, "bimonth"), Period(2026, 4, "bimonth")
START = dt.date(2026, 5, 1)  # the campaign's first day (2026-B3)
MARGIN = 10.0
CATEGORIES = ["重大工程", "实事项目", "公共卫生", "修缮", "前期"]
# period -> unit -> project -> (本期形象进度, 累计完成投资)
REPORTED = {
    B3: {
        "QW001": {"XM01": (62, 3000.5), "XM08": (10, 40)},
        "QW005": {"XM02": (50, 800)},
        "QW007": {"XM04": (35, 100), "XM10": (10, 5)},
        "QW004": {"XM06": (0, 0)},
        "QW006": {"XM07": (100, 250)},
        "QW008": {"XM09": (20, 90)},
        "QW012": {"XM05": (25, 300)},
        "QW009": {"XM03": (12, 1000)},
    },
    B4: {
        "QW001": {"XM01": (74, 4000), "XM08": (28, 130)},
        "QW005": {"XM02": (45, 900)},
        "QW007": {"XM04": (80, 240)},
        "QW004": {"XM06": (2, 150)},
        "QW006": {"XM07": (100, 260)},
        "QW012": {"XM05": (48, 560)},
        "QW009": {"XM03": (26, 2100)},
    },
}
ADDS_A_PROJECT = {B3: "QW009"}
DELETES = {B4: ("QW007", "XM10")}
REJECTED = {B3: {"QW009"}, B4: {"QW007"}}


@dataclass(frozen=True)
class Project:
    key: str
    name: str
    category: str
    unit: str
    target: float
    milestones: tuple[tuple[dt.date, float, str], ...]


def projects() -> list[Project]:
    data = tomllib.loads((ROOT / "examples" / "work_points.toml").read_text("utf-8"))
    return [
        Project(
            r["key"],
            r["name"],
            r["category"],
            r["unit"],
            float(r["target"]),
            tuple((m["date"], float(m["percent"]), m.get("text", "")) for m in r["milestones"]),
        )
        for r in data["forms"]["gdyd_projects"]["rows"]
    ]


PROJECTS = projects()


def plan(p: Project, day: dt.date) -> float:
    """The plan by hand: straight lines between (start, 0), each milestone, and the year
    target on 31 December; never going back; flat after the last point."""
    points = [(START, 0.0), *((d, pct) for d, pct, _ in p.milestones)]
    if all(d != dt.date(2026, 12, 31) for d, _ in points):
        points.append((dt.date(2026, 12, 31), p.target))
    points.sort()
    lifted = []
    for d, pct in points:
        lifted.append((d, max([pct, *(q for _, q in lifted)])))
    if day >= lifted[-1][0]:
        return lifted[-1][1]
    for (d0, p0), (d1, p1) in itertools.pairwise(lifted):
        if d0 <= day <= d1:
            return p0 + (p1 - p0) * (day - d0).days / (d1 - d0).days
    return lifted[0][1]


def standing(p: Project, period: Period) -> tuple[float, float, str]:
    """(形象进度, 累计投资, the period it comes from) as of ``period``'s end."""
    out: tuple[float, float, str] = (0.0, 0.0, "")
    for q in (B3, B4):
        if q > period or p.unit in REJECTED[q]:
            continue
        if p.key in REPORTED[q].get(p.unit, {}):
            pct, inv = REPORTED[q][p.unit][p.key]
            out = (float(pct), float(inv), str(q))
    return out


def expected_behind(period: Period) -> dict[str, tuple[float, float, str, int]]:
    """Project -> (plan, actual, missed milestones, days late), by walking the days."""
    end = period.last_day()
    out = {}
    for p in PROJECTS:
        actual = standing(p, period)[0]
        missed = [(d, pct, t) for d, pct, t in p.milestones if d <= end and actual < pct]
        planned = plan(p, end)
        if not missed and actual >= planned - MARGIN:
            continue
        day = START
        while plan(p, day) <= actual:
            day += dt.timedelta(days=1)
        text = "；".join(f"{d.isoformat()} {t}（{pct:g}%）" for d, pct, t in missed)
        out[p.key] = (round(planned, 1), actual, text, (end - day).days)
    return out


@dataclass
class World:
    ws: Workspace
    templates: dict[Period, dict[str, Path]] = field(default_factory=dict)

    @property
    def campaign(self) -> Campaign:
        return self.ws.campaign(CODE)

    def out(self, period: Period, stem: str, suffix: str = ".xlsx") -> Path:
        return self.ws.outbox / CODE / str(period) / f"{stem}_{period}{suffix}"

    def log(self, period: Period) -> list[dict]:
        rows = read_jsonl(self.out(period, "校验日志", ".jsonl"))
        return [r for r in rows if r.get("period") == str(period)]


def _returns(w: World, period: Period) -> None:
    c = w.campaign
    ledger = Ledger(c.ledger_path, c.code)
    try:
        prefills = Prefills(c, period, ledger)
        paths = write_templates(c, period, prefills)
        w.templates[period] = {p.stem.rsplit("_", 1)[-1]: p for p in paths}
        due, _ = c.due.due_date(period)
        for unit, figures in REPORTED[period].items():
            updates = {
                key: {"progress": f"{pct:g}", "investment": f"{inv:g}", "claim": "未到期"}
                for key, (pct, inv) in figures.items()
            }
            fill = RegisterFill(updates=updates)
            if ADDS_A_PROJECT.get(period) == unit:
                fill.new.append(
                    {
                        "name": "自行新增的项目",
                        "progress": "5",
                        "investment": "1",
                        "claim": "未到期",
                    }
                )
            if DELETES.get(period, ("", ""))[0] == unit:
                fill.clear.append(DELETES[period][1])
            inst = c.roster().get(unit)
            assert inst is not None
            path = fill_return(
                c,
                inst,
                period,
                c.inbox,
                MonthData(registers={"gdyd_projects": fill}),
                prefills=prefills,
            )
            set_received(path, dt.datetime.combine(due, dt.time(9)))
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(load_workspace(example_workspace(tmp_path_factory.mktemp("gdyd"))))
    for period in (B3, B4):
        _returns(w, period)
        argv = ["--workspace", str(w.ws.path), "--campaign", CODE, "run", "--period", str(period)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return w


def _sheet(path: Path, sheet: str) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    try:
        return [r for r in wb[sheet].iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        wb.close()


def test_a_unit_gets_its_own_projects_seeded_by_the_bureau(world: World) -> None:
    wb = load_workbook(world.templates[B4]["QW001"])
    try:
        ws = wb["项目进度表"]
        rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
        header = [c.value for c in ws[3]]
    finally:
        wb.close()
    items = [r for r in rows if str(r[0]).startswith("XM")]
    mine = [p for p in PROJECTS if p.unit == "QW001"]
    assert [r[0] for r in items] == [p.key for p in mine]
    for r, p in zip(items, mine, strict=True):
        values = dict(zip(header, r, strict=False))
        assert values["项目名称"] == p.name and values["责任单位"] == "示例区人民医院"
        assert values["节点计划"] == "；".join(
            f"{d.isoformat()} {t}（{pct:g}%）" for d, pct, t in p.milestones
        )
        assert values["本期形象进度（%）"] == REPORTED[B3]["QW001"][p.key][0]  # as last reported
    # No blank rows below (units do not add projects): the footer follows the items.
    assert str(rows[len(items)][0]).startswith("审核人")


@pytest.mark.parametrize("period", [B3, B4])
def test_outcomes_and_their_reasons(world: World, period: Period) -> None:
    log = world.log(period)
    outcome = {r["institution"]: r["outcome"] for r in log if r["type"] == "file"}
    assert outcome == {
        u: "rejected" if u in REJECTED[period] else "accepted" for u in REPORTED[period]
    }
    errors = {
        (r["institution"], r["rule"])
        for r in log
        if r["type"] == "finding" and r["severity"] == "error"
    }
    assert errors == ({("QW009", "R-ITEM-NEW")} if period == B3 else {("QW007", "R-ITEM-MISSING")})
    back = [
        (r["institution"], r["value"], r["expected"]) for r in log if r.get("rule") == "V-STEP-BACK"
    ]
    assert back == ([] if period == B3 else [("QW005", "45", "50")])


@pytest.mark.parametrize("period", [B3, B4])
def test_projects_behind_schedule_with_days_late(world: World, period: Period) -> None:
    rows = _sheet(world.out(period, "2026年度重点项目进度表汇总"), "进度滞后")
    head = list(rows[1])
    got = {
        r[1]: (
            r[head.index("计划进度（%）")],
            r[head.index("本期形象进度（%）")],
            r[head.index("已过期未完成的节点")] or "",
            r[head.index("滞后天数")],
        )
        for r in rows[2:]
    }
    expected = expected_behind(period)
    assert got == expected
    listed = {
        r["message"].split("/")[1].split("：")[0]
        for r in world.log(period)
        if r.get("rule") == "A-BEHIND"
    }
    assert listed == set(expected)
    if period == B4:
        # By hand: the 疾控中心 (XM06) had to start (5 %) by 31 July; at 2 % it is behind
        # the plan since it passed 2 %: 0 → 5 % over the 91 days from 1 May to 31 July,
        # above 2 % from day 37 (2 × 91 / 5 = 36.4), 7 June; to 31 August, 85 days.
        assert expected["XM06"][2:] == ("2026-07-31 开工（5%）", 85)


@pytest.mark.parametrize("period", [B3, B4])
def test_investment_by_category(world: World, period: Period) -> None:
    rows = _sheet(world.out(period, "2026年度重点项目进度表汇总"), "分类统计")
    assert list(rows[1]) == ["项目类别", "条目数", "累计完成投资（万元）"]
    count: dict[str, int] = defaultdict(int)
    money: dict[str, float] = defaultdict(float)
    for p in PROJECTS:
        count[p.category] += 1
        money[p.category] += standing(p, period)[1]
    expected = [(c, count[c], round(money[c], 4)) for c in CATEGORIES if count[c]]
    assert rows[2:-1] == expected
    assert rows[-1] == ("合计", len(PROJECTS), round(sum(money.values()), 4))


def test_the_aggregated_return_has_a_row_per_project(world: World) -> None:
    rows = _sheet(world.out(B4, "汇总表"), "项目进度表")
    ids = [r[0] for r in rows if r[0] and str(r[0]).startswith("XM")]
    assert sorted(ids) == sorted(p.key for p in PROJECTS)
    progress = {r[0]: r[7] for r in rows if r[0] in ids}
    assert progress == {
        p.key: (standing(p, B4)[0] if standing(p, B4)[2] else None) for p in PROJECTS
    }


def test_status_covers_the_responsible_units(world: World) -> None:
    _, rows = status_rows(world.out(B4, "报送情况"))
    assert set(rows) == {p.unit for p in PROJECTS}
    silent = {c for c, r in rows.items() if r["报送状态"] in ("未报送", "已退回，待重报")}
    assert silent == {"QW008", "QW007"}


@pytest.mark.parametrize("period", [B3, B4])
def test_projects_behind_and_added_rows_name_their_place_and_figures(
    world: World, period: Period
) -> None:
    """A-BEHIND exactly: a warning at the project's 本期形象进度 cell (column H of its
    row in the return), with the actual progress as value and the plan as expected,
    the missed milestones and the days late as worked out by walking the days; and the
    row a unit added to a list the bureau fills in (R-ITEM-NEW), refused at its row."""
    want = expected_behind(period)
    behind = [r for r in world.log(period) if r.get("rule") == "A-BEHIND"]
    assert len(behind) == len(want)
    for r in behind:
        key = r["message"].split("/")[1].split("：")[0]
        planned, actual, missed, days = want[key]
        assert (r["severity"], r["value"], r["expected"]) == (
            "warning",
            f"{actual:g}",
            f"{planned:g}",
        ), key
        assert (r["sheet"], r["cell"][:1]) in (("项目进度表", "H"), ("", "")), key
        assert f"计划进度{planned:g}%，实际{actual:g}%" in r["message"]
        assert r["message"].endswith(f"滞后{days}天") and missed in r["message"]
    if period == B4:  # by hand, as in test_projects_behind_schedule_with_days_late
        (xm06,) = [r for r in behind if "/XM06：" in r["message"]]
        assert (xm06["institution"], xm06["sheet"], xm06["cell"]) == ("QW004", "项目进度表", "H4")
    added = sorted(
        (r["institution"], r["severity"], r["sheet"], r["cell"], r["value"])
        for r in world.log(period)
        if r.get("rule") == "R-ITEM-NEW"
    )
    assert added == ([("QW009", "error", "项目进度表", "A5", "5")] if period == B3 else [])
