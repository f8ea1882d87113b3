"""Three months of the real cycle through the CLI, checked against figures computed by hand.

The example roster (13 institutions, the bureau QW000 among them) reports 2026-07 (the
campaign's first month), 2026-08 and 2026-09 as real xlsx files in one inbox folder per
month. What happens along the way:

- 2026-07: QW009 is late; QW003 types full-width digits and units (accepted, N-NORMALISED);
  an Excel owner file ``~$lock.xlsx`` (skipped) and a copy of QW001's return under
  another name (duplicate) lie in the inbox.
- 2026-08: QW005 sends nothing; QW011 is late; QW002 sends a return, then a corrected one
  (later mtime, a name that sorts first): the first is superseded; QW004 types a number
  over 排查隐患总数 (rejected, D-OVERWRITTEN at 附件2!F8); QW010 unprotects the sheet and
  types into the bureau's 约谈警示 and 成立检查组 columns (V-NOT-YOURS, not counted).
- 2026-09: everybody on time; QW012 uses every typing habit at once.

Every figure of 附件2 is then recomputed in plain Python from the MonthData that was
written (tests/e2e_support.py) and compared with the 汇总表, month by month. A second ledger
starts from an imported baseline through 2026-07 and replays the same inboxes.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from e2e_support import (
    BUREAU_COUNTS,
    COUNTS,
    FORM,
    HAZARD_COUNTS,
    MEASURES,
    ROWS,
    SHEET,
    TOPICS,
    Grid,
    ModelPrefills,
    campaign_in,
    counted,
    due_moment,
    expected_table,
    fingerprint,
    grid_layout,
    invoke,
    ledger_counts,
    mismatches,
    outbox_snapshot,
    read_csv,
    read_jsonl,
    read_table,
    run_cli,
    set_received,
    status_rows,
)
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, coordinate_to_tuple

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import HABITS, MonthData, fill_return, random_month
from pipeline.distribute.templates import template_filename
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.layout import Layout

JUL, AUG, SEP = Period(2026, 7), Period(2026, 8), Period(2026, 9)
PERIODS = (JUL, AUG, SEP)
BUREAU = "QW000"
LATE = {JUL: ("QW009", 2), AUG: ("QW011", 1)}  # institution, days after the due date
MISSING = {AUG: "QW005"}
HABIT_FILES = {JUL: ("QW003", frozenset({"fullwidth", "unit"})), SEP: ("QW012", frozenset(HABITS))}
RESUBMIT = (AUG, "QW002")
PLANTED = (AUG, "QW004")
PLANTED_CELL = ("T2", "hazards_total")
NOT_YOURS = (AUG, "QW010")
NOT_YOURS_CELLS = {("T1", "interviews"): 3, ("T3", "groups_formed"): 2}
DUPLICATE = (JUL, "QW001")
LOCK_FILE = "~$lock.xlsx"


@dataclass
class Sent:
    """One file put in an inbox, and what must become of it."""

    name: str
    period: Period
    institution: str
    outcome: str  # accepted / rejected / superseded / duplicate / skipped
    received: dt.datetime | None = None
    data: MonthData | None = None


@dataclass
class World:
    campaign: Campaign
    lay: Layout
    base: Path
    ledger: Path
    inboxes: dict[Period, Path]
    sent: dict[Period, list[Sent]]
    # period -> institution -> what of its current accepted return counts
    current: dict[Period, dict[str, Grid]]
    first: dict[Period, Result] = field(default_factory=dict)
    second: dict[Period, Result] = field(default_factory=dict)
    outputs: Path = Path()  # copy of the outbox after the first run of each month
    rerun_outputs: Path = Path()
    inbox_before: dict = field(default_factory=dict)
    inbox_after: dict = field(default_factory=dict)
    ledger_before: dict = field(default_factory=dict)
    ledger_after: dict = field(default_factory=dict)

    def out(self, period: Period, stem: str, suffix: str = ".xlsx") -> Path:
        return self.outputs / str(period) / f"{stem}_{period}{suffix}"

    def since_start(self, period: Period) -> list[Grid]:
        return [g for p in PERIODS if p <= period for g in self.current[p].values()]

    def file_of(self, period: Period, code: str, outcome: str = "accepted") -> Sent:
        return next(
            s
            for s in self.sent[period]
            if s.institution == code and s.outcome == outcome and s.data is not None
        )


def _build(base: Path, campaign: Campaign) -> World:
    roster = campaign.roster()
    assert roster.get(BUREAU).role == "bureau" and len(roster) == 13  # type: ignore[union-attr]
    assert tuple(t.key for t in campaign.rows_for(campaign.form("fujian2"))) == TOPICS
    world = World(campaign, grid_layout(campaign), base, base / "ledger.sqlite", {}, {}, {})

    def cumulative(code: str, form: str, through: Period) -> dict[str, float]:
        """Last months' 累计 pre-filled in the template, from the test's own model."""
        out: dict[str, float] = defaultdict(float)
        for p in PERIODS:
            if p <= through and code in world.current.get(p, {}):
                for row in world.current[p][code].values():
                    for k, v in row.items():
                        out[k] += v
        return dict(out)

    for period in PERIODS:
        inbox = base / "inbox" / str(period)
        inbox.mkdir(parents=True)
        world.inboxes[period] = inbox
        sent: list[Sent] = []
        current: dict[str, Grid] = {}
        for n, inst in enumerate(roster):
            key = (period, inst.code)
            if MISSING.get(period) == inst.code:
                continue
            data = random_month(campaign, inst, period, random.Random(f"{period}/{inst.code}"))
            grid = data.grid[FORM]
            habits = (
                HABIT_FILES[period][1]
                if HABIT_FILES.get(period, ("",))[0] == inst.code
                else frozenset()
            )
            overwrite = None
            outcome = "accepted"
            if key == PLANTED:
                row = grid[PLANTED_CELL[0]]
                wrong = row["general_found"] + row["major_found"] + 3
                overwrite = {FORM: {PLANTED_CELL: wrong}}
                outcome = "rejected"
            if key == NOT_YOURS:
                for (topic, measure), value in NOT_YOURS_CELLS.items():
                    grid[topic][measure] = value
            received = due_moment(campaign, period, days=-1, hour=9) + dt.timedelta(minutes=n)
            if LATE.get(period, ("",))[0] == inst.code:
                received = due_moment(campaign, period, days=LATE[period][1], hour=9)
            path = fill_return(
                campaign,
                inst,
                period,
                inbox,
                data,
                habits=habits,
                overwrite_formula=overwrite,
                prefills=ModelPrefills(cumulative, period),
            )
            if key == RESUBMIT:
                # The first version, then a corrected one received later, saved by the mail
                # client as "…(1).xlsx" (which sorts before the first: order of receipt,
                # not of names, decides).
                earlier = received - dt.timedelta(days=3)
                set_received(path, earlier)
                sent.append(Sent(path.name, period, inst.code, "superseded", earlier, data))
                data = random_month(campaign, inst, period, random.Random(f"{period}/fix"))
                assert data.grid[FORM] != grid
                scratch = base / "scratch"
                prefills = ModelPrefills(cumulative, period)
                first = fill_return(campaign, inst, period, scratch, data, prefills=prefills)
                path = inbox / f"{path.stem}(1).xlsx"
                shutil.move(first, path)
                assert (
                    sorted([path.name, template_filename(period, inst, campaign.code)])[0]
                    == path.name
                )
            set_received(path, received)
            sent.append(Sent(path.name, period, inst.code, outcome, received, data))
            if outcome == "accepted":
                current[inst.code] = counted(data.grid[FORM], inst.code == BUREAU)
            if key == DUPLICATE:
                copy = inbox / f"副本_{path.name}"
                shutil.copyfile(path, copy)
                set_received(copy, received + dt.timedelta(hours=1))
                sent.append(Sent(copy.name, period, inst.code, "duplicate", received, None))
        if period == JUL:
            (inbox / LOCK_FILE).write_bytes(b"\x05lock" + bytes(160))
            sent.append(Sent(LOCK_FILE, period, "", "skipped"))
        world.sent[period] = sent
        world.current[period] = current
    return world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("e2e")
    campaign = campaign_in(base)
    w = _build(base, campaign)
    paths = {"outbox": base / "outbox", "ledger": w.ledger}
    w.inbox_before = {p: fingerprint(w.inboxes[p]) for p in PERIODS}
    for period in PERIODS:
        w.first[period] = run_cli(str(period), inbox=w.inboxes[period], **paths)
    w.outputs = base / "outputs-first-run"
    shutil.copytree(base / "outbox", w.outputs)
    w.ledger_before = ledger_counts(w.ledger)
    for period in PERIODS:  # every month again, after the later months are in the ledger
        w.second[period] = run_cli(str(period), inbox=w.inboxes[period], **paths)
    w.rerun_outputs = base / "outbox"
    w.ledger_after = ledger_counts(w.ledger)
    w.inbox_after = {p: fingerprint(w.inboxes[p]) for p in PERIODS}
    return w


def _file_records(world: World, period: Period) -> list[dict]:
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    return [r for r in log if r["type"] == "file"]


def _findings(world: World, period: Period, name: str) -> list[dict]:
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    return [r for r in log if r["type"] == "finding" and r["file"] == name]


# -- what the clerk sees on the console ------------------------------------------------
def test_console_summary(world: World) -> None:
    expected = {
        JUL: "文件 15 个：接收 13，退回 0，重复 1，被替代 0，跳过 1",
        AUG: "文件 13 个：接收 11，退回 1，重复 0，被替代 1，跳过 0",
        SEP: "文件 13 个：接收 13，退回 0，重复 0，被替代 0，跳过 0",
    }
    for period, line in expected.items():
        assert line in world.first[period].output
        assert line in world.second[period].output  # a rerun judges nothing anew
    # QW004 (rejected, to resubmit) and QW005 (nothing sent) are chased.
    aug = world.first[AUG].output
    assert "未报送或待重报 2 家：示例区疾病预防控制中心、示例区东城街道社区卫生服务中心" in aug
    assert "未报送或待重报 0 家" in world.first[JUL].output


# -- the figures -----------------------------------------------------------------------
@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_every_figure_equals_the_hand_computed_one(world: World, period: Period) -> None:
    month = list(world.current[period].values())
    expected = expected_table(month, world.since_start(period))
    actual = read_table(world.out(period, "汇总表"), world.lay)
    assert len(expected) == len(ROWS) * len(MEASURES) == 7 * 16
    assert mismatches(actual, expected, world.lay) == []
    # The scenario exercises what it should: figures, blank rates, rates over 100.
    assert expected[(MONTH_ROW, "general_found")] > 0
    assert any(expected[(t, "major_rate")] is None for t in TOPICS)


def test_cumulative_adds_up_over_the_months(world: World) -> None:
    jul, aug, sep = (read_table(world.out(p, "汇总表"), world.lay) for p in PERIODS)
    for m in (*COUNTS, "problems_total", "hazards_total"):
        assert jul[(CUMULATIVE_ROW, m)] == jul[(MONTH_ROW, m)]  # the campaign starts in July
        assert aug[(CUMULATIVE_ROW, m)] == jul[(MONTH_ROW, m)] + aug[(MONTH_ROW, m)]
        assert sep[(CUMULATIVE_ROW, m)] == aug[(CUMULATIVE_ROW, m)] + sep[(MONTH_ROW, m)]


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_headline_of_the_summary(world: World, period: Period) -> None:
    wb = load_workbook(world.out(period, "汇总表"))
    ws = wb[SHEET]
    texts = [str(c.value) for row in ws.iter_rows(max_row=2) for c in row if c.value]
    assert "填报单位：示例区卫生健康局" in texts
    assert f"报告期：{period.year}年{period.month}月" in texts
    assert wb.sheetnames == ["填报说明", "附件1", "附件2", "_meta"]


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_bureau_columns_are_the_bureaus_own_figures(world: World, period: Period) -> None:
    bureau = world.file_of(period, BUREAU).data
    assert bureau is not None
    grid = bureau.grid[FORM]
    actual = read_table(world.out(period, "汇总表"), world.lay)
    for t in TOPICS:
        for m in BUREAU_COUNTS:
            assert actual[(t, m)] == grid[t][m], (t, m)
        assert actual[(t, "problems_total")] == sum(
            grid[t][k] for k in ("problems_province", "problems_city", "problems_county")
        )
    for m in BUREAU_COUNTS:
        assert actual[(MONTH_ROW, m)] == sum(grid[t][m] for t in TOPICS)


def test_bureau_column_typed_by_an_institution_is_warned_and_not_counted(world: World) -> None:
    period, code = NOT_YOURS
    sent = world.file_of(period, code)
    findings = _findings(world, period, sent.name)
    warned = {f["cell"]: f for f in findings if f["rule"] == "V-NOT-YOURS"}
    cells = {world.lay.cell(*k): v for k, v in NOT_YOURS_CELLS.items()}
    assert set(warned) == set(cells)
    for cell, value in cells.items():
        assert warned[cell]["severity"] == "warning"
        assert warned[cell]["sheet"] == SHEET and warned[cell]["value"] == str(value)
    records = {r["file"]: r for r in _file_records(world, period)}
    assert records[sent.name]["outcome"] == "accepted"
    bureau = world.file_of(period, BUREAU).data
    assert bureau is not None
    actual = read_table(world.out(period, "汇总表"), world.lay)
    for (topic, measure), _value in NOT_YOURS_CELLS.items():
        assert actual[(topic, measure)] == bureau.grid[FORM][topic][measure]
    listed = [
        r for r in read_csv(world.out(period, "异常清单", ".csv")) if r["规则"] == "V-NOT-YOURS"
    ]
    assert {r["单元格"] for r in listed} == set(cells)
    assert all(r["机构代码"] == code and r["严重程度"] == "警告" for r in listed)


# -- files and their outcomes ----------------------------------------------------------
@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_log_has_one_record_per_inbox_file(world: World, period: Period) -> None:
    records = _file_records(world, period)
    names = sorted(p.name for p in world.inboxes[period].iterdir())
    assert sorted(r["file"] for r in records) == names
    expected = {s.name: s.outcome for s in world.sent[period]}
    assert {r["file"]: r["outcome"] for r in records} == expected
    header = read_jsonl(world.out(period, "校验日志", ".jsonl"))[0]
    assert header["type"] == "run" and header["files_seen"] == len(names)
    assert header["due"] == world.campaign.due.due_date(period)[0].isoformat()
    for r in records:
        sent = next(s for s in world.sent[period] if s.name == r["file"])
        if r["outcome"] != "skipped":
            assert r["institution"] == sent.institution and r["period"] == str(period)
        if r["outcome"] in ("accepted", "rejected", "superseded"):
            assert r["received_at"] == sent.received.isoformat(timespec="seconds")  # type: ignore[union-attr]
        if r["outcome"] == "accepted":  # no accepted file carries an error
            errors = [f for f in _findings(world, period, r["file"]) if f["severity"] == "error"]
            assert errors == []
    # The xlsx view of the log lists the same files.
    wb = load_workbook(world.out(period, "校验日志"))
    listed = [row[0].value for row in wb["文件"].iter_rows(min_row=4) if row[0].value]
    assert sorted(listed) == names


def test_skipped_lock_file_and_duplicate_copy(world: World) -> None:
    records = {r["file"]: r for r in _file_records(world, JUL)}
    assert records[LOCK_FILE]["outcome"] == "skipped" and records[LOCK_FILE]["note"]
    original = world.file_of(*DUPLICATE)
    copy = f"副本_{original.name}"
    assert records[copy]["outcome"] == "duplicate"
    assert original.name in records[copy]["note"]
    assert records[copy]["sha256"] == records[original.name]["sha256"]
    assert records[original.name]["outcome"] == "accepted"


@pytest.mark.parametrize("period", list(HABIT_FILES), ids=str)
def test_typing_habits_are_read_and_logged(world: World, period: Period) -> None:
    code, habits = HABIT_FILES[period]
    sent = world.file_of(period, code)
    assert sent.data is not None
    records = {r["file"]: r for r in _file_records(world, period)}
    assert records[sent.name]["outcome"] == "accepted"
    findings = _findings(world, period, sent.name)
    normalised = {f["cell"]: f for f in findings if f["rule"] == "N-NORMALISED"}
    # Every non-zero count was typed with a habit; each one is logged as read.
    typed = {
        world.lay.cell(t, m): v
        for t, row in sent.data.grid[FORM].items()
        for m, v in row.items()
        if v
    }
    assert set(normalised) == set(typed)
    for cell, value in typed.items():
        f = normalised[cell]
        assert f["severity"] == "info" and f["sheet"] == SHEET and f["expected"] == str(value)
        assert f["value"] != str(value) or "text" in habits
    if "fullwidth" in habits:
        assert any(any("０" <= ch <= "９" for ch in f["value"]) for f in normalised.values())
    if "unit" in habits:
        assert any(f["value"].endswith("处") for f in normalised.values())
    # Info findings are not anomalies: the list stays free of them.
    listed = read_csv(world.out(period, "异常清单", ".csv"))
    assert not [r for r in listed if r["规则"] == "N-NORMALISED"]


def test_planted_arithmetic_error_is_rejected_with_the_cell(world: World) -> None:
    period, code = PLANTED
    sent = next(s for s in world.sent[period] if s.institution == code)
    assert sent.outcome == "rejected" and sent.data is not None
    row = sent.data.grid[FORM][PLANTED_CELL[0]]
    right = row["general_found"] + row["major_found"]
    cell = world.lay.cell(*PLANTED_CELL)
    assert cell == "F8"  # 排查隐患总数 of topic 2, as the clerk sees it in Excel
    errors = [f for f in _findings(world, period, sent.name) if f["severity"] == "error"]
    assert [(f["rule"], f["sheet"], f["cell"]) for f in errors] == [("D-OVERWRITTEN", SHEET, cell)]
    assert errors[0]["value"] == str(right + 3) and errors[0]["expected"] == str(right)
    listed = [
        r for r in read_csv(world.out(period, "异常清单", ".csv")) if r["规则"] == "D-OVERWRITTEN"
    ]
    assert len(listed) == 1
    r = listed[0]
    assert (r["机构代码"], r["文件"], r["工作表"], r["单元格"]) == (code, sent.name, SHEET, cell)
    assert (r["填报值"], r["应为"]) == (str(right + 3), str(right))
    assert r["严重程度"] == "错误（退回）" and "排查隐患总数" in r["问题"]
    # The rejected return counts nowhere: no trace comes from it.
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    assert not [t for t in log if t["type"] == "trace" and t["source_file"] == sent.name]


def test_resubmission_supersedes_the_first_return(world: World) -> None:
    period, code = RESUBMIT
    first = world.file_of(period, code, "superseded")
    second = world.file_of(period, code, "accepted")
    assert first.data is not None and second.data is not None
    records = {r["file"]: r for r in _file_records(world, period)}
    assert records[first.name]["outcome"] == "superseded"
    assert second.name in records[first.name]["note"]
    assert records[second.name]["outcome"] == "accepted"
    assert world.current[period][code] == counted(second.data.grid[FORM], False)
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    traced = {
        t["source_file"]
        for t in log
        if t["type"] == "trace" and t["institution"] == code and t["source_period"] == str(period)
    }
    assert traced == {second.name}


# -- submission status -----------------------------------------------------------------
@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_status_report(world: World, period: Period) -> None:
    summary, rows = status_rows(world.out(period, "报送情况"))
    due = world.campaign.due.due_date(period)[0]
    assert len(rows) == 13
    for code, row in rows.items():
        mine = [s for s in world.sent[period] if s.institution == code and s.data is not None]
        if MISSING.get(period) == code:
            assert row["报送状态"] == "未报送" and not row["采用文件"]
            assert row["是否按时"] == ("已过截止日" if dt.date.today() > due else "")
            continue
        assert mine, code
        if (period, code) == PLANTED:
            assert row["报送状态"] == "已退回，待重报" and not row["采用文件"]
            assert f"{mine[0].name}（已退回）" in row["退回或替代的文件"]
            continue
        used = next(s for s in mine if s.outcome == "accepted")
        assert row["采用文件"] == used.name
        assert row["接收时间"] == used.received.strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
        if (period, code) == RESUBMIT:
            assert row["报送状态"] == "已报送（已更正）"
            first = next(s for s in mine if s.outcome == "superseded")
            assert row["退回或替代的文件"] == f"{first.name}（已替代）"
        else:
            assert row["报送状态"] == "已报送" and not row["退回或替代的文件"]
        if LATE.get(period, ("",))[0] == code:
            assert row["是否按时"] == f"逾期（{LATE[period][1]}天）"
        else:
            assert row["是否按时"] == "按时"
    late = 1 if period in LATE else 0
    missing = 1 if period in MISSING else 0
    rejected = 1 if period == PLANTED[0] else 0
    reported = 13 - missing - rejected
    assert summary[0] == "应报13家"
    assert summary[1].startswith(f"已报送{reported}家")
    assert summary[2].startswith(f"按时{reported - late}家")
    assert summary[3:] == [f"逾期{late}家", f"未报送{missing}家", f"已退回待重报{rejected}家"]


# -- audit trail -----------------------------------------------------------------------
def _column(cell: str) -> str:
    return "".join(ch for ch in cell if ch.isalpha())


def _check_traces(world: World, period: Period, log: list[dict], table: dict) -> int:
    """Every trace names a current return's cell holding its value; groups sum to figures."""
    by_cell: dict[str, list[dict]] = defaultdict(list)
    for t in (r for r in log if r["type"] == "trace"):
        by_cell[t["cell"]].append(t)
    where = {world.lay.cell(r, m): (r, m) for r in ROWS for m in MEASURES}
    for cell, traces in by_cell.items():
        row, measure = where[cell]
        assert measure in COUNTS, cell
        assert {t["figure"] for t in traces} == {table[(row, measure)]}
        assert sum(t["value"] for t in traces) == pytest.approx(table[(row, measure)])
        for t in traces:
            assert t["sheet"] == SHEET and t["source_sheet"] == SHEET
            assert t["output"] == f"汇总表_{period}.xlsx"
            src_period = Period.parse(t["source_period"])
            if row == CUMULATIVE_ROW:
                assert JUL <= src_period <= period
            else:
                assert src_period == period
            src_row = coordinate_to_tuple(t["source_cell"])[0]
            src_key = next(k for k in TOPICS if world.lay.row_of[k] == src_row)
            src_measure = where[t["source_cell"]][1]
            assert src_measure == measure
            assert t["value"] == world.current[src_period][t["institution"]][src_key][measure]
            used = world.file_of(src_period, t["institution"])
            assert t["source_file"] == used.name
            assert _column(t["source_cell"]) == _column(cell)
            if row not in (MONTH_ROW, CUMULATIVE_ROW):
                assert src_key == row
    # Every non-zero count of the sheet has its sources.
    for (row, measure), value in table.items():
        if measure in COUNTS and value:
            assert world.lay.cell(row, measure) in by_cell, (row, measure)
    return sum(len(v) for v in by_cell.values())


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_trace_records_add_up_to_their_output_cell(world: World, period: Period) -> None:
    log = read_jsonl(world.out(period, "校验日志", ".jsonl"))
    table = read_table(world.out(period, "汇总表"), world.lay)
    assert _check_traces(world, period, log, table) > 0
    derived = [r for r in log if r["type"] == "derived"]
    assert {r["cell"] for r in derived} == {
        world.lay.cell(r, m) for r in ROWS for m in MEASURES if m not in COUNTS
    }


