"""Rules that no other test made fire, each triggered end to end and checked exactly.

Every test here sends real returns (filled by the project's filler, then edited the way a
clerk or a broken copy would) through a real run, and asserts the finding the rule gives:
its code, severity, sheet, cell and the figures it names (value, expected). The table in
tests/test_every_rule.py points each rule at the test that triggers it; a rule without
one fails there.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from e2e_support import FORM, SHEET, campaign_in, due_moment, grid_layout, invoke, read_jsonl
from openpyxl import load_workbook
from test_edge_cases import _data, _put

import pipeline.intake.sources as sources_module
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.run import run_period

JUL, AUG, SEP, OCT, NOV = (Period(2026, m) for m in range(7, 12))
LIST_SHEET = "附件1"
Found = tuple[str, str, str, str, str, str]  # rule, severity, sheet, cell, value, expected


def _log(campaign: Campaign, period: Period) -> list[dict]:
    path = campaign.outbox / str(period) / f"校验日志_{period}.jsonl"
    return [r for r in read_jsonl(path) if r["type"] in ("finding", "anomaly")]


def _found(campaign: Campaign, period: Period, rule: str, **match: str) -> list[Found]:
    """Findings of ``rule`` (of the institution, file... given in ``match``)."""
    return sorted(
        (f["rule"], f["severity"], f["sheet"], f["cell"], f["value"], f["expected"])
        for f in _log(campaign, period)
        if f["rule"] == rule and all(f[k] == v for k, v in match.items())
    )


def _counts(**typed: int) -> dict[str, dict[str, int]]:
    """附件2 counts of an institution, ``T1_general_found=2`` style; the rest 0."""
    grid = {
        t: {"general_found": 0, "general_fixed": 0, "major_found": 0, "major_fixed": 0}
        for t in ("T1", "T2", "T3", "T4", "T5")
    }
    for key, n in typed.items():
        topic, measure = key.split("_", 1)
        grid[topic][measure] = n
    return grid


def _month(**typed: int) -> MonthData:
    return MonthData(grid={FORM: _counts(**typed)})


def _edited(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Open ``path`` in openpyxl, change it and save it, keeping its time of receipt."""
    stat = path.stat()
    wb = load_workbook(path)
    edit(wb)
    wb.save(path)
    wb.close()
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _meta(wb, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    ws = wb["_meta"]
    for k, v in ws.iter_rows(min_col=1, max_col=2):
        if k.value == key:
            v.value = value
            return
    raise AssertionError(f"no {key} in _meta")


# -- anomalies over the ledger (A-) ---------------------------------------------------
def test_a_month_far_from_four_earlier_ones_is_flagged(tmp_path: Path) -> None:
    """A-ZSCORE: 2, 3, 2, 3 hazards found in July to October, 30 in November. It needs
    four earlier months (zscore_min_months): silent in October, flagged in November."""
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    for period, n in ((JUL, 2), (AUG, 3), (SEP, 2), (OCT, 3), (NOV, 30)):
        _put(campaign, "QW001", period, _month(T1_general_found=n), due_moment(campaign, period))
        run_period(campaign, period)
        if period == OCT:
            assert _found(campaign, OCT, "A-ZSCORE") == []
    assert _found(campaign, NOV, "A-ZSCORE") == [
        ("A-ZSCORE", "warning", SHEET, lay.cell(MONTH_ROW, "general_found"), "30", "2.5")
    ]
    (f,) = [f for f in _log(campaign, NOV) if f["rule"] == "A-ZSCORE"]
    assert f["institution"] == "QW001"
    assert f["message"] == "当月累计/一般隐患排查：本月30与该单位以往各月（中位数2.5）差异很大"


def test_cumulative_fixed_above_found_and_open_major_hazards(tmp_path: Path) -> None:
    """A-CUM-FIXED: 3 general hazards closed since the start against 1 found (a month
    may close older ones, A-MONTH-RATE, the whole campaign may not). A-MAJOR-OPEN: 2 major hazards
    found, 1 closed: the other is still supervised (挂牌督办). Not for QW002, whose
    open hazards are general ones and whose major ones are all closed; but for QW003,
    whose general hazards are closed and a major one is open."""
    import hashlib

    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    path = _put(
        campaign,
        "QW001",
        JUL,
        _month(T1_general_found=1, T1_general_fixed=3, T2_major_found=2, T2_major_fixed=1),
        due_moment(campaign, JUL),
    )
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    # QW002: general hazards still open (only major ones are supervised), and as many
    # major hazards closed as found: neither is an anomaly.
    quiet = _month(T1_general_found=3, T1_general_fixed=1, T2_major_found=1, T2_major_fixed=1)
    _put(campaign, "QW002", JUL, quiet, due_moment(campaign, JUL))
    # QW003: general hazards all closed, a major one open: supervised.
    major = _month(T1_general_found=2, T1_general_fixed=2, T2_major_found=1)
    _put(campaign, "QW003", JUL, major, due_moment(campaign, JUL))
    run_period(campaign, JUL)
    assert _found(campaign, JUL, "A-CUM-FIXED") == [
        ("A-CUM-FIXED", "warning", SHEET, lay.cell(CUMULATIVE_ROW, "general_fixed"), "3", "≤1")
    ]
    assert _found(campaign, JUL, "A-MAJOR-OPEN", institution="QW001") == [
        ("A-MAJOR-OPEN", "warning", SHEET, lay.cell(CUMULATIVE_ROW, "major_found"), "1", "2")
    ]
    assert _found(campaign, JUL, "A-MAJOR-OPEN", institution="QW003") == [
        ("A-MAJOR-OPEN", "warning", SHEET, lay.cell(CUMULATIVE_ROW, "major_found"), "0", "1")
    ]
    assert _found(campaign, JUL, "A-MAJOR-OPEN", institution="QW002") == []
    # The month alone may close more than it found (older hazards): only noted.
    assert _found(campaign, JUL, "A-MONTH-RATE") == [
        ("A-MONTH-RATE", "info", SHEET, lay.cell(MONTH_ROW, "general_rate"), "3", "1")
    ]
    by_rule = {f["rule"]: f for f in _log(campaign, JUL) if f["institution"] == "QW001"}
    assert by_rule["A-CUM-FIXED"]["message"] == "累计总计/一般隐患：累计已整改3处超过累计排查1处"
    assert (
        by_rule["A-MAJOR-OPEN"]["message"]
        == "累计总计/重大隐患：累计排查2处，已整改1处，尚未全部完成"
    )
    for rule in ("A-CUM-FIXED", "A-MAJOR-OPEN"):
        f = by_rule[rule]
        where = (
            f["institution"],
            f["institution_name"],
            f["period"],
            f["form"],
            f["file"],
            f["sha256"],
        )
        assert where == ("QW001", "示例区人民医院", "2026-07", FORM, path.name, sha), rule
    # August without a return from QW001: its major hazard is still open, said of the
    # institution, at no file and no cell.
    run_period(campaign, AUG)
    (still,) = [
        f
        for f in _log(campaign, AUG)
        if f["rule"] == "A-MAJOR-OPEN" and f["institution"] == "QW001"
    ]
    assert (
        still["severity"],
        still["sheet"],
        still["cell"],
        still["value"],
        still["expected"],
    ) == (
        "warning",
        SHEET,
        "",
        "1",
        "2",
    )
    assert (still["institution"], still["institution_name"], still["period"]) == (
        "QW001",
        "示例区人民医院",
        "2026-08",
    )
    assert (still["file"], still["sha256"]) == ("", "")


def test_a_baseline_total_that_is_not_the_sum_of_its_terms(tmp_path: Path) -> None:
    """A-SUM: QW001's baseline (cumulative before the tool) says 排查隐患总数 9 where its
    一般 4 + 重大 3 make 7; named at the baseline file's cell. QW002's baseline adds up,
    and stays quiet although August adds hazards to its cumulative."""
    campaign = campaign_in(tmp_path)
    path = tmp_path / "基线.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "机构代码",
                "截至月份",
                "专题专项",
                "排查整治隐患/一般隐患/排查",
                "排查整治隐患/重大隐患/排查",
                "排查整治隐患/排查隐患总数",
            ]
        )
        writer.writerow(["QW001", "2026-07", "T1", 4, 3, 9])
        writer.writerow(["QW002", "2026-07", "T1", 4, 3, 7])
        writer.writerow(["QW003", "2026-07", "T1", "", "", 5])  # the total alone
        writer.writerow(["QW004", "2026-07", "T1", 1, 0, 1])
    result = invoke("baseline", str(path), ledger=campaign.ledger_path)
    assert result.exit_code == 0, result.output
    for code in ("QW001", "QW002"):
        _put(campaign, code, AUG, _month(T1_general_found=1), due_moment(campaign, AUG))
    run_period(campaign, AUG)
    assert _found(campaign, AUG, "A-SUM", institution="QW001") == [
        ("A-SUM", "warning", "基线", "F2", "9", "7")
    ]
    assert _found(campaign, AUG, "A-SUM", institution="QW002") == []
    # Terms not given count as 0: a total of 5 over none.
    assert _found(campaign, AUG, "A-SUM", institution="QW003") == [
        ("A-SUM", "warning", "基线", "F4", "5", "0")
    ]
    (f,) = [f for f in _log(campaign, AUG) if f["rule"] == "A-SUM" and f["institution"] == "QW001"]
    assert (f["file"], f["sha256"], f["period"]) == (path.name, "", "2026-08")
    # The baseline covers July: QW004, which sent nothing in August, lacks August only.
    run_period(campaign, SEP)
    gaps = [f for f in _log(campaign, SEP) if f["rule"] == "A-GAP" and f["institution"] == "QW004"]
    assert [(g["value"], g["expected"]) for g in gaps] == [("2026-08", "2026-08（未报送）")]
    assert f["message"] == "基线/排查隐患总数：合计9与各分项之和7不一致"


