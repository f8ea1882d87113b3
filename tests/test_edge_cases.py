"""Edge cases of the monthly run, each driven through real files and checked exactly.

The district's own 汇总表 fed back into the inbox; inbox entries that are not files
(folders, pipes, dead links) and file names that are not UTF-8 or hold control
characters; a blank template sent after a filled return; an institution typing into a
bureau column; the pandera findings; a return with an inserted row; an unidentifiable file
left in the inbox for the next month; submission status after a rejected correction or a
rejected first file; baseline import errors; the cumulative lookup that prefills next
month's template; and a task list with more added tasks than spare rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from e2e_support import (
    EXAMPLE,
    FORM,
    HAZARD_COUNTS,
    ROOT,
    SHEET,
    TOPICS,
    campaign_in,
    counted,
    derive,
    due_moment,
    expected_table,
    grid_layout,
    invoke,
    mismatches,
    read_csv,
    read_jsonl,
    read_table,
    set_received,
    status_rows,
    workbook_values,
)
from openpyxl import Workbook, load_workbook

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Reporter
from pipeline.demo.filler import MonthData, fill_return, fill_template, random_month
from pipeline.distribute.templates import Prefills, template_filename, write_template
from pipeline.distribute.workbook import build_workbook
from pipeline.extract.reader import read_workbook
from pipeline.extract.returns import Identity, extract, layouts_for, read_bounds
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.checks import check_return
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.kinds.grid.totals import grid_totals
from pipeline.forms.kinds.tasklist.merge import Entry, ListTotals, laid_out
from pipeline.forms.kinds.tasklist.shape import UNIT
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.records import GridCell
from pipeline.ledger.store import Ledger
from pipeline.run import RunResult, run_period

JUL, AUG, SEP = Period(2026, 7), Period(2026, 8), Period(2026, 9)
BUREAU = "QW000"
OUTPUT_STEMS = (
    ("汇总表", ".xlsx"),
    ("异常清单", ".xlsx"),
    ("异常清单", ".csv"),
    ("报送情况", ".xlsx"),
    ("校验日志", ".jsonl"),
    ("校验日志", ".xlsx"),
    ("汇总明细", ".xlsx"),
    ("情况通报", ".docx"),
    ("报告", ".html"),
)


# -- helpers ---------------------------------------------------------------------------
def _inst(campaign: Campaign, code: str) -> Institution:
    inst = campaign.roster().get(code)
    assert inst is not None, code
    return inst


def _data(campaign: Campaign, code: str, period: Period, seed: str = "") -> MonthData:
    inst = _inst(campaign, code)
    return random_month(campaign, inst, period, random.Random(f"{period}/{code}/{seed}"))


def _put(
    campaign: Campaign,
    code: str,
    period: Period,
    data: MonthData,
    received: dt.datetime,
    name: str | None = None,
    **kw: object,
) -> Path:
    """A filled return of ``code`` in the inbox under ``name``, received at ``received``."""
    inst = _inst(campaign, code)
    scratch = campaign.inbox.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    made = fill_return(campaign, inst, period, scratch, data, **kw)  # type: ignore[arg-type]
    campaign.inbox.mkdir(parents=True, exist_ok=True)
    path = campaign.inbox / (name or template_filename(period, inst, campaign.code))
    shutil.move(made, path)
    set_received(path, received)
    return path


def _out(campaign: Campaign, period: Period, stem: str, suffix: str = ".xlsx") -> Path:
    return campaign.outbox / str(period) / f"{stem}_{period}{suffix}"


def _log(campaign: Campaign, period: Period) -> list[dict]:
    return read_jsonl(_out(campaign, period, "校验日志", ".jsonl"))


def _records(campaign: Campaign, period: Period) -> dict[str, dict]:
    return {r["file"]: r for r in _log(campaign, period) if r["type"] == "file"}


def _findings(campaign: Campaign, period: Period, name: str) -> list[dict]:
    return [r for r in _log(campaign, period) if r["type"] == "finding" and r["file"] == name]


def _grid(data: MonthData) -> dict[str, dict[str, float]]:
    return data.grid[FORM]  # type: ignore[return-value]


HAZARD_MEASURES = (*HAZARD_COUNTS, "hazards_total", "general_rate", "major_rate")


def _hazard_mismatches(campaign: Campaign, period: Period, grids: list) -> list[str]:
    """Differences of the institutions' columns of 附件2 from the hand-computed figures
    (the bureau's columns are blank for a month the bureau has not reported)."""
    lay = grid_layout(campaign)
    want = {k: v for k, v in expected_table(grids, grids).items() if k[1] in HAZARD_MEASURES}
    return mismatches(read_table(_out(campaign, period, "汇总表"), lay), want, lay)


def _all_outputs(period: Period) -> list[str]:
    return sorted(f"{stem}_{period}{suffix}" for stem, suffix in OUTPUT_STEMS)


# -- 1. the district's own 汇总表 fed back ------------------------------------------------
def test_own_aggregate_in_the_inbox_is_rejected_and_changes_nothing(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    bureau = _data(campaign, BUREAU, AUG)
    hospital = _data(campaign, "QW001", AUG)
    bureau_file = _put(campaign, BUREAU, AUG, bureau, due_moment(campaign, AUG, -2))
    _put(campaign, "QW001", AUG, hospital, due_moment(campaign, AUG, -2, hour=11))
    run_period(campaign, AUG)
    summary = _out(campaign, AUG, "汇总表")
    lay = grid_layout(campaign)
    before_table = read_table(summary, lay)
    before_sheet = workbook_values(summary)[SHEET]
    expected = expected_table(
        [counted(_grid(bureau), True), counted(_grid(hospital), False)],
        [counted(_grid(bureau), True), counted(_grid(hospital), False)],
    )
    assert mismatches(before_table, expected, lay) == []

    copy = campaign.inbox / summary.name
    shutil.copyfile(summary, copy)
    set_received(copy, due_moment(campaign, AUG, 1))
    result = run_period(campaign, AUG)

    outcome = {f.name: f for f in result.files}
    assert outcome[copy.name].outcome == "rejected"
    assert [f.rule for f in outcome[copy.name].findings] == ["M-OWN-AGGREGATE"]
    assert outcome[copy.name].institution == ""
    assert outcome[bureau_file.name].outcome == "accepted"
    assert result.count("rejected") == 1 and result.count("accepted") == 2
    records = _records(campaign, AUG)
    assert records[copy.name]["outcome"] == "rejected"
    assert records[bureau_file.name]["outcome"] == "accepted"
    assert [f["rule"] for f in _findings(campaign, AUG, copy.name)] == ["M-OWN-AGGREGATE"]
    # The bureau's own return is still the one used, and every figure is unchanged.
    _, rows = status_rows(_out(campaign, AUG, "报送情况"))
    assert rows[BUREAU]["报送状态"] == "已报送"
    assert rows[BUREAU]["采用文件"] == bureau_file.name
    assert read_table(summary, lay) == before_table
    assert workbook_values(summary)[SHEET] == before_sheet


# -- 2. inbox oddities -----------------------------------------------------------------
def test_folder_pipe_and_dead_link_are_skipped_without_hanging(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    valid = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    inbox = campaign.inbox
    (inbox / "子文件夹").mkdir()
    (inbox / "子文件夹" / "inner.xlsx").write_bytes(b"not read")
    os.mkfifo(inbox / "x.xlsx")
    os.symlink(tmp_path / "nowhere.xlsx", inbox / "dead.xlsx")
    argv = [
        sys.executable,
        "-m",
        "pipeline",
        "--campaign",
        str(EXAMPLE),
        "--inbox",
        str(inbox),
        "--outbox",
        str(campaign.outbox),
        "--ledger",
        str(campaign.ledger_path),
        "run",
        "--period",
        str(AUG),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "文件 4 个：接收 1，退回 0，重复 0，被替代 0，跳过 3" in done.stdout
    records = _records(campaign, AUG)
    assert set(records) == {valid.name, "子文件夹", "x.xlsx", "dead.xlsx"}
    assert records[valid.name]["outcome"] == "accepted"
    assert records["子文件夹"]["outcome"] == "skipped"
    assert records["子文件夹"]["note"] == "文件夹，未读取"
    for name in ("x.xlsx", "dead.xlsx"):
        assert records[name]["outcome"] == "skipped"
        assert records[name]["note"] == "不是普通文件（失效的链接、管道或设备），未读取"
        assert records[name]["sha256"] == "" and records[name]["findings"] == 0


def test_gbk_file_name_is_logged_decoded_and_accepted(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    made = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    raw = "报表.xlsx".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the name really is not UTF-8
    os.rename(os.fsencode(made), os.fsencode(campaign.inbox) + b"/" + raw)
    result = run_period(campaign, AUG)
    decoded = raw.decode("gbk")
    assert decoded == "报表.xlsx"
    records = _records(campaign, AUG)
    assert list(records) == [decoded]
    assert records[decoded]["outcome"] == "accepted"
    assert records[decoded]["institution"] == "QW001"
    assert [f.name for f in result.files] == [decoded]
    _, rows = status_rows(_out(campaign, AUG, "报送情况"))
    assert rows["QW001"]["采用文件"] == decoded


def test_control_character_in_a_file_name_does_not_break_the_outputs(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    data = _data(campaign, "QW001", AUG)
    path = _put(campaign, "QW001", AUG, data, due_moment(campaign, AUG), name="a\x07b.xlsx")
    result = invoke(
        "run",
        "--period",
        str(AUG),
        inbox=campaign.inbox,
        outbox=campaign.outbox,
        ledger=campaign.ledger_path,
    )
    assert result.exit_code == 0, result.output
    folder = campaign.outbox / str(AUG)
    assert sorted(p.name for p in folder.iterdir()) == _all_outputs(AUG)
    records = _records(campaign, AUG)
    assert records[path.name]["outcome"] == "accepted"  # the JSONL keeps the name exactly
    assert _hazard_mismatches(campaign, AUG, [counted(_grid(data), False)]) == []
    # Each xlsx output opens (the name is written with the control character replaced).
    for name in ("异常清单", "报送情况", "校验日志", "汇总明细"):
        workbook_values(_out(campaign, AUG, name))


# -- 3. blank resend -------------------------------------------------------------------
def _blank(campaign: Campaign, code: str, period: Period, name: str, received: dt.datetime) -> Path:
    scratch = campaign.inbox.parent / "blank"
    made = write_template(campaign, _inst(campaign, code), period, scratch)
    path = campaign.inbox / name
    shutil.move(made, path)
    set_received(path, received)
    return path


@pytest.mark.parametrize("same_run", [False, True], ids=["later-run", "same-run"])
def test_blank_template_after_a_filled_return_is_rejected(tmp_path: Path, same_run: bool) -> None:
    campaign = campaign_in(tmp_path)
    data = _data(campaign, "QW001", AUG)
    assert any(v for row in _grid(data).values() for v in row.values())
    filled = _put(campaign, "QW001", AUG, data, due_moment(campaign, AUG, -3))
    if not same_run:
        run_period(campaign, AUG)
    blank = _blank(campaign, "QW001", AUG, "QW001空白.xlsx", due_moment(campaign, AUG, -1))
    # An institution that sends only a blank form: accepted, with a warning.
    alone = _blank(campaign, "QW002", AUG, "QW002空白.xlsx", due_moment(campaign, AUG, -1))
    result = run_period(campaign, AUG)

    outcome = {f.name: f for f in result.files}
    assert outcome[filled.name].outcome == "accepted"
    assert outcome[blank.name].outcome == "rejected"
    rules = sorted((f.rule, f.severity, f.sheet) for f in outcome[blank.name].findings)
    assert rules == [("A-BLANK", "warning", SHEET), ("V-BLANK-RESEND", "error", SHEET)]
    assert outcome[alone.name].outcome == "accepted"
    assert [(f.rule, f.severity) for f in outcome[alone.name].findings] == [("A-BLANK", "warning")]

    records = _records(campaign, AUG)
    assert records[blank.name]["outcome"] == "rejected"
    assert records[filled.name]["outcome"] == "accepted"
    assert _hazard_mismatches(campaign, AUG, [counted(_grid(data), False)]) == []
    _, rows = status_rows(_out(campaign, AUG, "报送情况"))
    assert rows["QW001"]["采用文件"] == filled.name
    assert rows["QW001"]["报送状态"] == "已报送"
    assert rows["QW002"]["采用文件"] == alone.name


def test_blank_template_before_a_filled_return_is_superseded_by_it(tmp_path: Path) -> None:
    """Received first, a blank replaces nothing: the filled return received after it
    supersedes it in the same run, as it would in a later one."""
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True, exist_ok=True)
    blank = _blank(campaign, "QW001", AUG, "QW001空白.xlsx", due_moment(campaign, AUG, -3))
    filled = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    result = run_period(campaign, AUG)

    outcome = {f.name: f for f in result.files}
    assert outcome[filled.name].outcome == "accepted"
    assert outcome[blank.name].outcome == "superseded"
    assert [(f.rule, f.severity) for f in outcome[blank.name].findings] == [("A-BLANK", "warning")]


def test_a_run_in_slices_records_what_one_batch_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large inbox is validated and recorded a slice at a time, in order of receipt:
    the outputs are those of one batch, the correction of a return and a blank sent after
    it falling in other slices than the first return (slices of two here)."""
    from pipeline.intake import judge

    outcomes: dict[int, dict[str, str]] = {}
    snapshots: dict[int, dict[str, object]] = {}
    for size in (1000, 2):
        monkeypatch.setattr(judge, "SLICE", size)
        campaign = campaign_in(tmp_path / str(size))
        campaign.inbox.mkdir(parents=True)
        for i, code in enumerate(("QW001", "QW002", "QW003", "QW004")):
            data = _data(campaign, code, AUG)
            _put(campaign, code, AUG, data, due_moment(campaign, AUG, -5, hour=8 + i))
        corrected = _data(campaign, "QW001", AUG, seed="corrected")
        _put(
            campaign, "QW001", AUG, corrected, due_moment(campaign, AUG, -2), name="QW001更正.xlsx"
        )
        _blank(campaign, "QW002", AUG, "QW002空白.xlsx", due_moment(campaign, AUG, -1))
        result = run_period(campaign, AUG)
        outcomes[size] = {f.name: f.outcome for f in result.files}
        folder = campaign.outbox / str(AUG)
        snapshots[size] = {
            name: workbook_values(folder / name)
            for name in (f"汇总表_{AUG}.xlsx", f"汇总明细_{AUG}.xlsx", f"报送情况_{AUG}.xlsx")
        }
    assert outcomes[2] == outcomes[1000]
    assert sorted(outcomes[2].values()).count("superseded") == 1
    assert outcomes[2]["QW002空白.xlsx"] == "rejected"
    assert snapshots[2] == snapshots[1000]


# -- 4. an institution typing into a bureau column -------------------------------------
def test_foreign_figure_included_by_the_files_own_formulas_is_not_a_tampered_formula(
    tmp_path: Path,
) -> None:
    campaign = campaign_in(tmp_path)
    spec = campaign.form(FORM)
    lay = grid_layout(campaign)
    labels = {k: lay.labels[(r, 1)] for k, r in lay.row_of.items()}
    counts = {
        t: {"general_found": 4 + i, "general_fixed": 3, "major_found": i % 2, "major_fixed": 0}
        for i, t in enumerate(TOPICS)
    }
    prev = {"general_found": 10.0, "general_fixed": 7.0, "problems_province": 1.0}
    values = [
        GridCell(FORM, t, m, lay.cell(t, m), v, float(v))
        for t, row in counts.items()
        for m, v in row.items()
    ]
    assert lay.cell("T1", "problems_province") == "C7"
    foreign = [GridCell(FORM, "T1", "problems_province", "C7", 2, 2.0)]
    # What Excel computes and caches: every formula of the sheet over every typed cell,
    # the foreign 2 included (hand arithmetic of tests/e2e_support.py).
    typed = {t: dict(row) for t, row in counts.items()}
    typed["T1"]["problems_province"] = 2
    cached: dict[tuple[str, str], float | None] = {}
    for t in TOPICS:
        for m, v in derive(typed[t]).items():
            cached[(t, m)] = v
    month = {
        m: sum(typed[t].get(m, 0) for t in TOPICS) for m in {k for r in typed.values() for k in r}
    }
    for m, v in derive(month).items():
        cached[(MONTH_ROW, m)] = v
    cumulative = {m: prev.get(m, 0) + month.get(m, 0) for m in set(month) | set(prev)}
    for m, v in derive(cumulative).items():
        cached[(CUMULATIVE_ROW, m)] = v
    claims = [
        GridCell(
            FORM, r, m.key, lay.cell(r, m.key), f"={lay.cell(r, m.key)}", cached[(r, m.key)], False
        )
        for r in lay.row_of
        for m in spec.measures
        if not m.is_input or r in (MONTH_ROW, CUMULATIVE_ROW)
    ]
    assert (
        cached[("T1", "problems_total")] == 2 and cached[(CUMULATIVE_ROW, "problems_province")] == 3
    )
    topics = list(TOPICS)
    where = {"institution": "QW001", "period": str(AUG)}
    with_foreign = check_return(spec, topics, values, claims, prev, where, labels, foreign)
    assert [f.rule for f in with_foreign if f.rule.startswith("D-")] == []
    without = check_return(spec, topics, values, claims, prev, where, labels)
    got = sorted((f.rule, f.cell, f.value, f.expected) for f in without if f.rule.startswith("D-"))
    assert got == [
        ("D-CACHED", "B12", "2", "0"),  # 当月累计/小计
        ("D-CACHED", "B7", "2", "0"),  # topic 1/小计 = C7+D7+E7
        ("D-CACHED", "C12", "2", "0"),  # 当月累计/省级 = SUM(C7:C11)
        ("D-CUMULATIVE", "B13", "3", "1"),
        ("D-CUMULATIVE", "C13", "3", "1"),
    ]


# -- 5. schema findings ----------------------------------------------------------------
def test_negative_fraction_and_too_large_counts(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    inst = _inst(campaign, "QW001")
    data = _data(campaign, "QW001", AUG)
    grid = _grid(data)
    grid["T1"]["general_found"] = -3
    grid["T1"]["general_fixed"] = 0
    grid["T2"]["general_found"] = 2.04
    grid["T2"]["general_fixed"] = 0
    grid["T3"]["major_found"] = 123456
    for topic in ("T3", "T4", "T5"):  # the month's 排查 is then -0.96 and 已整改 0
        grid[topic]["general_found"] = grid[topic]["general_fixed"] = 0
    campaign.inbox.mkdir(parents=True)
    blank = write_template(campaign, inst, AUG, tmp_path / "blank")
    path = fill_template(campaign, blank, campaign.inbox / "QW001.xlsx", data)
    set_received(path, due_moment(campaign, AUG))
    wb = load_workbook(path)
    assert (wb[SHEET]["G7"].value, wb[SHEET]["G8"].value, wb[SHEET]["J9"].value) == (
        -3,
        2.04,
        123456,
    )
    wb[SHEET]["G10"] = "-5处"  # typed as text with its unit: the finding shows it as typed
    wb.save(path)
    wb.close()
    set_received(path, due_moment(campaign, AUG))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    found = [f for f in _findings(campaign, AUG, path.name) if f["rule"].startswith("V-")]
    got = sorted(
        (f["rule"], f["sheet"], f["cell"], f["value"], f["expected"], f["severity"]) for f in found
    )
    assert got == [
        ("V-INTEGER", SHEET, "G8", "2.04", "整数", "error"),
        ("V-MAX", SHEET, "J9", "123456", "100000", "error"),
        ("V-NEGATIVE", SHEET, "G10", "-5处", "0或正整数", "error"),
        ("V-NEGATIVE", SHEET, "G7", "-3", "0或正整数", "error"),
    ]
    # Each says whose return, which file and form it is about.
    assert {(f["institution"], f["file"], f["form"], f["period"]) for f in found} == {
        ("QW001", path.name, FORM, str(AUG))
    }
    by_rule = {f["rule"]: f for f in found if f["cell"] != "G10"}
    assert by_rule["V-NEGATIVE"]["message"].startswith("1.学习宣传贯彻")
    assert "数值-3为负数" in by_rule["V-NEGATIVE"]["message"]
    assert "数值123456超过上限100000" in by_rule["V-MAX"]["message"]
    listed = {r["单元格"]: r for r in read_csv(_out(campaign, AUG, "异常清单", ".csv"))}
    # A number is shown as the number it is; text with a formula trigger is neutralised.
    assert (listed["G7"]["规则"], listed["G7"]["填报值"]) == ("V-NEGATIVE", "-3")
    # No rule fires on figures made from a refused count (当月已整改0处超过当月排查-1处).
    rules = {f["rule"] for f in _findings(campaign, AUG, path.name)}
    assert "A-MONTH-RATE" not in rules
    assert (listed["G8"]["规则"], listed["J9"]["应为"]) == ("V-INTEGER", "100000")


def test_blank_cells_of_a_filled_return_are_counted_as_zero_and_said(tmp_path: Path) -> None:
    """「没有请填0」: two counts left blank among filled ones are taken as 0, and listed."""
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    data = _data(campaign, "QW001", AUG)
    grid = _grid(data)
    del grid["T2"]["major_found"], grid["T4"]["general_fixed"]
    path = _put(campaign, "QW001", AUG, data, due_moment(campaign, AUG))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["accepted"]
    (blank,) = [f for f in _findings(campaign, AUG, path.name) if f["rule"] == "A-BLANK-CELLS"]
    cells = [lay.cell("T2", "major_found"), lay.cell("T4", "general_fixed")]
    assert (blank["severity"], blank["sheet"], blank["cell"]) == ("warning", SHEET, cells[0])
    assert blank["value"] == "2" and blank["expected"] == "、".join(cells)
    assert "按0计" in blank["message"]
    listed = {r["规则"] for r in read_csv(_out(campaign, AUG, "异常清单", ".csv"))}
    assert "A-BLANK-CELLS" in listed


def test_a_refused_file_says_whom_its_name_suggests(tmp_path: Path) -> None:
    """An empty or damaged file names no institution; its name often does (marked as a
    guess, so the clerk knows whom to call). The return is still missing."""
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    (campaign.inbox / "2026-08_示例区中医院_QW002.xlsx").write_bytes(b"")
    (campaign.inbox / "QW004报表.xlsx").write_bytes(b"not a workbook")
    (campaign.inbox / "报表.xlsx").write_bytes(b"just text")
    for path in campaign.inbox.iterdir():
        set_received(path, due_moment(campaign, AUG))
    result = run_period(campaign, AUG)
    assert {f.outcome for f in result.files} == {"rejected"}
    found = {
        r["file"]: (r["rule"], r["institution"], r["institution_name"])
        for r in _log(campaign, AUG)
        if r["type"] == "finding"
    }
    assert found == {
        "2026-08_示例区中医院_QW002.xlsx": ("F-EMPTY", "QW002", "示例区中医院（据文件名推测）"),
        "QW004报表.xlsx": ("F-NOT-XLSX", "QW004", "示例区疾病预防控制中心（据文件名推测）"),
        "报表.xlsx": ("F-NOT-XLSX", "", ""),
    }
    assert {"QW002", "QW004"} <= {i.code for i in result.missing}


def test_guessing_an_institution_from_a_file_name() -> None:
    from pipeline.config.roster import Institution, Roster
    from pipeline.intake.reading import guess_institution

    def inst(code: str, name: str) -> Institution:
        return Institution(code=code, name=name, level="", role="institution")

    roster = Roster(
        path=Path("r.csv"),
        institutions=(
            inst("QW001", "示例区人民医院"),
            inst("QW011", "示例区人民医院分院"),
            inst("QW002", "示例区中医院"),
        ),
    )
    assert guess_institution("示例区人民医院分院.xlsx", roster).code == "QW011"  # type: ignore[union-attr]
    assert guess_institution("QW001.xlsx", roster).code == "QW001"  # type: ignore[union-attr]
    assert guess_institution("XQW0011.xlsx", roster) is None  # not a whole token
    assert guess_institution("示例区中医院_示例区人民医院.xlsx", roster) is None  # two
    assert guess_institution("各院/报表.xlsx", roster) is None


# -- 6. an inserted row ----------------------------------------------------------------
def test_inserted_row_gives_label_findings_only(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    path = _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG))
    wb = load_workbook(path)
    wb[SHEET].insert_rows(7)
    wb.save(path)
    wb.close()
    set_received(path, due_moment(campaign, AUG))
    result = run_period(campaign, AUG)
    assert [f.outcome for f in result.files] == ["rejected"]
    findings = _findings(campaign, AUG, path.name)
    sheet = [f for f in findings if f["sheet"] == SHEET or f["form"] == FORM]
    assert sheet, findings
    for f in sheet:
        assert f["rule"] == "L-LABEL" or f["rule"].startswith(("L-FINGERPRINT", "M-")), f
        assert not f["rule"].startswith(("V-", "D-", "A-", "N-")), f
    labels = [(f["cell"], f["value"], f["expected"]) for f in sheet if f["rule"] == "L-LABEL"]
    t = [lay.labels[(lay.row_of[k], 1)] for k in TOPICS]
    assert labels == [("A7", "空白", t[0]), ("A8", t[0], t[1]), ("A9", t[1], t[2])]
    assert not [f for f in findings if f["rule"].startswith(("V-", "D-"))]


# -- 7. an unidentifiable file left for next month -------------------------------------
def test_unidentified_file_is_last_months_rejection_only(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    scan = campaign.inbox / "scan.xlsx"
    wb = Workbook()
    wb.active["A1"] = "扫描件"
    wb.save(scan)
    set_received(scan, due_moment(campaign, AUG, -1))
    _put(campaign, "QW001", AUG, _data(campaign, "QW001", AUG), due_moment(campaign, AUG, -1))
    aug = run_period(campaign, AUG)
    assert aug.count("rejected") == 1
    assert [f.rule for f in next(f for f in aug.files if f.name == "scan.xlsx").findings] == [
        "M-NO-META"
    ]
    aug_listed = read_csv(_out(campaign, AUG, "异常清单", ".csv"))
    assert [(r["规则"], r["文件"]) for r in aug_listed if r["规则"] == "M-NO-META"] == [
        ("M-NO-META", "scan.xlsx")
    ]

    _put(campaign, "QW001", SEP, _data(campaign, "QW001", SEP), due_moment(campaign, SEP, -1))
    sep: RunResult = run_period(campaign, SEP)
    assert sep.count("rejected") == 0
    assert sep.count("accepted") == 1
    assert sep.other_periods == 2  # last month's return and the unidentified file
    sep_listed = read_csv(_out(campaign, SEP, "异常清单", ".csv"))
    assert not [r for r in sep_listed if r["文件"] == "scan.xlsx" or r["规则"] == "M-NO-META"]
    assert _records(campaign, SEP)["scan.xlsx"]["period"] == str(AUG)


# -- 8. 报送情况 ---------------------------------------------------------------------------
def test_status_after_a_rejected_correction_and_after_a_rejected_first_file(
    tmp_path: Path,
) -> None:
    campaign = campaign_in(tmp_path)
    lay = grid_layout(campaign)
    # QW001: on time and accepted, then a "correction" days later that is rejected.
    good = _data(campaign, "QW001", AUG)
    on_time = due_moment(campaign, AUG, -1)
    first = _put(campaign, "QW001", AUG, good, on_time, name="QW001_第一次.xlsx")
    bad = _data(campaign, "QW001", AUG, "fix")
    row = _grid(bad)["T2"]
    wrong = {FORM: {("T2", "hazards_total"): row["general_found"] + row["major_found"] + 5}}
    fix = _put(
        campaign,
        "QW001",
        AUG,
        bad,
        due_moment(campaign, AUG, 3),
        name="QW001_更正.xlsx",
        overwrite_formula=wrong,
    )
    # QW002: a rejected file on time, then a valid return two days late.
    garbage = _data(campaign, "QW002", AUG, "garbage")
    _grid(garbage)["T1"]["general_found"] = -1
    rejected = _put(
        campaign, "QW002", AUG, garbage, due_moment(campaign, AUG, -2), name="QW002_错误.xlsx"
    )
    late = _put(
        campaign,
        "QW002",
        AUG,
        _data(campaign, "QW002", AUG),
        due_moment(campaign, AUG, 2),
        name="QW002_补报.xlsx",
    )
    result = run_period(campaign, AUG)
    outcome = {f.name: f.outcome for f in result.files}
    assert outcome == {
        first.name: "accepted",
        fix.name: "rejected",
        rejected.name: "rejected",
        late.name: "accepted",
    }
    assert [f.cell for f in next(f for f in result.files if f.name == fix.name).findings] == [
        lay.cell("T2", "hazards_total")
    ]
    summary, rows = status_rows(_out(campaign, AUG, "报送情况"))
    qw1, qw2 = rows["QW001"], rows["QW002"]
    assert (qw1["报送状态"], qw1["是否按时"], qw1["采用文件"]) == ("已报送", "按时", first.name)
    assert qw1["接收时间"] == on_time.strftime("%Y-%m-%d %H:%M")
    assert qw1["退回或替代的文件"] == f"{fix.name}（已退回）"
    assert (qw2["报送状态"], qw2["是否按时"], qw2["采用文件"]) == (
        "已报送",
        "逾期（2天）",
        late.name,
    )
    assert qw2["退回或替代的文件"] == f"{rejected.name}（已退回）"
    assert summary[1].startswith("已报送2家")
    assert summary[2].startswith("按时1家")
    assert summary[3:] == ["逾期1家", "未报送11家", "已退回待重报0家"]


# -- 9. baseline import errors ---------------------------------------------------------
def _baseline_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["机构代码", "截至月份", "专题专项", "排查整治隐患/一般隐患/排查", "约谈警示"]
        )
        writer.writerows(rows)
    return path


def _baseline_rows(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    db = Ledger(ledger)
    try:
        return len(db.baselines(FORM))
    finally:
        db.close()


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        (
            [["QW001", "2026-07", "T1", 3, ""], ["QW001", "2026-08", "T2", 4, ""]],
            3,
            ("截至月份 2026-08 与第2行的 2026-07 不同；同一单位的基线须截至同一个月",),
        ),
        (
            [["QW000", "2026-07", "T1", 5, 1]],
            2,
            ("排查整治隐患/一般隐患/排查：示例区卫生健康局不填报这一列，请留空",),
        ),
    ],
    ids=["two-months", "bureau-hazards"],
)
def test_baseline_import_errors(
    tmp_path: Path, rows: list[list[object]], line: int, words: tuple[str, ...]
) -> None:
    path = _baseline_csv(tmp_path / "基线.csv", rows)
    ledger = tmp_path / "ledger.sqlite"
    result = invoke("baseline", str(path), ledger=ledger)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("错误：")
    assert f"基线.csv：第{line}行：" in lines[0]
    for w in words:
        assert w in lines[0]
    assert _baseline_rows(ledger) == 0


# -- 10. the cumulative lookup and next month's template -------------------------------
def test_cumulative_lookup_agrees_with_the_totals_and_prefills_the_template(
    tmp_path: Path,
) -> None:
    campaign = campaign_in(tmp_path)
    spec = campaign.form(FORM)
    counts = [m.key for m in spec.inputs]
    model: dict[str, dict[str, float]] = {}  # institution -> measure -> cumulative

    def add(code: str, data: MonthData) -> None:
        for row in counted(_grid(data), code == BUREAU).values():
            for k, v in row.items():
                model.setdefault(code, {})[k] = model.get(code, {}).get(k, 0) + v

    for code in (BUREAU, "QW001", "QW002", "QW003"):
        data = _data(campaign, code, JUL)
        _put(campaign, code, JUL, data, due_moment(campaign, JUL, -1))
        add(code, data)
    run_period(campaign, JUL)
    for code in (BUREAU, "QW001", "QW002"):  # QW003 sends nothing in August
        data = _data(campaign, code, AUG)
        _put(campaign, code, AUG, data, due_moment(campaign, AUG, -1))
        if code == "QW002":  # superseded by a correction received a day later
            fixed = _data(campaign, code, AUG, "fix")
            assert _grid(fixed) != _grid(data)
            _put(campaign, code, AUG, fixed, due_moment(campaign, AUG), name="QW002(1).xlsx")
            data = fixed
        add(code, data)
    result = run_period(campaign, AUG)
    assert result.count("superseded") == 1

    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        prefills = Prefills(campaign, SEP, ledger)

        def lookup(code: str, form: str, through: Period) -> object:
            assert through == AUG
            return prefills.of(campaign.roster().get(code)).get(form, {})  # type: ignore[arg-type]

        rows = campaign.rows_for(spec)
        totals = grid_totals(spec, rows, ledger, campaign.start, AUG)  # type: ignore[arg-type]
        assert set(totals.cumulative_by_inst) == set(model)
        for code in model:
            by_totals = {
                m: sum(totals.cumulative_by_inst[code][(t, m)] or 0 for t in TOPICS) for m in counts
            }
            assert lookup(code, FORM, AUG) == by_totals, code
            hand = {m: model[code].get(m, 0) for m in counts}
            assert by_totals == hand, code
        assert lookup("QW004", FORM, AUG) == {}
        cumulative = {code: lookup(code, FORM, AUG) for code in model}
    finally:
        ledger.close()
    assert any(cumulative["QW001"][m] for m in HAZARD_COUNTS)

    out = tmp_path / "templates"
    made = invoke("templates", "--period", str(SEP), "--out", str(out), ledger=campaign.ledger_path)
    assert made.exit_code == 0, made.output
    lay = grid_layout(campaign)
    for inst in campaign.roster():
        wb = load_workbook(out / template_filename(SEP, inst, campaign.code))
        try:
            ws = wb[SHEET]
            for m in counts:
                n = cumulative.get(inst.code, {}).get(m, 0)
                assert float(n).is_integer()
                want = f"={int(n)}+{lay.cell(MONTH_ROW, m)}"
                assert ws[lay.cell(CUMULATIVE_ROW, m)].value == want, (inst.code, m)
        finally:
            wb.close()


# -- 11. a task list with many added tasks ---------------------------------------------
def test_fifteen_added_tasks_are_all_read_and_the_footer_is_below_them(tmp_path: Path) -> None:
    """An aggregated list whose institutions added 15 tasks naming no group: each its own
    row after the groups, the footer below them, and all read back one level up."""
    campaign = campaign_in(tmp_path)
    layouts = layouts_for(campaign)
    spec = layouts["fujian1"].spec
    rows = campaign.rows_for(spec)
    name = campaign.bureau.name
    added = [
        {
            "item": f"新增任务{n}",
            "content": f"新增内容{n}",
            "progress": f"进展{n}",
            "remark": f"第{n}项新增",
        }
        for n in range(1, 16)
    ]
    totals = ListTotals(spec=cast(ListSpec, spec), period=AUG)
    totals.tasks["1.1"] = [Entry("示例区人民医院", {"progress": "已学习", "outcome": "会议记录"})]
    totals.unclaimed = [Entry("示例区中医院", dict(task)) for task in added]
    content = laid_out(cast(ListSpec, spec), rows, totals)
    wb = build_workbook(
        campaign,
        Reporter(code=BUREAU, name=name, role="bureau"),
        AUG,
        contents={"fujian1": content},
        kind="aggregate",
    )
    path = tmp_path / "附件1.xlsx"
    wb.save(path)

    lay = build_layout(spec, rows, content)
    added_rows = list(range(lay.last_data_row - 14, lay.last_data_row + 1))
    sheet = load_workbook(path)["附件1"]
    col = lay.col_of
    for r, task in zip(added_rows, added, strict=True):
        assert sheet.cell(r, col["item"]).value == task["item"], r
    label_col = lay.footer_cells[0][1]  # the footer's first label (审核人：)
    footer = [
        r for r in range(1, sheet.max_row + 1) if sheet.cell(r, label_col).value == "审核人："
    ]
    assert footer == [added_rows[-1] + 2]

    raw = read_workbook(path, read_bounds(campaign, layouts))
    admin = Institution(code=BUREAU, name=name, level="卫生健康行政部门", role="administration")
    ident = Identity(admin, AUG, [], aggregate=True)
    ext = extract(raw, campaign, ident, layouts, {"file": path.name})
    texts = [t for t in ext.texts if t.form == "fujian1"]
    items = [(t.row_key, t.cell, t.text) for t in texts if t.field == "item"]
    assert items == [
        (f"*#{n}", f"B{r}", task["item"])
        for n, r, task in zip(range(1, 16), added_rows, added, strict=True)
    ]
    by_row = {(t.row_key, t.field): t.text for t in texts}
    for n, task in enumerate(added, start=1):
        for field_key, text in task.items():
            assert by_row[(f"*#{n}", field_key)] == text
        assert by_row[(f"*#{n}", UNIT)] == "示例区中医院"
    assert by_row[("1.1#1", "progress")] == "已学习"
    assert by_row[("1.1#1", UNIT)] == "示例区人民医院"
    assert not [t for t in texts if t.text.startswith(("审核人", "填表人"))]
    assert not [f for f in ext.findings if f.form == spec.id], ext.findings
