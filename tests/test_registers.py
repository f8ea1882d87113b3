"""The two registers of seed 002 (问题隐患清单, 制度措施清单) over three months, end to end.

Four hospitals report on the shipped campaign, month by month: each month's templates
come from the ledger, are filled the way the hospitals would (by the project's filler,
with every register row spelled out here), land in the inbox and are run through the
CLI. What each output must say is worked out by hand below, from the story, not by the
pipeline's code:

July    H1 adds three hazards (A, B a 重大隐患, C closed at once) and a measure (M1);
        H2 adds D (due 07-31); H3 reports none; H4 sends nothing.
        The bureau then lists A for supervision (挂牌督办).
August  H1 closes A (its date typed as text), adds E (due 08-20); H2 first deletes D
        (rejected: an open item missing), then resends with D; H3 adds F, then sends a
        correction with F and G (F keeps its ID); H4's file has an ambiguous date.
        H1 completes M1.
Sept.   H1 marks E 挂牌督办 (not its field), brings back C, closed in July, as open, and
        its 附件2 counts a T4 hazard its register does not have; H2 sends D twice
        (rejected: the same ID twice, so D's August state is carried); H3 closes F;
        H4 types another hospital's ID (rejected).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e_support import SHIPPED, invoke, read_jsonl, set_received
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_template
from pipeline.demo.registers import RegisterFill
from pipeline.distribute.templates import Prefills, template_filename, write_templates
from pipeline.ledger.store import Ledger

JUL, AUG, SEP = Period(2026, 7), Period(2026, 8), Period(2026, 9)
ROSTER = """机构代码,机构名称,机构级别,经济类型,电子邮箱,联系人,联系电话
QW000,示例区卫生健康局,卫生健康行政部门,公立,,,
H1,第一医院,二级医院,公立,,,
H2,第二医院,二级医院,公立,,,
H3,第三医院,一级医院,公立,,,
H4,第四医院,一级医院,公立,,,
"""
T = {  # the campaign's topics (附件2's rows) by key
    "T1": "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题",
    "T2": "2.落实企业安全生产主体责任专题",
    "T3": "3.危险化学品安全整治",
    "T4": "4.治安消防安全整治",
    "T5": "5.后勤安全整治",
}


def hazard(
    topic: str, category: str, text: str, found: str, deadline: str, status: str, closed: str = ""
) -> dict[str, str]:
    row = {
        "topic": T[topic],
        "category": category,
        "description": text,
        "found": found,
        "measure": "立即整改",
        "department": "总务科",
        "person": "王伟",
        "deadline": deadline,
        "status": status,
    }
    if closed:
        row["closed"] = closed
    return row


A = hazard("T1", "一般隐患", "配电室电线老化", "2026-07-05", "2026-08-31", "整改中")
B = hazard("T2", "重大隐患", "锅炉房压力容器超期未检", "2026-07-10", "2026-09-30", "未整改")
C = hazard("T1", "一般隐患", "消防通道堆放杂物", "2026-07-12", "2026-07-20", "已整改", "2026-07-20")
D = hazard("T3", "一般隐患", "危化品库房通风不良", "2026-07-03", "2026-07-31", "整改中")
E = hazard("T4", "一般隐患", "住院部应急灯损坏", "2026-08-02", "2026-08-20", "整改中")
F = hazard("T5", "一般隐患", "食堂燃气报警器失灵", "2026-08-05", "2026-09-05", "整改中")
G = hazard("T5", "一般隐患", "食堂排烟管道油污", "2026-08-06", "2026-09-06", "整改中")
M1 = {
    "topic": T["T2"],
    "name": "安全生产责任制",
    "type": "新建",
    "department": "院办",
    "deadline": "2026-09-30",
    "status": "推进中",
}


def grid(**counts: int) -> dict[str, dict[str, int]]:
    """附件2 counts from ``T1_general_found=2``-style keywords; other cells 0."""
    out: dict[str, dict[str, int]] = {
        t: {"general_found": 0, "general_fixed": 0, "major_found": 0, "major_fixed": 0} for t in T
    }
    for key, n in counts.items():
        topic, measure = key.split("_", 1)
        out[topic][measure] = n
    return out


@dataclass
class World:
    base: Path
    campaign: Campaign
    results: dict[Period, str] = field(default_factory=dict)
    templates: dict[Period, dict[str, Path]] = field(default_factory=dict)

    def out(self, period: Period, stem: str, suffix: str = ".xlsx") -> Path:
        return self.campaign.outbox / str(period) / f"{stem}_{period}{suffix}"

    def log(self, period: Period) -> list[dict]:
        return read_jsonl(self.out(period, "校验日志", ".jsonl"))

    def findings(self, period: Period, rule: str) -> list[dict]:
        return [
            r for r in self.log(period) if r["type"] in ("finding", "anomaly") and r["rule"] == rule
        ]


def _campaign(base: Path) -> Campaign:
    folder = base / "campaign"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED, folder / "campaign.toml")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return load_campaign(folder / "campaign.toml")


def _templates(world: World, period: Period) -> dict[str, Path]:
    ledger = Ledger(world.campaign.ledger_path, world.campaign.code)
    try:
        prefills = Prefills(world.campaign, period, ledger)
        paths = write_templates(
            world.campaign, period, prefills, world.base / "forms" / str(period)
        )
    finally:
        ledger.close()
    return {p.stem.rsplit("_", 1)[-1]: p for p in paths}


def _send(
    world: World,
    period: Period,
    code: str,
    data: MonthData,
    *,
    name: str = "",
    day: int = 0,
) -> Path:
    inbox = world.campaign.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    out = inbox / (name or template_filename(period, world.campaign.roster().get(code)))  # type: ignore[arg-type]
    fill_template(world.campaign, world.templates[period][code], out, data)
    due, _ = world.campaign.due.due_date(period)
    set_received(out, dt.datetime.combine(due, dt.time(9)) - dt.timedelta(days=3 - day))
    return out


def _run(world: World, period: Period) -> None:
    result = invoke("run", "--period", str(period), campaign_file=world.campaign.path)
    assert result.exit_code == 0, result.output
    world.results[period] = result.output


def _data(
    grid_counts: dict, hazards: RegisterFill | None = None, measures: RegisterFill | None = None
) -> MonthData:
    return MonthData(
        grid={"fujian2": grid_counts},
        registers={"hazards": hazards or RegisterFill(), "measures": measures or RegisterFill()},
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("registers")
    w = World(base, _campaign(base))
    # July
    w.templates[JUL] = _templates(w, JUL)
    _send(
        w,
        JUL,
        "H1",
        _data(
            grid(T1_general_found=2, T1_general_fixed=1, T2_major_found=1),
            RegisterFill(new=[A, B, C]),
            RegisterFill(new=[M1]),
        ),
    )
    _send(w, JUL, "H2", _data(grid(T3_general_found=1), RegisterFill(new=[D])))
    _send(w, JUL, "H3", _data(grid()))
    _run(w, JUL)
    listed = invoke(
        "supervise", "H1-0001", "--reason", "配电室隐患，局挂牌督办", campaign_file=w.campaign.path
    )
    assert listed.exit_code == 0, listed.output
    # August
    w.templates[AUG] = _templates(w, AUG)
    closed_a = {"status": "已整改", "closed": "2026.8.10"}  # a date typed as text
    _send(
        w,
        AUG,
        "H1",
        _data(
            grid(T1_general_fixed=1, T4_general_found=1),
            RegisterFill(updates={"H1-0001": closed_a}, new=[E]),
            RegisterFill(
                updates={
                    "H1-ZD0001": {
                        "status": "已完成",
                        "done": "2026-08-20",
                        "reference": "院发〔2026〕12号",
                    }
                }
            ),
        ),
    )
    _send(
        w,
        AUG,
        "H2",
        _data(grid(), RegisterFill(clear=["H2-0001"])),
        name="第二医院_8月.xlsx",
        day=0,
    )
    _send(w, AUG, "H2", _data(grid()), name="第二医院_8月_重报.xlsx", day=1)
    _send(
        w,
        AUG,
        "H3",
        _data(grid(T5_general_found=1), RegisterFill(new=[F])),
        name="第三医院_8月.xlsx",
        day=0,
    )
    _send(
        w,
        AUG,
        "H3",
        _data(grid(T5_general_found=2), RegisterFill(new=[F, G])),
        name="第三医院_8月_更正.xlsx",
        day=1,
    )
    _send(
        w,
        AUG,
        "H4",
        _data(
            grid(T1_general_found=1),
            RegisterFill(new=[{**A, "description": "病房插座松动", "found": "08/09/2026"}]),
        ),
    )
    _run(w, AUG)
    # September
    w.templates[SEP] = _templates(w, SEP)
    reopened = {**C, "id": "H1-0003", "status": "整改中", "deadline": "2026-10-15"}
    del reopened["closed"]
    _send(
        w,
        SEP,
        "H1",
        _data(
            grid(T4_general_found=1),
            RegisterFill(updates={"H1-0004": {"supervised": "是"}}, new=[reopened]),
        ),
    )
    _send(w, SEP, "H2", _data(grid(), RegisterFill(new=[{**D, "id": "H2-0001"}])))
    _send(
        w,
        SEP,
        "H3",
        _data(
            grid(T5_general_fixed=1),
            RegisterFill(updates={"H3-0001": {"status": "已整改", "closed": "2026-09-03"}}),
        ),
    )
    _send(
        w,
        SEP,
        "H4",
        _data(
            grid(T2_major_found=1),
            RegisterFill(new=[{**B, "id": "H1-0002", "found": "2026-09-01"}]),
        ),
    )
    _run(w, SEP)
    return w


def _rows(path: Path, sheet: str) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def _files(world: World, period: Period) -> dict[str, str]:
    return {
        r["file"]: r["outcome"]
        for r in world.log(period)
        if r["type"] == "file" and r["period"] == str(period)
    }


# -- IDs and what is accepted ------------------------------------------------------------
def test_each_new_item_gets_the_next_id_of_its_institution_and_register(world: World) -> None:
    db = Ledger(world.campaign.ledger_path, world.campaign.code)
    try:
        rows = db.db.execute(
            "SELECT institution, form, item_id, identity FROM items ORDER BY 1, 2, 3"
        ).fetchall()
    finally:
        db.close()
    assert rows == [
        ("H1", "hazards", "H1-0001", A["description"]),
        ("H1", "hazards", "H1-0002", B["description"]),
        ("H1", "hazards", "H1-0003", C["description"]),
        ("H1", "hazards", "H1-0004", E["description"]),
        ("H1", "measures", "H1-ZD0001", M1["name"]),
        ("H2", "hazards", "H2-0001", D["description"]),
        # H3's first August file gave F an ID; the correction kept it and gave G the next.
        ("H3", "hazards", "H3-0001", F["description"]),
        ("H3", "hazards", "H3-0002", G["description"]),
    ]


def test_outcomes_of_every_file(world: World) -> None:
    assert sorted(_files(world, AUG).items()) == sorted(
        {
            template_filename(AUG, world.campaign.roster().get("H1")): "accepted",  # type: ignore[arg-type]
            "第二医院_8月.xlsx": "rejected",
            "第二医院_8月_重报.xlsx": "accepted",
            "第三医院_8月.xlsx": "superseded",
            "第三医院_8月_更正.xlsx": "accepted",
            template_filename(AUG, world.campaign.roster().get("H4")): "rejected",  # type: ignore[arg-type]
        }.items()
    )
    outcomes = {name.split("_")[1]: o for name, o in _files(world, SEP).items()}
    assert outcomes == {
        "第一医院": "accepted",
        "第二医院": "rejected",
        "第三医院": "accepted",
        "第四医院": "rejected",
    }


# -- templates ---------------------------------------------------------------------------
def _register_rows(path: Path, sheet: str = "问题隐患清单") -> list[tuple]:
    rows = _rows(path, sheet)
    out = []
    for row in rows[3:]:
        if row[0] is None and all(v is None for v in row[1:]):
            continue
        if str(row[0] or "").startswith(("审核人", "填报说明")) or str(row[1] or "").startswith(
            "审核人"
        ):
            break
        out.append(row)
    return out


def test_next_months_template_holds_the_open_items_with_their_last_state(world: World) -> None:
    h1 = _register_rows(world.templates[AUG]["H1"])
    assert [(r[0], r[3], r[9], r[11]) for r in h1] == [
        ("H1-0001", A["description"], "整改中", "是"),  # listed by the bureau in July
        ("H1-0002", B["description"], "未整改", None),
    ]
    assert h1[0][4] == dt.datetime(2026, 7, 5)  # a date, as Excel stores one
    assert [r[0] for r in _register_rows(world.templates[SEP]["H1"])] == ["H1-0002", "H1-0004"]
    assert [r[0] for r in _register_rows(world.templates[SEP]["H3"])] == ["H3-0001", "H3-0002"]
    assert _register_rows(world.templates[SEP]["H4"]) == []
    assert [r[0] for r in _register_rows(world.templates[AUG]["H1"], "制度措施清单")] == [
        "H1-ZD0001"
    ]
    assert _register_rows(world.templates[SEP]["H1"], "制度措施清单") == []  # completed


def test_template_locks_the_id_and_the_bureaus_field_and_leaves_blank_rows(world: World) -> None:
    wb = load_workbook(world.templates[AUG]["H1"])
    ws = wb["问题隐患清单"]
    assert ws.protection.sheet and not ws.protection.insertRows  # rows may be inserted
    assert ws["A4"].protection.locked and ws["L4"].protection.locked
    assert not ws["J4"].protection.locked and not ws["B35"].protection.locked
    blank = [r for r in range(6, ws.max_row + 1) if ws.cell(r, 4).protection.locked is False]
    assert len(blank) == 30
    checks = {dv.type: dv for dv in ws.data_validations.dataValidation}
    assert checks["list"].formula1.startswith('"')
    topic_check = next(dv for dv in ws.data_validations.dataValidation if "B4" in str(dv.sqref))
    assert topic_check.formula1 == '"' + ",".join(T.values()) + '"'


# -- findings ----------------------------------------------------------------------------
def _triples(world: World, period: Period, rule: str) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (f["institution"], f["severity"], f["sheet"], f["cell"], f["value"])
        for f in world.findings(period, rule)
    )


def test_findings_of_the_item_checks(world: World) -> None:
    assert _triples(world, AUG, "R-ITEM-MISSING") == [
        ("H2", "error", "问题隐患清单", "", "H2-0001")
    ]
    assert _triples(world, AUG, "V-DATE-AMBIGUOUS") == [
        ("H4", "error", "问题隐患清单", "E4", "08/09/2026")
    ]
    normalised = [f for f in world.findings(AUG, "N-NORMALISED") if f["sheet"] == "问题隐患清单"]
    assert [(f["institution"], f["cell"], f["value"], f["expected"]) for f in normalised] == [
        ("H1", "K4", "2026.8.10", "2026-08-10")
    ]
    # September: H1's own file carries three, H2's and H4's one each.
    assert _triples(world, SEP, "R-BUREAU-FIELD") == [("H1", "warning", "问题隐患清单", "L5", "是")]
    assert _triples(world, SEP, "R-ITEM-REOPENED") == [
        ("H1", "warning", "问题隐患清单", "J6", "整改中")
    ]
    assert _triples(world, SEP, "R-ITEM-DUPLICATE") == [
        ("H2", "error", "问题隐患清单", "A5", "H2-0001")
    ]
    assert _triples(world, SEP, "R-ITEM-UNKNOWN") == [
        ("H4", "error", "问题隐患清单", "A4", "H1-0002")
    ]


def test_the_register_against_its_annex(world: World) -> None:
    (f,) = world.findings(SEP, "X-RECONCILE")
    assert (f["institution"], f["severity"], f["sheet"], f["cell"]) == (
        "H1",
        "warning",
        "附件2",
        "G10",
    )
    assert (f["value"], f["expected"]) == ("0", "1")
    assert "问题隐患清单" in f["message"] and "4.治安消防安全整治/一般隐患/排查" in f["message"]
    assert not world.findings(JUL, "X-RECONCILE") and not world.findings(AUG, "X-RECONCILE")


# -- the period's outputs ----------------------------------------------------------------
BOOK = "问题隐患清单汇总"


def _book(world: World, period: Period, sheet: str) -> list[tuple]:
    return _rows(world.out(period, BOOK), sheet)[3:]


def test_every_item_with_status_days_open_and_overdue(world: World) -> None:
    rows = _book(world, SEP, BOOK)
    got = {r[3]: (r[1], r[12], r[16], r[17], r[18], r[19]) for r in rows}
    # (institution, status, first period, where its state comes from, days open, overdue)
    assert got == {
        "H1-0001": ("H1", "已整改", "2026-07", "2026-08已完成", 36, None),
        "H1-0002": ("H1", "未整改", "2026-07", "本期报送", 82, None),
        "H1-0003": ("H1", "整改中", "2026-07", "本期报送", 80, None),
        "H1-0004": ("H1", "整改中", "2026-08", "本期报送", 59, 41),
        "H2-0001": ("H2", "整改中", "2026-07", "沿用2026-08（本期未报送）", 89, 61),
        "H3-0001": ("H3", "已整改", "2026-08", "本期报送", 29, None),
        "H3-0002": ("H3", "整改中", "2026-08", "本期报送", 55, 24),
    }
    # H1 typed 是 into E's 挂牌督办: not its field, not taken; A's is the bureau's.
    supervised = {r[3]: r[14] for r in rows}
    assert supervised["H1-0004"] is None and supervised["H1-0001"] == "是"


def test_counts_by_topic_category_and_status(world: World) -> None:
    rows = _book(world, SEP, "分类统计")
    assert rows == [
        (T["T1"], "一般隐患", 0, 1, 1, 2),
        (T["T2"], "重大隐患", 1, 0, 0, 1),
        (T["T3"], "一般隐患", 0, 1, 0, 1),
        (T["T4"], "一般隐患", 0, 1, 0, 1),
        (T["T5"], "一般隐患", 0, 1, 1, 2),
    ]


def test_supervised_overdue_and_ranking(world: World) -> None:
    supervised = _book(world, SEP, "挂牌督办")
    assert [(r[1], r[2], r[-1]) for r in supervised] == [("第一医院", "H1-0002", "重大隐患")]
    overdue = _book(world, SEP, "逾期")
    assert [(r[2], r[-1]) for r in overdue] == [("H2-0001", 61), ("H1-0004", 41), ("H3-0002", 24)]
    ranking = _book(world, SEP, "整改率排名")
    assert ranking == [
        (1, "H3", "第三医院", 2, 1, 1, 50),
        (2, "H1", "第一医院", 4, 1, 3, 25),
        (3, "H2", "第二医院", 1, 0, 1, 0),
    ]
    aug = _book(world, AUG, "逾期")
    assert [(r[2], r[-1]) for r in aug] == [("H2-0001", 31), ("H1-0004", 11)]
    assert [r[2] for r in _book(world, AUG, "挂牌督办")] == ["H1-0002"]  # A closed in August
    assert [r[2] for r in _book(world, JUL, "挂牌督办")] == ["H1-0002"]


def test_overdue_items_are_in_the_anomaly_list(world: World) -> None:
    overdue = world.findings(SEP, "A-ITEM-OVERDUE")
    assert sorted((f["institution"], f["cell"], f["value"]) for f in overdue) == [
        ("H1", "I5", "41"),
        ("H2", "I4", "61"),
        ("H3", "I5", "24"),
    ]
    listed = [
        r for r in _rows(world.out(SEP, "异常清单"), "异常清单")[3:] if r[2] == "A-ITEM-OVERDUE"
    ]
    assert len(listed) == 3


def test_measures_register_completes_and_ranks(world: World) -> None:
    rows = _rows(world.out(AUG, "制度措施清单汇总"), "制度措施清单汇总")[3:]
    assert [(r[3], r[9], r[10], r[11]) for r in rows] == [
        ("H1-ZD0001", "已完成", "2026-08-20", "院发〔2026〕12号")
    ]
    ranking = _rows(world.out(AUG, "制度措施清单汇总"), "完成率排名")[3:]
    assert ranking == [(1, "H1", "第一医院", 1, 1, 0, 100)]


def test_the_aggregated_register_is_a_return_one_level_up(world: World) -> None:
    rows = _register_rows(world.out(SEP, "汇总表"))
    assert [r[0] for r in rows] == [
        "H1-0002",
        "H1-0003",
        "H1-0004",
        "H2-0001",
        "H3-0001",
        "H3-0002",
    ]


def test_counts_are_traced_to_the_rows_they_count(world: World) -> None:
    traces = [
        r for r in world.log(SEP) if r["type"] == "trace" and r["output"] == f"{BOOK}_{SEP}.xlsx"
    ]
    by_cell: dict[str, list[tuple[str, str]]] = {}
    for t in traces:
        by_cell.setdefault(t["cell"], []).append((t["value"], t["source_cell"]))
    # 分类统计 row 4 is T1/一般隐患: 整改中 (D4) is C, 已整改 (E4) is A.
    assert by_cell["D4"] == [("H1-0003", "J6")]
    assert by_cell["E4"] == [("H1-0001", "J4")]
    assert len(traces) == 7 and all(t["figure"] == 1 for t in traces)
    files = {t["source_file"] for t in traces}
    assert any("第二医院_8月_重报" in f for f in files)  # D's carried state is August's


def test_each_periods_log_lists_its_own_files_and_the_others_apart(world: World) -> None:
    wb = load_workbook(world.out(SEP, "校验日志"), read_only=True)
    try:
        mine = [r[0] for r in wb["文件"].iter_rows(min_row=4, values_only=True) if r[0]]
        others = [r for r in wb["其他报告期的文件"].iter_rows(min_row=4, values_only=True) if r[0]]
        title = next(wb["文件"].iter_rows(max_row=1, values_only=True))[0]
    finally:
        wb.close()
    assert mine and all(name.startswith("2026-09") for name in mine)
    assert {r[1] for r in others} == {"2026-07", "2026-08"}
    assert f"本期共检查{len(mine)}个文件" in title
    header = world.log(SEP)[0]
    assert (header["files_seen"], header["other_periods_files"]) == (len(mine), len(others))


def test_a_rerun_changes_nothing_and_the_log_is_json(world: World) -> None:
    before = world.out(SEP, BOOK).read_bytes()
    _run(world, SEP)
    assert "没有新情况" in world.results[SEP]
    assert world.out(SEP, BOOK).read_bytes() == before
    json.dumps(world.log(SEP))


# -- LibreOffice keeps what a register needs -------------------------------------------
@pytest.mark.libreoffice
def test_libreoffice_keeps_dates_ids_and_drop_downs_and_the_return_reads_back(
    world: World, tmp_path: Path
) -> None:
    """H1's August template, re-saved by LibreOffice as an institution on Kylin or UOS
    would, then filled there and read through the pipeline: items, dates and drop-downs
    survive, and the return is read as the one made in Excel."""
    from support import libreoffice as lo

    if lo.soffice_path() is None:
        pytest.skip(f"LIBREOFFICE NOT AVAILABLE: {lo.unavailable_reason('soffice')}")
    resaved = lo.convert(world.templates[AUG]["H1"], "xlsx", tmp_path / "lo")
    wb = load_workbook(resaved)
    ws = wb["问题隐患清单"]
    assert ws["A4"].value == "H1-0001" and ws["E4"].value == dt.datetime(2026, 7, 5)
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert {dv.formula1 for dv in lists} >= {
        '"突出问题,一般隐患,重大隐患"',
        '"未整改,整改中,已整改"',
    }
    assert any("B4" in str(dv.sqref) for dv in lists)
    # Filled in LibreOffice's file: A closed, one new item, and re-saved by LibreOffice again.
    ws["J4"], ws["K4"] = "已整改", dt.date(2026, 8, 10)
    for col, value in zip(
        "BCDEFGHIJ",
        (
            "4.治安消防安全整治",
            "一般隐患",
            "住院部应急灯损坏",
            dt.date(2026, 8, 2),
            "更换",
            "总务科",
            "王伟",
            dt.date(2026, 8, 20),
            "整改中",
        ),
        strict=True,
    ):
        ws[f"{col}6"] = value
    wb["附件2"]["G9"] = 0
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    again = lo.convert(filled, "xlsx", tmp_path / "lo2")
    from pipeline.extract.reader import read_workbook
    from pipeline.extract.returns import extract, identify, layouts_for, read_bounds

    campaign = world.campaign
    layouts = layouts_for(campaign)
    raw = read_workbook(again, read_bounds(campaign, layouts))
    ident = identify(raw, campaign, campaign.roster(), [AUG], layouts)
    assert ident.institution is not None and not ident.findings
    ext = extract(raw, campaign, ident, layouts, {"file": again.name})
    assert [f.rule for f in ext.findings if f.severity != "info"] == []
    rows = {(t.row_key, t.field): t.value for t in ext.texts if t.form == "hazards"}
    assert rows[("H1-0001", "closed")] == dt.date(2026, 8, 10)
    assert rows[("H1-0001", "found")] == dt.date(2026, 7, 5)
    assert rows[("new:6", "deadline")] == dt.date(2026, 8, 20)
    assert [n.identity for n in ext.new_items] == ["住院部应急灯损坏"]