# -- reruns and the inbox --------------------------------------------------------------
def test_rerun_changes_nothing(world: World) -> None:
    assert world.ledger_after == world.ledger_before
    subs = world.ledger_before["submissions"]
    assert subs == {"accepted": 37, "rejected": 1, "superseded": 1}
    for period in PERIODS:
        first = outbox_snapshot(world.outputs / str(period))
        again = outbox_snapshot(world.rerun_outputs / str(period))
        assert (
            sorted(first)
            == sorted(again)
            == sorted(
                f"{stem}_{period}{suffix}"
                for stem, suffix in (
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
            )
        )
        for name in first:
            assert again[name] == first[name], name


def test_inbox_is_never_modified(world: World) -> None:
    assert world.inbox_after == world.inbox_before
    for period in PERIODS:
        assert len(world.inbox_before[period]) == len(world.sent[period])


def test_outbox_has_no_leftover_temporary_files(world: World) -> None:
    for period in PERIODS:
        names = [p.name for p in (world.rerun_outputs / str(period)).iterdir()]
        assert not [n for n in names if n.startswith(".") or n.endswith(".part")]


# -- baseline for a district adopting the tool mid-campaign ----------------------------
BASELINE_COLUMNS = {
    "排查整治隐患/一般隐患/排查": "general_found",
    "排查整治隐患/一般隐患/已整改": "general_fixed",
    "排查整治隐患/重大隐患/排查": "major_found",
    "排查整治隐患/重大隐患/已整改": "major_fixed",
    "发现突出问题（卫生健康行政部门层面）/省级卫生健康部门": "problems_province",
    "发现突出问题（卫生健康行政部门层面）/市级卫生健康部门": "problems_city",
    "发现突出问题（卫生健康行政部门层面）/县级卫生健康部门": "problems_county",
    "开展督导检查/成立检查组": "groups_formed",
    "开展督导检查/督导检查次数": "inspections",
    "开展督导检查/检查单位": "units_inspected",
    "开展督导检查/督导问题": "inspection_problems",
    "约谈警示": "interviews",
}
BASELINED = ("QW001", "QW002", "QW004")  # institutions: the bureau reports no hazards
# 专题专项 may be the row label, its key, or the annex's misprint of topic 3.
TOPIC_CELLS = {
    "T1": "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题",
    "T2": "T2",
    "T3": "3.危险化品安全整治",
    "T4": "4.治安消防安全整治",
    "T5": "T5",
}


@dataclass
class BaselineWorld:
    outbox: Path
    baseline: dict[str, dict[str, dict[str, int]]]  # institution -> topic -> measure -> value
    output: str


@pytest.fixture(scope="module")
def baselined(world: World, tmp_path_factory: pytest.TempPathFactory) -> BaselineWorld:
    base = tmp_path_factory.mktemp("baseline")
    rng = random.Random(2021)
    baseline: dict[str, dict[str, dict[str, int]]] = {}
    path = base / "基线_截至2026-07.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["机构代码", "截至月份", "专题专项", *BASELINE_COLUMNS])
        for code in BASELINED:
            keys = COUNTS if code == BUREAU else HAZARD_COUNTS
            baseline[code] = {}
            for topic in TOPICS:
                values = {k: rng.randint(0, 40) for k in keys}
                baseline[code][topic] = values
                cells = [values.get(k, "") for k in BASELINE_COLUMNS.values()]
                writer.writerow([code, "2026-07", TOPIC_CELLS[topic], *cells])
    paths = {"outbox": base / "outbox", "ledger": base / "ledger.sqlite"}
    result = invoke("baseline", str(path), **paths)
    assert result.exit_code == 0, result.output
    for period in PERIODS:
        run_cli(str(period), inbox=world.inboxes[period], **paths)
    return BaselineWorld(base / "outbox", baseline, result.output)


def test_baseline_import_message(baselined: BaselineWorld) -> None:
    values = len(TOPICS) * len(BASELINED) * len(HAZARD_COUNTS)
    assert f"已导入 3 家机构的基线累计数（{values} 个数值）" in baselined.output


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_cumulative_is_baseline_plus_later_months(
    world: World, baselined: BaselineWorld, period: Period
) -> None:
    since: list[Grid] = []
    for code in world.current[JUL]:
        # A baseline through July is the cumulative through July: it replaces July and
        # before in every 累计总计 from July's own on (July's month rows still come from
        # the July returns), as in the next month's prefilled templates.
        first = JUL
        if code in BASELINED:
            since.append(baselined.baseline[code])
            first = AUG
        months = [p for p in PERIODS if first <= p <= period]
        since.extend(world.current[p][code] for p in months if code in world.current[p])
    month = list(world.current[period].values())
    expected = expected_table(month, since)
    summary = baselined.outbox / str(period) / f"汇总表_{period}.xlsx"
    actual = read_table(summary, world.lay)
    assert mismatches(actual, expected, world.lay) == []
    # the baseline replaces July and before of those institutions, nothing else
    key = (CUMULATIVE_ROW, "general_found")
    plain = expected_table(month, world.since_start(period))[key]
    base = sum(baselined.baseline[c][t]["general_found"] for c in BASELINED for t in TOPICS)
    july = sum(world.current[JUL][c][t]["general_found"] for c in BASELINED for t in TOPICS)
    assert base != july
    assert actual[key] == plain - july + base
    log = read_jsonl(baselined.outbox / str(period) / f"校验日志_{period}.jsonl")
    traces = [t for t in log if t["type"] == "trace" and t["row"] == "累计总计"]
    for measure in COUNTS:
        cell = world.lay.cell(CUMULATIVE_ROW, measure)
        mine = [t for t in traces if t["cell"] == cell]
        assert sum(t["value"] for t in mine) == pytest.approx(actual[(CUMULATIVE_ROW, measure)])
        from_baseline = [t for t in mine if t["source_sheet"] == "基线"]
        # the baselined institutions report hazards only; the bureau's columns have none
        assert bool(from_baseline) == (measure in HAZARD_COUNTS)


def test_baseline_columns_parse(world: World) -> None:
    """The test's own column names are the form's full headers (排查整治隐患/一般隐患/排查)."""
    spec = world.campaign.form("fujian2")
    labels = {m.label: m.key for m in spec.measures if m.kind == "count"}
    assert labels == BASELINE_COLUMNS
    assert column_index_from_string(world.lay.cell("T1", "general_found")[0]) == 7


def test_cleaned_inbox_loses_nothing(world: World, tmp_path: Path) -> None:
    """The ledger is the store of record: a run over an empty inbox writes the same sheet."""
    empty = tmp_path / "inbox"
    empty.mkdir()
    outbox = tmp_path / "outbox"
    result = run_cli(str(SEP), inbox=empty, outbox=outbox, ledger=world.ledger)
    assert "文件 0 个" in result.output
    again = read_table(outbox / str(SEP) / f"汇总表_{SEP}.xlsx", world.lay)
    assert again == read_table(world.out(SEP, "汇总表"), world.lay)
    _, rows = status_rows(outbox / str(SEP) / f"报送情况_{SEP}.xlsx")
    assert {code for code, row in rows.items() if row["报送状态"] == "已报送"} == set(
        world.current[SEP]
    )


def test_copy_saved_after_the_due_date_does_not_make_a_return_late(tmp_path: Path) -> None:
    """The same attachment saved twice: on time, and again days later as "… - 副本.xlsx"
    (a name that sorts first). The return was received on time; the copy is the duplicate.
    """
    campaign = campaign_in(tmp_path)
    inst = campaign.roster().get("QW001")
    assert inst is not None
    data = random_month(campaign, inst, JUL, random.Random(1))
    path = fill_return(campaign, inst, JUL, campaign.inbox, data)
    on_time = due_moment(campaign, JUL, days=-1)
    set_received(path, on_time)
    copy = path.with_name(f"{path.stem} - 副本.xlsx")
    shutil.copyfile(path, copy)
    set_received(copy, due_moment(campaign, JUL, days=5))
    run_cli(str(JUL), inbox=campaign.inbox, outbox=campaign.outbox, ledger=campaign.ledger_path)
    folder = campaign.outbox / str(JUL)
    records = {
        r["file"]: r for r in read_jsonl(folder / f"校验日志_{JUL}.jsonl") if r["type"] == "file"
    }
    _, rows = status_rows(folder / f"报送情况_{JUL}.xlsx")
    assert rows["QW001"]["是否按时"] == "按时"
    assert rows["QW001"]["接收时间"] == on_time.strftime("%Y-%m-%d %H:%M")
    assert records[path.name]["outcome"] == "accepted"
    assert records[copy.name]["outcome"] == "duplicate"


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_detail_workbook_lists_each_current_returns_hazard_counts(
    world: World, period: Period
) -> None:
    """汇总明细: one row per institution and topic, each column's month as filed."""
    spec = world.campaign.form(FORM)
    topic_of = {t.label: t.key for t in world.campaign.rows_for(world.campaign.form("fujian2"))}
    wb = load_workbook(world.out(period, "汇总明细"), read_only=True)
    try:
        rows = list(wb[f"{SHEET}明细"].iter_rows(min_row=3, values_only=True))
    finally:
        wb.close()
    header = [str(h) for h in rows[0]]
    assert header[:3] == ["机构代码", "机构名称", "专题专项"]
    col_of = {
        m: next(i for i, h in enumerate(header) if h.startswith(f"当月：{spec.measure(m).label}"))
        for m in HAZARD_COUNTS
    }
    month = {
        (str(row[0]), topic_of[str(row[2])]): {m: row[col_of[m]] for m in HAZARD_COUNTS}
        for row in rows[1:]
        if row[0] != BUREAU and any(row[col_of[m]] is not None for m in HAZARD_COUNTS)
    }  # an institution without a return this month is listed for its cumulative only
    expected = {
        (code, t): {m: grid[t][m] for m in HAZARD_COUNTS}
        for code, grid in world.current[period].items()
        if code != BUREAU
        for t in TOPICS
    }
    assert month == expected
