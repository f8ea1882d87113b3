"""The civilized-city campaign (seeds 001/004) end to end: three weeks through the CLI, in
the shipped workspace. The story and every figure are written out here, not taken from
the pipeline:

W32 (3–9 Aug)   QW001 finds A (secret visit, due 7 Aug) and B (self-check, due 31 Aug),
                assesses K01 不达标; QW002 finds C (secret visit, due 20 Aug), its window
                queue is 18 minutes; QW003 assesses K03 不达标; QW005 says K02 基本达标
                without saying what is wrong (rejected). The bureau visits QW001, QW002.
W33 (10–16 Aug) QW001 puts A right, finds D (secret visit, due 14 Aug), K01 不达标 again
                (two weeks running); QW002 finds E (secret visit) and F (province);
                QW003 has K03 达标 again. The bureau visits QW001 once more: QW003 was
                never visited in the first half of August.
W34 (17–23 Aug) QW001 puts B right and leaves D open (overdue); QW002 leaves C open past
                its deadline, queue 16 minutes; QW003 finds G (self-check).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import example_workspace, read_jsonl, set_received, status_rows
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.demo.registers import RegisterFill
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

CODE = "ccwm-2026"
W32, W33, W34 = (Period(2026, n, "week") for n in (32, 33, 34))
WEEKS = (W32, W33, W34)
ITEMS = ("K01", "K02", "K03", "K04", "K05", "K06")
KEY_HOSPITALS = ("QW001", "QW002", "QW003")  # 二级医院 of the shipped roster
SCOPE = 11  # the roster but 示例区仁和口腔门诊部 (门诊部) and 示例区安泰护理院 (护理院)


@dataclass(frozen=True)
class Problem:
    unit: str
    n: int  # its running number in the unit's register: ID <unit>-CW<n>
    source: str
    text: str
    deadline: str

    @property
    def id(self) -> str:
        return f"{self.unit}-CW{self.n:04d}"


A = Problem("QW001", 1, "第三方暗访", "门诊大厅公益广告破损", "2026-08-07")
B = Problem("QW001", 2, "自查", "楼道堆放杂物", "2026-08-31")
C = Problem("QW002", 1, "第三方暗访", "收费窗口无便民座椅", "2026-08-20")
D = Problem("QW001", 3, "第三方暗访", "门诊楼后侧垃圾未分类", "2026-08-14")
E = Problem("QW002", 2, "第三方暗访", "医务人员未佩戴工牌", "2026-09-10")
F = Problem("QW002", 3, "省文明办检查", "公益广告数量不足", "2026-09-10")
G = Problem("QW003", 1, "自查", "院内有人吸烟无人劝阻", "2026-08-30")

NEW = {
    W32: {"QW001": [A, B], "QW002": [C]},
    W33: {"QW001": [D], "QW002": [E, F]},
    W34: {"QW003": [G]},
}
FIRST_STATUS = {
    A: "未整改",
    B: "整改中",
    C: "未整改",
    D: "未整改",
    E: "未整改",
    F: "未整改",
    G: "未整改",
}
# (week, problem) -> (status, 整改完成日期)
UPDATES = {
    (W33, A): ("已整改", "2026-08-12"),
    (W33, C): ("整改中", ""),
    (W34, B): ("已整改", "2026-08-20"),
}
NOT_MET = {(W32, "QW001", "K01"), (W33, "QW001", "K01"), (W32, "QW003", "K03")}
PARTLY_WITHOUT_WORDS = {(W32, "QW005", "K02")}  # 基本达标 with 存在问题 blank: rejected
# week -> unit -> (宣传活动, 志愿服务, 健康教育讲座, 义诊, 窗口平均排队时间)
WEEKLY = {
    W32: {
        "QW001": (3, 20, 1, 0, 12.5),
        "QW002": (2, 10, 2, 1, 18.0),
        "QW003": (1, 5, 0, 0, 9.5),
        "QW005": (0, 0, 0, 0, 10.0),
    },
    W33: {"QW001": (4, 25, 1, 1, 13.0), "QW002": (3, 12, 1, 0, 14.0), "QW003": (2, 6, 1, 0, 9.0)},
    W34: {"QW001": (2, 15, 0, 1, 11.0), "QW002": (1, 8, 1, 1, 16.0), "QW003": (1, 4, 0, 0, 9.0)},
}
WEEKLY_KEYS = ("publicity", "volunteers", "lectures", "clinics", "queue")
REJECTED = {W32: {"QW005"}, W33: set(), W34: set()}
# week -> the bureau's visits: (date, unit as typed: a name or a code)
VISITS = {
    W32: [("2026-08-04", "示例区人民医院"), ("2026-08-06", "QW002")],
    W33: [("2026-08-13", "QW001")],
    W34: [("2026-08-18", "示例区人民医院")],
}
NAMES = {"示例区人民医院": "QW001", "QW001": "QW001", "QW002": "QW002"}


def accepted(week: Period) -> list[str]:
    return [u for u in WEEKLY[week] if u not in REJECTED[week]]


def state_at(p: Problem, week: Period) -> tuple[str, str]:
    """(status, 整改完成日期) of ``p`` as of ``week``'s returns."""
    status, closed = FIRST_STATUS[p], ""
    for w in WEEKS:
        if w > week:
            break
        if (w, p) in UPDATES:
            status, closed = UPDATES[(w, p)]
    return status, closed


