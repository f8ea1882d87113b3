"""Seed 000 (安全生产标准化建设专项行动) end to end, in the shipped workspace, through the CLI.

Nine institutions of the shipped roster are in the campaign's scope (its 机构级别 list);
each reports its stage, self-assessment and risk points by colour every month. The story,
and every figure the outputs must show, are written out here from the notice, not from
the pipeline's definitions or code:

July    QW001 has passed; QW002 has applied for review; QW003 is still building; QW005
        has self-assessed; QW006 has passed; QW007 has only mobilised; QW008 says it has
        self-assessed without the date and the score (rejected); QW009's score is 105
        (rejected); QW010's self-assessment is dated after July (rejected); QW004 (专业
        公共卫生机构, not in scope) sends one anyway (rejected).
August  QW002 passes; QW003 still builds, now with red risks; QW006 falls back to 建设中
        (a step back, warned, accepted); QW007 sends nothing (its July stage stands);
        QW008 and QW009 send correct returns; QW010 sends nothing (never reported).
"""

from __future__ import annotations

import datetime as dt
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
from pipeline.distribute.templates import Prefills
from pipeline.ledger.store import Ledger

CODE = "aqbzh-2022"
JUL, AUG = Period(2026, 7), Period(2026, 8)

# The notice: the stages in order, and the deadlines by tier.
STAGES = ["未启动", "动员部署", "建设中", "已自评", "已申请验收", "验收未达标", "验收达标"]
TIER = {
    "QW001": "二级医院",
    "QW002": "二级医院",
    "QW003": "二级医院",
    "QW005": "社区卫生服务中心",
    "QW006": "社区卫生服务中心",
    "QW007": "卫生院",
    "QW008": "卫生院",
    "QW009": "一级医院",
    "QW010": "门诊部",
}
SELF_ASSESSED_BY = {
    "三级医院": dt.date(2023, 3, 31),
    "二级医院": dt.date(2023, 6, 30),
    "一级医院": dt.date(2023, 12, 31),
    "卫生院": dt.date(2023, 12, 31),
    "社区卫生服务中心": dt.date(2023, 12, 31),
    "门诊部": dt.date(2023, 12, 31),
}


def deadlines(tier: str) -> list[tuple[str, dt.date]]:
    return [
        ("动员部署", dt.date(2022, 12, 31)),
        ("已自评", SELF_ASSESSED_BY[tier]),
        ("验收达标", dt.date(2024, 12, 31)),
    ]


COLOURS = ("red", "orange", "yellow", "blue")


def row(stage: str, assessed: str = "", score: str = "", level: str = "", *risks: int) -> dict:
    out = {"stage": stage, "assessed": assessed, "score": score, "level": level}
    out.update({c: str(n) for c, n in zip(COLOURS, risks, strict=True)})
    return {k: v for k, v in out.items() if v}


RETURNS: dict[Period, dict[str, dict]] = {
    JUL: {
        "QW001": row("验收达标", "2023-05-20", "91.5", "二级", 0, 1, 2, 3),
        "QW002": row("已申请验收", "2023-06-10", "84", "二级", 1, 0, 2, 5),
        "QW003": row("建设中", "", "", "", 0, 0, 1, 4),
        "QW005": row("已自评", "2023-11-30", "76", "", 0, 2, 3, 6),
        "QW006": row("验收达标", "2024-10-08", "88", "二级", 0, 0, 0, 2),
        "QW007": row("动员部署", "", "", "", 2, 1, 0, 0),
        "QW008": row("已自评", "", "", "", 0, 0, 1, 1),
        "QW009": row("已自评", "2023-12-01", "105", "", 0, 0, 2, 2),
        "QW010": row("已自评", "2026-08-03", "80", "", 0, 1, 1, 1),
        "QW004": row("建设中", "", "", "", 0, 0, 0, 1),
    },
    AUG: {
        "QW001": row("验收达标", "2023-05-20", "91.5", "二级", 0, 1, 2, 3),
        "QW002": row("验收达标", "2023-06-10", "84", "二级", 0, 0, 2, 5),
        "QW003": row("建设中", "", "", "", 3, 0, 1, 4),
        "QW005": row("已自评", "2023-11-30", "76", "", 0, 2, 3, 7),
        "QW006": row("建设中", "", "", "", 0, 0, 1, 2),
        "QW008": row("已自评", "2023-12-20", "70", "", 1, 0, 1, 1),
        "QW009": row("已申请验收", "2023-12-01", "95", "三级", 0, 0, 2, 2),
    },
}
REJECTED = {
    JUL: {
        "QW008": {("V-REQUIRED", "自评日期"), ("V-REQUIRED", "自评得分")},
        "QW009": {("V-RANGE", "自评得分")},
        "QW010": {("V-DATE-LATE", "自评日期")},
        "QW004": {("M-OUT-OF-SCOPE", "")},
    },
    AUG: {},
}