def test_a_cumulative_typed_over_is_noted_and_the_ledger_wins(tmp_path: Path) -> None:
    """D-CUMULATIVE: July's 2 hazards are in the ledger; August's return, 1 hazard, has
    99 typed over its 累计总计 (where the ledger says 3). Only noted: accepted, and the
    aggregated 累计总计 is the ledger's."""
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    _put(campaign, "QW001", JUL, _month(T1_general_found=2), due_moment(campaign, JUL))
    run_period(campaign, JUL)
    overwrite = {FORM: {(CUMULATIVE_ROW, "general_found"): 99.0}}
    path = _put(
        campaign,
        "QW001",
        AUG,
        _month(T1_general_found=1),
        due_moment(campaign, AUG),
        overwrite_formula=overwrite,
    )
    result = run_period(campaign, AUG)
    assert {f.name: f.outcome for f in result.files}[path.name] == "accepted"
    cell = lay.cell(CUMULATIVE_ROW, "general_found")
    assert _found(campaign, AUG, "D-CUMULATIVE", file=path.name) == [
        ("D-CUMULATIVE", "info", SHEET, cell, "99", "3")
    ]
    wb = load_workbook(campaign.outbox / str(AUG) / f"汇总表_{AUG}.xlsx", read_only=True)
    try:
        assert wb[SHEET][cell].value == 3
    finally:
        wb.close()
    # A correction of August (3 hazards) whose 累计总计 says 5: July's 2 and its own 3.
    # The ledger's cumulative before August leaves out the August return it replaces.
    right = {FORM: {(CUMULATIVE_ROW, "general_found"): 5.0}}
    correction = _put(
        campaign,
        "QW001",
        AUG,
        _month(T1_general_found=3),
        due_moment(campaign, AUG, hour=15),
        name="人民医院8月更正.xlsx",
        overwrite_formula=right,
    )
    result = run_period(campaign, AUG)
    assert {f.name: f.outcome for f in result.files}[correction.name] == "accepted"
    assert _found(campaign, AUG, "D-CUMULATIVE", file=correction.name) == []