def known(week: Period) -> list[Problem]:
    return [p for w in WEEKS if w <= week for ps in NEW.get(w, {}).values() for p in ps]


@dataclass
class World:
    ws: Workspace
    output: dict[Period, str] = field(default_factory=dict)
    templates: dict[Period, dict[str, Path]] = field(default_factory=dict)

    @property
    def campaign(self) -> Campaign:
        return self.ws.campaign(CODE)

    def out(self, week: Period, stem: str, suffix: str = ".xlsx") -> Path:
        return self.ws.outbox / CODE / str(week) / f"{stem}_{week}{suffix}"

    def log(self, week: Period) -> list[dict]:
        return read_jsonl(self.out(week, "校验日志", ".jsonl"))


def _returns(w: World, week: Period) -> None:
    c = w.campaign
    ledger = Ledger(c.ledger_path, c.code)
    try:
        prefills = Prefills(c, week, ledger)
        paths = write_templates(c, week, prefills)
        w.templates[week] = {p.stem.rsplit("_", 1)[-1]: p for p in paths}
        roster = c.roster()
        due, _ = c.due.due_date(week)
        for n, (unit, figures) in enumerate(WEEKLY[week].items()):
            checklist = {}
            for item in ITEMS:
                if (week, unit, item) in NOT_MET:
                    checklist[item] = {"result": "不达标", "problems": "仍有差距"}
                elif (week, unit, item) in PARTLY_WITHOUT_WORDS:
                    checklist[item] = {"result": "基本达标"}
                else:
                    checklist[item] = {"result": "达标"}
            updates = {
                p.id: {"status": s, **({"closed": d} if d else {})}
                for (wk, p), (s, d) in UPDATES.items()
                if wk == week and p.unit == unit
            }
            new = [
                {
                    "source": p.source,
                    "description": p.text,
                    "department": "院办",
                    "person": "王伟",
                    "deadline": p.deadline,
                    "status": FIRST_STATUS[p],
                }
                for p in NEW.get(week, {}).get(unit, [])
            ]
            data = MonthData(
                texts={
                    "ccwm_checklist": checklist,
                    "ccwm_weekly": {
                        "self": {k: f"{v:g}" for k, v in zip(WEEKLY_KEYS, figures, strict=True)}
                    },
                },
                registers={"ccwm_problems": RegisterFill(updates=updates, new=new)},
            )
            inst = roster.get(unit)
            assert inst is not None
            path = fill_return(c, inst, week, c.inbox, data, prefills=prefills)
            set_received(path, dt.datetime.combine(due, dt.time(9)) - dt.timedelta(hours=n))
        bureau = roster.get("QW000")
        assert bureau is not None
        visits = [
            {"date": d, "unit": u, "inspector": "张三", "problems": "1"} for d, u in VISITS[week]
        ]
        data = MonthData(registers={"ccwm_supervision": RegisterFill(new=visits)})
        path = fill_return(c, bureau, week, c.inbox, data, prefills=prefills)
        set_received(path, dt.datetime.combine(due, dt.time(15)))
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("ccwm")
    w = World(load_workspace(example_workspace(base)))
    for week in WEEKS:
        _returns(w, week)
        argv = ["--workspace", str(w.ws.path), "--campaign", CODE, "run", "--period", str(week)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        w.output[week] = result.output
    return w


def _sheet(path: Path, sheet: str) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    try:
        return [r for r in wb[sheet].iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        wb.close()


def _rules(w: World, week: Period, rule: str) -> list[dict]:
    return [r for r in w.log(week) if r.get("rule") == rule and r.get("period") == str(week)]


# --- the forms ----------------------------------------------------------------------------


def test_each_reporter_gets_its_own_sheets_with_the_stage(world: World) -> None:
    hospital = load_workbook(world.templates[W33]["QW001"])
    bureau = load_workbook(world.templates[W33]["QW000"])
    try:
        assert hospital.sheetnames[:4] == ["填报说明", "创城问题清单", "实地考核自评", "本周工作"]
        assert "督导记录" not in hospital.sheetnames
        assert [s for s in bureau.sheetnames if not s.startswith("_")] == ["填报说明", "督导记录"]
        header = " ".join(
            str(c.value)
            for row in hospital["本周工作"].iter_rows(max_row=3)
            for c in row
            if c.value
        )
        assert "报告期：2026年第33周（8月10日—8月16日）" in header and "巩固提高阶段" in header
        guide = " ".join(str(c.value) for c in hospital["填报说明"]["A"] if c.value)
        assert "当前阶段：巩固提高阶段" in guide and "每周本周星期五前上报" in guide
    finally:
        hospital.close()
        bureau.close()


def test_next_weeks_template_holds_the_open_problems(world: World) -> None:
    wb = load_workbook(world.templates[W34]["QW001"])
    try:
        ws = wb["创城问题清单"]
        held = {
            row[0]: row[-2]
            for row in ws.iter_rows(min_row=4, values_only=True)
            if row[0] and str(row[0]).startswith("QW001-")
        }
    finally:
        wb.close()
    # A was put right in W33: gone; B and D open, as last reported.
    assert held == {B.id: state_at(B, W33)[0], D.id: state_at(D, W33)[0]}


@pytest.mark.parametrize("week", WEEKS)
def test_outcomes(world: World, week: Period) -> None:
    mine = [r for r in world.log(week) if r.get("period") == str(week)]
    files = {r["institution"]: r["outcome"] for r in mine if r["type"] == "file"}
    expected = {u: "rejected" if u in REJECTED[week] else "accepted" for u in WEEKLY[week]}
    assert files == {**expected, "QW000": "accepted"}
    if week == W32:
        (why,) = [r for r in world.log(week) if r["type"] == "finding" and r["severity"] == "error"]
        assert (why["rule"], why["institution"], why["sheet"]) == (
            "V-REQUIRED",
            "QW005",
            "实地考核自评",
        )


# --- the problem register -----------------------------------------------------------------


@pytest.mark.parametrize("week", WEEKS)
def test_problems_by_source_and_status(world: World, week: Period) -> None:
    rows = _sheet(world.out(week, "创建文明城市问题清单汇总"), "分类统计")
    statuses = ["未整改", "整改中", "已整改"]
    assert list(rows[1]) == ["问题来源", *statuses, "合计"]
    counts = Counter((p.source, state_at(p, week)[0]) for p in known(week))
    sources = ["省文明办检查", "市文明办检查", "第三方暗访", "督导检查", "自查"]
    expected = [
        (s, *(counts[(s, st)] for st in statuses), sum(counts[(s, st)] for st in statuses))
        for s in sources
        if any(counts[(s, st)] for st in statuses)
    ]
    assert rows[2:] == expected


@pytest.mark.parametrize("week", WEEKS)
def test_overdue_problems(world: World, week: Period) -> None:
    end = week.last_day()
    expected = sorted(
        (p.id, (end - dt.date.fromisoformat(p.deadline)).days)
        for p in known(week)
        if state_at(p, week)[0] != "已整改" and dt.date.fromisoformat(p.deadline) < end
    )
    got = sorted(
        (r["value"] and r["message"].split("/")[1].split("：")[0], int(r["value"]))
        for r in _rules(world, week, "A-ITEM-OVERDUE")
    )
    assert got == expected
    listed = _sheet(world.out(week, "创建文明城市问题清单汇总"), "逾期")
    assert sorted((r[2], r[-1]) for r in listed[2:]) == expected
    if week == W34:  # by hand: D due 14 Aug, C due 20 Aug; the week ends on the 23rd
        assert expected == sorted([(C.id, 3), (D.id, 9)])


@pytest.mark.parametrize("week", [W33, W34])
def test_a_source_rising_week_on_week(world: World, week: Period) -> None:
    def new(w: Period) -> Counter:
        return Counter(p.source for ps in NEW.get(w, {}).values() for p in ps)

    now, before = new(week), new(week.shift(-1))
    expected = sorted((s, now[s], before[s]) for s in now if now[s] > before[s])
    got = sorted(
        (r["message"].split("“")[1].split("”")[0], int(r["value"]), int(r["expected"]))
        for r in _rules(world, week, "A-RISING")
    )
    assert got == expected
    assert (week, got) != (W33, [])  # 省文明办检查: 1 against 0


def test_the_first_week_has_nothing_to_rise_from(world: World) -> None:
    assert _rules(world, W32, "A-RISING") == []


# --- the self-assessment ------------------------------------------------------------------


@pytest.mark.parametrize("week", WEEKS)
def test_checklist_results_item_by_item(world: World, week: Period) -> None:
    book = world.out(week, "医院全国文明城市创建实地考核自评表汇总")
    rows = _sheet(book, "自评结果统计")
    assert list(rows[1]) == [
        "项目",
        "达标（家）",
        "基本达标（家）",
        "不达标（家）",
        "已填报（家）",
        "“不达标”的单位",
    ]
    names = {"QW001": "示例区人民医院", "QW002": "示例区中医院", "QW003": "示例区妇幼保健院"}
    units = accepted(week)
    for item, row in zip(ITEMS, rows[2:], strict=True):
        bad = [u for u in units if (week, u, item) in NOT_MET]
        assert row[1:] == (
            len(units) - len(bad),
            0,
            len(bad),
            len(units),
            "、".join(names[u] for u in bad) or "无",
        )


def test_not_met_two_weeks_running(world: World) -> None:
    for week in WEEKS:
        got = {(r["institution"], r["cell"][0]) for r in _rules(world, week, "A-STREAK")}
        expected = {
            (u, "D")  # 自评结果 is the sheet's fourth column
            for (w, u, item) in NOT_MET
            if w == week and (week.shift(-1), u, item) in NOT_MET
        }
        assert got == expected
    (streak,) = _rules(world, W33, "A-STREAK")
    assert "连续2期为“不达标”" in streak["message"] and "2026-W32、2026-W33" in streak["message"]


# --- the week's work ----------------------------------------------------------------------


@pytest.mark.parametrize("week", WEEKS)
def test_weekly_totals_and_queue_time(world: World, week: Period) -> None:
    rows = _sheet(world.out(week, "创建文明城市本周工作情况汇总"), "创建文明城市本周工作情况汇总")
    total = next(r for r in rows if r[0] == "合计")
    mean = next(r for r in rows if r[0] == "平均")
    figures = [WEEKLY[week][u] for u in accepted(week)]
    assert total[3:7] == tuple(float(sum(f[i] for f in figures)) for i in range(4))
    assert mean[7] == round(sum(f[4] for f in figures) / len(figures), 2)
    over = {(r["institution"], float(r["value"])) for r in _rules(world, week, "A-ABOVE")}
    assert over == {(u, f[4]) for u, f in WEEKLY[week].items() if f[4] > 15}


def test_weekly_trend(world: World) -> None:
    rows = _sheet(world.out(W34, "创建文明城市本周工作情况汇总"), "趋势")
    assert rows[1][:4] == ("报告期", "报送单位数", "宣传活动（次）合计", "比上期增减")
    before = None
    for week, row in zip(WEEKS, rows[2:], strict=True):
        figures = [WEEKLY[week][u] for u in accepted(week)]
        publicity = float(sum(f[0] for f in figures))
        assert row[:3] == (week.label(), len(figures), publicity)
        assert row[3] == (None if before is None else publicity - before)
        assert row[-1] == round(sum(f[4] for f in figures) / len(figures), 2)
        before = publicity


# --- the bureau's supervision -------------------------------------------------------------


def test_half_month_coverage_and_who_was_not_visited(world: World) -> None:
    visited: dict[str, set[str]] = {"2026-08a": set(), "2026-08b": set()}
    for week in WEEKS:
        for day, unit in VISITS[week]:
            half = "2026-08a" if dt.date.fromisoformat(day).day <= 15 else "2026-08b"
            visited[half].add(NAMES[unit])
    rows = _sheet(world.out(W34, "督导覆盖情况"), "按半月")
    assert [r[:6] for r in rows[2:]] == [
        (
            "2026年8月下半月",
            "08-16至08-31",
            3,
            len(visited["2026-08b"]),
            round(len(visited["2026-08b"]) / 3 * 100, 1),
            "进行中",
        ),
        (
            "2026年8月上半月",
            "08-01至08-15",
            3,
            len(visited["2026-08a"]),
            round(len(visited["2026-08a"]) / 3 * 100, 1),
            "已结束",
        ),
    ]
    missed = [u for u in KEY_HOSPITALS if u not in visited["2026-08a"]]
    assert missed == ["QW003"]
    # The first half of August ended in W33: its miss is in that week's anomaly list, once.
    assert [r["institution"] for r in _rules(world, W33, "A-NOT-COVERED")] == missed
    assert _rules(world, W32, "A-NOT-COVERED") == _rules(world, W34, "A-NOT-COVERED") == []


def test_status_counts_the_bureau_and_the_scope(world: World) -> None:
    _, rows = status_rows(world.out(W34, "报送情况"))
    assert len(rows) == SCOPE
    reported = {c for c, r in rows.items() if r["报送状态"] not in ("未报送", "已退回，待重报")}
    assert reported == {"QW000", *accepted(W34)}


def test_stage_on_every_output(world: World) -> None:
    for path in world.out(W34, "x").parent.glob("*.xlsx"):
        if path.name.startswith("汇总表"):
            continue
        wb = load_workbook(path, read_only=True)
        try:
            first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True))
        finally:
            wb.close()
        assert "巩固提高阶段" in str(first[0]), path.name