def standings(upto: Period) -> dict[str, str]:
    """Each institution's stage at the end of ``upto``: its latest accepted return."""
    out = dict.fromkeys(TIER, "")
    for period in (JUL, AUG):
        if period > upto:
            break
        for code, r in RETURNS[period].items():
            if code in TIER and code not in REJECTED[period]:
                out[code] = r["stage"]
    return out


def reached(stage: str, target: str) -> bool:
    return stage != "" and STAGES.index(stage) >= STAGES.index(target)


@dataclass
class World:
    base: Path
    ws: Workspace
    outputs: dict[Period, str] = field(default_factory=dict)

    @property
    def campaign(self) -> Campaign:
        return self.ws.campaign(CODE)

    def out(self, period: Period, stem: str, suffix: str = ".xlsx") -> Path:
        return self.ws.outbox / CODE / str(period) / f"{stem}_{period}{suffix}"


def _cli(world: World, *args: str) -> str:
    argv = ["--workspace", str(world.ws.path), "--campaign", CODE, *args]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _send(world: World, period: Period) -> None:
    c = world.campaign
    ledger = Ledger(c.ledger_path, c.code)
    try:
        prefills = Prefills(c, period, ledger)
    finally:
        ledger.close()
    due, _ = c.due.due_date(period)
    for n, (code, fields) in enumerate(RETURNS[period].items()):
        inst = world.ws.roster().get(code)
        assert inst is not None
        data = MonthData(texts={"bzh_progress": {"self": fields}, "bzh_lists": _lists()})
        path = fill_return(c, inst, period, c.inbox, data, prefills=prefills)
        set_received(path, dt.datetime.combine(due, dt.time(9)) - dt.timedelta(hours=n + 1))