# -- identification (M-) ---------------------------------------------------------------
def test_a_return_of_an_institution_not_in_the_roster(tmp_path: Path) -> None:
    """M-UNKNOWN-INST: the hidden metadata names QW999, which the roster lacks."""
    campaign = campaign_in(tmp_path)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    _edited(path, lambda wb: _meta(wb, "institution_code", "QW999"))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    assert _found(campaign, AUG, "M-UNKNOWN-INST") == [
        ("M-UNKNOWN-INST", "error", "", "", "QW999", "")
    ]
    assert {f["rule"] for f in _log(campaign, AUG) if f["file"] == path.name} == {"M-UNKNOWN-INST"}


def test_a_return_on_an_older_version_of_the_form(tmp_path: Path) -> None:
    """M-VERSION: 附件2's version in the metadata is not the form's; each form is named."""
    campaign = campaign_in(tmp_path)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    version = str(campaign.form(FORM).version)
    _edited(path, lambda wb: _meta(wb, f"form.{FORM}.version", "0"))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    assert _found(campaign, AUG, "M-VERSION") == [("M-VERSION", "error", SHEET, "", "0", version)]
    assert {f["rule"] for f in _log(campaign, AUG) if f["file"] == path.name} == {"M-VERSION"}


def test_a_return_whose_layout_mark_is_not_this_periods(tmp_path: Path) -> None:
    """L-FINGERPRINT: the metadata's layout mark of 附件2 is an old template's."""
    campaign = campaign_in(tmp_path)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    mark = grid_layout(campaign).fingerprint
    _edited(path, lambda wb: _meta(wb, f"form.{FORM}.fingerprint", "0123456789ab"))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    assert _found(campaign, AUG, "L-FINGERPRINT") == [
        ("L-FINGERPRINT", "error", SHEET, "", "0123456789ab", mark)
    ]
    assert {f["rule"] for f in _log(campaign, AUG) if f["file"] == path.name} == {"L-FINGERPRINT"}