def _exact(w: World, week: Period, rule: str) -> list[tuple[str, ...]]:
    return sorted(
        (r["institution"], r["severity"], r["sheet"], r["cell"], r["value"], r["expected"])
        for r in _rules(w, week, rule)
    )


def test_the_weeks_anomalies_name_their_place_and_figures(world: World) -> None:
    """Each anomaly of the story exactly: who, how serious (all warnings), the sheet and
    cell, the figures. Worked out from the story above, not from the pipeline."""
    checklist, weekly, problems = "实地考核自评", "本周工作", "创城问题清单"
    w = "warning"
    expected = {
        W32: {
            "A-ABOVE": [("QW002", w, weekly, "F4", "18", "15")],  # queue 18 > 15 minutes
            "A-ITEM-OVERDUE": [("QW001", w, problems, "G4", "2", "2026-08-07")],  # A
        },
        W33: {
            "A-STREAK": [("QW001", w, checklist, "D4", "不达标", "2")],  # K01, two weeks
            "A-RISING": [("", w, "", "", "1", "0")],  # 省文明办检查 (F): 1 against 0
            "A-NOT-COVERED": [("QW003", w, "", "", "2026年8月上半月", "")],
            "A-ITEM-OVERDUE": [("QW001", w, problems, "G6", "2", "2026-08-14")],  # D
        },
        W34: {
            "A-ABOVE": [("QW002", w, weekly, "F4", "16", "15")],
            "A-RISING": [("", w, "", "", "1", "0")],  # 自查 (G): 1 against 0
            "A-ITEM-OVERDUE": [
                ("QW001", w, problems, "G5", "9", "2026-08-14"),  # D, B put right
                ("QW002", w, problems, "G4", "3", "2026-08-20"),  # C
            ],
        },
    }
    rules = ("A-ABOVE", "A-STREAK", "A-RISING", "A-NOT-COVERED", "A-ITEM-OVERDUE")
    for week in WEEKS:
        got = {rule: _exact(world, week, rule) for rule in rules}
        assert got == {rule: expected[week].get(rule, []) for rule in rules}, week