def _lists() -> dict[str, dict[str, str]]:
    return {
        k: {"built": "是", "date": "2023-05-10", "remark": f"院发〔2023〕{k[1]}号"}
        for k in ("L1", "L2", "L3", "L4")
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("standardization")
    w = World(base, load_workspace(example_workspace(base)))
    for period in (JUL, AUG):
        _send(w, period)
        w.outputs[period] = _cli(w, "run", "--period", str(period))
    return w


def _sheet(path: Path, sheet: str) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    try:
        return [r for r in wb[sheet].iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        wb.close()


# --- what is judged -----------------------------------------------------------------------


@pytest.mark.parametrize("period", [JUL, AUG])
def test_each_return_is_accepted_or_rejected_for_its_own_reasons(
    world: World, period: Period
) -> None:
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    mine = [r for r in log if r.get("period") == str(period)]
    outcome = {r["institution"]: r["outcome"] for r in mine if r["type"] == "file"}
    assert outcome == {
        code: "rejected" if code in REJECTED[period] else "accepted" for code in RETURNS[period]
    }
    errors: dict[str, set[tuple[str, str]]] = {}
    for r in mine:
        if r["type"] == "finding" and r["severity"] == "error":
            head = r["message"].split("：")[0] if r["rule"].startswith("V-") else ""
            errors.setdefault(r["institution"], set()).add((r["rule"], head))
            assert r["file"].endswith(f"_{r['institution']}.xlsx")
            if r["rule"].startswith("V-"):
                assert (r["sheet"], r["cell"][0]) != ("", ""), r
    assert errors == REJECTED[period]


def test_the_step_back_is_a_warning_naming_both_stages(world: World) -> None:
    log = read_jsonl(world.out(AUG, "校验日志", ".jsonl"))
    back = [r for r in log if r.get("rule") == "V-STEP-BACK"]
    assert [(r["institution"], r["value"], r["expected"]) for r in back] == [
        ("QW006", "建设中", "验收达标")
    ]
    assert back[0]["severity"] == "warning" and back[0]["sheet"] == "建设进展"


# --- the targets table by tier ------------------------------------------------------------


@pytest.mark.parametrize("period", [JUL, AUG])
def test_counts_and_rates_by_tier_against_the_deadlines(world: World, period: Period) -> None:
    rows = _sheet(world.out(period, "标准化建设进度"), "按机构级别")
    assert rows[1][:7] == (
        "机构级别",
        "单位数",
        "达到“动员部署”（家）",
        "启动率（%）",
        "截止日期",
        "要求（%）",
        "状态",
    )
    assert rows[1][8] == "自评完成率（%）" and rows[1][13] == "达标率（%）"
    stand = standings(period)
    end = period.last_day()
    expected = []
    for tier in dict.fromkeys(TIER.values()):
        members = [c for c, t in TIER.items() if t == tier]
        line: list[object] = [tier, len(members)]
        for stage, date in deadlines(tier):
            n = sum(reached(stand[c], stage) for c in members)
            rate = round(100 * n / len(members), 1)
            state = "已达到" if n == len(members) else ("逾期未达到" if date < end else "未到期")
            line += [n, rate, date.isoformat(), 100, state]
        expected.append(tuple(line))
    total: list[object] = ["合计", len(TIER)]
    for stage in ("动员部署", "已自评", "验收达标"):
        n = sum(reached(s, stage) for s in stand.values())
        total += [n, round(100 * n / len(TIER), 1), None, None, None]
    body = [tuple(None if v == "" else v for v in r) for r in rows[2:]]
    norm = [tuple(None if v == "" else v for v in line) for line in expected]
    assert sorted(body[:-1]) == sorted(norm)
    assert body[-1] == tuple(total)


@pytest.mark.parametrize("period", [JUL, AUG])
def test_the_overdue_list_with_days_late(world: World, period: Period) -> None:
    rows = _sheet(world.out(period, "标准化建设进度"), "逾期未达到")
    stand = standings(period)
    end = period.last_day()
    late = sorted(
        (date, code, stand[code] or "未报送", stage, (end - date).days)
        for code, tier in TIER.items()
        for stage, date in deadlines(tier)
        if date < end and not reached(stand[code], stage)
    )
    assert f"共{len(late)}家" in rows[0][0]
    got = sorted((dt.date.fromisoformat(r[6]), r[1], r[4], r[5], r[7]) for r in rows[2:])
    assert got == late
    # August, by hand: QW003 (二级医院) never self-assessed by 2023-06-30: 1096 + 62 = 1158 days.
    if period == AUG:
        assert (dt.date(2023, 6, 30), "QW003", "建设中", "已自评", 1158) in got
        # QW007 sent nothing in August: its July stage stands (731 + 243 days).
        assert (dt.date(2023, 12, 31), "QW007", "动员部署", "已自评", 974) in got


@pytest.mark.parametrize("period", [JUL, AUG])
def test_every_late_institution_is_in_the_anomaly_list(world: World, period: Period) -> None:
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    listed = {(r["institution"], r["expected"]) for r in log if r.get("rule") == "A-TARGET-LATE"}
    stand = standings(period)
    assert listed == {
        (code, stage)
        for code, tier in TIER.items()
        for stage, date in deadlines(tier)
        if date < period.last_day() and not reached(stand[code], stage)
    }
    rows = _sheet(world.out(period, "异常清单"), "异常清单")
    assert sum(1 for r in rows if r[2] == "A-TARGET-LATE") == len(listed)


# --- risk points by colour ----------------------------------------------------------------


@pytest.mark.parametrize("period", [JUL, AUG])
def test_risk_points_by_colour_and_the_red_list(world: World, period: Period) -> None:
    name = "医疗卫生机构安全生产标准化建设进展情况汇总"
    rows = _sheet(world.out(period, name), name)
    accepted = {c: r for c, r in RETURNS[period].items() if c in TIER and c not in REJECTED[period]}
    totals = tuple(sum(int(r[k]) for r in accepted.values()) for k in COLOURS)
    total = next(r for r in rows if r[0] == "合计")
    assert total[-4:] == totals
    assert {r[0] for r in rows[2:] if r[0] not in ("合计", "平均")} == set(accepted)
    red = _sheet(world.out(period, name), "有红色（重大风险）风险点的单位")
    assert {(r[1], r[4]) for r in red[2:]} == {
        (c, int(r["red"])) for c, r in accepted.items() if int(r["red"]) > 0
    }
    assert f"共{len(red) - 2}家" in red[0][0]


# --- status, overview, the aggregated return ----------------------------------------------


def test_status_lists_who_has_not_reported(world: World) -> None:
    _, rows = status_rows(world.out(AUG, "报送情况"))
    assert set(rows) == set(TIER)  # the scope, not the whole roster
    silent = {c for c, r in rows.items() if r["报送状态"] in ("未报送", "已退回，待重报")}
    assert silent == {"QW007", "QW010"}


def test_the_aggregated_return_is_a_form_one_level_up(world: World) -> None:
    wb = load_workbook(world.out(AUG, "汇总表"))
    try:
        meta = dict(wb["_meta"].iter_rows(values_only=True))
        assert (meta["kind"], meta["campaign"], meta["period"]) == ("aggregate", CODE, "2026-08")
        assert meta["institution_code"] == "QW000"
        assert {"建设进展", "四个清单"} <= set(wb.sheetnames)
    finally:
        wb.close()


def test_a_rerun_changes_nothing(world: World) -> None:
    before = (world.out(AUG, "标准化建设进度")).read_bytes()
    _cli(world, "run", "--period", str(AUG))
    assert (world.out(AUG, "标准化建设进度")).read_bytes() == before


@pytest.mark.parametrize("period", [JUL, AUG])
def test_late_targets_step_backs_and_strays_name_their_place_and_figures(
    world: World, period: Period
) -> None:
    """A-TARGET-LATE exactly: a warning at the stage's cell (建设进展!B4) of the
    institution's latest accepted return, or at no cell for one that never reported; its stage as
    value, the stage it should have reached as expected, the days late from the
    deadline to the period's end. V-STEP-BACK and M-OUT-OF-SCOPE likewise."""
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))

    def exact(rule: str) -> list[tuple[str, ...]]:
        return sorted(
            (r["institution"], r["severity"], r["sheet"], r["cell"], r["value"], r["expected"])
            for r in log
            if r.get("rule") == rule
        )

    stand = standings(period)
    end = period.last_day()
    late = []
    for code, tier in TIER.items():
        for stage, date in deadlines(tier):
            if date < end and not reached(stand[code], stage):
                # at the cell of its latest accepted return (its stage comes from it)
                where = ("建设进展", "B4") if stand[code] else ("", "")
                late.append((code, "warning", *where, stand[code] or "未报送", stage))
    assert exact("A-TARGET-LATE") == sorted(late)
    for r in log:
        if r.get("rule") == "A-TARGET-LATE":
            date = dict(deadlines(TIER[r["institution"]]))[r["expected"]]
            assert f"应于{date.isoformat()}前" in r["message"]
            assert f"已逾期{(end - date).days}天" in r["message"]
    scope = "医疗卫生机构安全生产标准化建设专项行动"
    assert exact("M-OUT-OF-SCOPE") == [("QW004", "error", "", "", "专业公共卫生机构", scope)]
    back = [("QW006", "warning", "建设进展", "B4", "建设中", "验收达标")] if period == AUG else []
    assert exact("V-STEP-BACK") == back