def test_a_return_of_another_month_and_a_workbook_not_ours(tmp_path: Path) -> None:
    """M-PERIOD: July's return in August's run (refused for now, taken by July's run);
    M-NO-META: a workbook that is not one of our forms."""
    from openpyxl import Workbook

    campaign = campaign_in(tmp_path)
    late = _put(campaign, "QW001", JUL, _month(T1_general_found=1), due_moment(campaign, AUG))
    other = Workbook()
    other.active["A1"] = "报表说明"
    stray = campaign.inbox / "报表说明.xlsx"
    other.save(stray)
    result = run_period(campaign, AUG)
    assert {f.name: f.outcome for f in result.files} == {
        late.name: "rejected",
        stray.name: "rejected",
    }
    assert _found(campaign, AUG, "M-PERIOD", file=late.name) == [
        ("M-PERIOD", "error", "", "", "2026-07", "2026-08")
    ]
    assert _found(campaign, AUG, "M-NO-META", file=stray.name) == [
        ("M-NO-META", "error", "", "", "", "")
    ]


def test_a_return_of_another_campaign(tmp_path: Path) -> None:
    """M-CAMPAIGN: the metadata names another campaign's code; the expected is ours."""
    campaign = campaign_in(tmp_path)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    _edited(path, lambda wb: _meta(wb, "campaign", "aqbzh-2022"))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    assert _found(campaign, AUG, "M-CAMPAIGN") == [
        ("M-CAMPAIGN", "error", "", "", "aqbzh-2022", campaign.name)
    ]
    assert {f["rule"] for f in _log(campaign, AUG) if f["file"] == path.name} == {"M-CAMPAIGN"}


