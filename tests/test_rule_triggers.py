"""Rules that no other test made fire, each triggered end to end and checked exactly.

Every test here sends real returns (filled by the project's filler, then edited the way a
clerk or a broken copy would) through a real run, and asserts the finding the rule gives:
its code, severity, sheet, cell and the figures it names (value, expected). The table in
tests/test_every_rule.py points each rule at the test that triggers it; a rule without
one fails there.
"""

from __future__ import annotations

import csv
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
    assert "本月30与该单位以往各月（中位数2.5）差异很大" in f["message"]


def test_cumulative_fixed_above_found_and_open_major_hazards(tmp_path: Path) -> None:
    """A-CUM-FIXED: 3 general hazards closed since the start against 1 found (a month
    may close older ones, the whole campaign may not). A-MAJOR-OPEN: 2 major hazards
    found, 1 closed: the other is still supervised (挂牌督办)."""
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    _put(
        campaign,
        "QW001",
        JUL,
        _month(T1_general_found=1, T1_general_fixed=3, T2_major_found=2, T2_major_fixed=1),
        due_moment(campaign, JUL),
    )
    run_period(campaign, JUL)
    assert _found(campaign, JUL, "A-CUM-FIXED") == [
        ("A-CUM-FIXED", "warning", SHEET, lay.cell(CUMULATIVE_ROW, "general_fixed"), "3", "≤1")
    ]
    assert _found(campaign, JUL, "A-MAJOR-OPEN") == [
        ("A-MAJOR-OPEN", "warning", SHEET, lay.cell(CUMULATIVE_ROW, "major_found"), "1", "2")
    ]
    by_rule = {f["rule"]: f for f in _log(campaign, JUL)}
    assert "累计已整改3处超过累计排查1处" in by_rule["A-CUM-FIXED"]["message"]
    assert "累计排查2处，已整改1处，尚未全部完成" in by_rule["A-MAJOR-OPEN"]["message"]
    assert (
        by_rule["A-CUM-FIXED"]["institution"] == by_rule["A-MAJOR-OPEN"]["institution"] == "QW001"
    )


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
    result = invoke("baseline", str(path), ledger=campaign.ledger_path)
    assert result.exit_code == 0, result.output
    for code in ("QW001", "QW002"):
        _put(campaign, code, AUG, _month(T1_general_found=1), due_moment(campaign, AUG))
    run_period(campaign, AUG)
    found = _found(campaign, AUG, "A-SUM")
    assert found == [("A-SUM", "warning", "基线", "F2", "9", "7")]
    (f,) = [f for f in _log(campaign, AUG) if f["rule"] == "A-SUM"]
    assert f["institution"] == "QW001" and f["file"] == path.name
    assert "合计9与各分项之和7不一致" in f["message"]


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