# -- files (F-) ------------------------------------------------------------------------
def test_a_file_that_cannot_be_read_now_is_refused_for_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F-UNREADABLE: the file is locked (another program holds it) when it is hashed;
    it is refused for now and judged again, and accepted, on the next run."""
    campaign = campaign_in(tmp_path)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    hashing = sources_module.sha256_of

    def locked(p: Path):  # type: ignore[no-untyped-def]
        if p.name == path.name:
            raise PermissionError(13, "locked", str(p))
        return hashing(p)

    monkeypatch.setattr(sources_module, "sha256_of", locked)
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    assert _found(campaign, AUG, "F-UNREADABLE") == [
        ("F-UNREADABLE", "error", "", "", "PermissionError", "")
    ]
    monkeypatch.setattr(sources_module, "sha256_of", hashing)
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["accepted"]
    assert _found(campaign, AUG, "F-UNREADABLE") == []


# -- the task list (V-NEW-TASK, V-NEW-TASK-EMPTY, V-TEXT-LONG) --------------------------
def test_added_tasks_unmarked_or_unnamed_and_a_text_too_long(tmp_path: Path) -> None:
    """An institution adds two tasks in the spare rows: one named but not marked 新增
    in 备注 (V-NEW-TASK), one marked but naming no task (V-NEW-TASK-EMPTY); and types
    1001 characters of 工作进展 where 1000 are allowed (V-TEXT-LONG). All warnings: the
    return is accepted and the texts kept whole."""
    campaign = campaign_in(tmp_path)
    spec = campaign.form("fujian1")
    from pipeline.forms.kinds import build_layout

    lay = build_layout(spec, campaign.rows_for(spec))
    long_text = "已" * 1001
    data = MonthData(
        grid={FORM: _counts(T1_general_found=1)},
        texts={"fujian1": {"1.1": {"progress": long_text, "outcome": "会议记录"}}},
        new_tasks={
            "fujian1": [
                {
                    "content": "开展有限空间作业安全排查",
                    "progress": "已建台账",
                    "remark": "持续推进",
                },
                {"progress": "已完成", "remark": "新增"},
            ]
        },
    )
    path = _put(campaign, "QW001", AUG, data, due_moment(campaign, AUG))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["accepted"]
    first, second = lay.spare_rows[:2]
    assert _found(campaign, AUG, "V-NEW-TASK", file=path.name) == [
        ("V-NEW-TASK", "warning", LIST_SHEET, f"A{first}", "", "新增")
    ]
    assert _found(campaign, AUG, "V-NEW-TASK-EMPTY", file=path.name) == [
        ("V-NEW-TASK-EMPTY", "warning", LIST_SHEET, f"A{second}", "", "")
    ]
    assert _found(campaign, AUG, "V-TEXT-LONG", file=path.name) == [
        ("V-TEXT-LONG", "warning", LIST_SHEET, lay.cell("1.1", "progress"), "1001", "1000")
    ]
    wb = load_workbook(campaign.outbox / str(AUG) / f"汇总表_{AUG}.xlsx", read_only=True)
    try:
        texts = [c for row in wb[LIST_SHEET].iter_rows(values_only=True) for c in row]
    finally:
        wb.close()
    # Kept whole: the aggregated 附件1 carries all 1001 characters (over several cells,
    # as one cell of a printed sheet holds only so much).
    assert sum(t.count("已") for t in texts if isinstance(t, str) and "已已已" in t) == 1001


# -- typed fields of lists and registers (V-CHOICE, V-DATE-*, V-INST, A-BELOW) ----------
W32 = Period(2026, 32, "week")
CCWM = "ccwm-2026"


def _ccwm_with_district_rules(base: Path):  # type: ignore[no-untyped-def]
    """The shipped workspace whose civilized-city campaign reads its forms from a folder
    of its own, where the district added two rules the shipped forms do not have: at
    least one 义诊 a week (``warn_below``), and a problem put right no later than its
    整改时限 (``not_after`` another date field)."""
    from e2e_support import ROOT, example_workspace

    from pipeline.campaigns.workspace import load_workspace

    path = example_workspace(base)
    schemas = path.parent / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    weekly = schemas / "ccwm_weekly.toml"
    text = weekly.read_text(encoding="utf-8")
    clinics = 'key = "clinics"\n'
    assert clinics in text
    weekly.write_text(text.replace(clinics, clinics + "warn_below = 1\n"), encoding="utf-8")
    problems = schemas / "ccwm_problems.toml"
    text = problems.read_text(encoding="utf-8")
    closed = 'required_when = { status = "已整改" }\nnot_after = "period_end"\n'
    assert closed in text
    text = text.replace(
        closed, 'required_when = { status = "已整改" }\nnot_after = ["period_end", "deadline"]\n'
    )
    problems.write_text(text, encoding="utf-8")
    campaign_file = path.parent / "civilized_city.toml"
    text = campaign_file.read_text(encoding="utf-8")
    campaign_file.write_text(text + '\n[paths]\nschemas = "schemas"\n', encoding="utf-8")
    return load_workspace(path)


def test_typed_fields_against_their_rules(tmp_path: Path) -> None:
    """One week of the civilized-city campaign: QW001 reports a problem from a source not
    in the list (V-CHOICE) and one put right after its 整改时限 (V-DATE-AFTER); QW002
    held no 义诊 (A-BELOW, a warning: accepted); QW003's queue is 700 minutes, past the
    form's 600 (V-RANGE); the bureau visited a unit not in the roster (V-INST), typed a
    date as words (V-DATE), a visit after the week's end (V-DATE-LATE) and a visit
    without its 督导人 (V-REQUIRED)."""
    import datetime as dt

    from e2e_support import set_received

    from pipeline.demo.filler import fill_return
    from pipeline.demo.registers import RegisterFill
    from pipeline.distribute.templates import Prefills
    from pipeline.ledger.store import Ledger
    from pipeline.run import run_period as run

    ws = _ccwm_with_district_rules(tmp_path)
    c = ws.campaign(CCWM)
    assert c.form("ccwm_weekly").field("clinics").warn_below == 1  # type: ignore[attr-defined]
    roster = c.roster()
    due, _ = c.due.due_date(W32)
    weekly = {"publicity": "1", "volunteers": "2", "lectures": "1", "queue": "9.5"}
    checklist = {k: {"result": "达标"} for k in ("K01", "K02", "K03", "K04", "K05", "K06")}
    problem = {"department": "院办", "person": "王伟", "deadline": "2026-08-05"}
    sent = {
        "QW001": MonthData(
            texts={
                "ccwm_checklist": checklist,
                "ccwm_weekly": {"self": {**weekly, "clinics": "2"}},
            },
            registers={
                "ccwm_problems": RegisterFill(
                    new=[
                        {
                            **problem,
                            "source": "群众来信",
                            "description": "楼道堆放杂物",
                            "status": "未整改",
                        },
                        {
                            **problem,
                            "source": "自查",
                            "description": "门诊大厅公益广告破损",
                            "status": "已整改",
                            "closed": "2026-08-07",
                        },
                    ]
                )
            },
        ),
        "QW002": MonthData(
            texts={
                "ccwm_checklist": checklist,
                "ccwm_weekly": {"self": {**weekly, "clinics": "0"}},
            },
        ),
        "QW003": MonthData(
            texts={
                "ccwm_checklist": checklist,
                "ccwm_weekly": {"self": {**weekly, "clinics": "1", "queue": "700"}},
            },
        ),
        "QW000": MonthData(
            registers={
                "ccwm_supervision": RegisterFill(
                    new=[
                        {
                            "date": "2026-08-04",
                            "unit": "示例区不存在医院",
                            "inspector": "张三",
                            "problems": "1",
                        },
                        {"date": "下周一", "unit": "QW001", "inspector": "张三", "problems": "0"},
                        {
                            "date": "2026-08-20",
                            "unit": "QW002",
                            "inspector": "张三",
                            "problems": "0",
                        },
                        {"date": "2026-08-05", "unit": "QW003", "problems": "0"},
                    ]
                )
            }
        ),
    }
    files = {}
    ledger = Ledger(c.ledger_path, c.code)
    try:
        prefills = Prefills(c, W32, ledger)
        for n, (code, data) in enumerate(sent.items()):
            inst = roster.get(code)
            assert inst is not None
            path = fill_return(c, inst, W32, c.inbox, data, prefills=prefills)
            set_received(path, dt.datetime.combine(due, dt.time(9)) - dt.timedelta(hours=n))
            files[code] = path.name
    finally:
        ledger.close()
    result = run(c, W32)
    outcome = {f.name: f.outcome for f in result.files}
    assert outcome == {
        files["QW001"]: "rejected",
        files["QW002"]: "accepted",
        files["QW003"]: "rejected",
        files["QW000"]: "rejected",
    }
    problems = c.form("ccwm_problems")
    col = {f.key: i for i, f in enumerate(problems.fields)}  # type: ignore[attr-defined]
    from openpyxl.utils import get_column_letter

    def at(key: str, row: int) -> str:
        return f"{get_column_letter(col[key] + 1)}{row}"

    first = _first_row(c, "ccwm_problems", W32)
    assert _found(c, W32, "V-CHOICE", file=files["QW001"]) == [
        (
            "V-CHOICE",
            "error",
            problems.sheet,
            at("source", first),
            "群众来信",
            "省文明办检查、市文明办检查、第三方暗访、督导检查、自查",
        )
    ]
    assert _found(c, W32, "V-DATE-AFTER", file=files["QW001"]) == [
        (
            "V-DATE-AFTER",
            "error",
            problems.sheet,
            at("closed", first + 1),
            "2026-08-07",
            "整改时限（2026-08-05）",
        )
    ]
    weekly_spec = c.form("ccwm_weekly")
    assert _found(c, W32, "A-BELOW", file=files["QW002"]) == [
        (
            "A-BELOW",
            "warning",
            weekly_spec.sheet,
            _cell(c, "ccwm_weekly", "self", "clinics"),
            "0",
            "1",
        )
    ]
    assert _found(c, W32, "V-RANGE", file=files["QW003"]) == [
        (
            "V-RANGE",
            "error",
            weekly_spec.sheet,
            _cell(c, "ccwm_weekly", "self", "queue"),
            "700",
            "0～600",
        )
    ]
    supervision = c.form("ccwm_supervision")
    lay = _layout(c, "ccwm_supervision")
    top = lay.first_data_row

    def visit(key: str, n: int) -> str:
        return f"{get_column_letter(lay.col_of[key])}{top + n}"

    by = files["QW000"]
    sheet = supervision.sheet
    assert _found(c, W32, "V-INST", file=by) == [
        ("V-INST", "error", sheet, visit("unit", 0), "示例区不存在医院", "")
    ]
    assert _found(c, W32, "V-DATE", file=by) == [
        ("V-DATE", "error", sheet, visit("date", 1), "下周一", "")
    ]
    end = W32.last_day().isoformat()
    assert _found(c, W32, "V-DATE-LATE", file=by) == [
        ("V-DATE-LATE", "error", sheet, visit("date", 2), "2026-08-20", end)
    ]
    assert _found(c, W32, "V-REQUIRED", file=by) == [
        ("V-REQUIRED", "error", sheet, visit("inspector", 3), "", "")
    ]


def _layout(c: Campaign, form: str):  # type: ignore[no-untyped-def]
    from pipeline.forms.kinds import build_layout

    spec = c.form(form)
    return build_layout(spec, c.rows_for(spec))


def _first_row(c: Campaign, form: str, period: Period) -> int:
    return _layout(c, form).first_data_row  # type: ignore[no-any-return]


def _cell(c: Campaign, form: str, row: str, key: str) -> str:
    return _layout(c, form).cell(row, key)  # type: ignore[no-any-return]


def test_a_hazard_put_right_before_it_was_found(tmp_path: Path) -> None:
    """V-DATE-ORDER: 整改完成日期 2026-07-03 is before 发现日期 2026-07-05 (hazard
    register of the shipped campaign)."""
    from test_registers import A, World, _campaign, _send, _templates, grid
    from test_registers import _data as register_month
    from test_registers import _run as run_cli

    from pipeline.demo.registers import RegisterFill

    w = World(tmp_path, _campaign(tmp_path))
    w.templates[JUL] = _templates(w, JUL)
    closed = {**A, "status": "已整改", "closed": "2026-07-03"}
    path = _send(
        w,
        JUL,
        "H1",
        register_month(grid(T1_general_found=1, T1_general_fixed=1), RegisterFill(new=[closed])),
    )
    run_cli(w, JUL)
    spec = w.campaign.form("hazards")
    lay = _layout(w.campaign, "hazards")
    closed_col = lay.col_of["closed"]
    from openpyxl.utils import get_column_letter

    assert _found(w.campaign, JUL, "V-DATE-ORDER", file=path.name) == [
        (
            "V-DATE-ORDER",
            "error",
            spec.sheet,
            f"{get_column_letter(closed_col)}{lay.first_data_row}",
            "2026-07-03",
            "发现日期（2026-07-05）",
        )
    ]
