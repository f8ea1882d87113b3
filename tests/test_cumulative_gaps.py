"""Cumulative totals never silently incomplete, baselines reach the first templates, late
returns of another month reach the clerk, and outputs are readable by others."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.cli import cli
from pipeline.config.calendar import DueRule, Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.distribute.templates import template_filename
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "campaign.toml"
JUL, AUG, SEP = Period(2026, 7), Period(2026, 8), Period(2026, 9)


@pytest.fixture
def campaign(tmp_path: Path) -> Campaign:
    return load_campaign(
        EXAMPLE,
        {
            "inbox": tmp_path / "inbox",
            "outbox": tmp_path / "out",
            "ledger": tmp_path / "ledger.sqlite",
            "templates": tmp_path / "forms",
        },
    )


def _args(campaign: Campaign, *rest: str) -> list[str]:
    return [
        "--campaign",
        str(EXAMPLE),
        "--inbox",
        str(campaign.inbox),
        "--outbox",
        str(campaign.outbox),
        "--ledger",
        str(campaign.ledger_path),
        *rest,
    ]


def _submit(campaign: Campaign, code: str, period: Period, folder: Path, seed: int) -> Path:
    inst = campaign.roster().get(code)
    assert inst is not None
    return fill_return(
        campaign, inst, period, folder, random_month(campaign, inst, period, random.Random(seed))
    )


def _anomalies(campaign: Campaign, period: Period) -> list[dict[str, str]]:
    path = campaign.outbox / str(period) / f"异常清单_{period}.csv"
    with open(path, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_a_month_missing_from_the_cumulative_is_listed(campaign: Campaign) -> None:
    runner = CliRunner()
    for period in (JUL, AUG, SEP):
        folder = campaign.inbox
        for n, code in enumerate(("QW001", "QW002")):
            if not (code == "QW002" and period == AUG):  # QW002 never reports August
                _submit(campaign, code, period, folder, seed=n)
        result = runner.invoke(cli, _args(campaign, "run", "--period", str(period)))
        assert result.exit_code == 0, result.output
    gaps = [r for r in _anomalies(campaign, SEP) if r["规则"] == "A-GAP"]
    by_code = {r["机构代码"]: r for r in gaps}
    assert by_code["QW002"]["填报值"] == "2026-08"
    assert "未含2026-08（未报送）的数据" in by_code["QW002"]["问题"]
    assert "make PERIOD=2026-08" in by_code["QW002"]["处理建议"]
    # institutions that never reported at all lack every earlier month
    assert by_code["QW003"]["填报值"] == "2026-07、2026-08"
    assert "make PERIOD=2026-07" in by_code["QW003"]["处理建议"]
    assert "QW001" not in by_code
    # Said of the cumulative, not of a file or cell: QW002's September return is fine.
    log = campaign.outbox / str(SEP) / f"校验日志_{SEP}.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    said = {r["institution"]: r for r in records if r.get("rule") == "A-GAP"}
    for code, months in (
        ("QW002", "2026-08（未报送）"),
        ("QW003", "2026-07（未报送）、2026-08（未报送）"),
    ):
        r = said[code]
        assert (r["severity"], r["sheet"], r["file"], r["sha256"], r["cell"]) == (
            "warning",
            "附件2",
            "",
            "",
            "",
        ), code
        assert (r["expected"], r["period"], r["form"]) == (months, "2026-09", "fujian2"), code
        assert r["message"] == f"累计总计：未含{months}的数据", code
    assert not [r for r in _anomalies(campaign, JUL) if r["规则"] == "A-GAP"]
    assert not [r for r in _anomalies(campaign, SEP) if r["规则"] == "A-GAP-START"]


def test_a_month_refused_and_not_resent_is_said_so(campaign: Campaign) -> None:
    runner = CliRunner()
    campaign.inbox.mkdir(parents=True)
    inst = campaign.roster().get("QW001")
    assert inst is not None
    for period in (JUL, AUG):
        data = random_month(campaign, inst, period, random.Random(1))
        wrong = {"fujian2": {("T1", "hazards_total"): 999.0}} if period == JUL else None
        fill_return(campaign, inst, period, campaign.inbox, data, overwrite_formula=wrong)
        _submit(campaign, "QW002", period, campaign.inbox, seed=2)  # someone has July
        result = runner.invoke(cli, _args(campaign, "run", "--period", str(period)))
        assert result.exit_code == 0, result.output
    (gap,) = [
        r for r in _anomalies(campaign, AUG) if r["规则"] == "A-GAP" and r["机构代码"] == "QW001"
    ]
    assert "未含2026-07（报表被退回后未重报）的数据" in gap["问题"]


def test_a_district_starting_mid_campaign_gets_one_finding_not_one_per_institution(
    campaign: Campaign,
) -> None:
    """The campaign began in July; this district's first month with the tool is
    September: every institution lacks July and August, said once, with baseline."""
    runner = CliRunner()
    campaign.inbox.mkdir(parents=True)
    for n, code in enumerate(("QW001", "QW002")):
        _submit(campaign, code, SEP, campaign.inbox, seed=n)
    result = runner.invoke(cli, _args(campaign, "run", "--period", str(SEP)))
    assert result.exit_code == 0, result.output
    rows = _anomalies(campaign, SEP)
    assert not [r for r in rows if r["规则"] == "A-GAP"]
    (start,) = [r for r in rows if r["规则"] == "A-GAP-START"]
    assert start["填报值"] == "13" and start["应为"] == "2026-07、2026-08"
    assert "baseline" in start["处理建议"] and "截至2026-08的累计数" in start["处理建议"]
    log = campaign.outbox / str(SEP) / f"校验日志_{SEP}.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    (said,) = [r for r in records if r.get("rule") == "A-GAP-START"]
    assert (said["severity"], said["form"], said["period"], said["institution"]) == (
        "warning",
        "fujian2",
        "2026-09",
        "",
    )
    assert said["message"] == (
        "累计总计：全部13家单位都未含2026-07、2026-08的数据（本工具中没有这几个月的报表）"
    )


def test_baseline_before_the_first_month_reaches_the_first_templates(
    campaign: Campaign, tmp_path: Path
) -> None:
    base = tmp_path / "baseline.csv"
    base.write_text(
        "机构代码,截至月份,专题专项,排查整治隐患/一般隐患/排查,排查整治隐患/一般隐患/已整改\n"
        "QW001,2026-06,1.学习宣传贯彻习近平总书记关于安全生产重要论述专题,7,5\n"
        "QW001,2026-06,T2,4,4\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(cli, _args(campaign, "baseline", str(base))).exit_code == 0
    out = tmp_path / "tpl"
    result = runner.invoke(
        cli, _args(campaign, "templates", "--period", "2026-07", "--out", str(out))
    )
    assert result.exit_code == 0, result.output
    inst = campaign.roster().get("QW001")
    assert inst is not None
    spec = campaign.form("fujian2")
    lay = build_layout(spec, campaign.rows_for(campaign.form("fujian2")))
    ws = load_workbook(out / template_filename(JUL, inst, campaign.code))[spec.sheet]
    month_found = lay.cell(MONTH_ROW, "general_found")
    assert ws[lay.cell(CUMULATIVE_ROW, "general_found")].value == f"=11+{month_found}"
    month_fixed = lay.cell(MONTH_ROW, "general_fixed")
    assert ws[lay.cell(CUMULATIVE_ROW, "general_fixed")].value == f"=9+{month_fixed}"


def test_a_baseline_of_totals_alone_still_covers_its_months(
    campaign: Campaign, tmp_path: Path
) -> None:
    """A district's baseline may give only 排查隐患总数 for an institution: its months are
    still covered (no A-GAP for them); the total without its parts is said (A-SUM)."""
    base = tmp_path / "baseline.csv"
    base.write_text(
        "机构代码,截至月份,专题专项,排查隐患总数\nQW001,2026-07,T1,7\n", encoding="utf-8"
    )
    runner = CliRunner()
    assert runner.invoke(cli, _args(campaign, "baseline", str(base))).exit_code == 0
    for n, code in enumerate(("QW001", "QW002")):
        _submit(campaign, code, AUG, campaign.inbox, seed=n)
    result = runner.invoke(cli, _args(campaign, "run", "--period", str(AUG)))
    assert result.exit_code == 0, result.output
    rows = _anomalies(campaign, AUG)
    gaps = {r["机构代码"]: r for r in rows if r["规则"] == "A-GAP"}
    assert "QW001" not in gaps
    assert "未含2026-07" in gaps["QW002"]["问题"]  # no baseline there: July is missing
    (total,) = [r for r in rows if r["规则"] == "A-SUM"]
    assert (total["机构代码"], total["填报值"], total["应为"]) == ("QW001", "7", "0")


def test_a_return_of_another_month_is_announced_and_listed(campaign: Campaign) -> None:
    _submit(campaign, "QW001", AUG, campaign.inbox, seed=1)
    late = _submit(campaign, "QW002", JUL, campaign.inbox, seed=2)
    result = CliRunner().invoke(cli, _args(campaign, "run", "--period", str(AUG)))
    assert result.exit_code == 0, result.output
    assert "收到 2026-07 的报表（补报或提前报送）：请运行 make PERIOD=2026-07" in result.output
    listed = [r for r in _anomalies(campaign, AUG) if r["规则"] == "M-PERIOD"]
    assert [r["文件"] for r in listed] == [late.name]
    assert "make PERIOD=2026-07" in listed[0]["处理建议"]
    again = CliRunner().invoke(cli, _args(campaign, "run", "--period", str(JUL)))
    assert again.exit_code == 0 and "接收 1" in again.output


def test_outputs_are_readable_by_others(campaign: Campaign) -> None:
    campaign.inbox.mkdir(parents=True)
    old = os.umask(0o022)
    try:
        assert CliRunner().invoke(cli, _args(campaign, "run", "--period", "2026-08")).exit_code == 0
    finally:
        os.umask(old)
    for path in (campaign.outbox / "2026-08").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_fixed_date_holidays_move_the_due_date_where_the_calendar_ends() -> None:
    due, covered = DueRule().due_date(Period(2030, 12))  # 2031-01-01 is a Wednesday
    assert not covered
    assert due == dt.date(2031, 1, 2)
    due, _ = DueRule().due_date(Period(2030, 9))  # 2030-10-01..03, Tue-Thu
    assert due == dt.date(2030, 10, 4)


def test_names_beside_the_footer_reach_the_status_report(campaign: Campaign) -> None:
    path = _submit(campaign, "QW001", AUG, campaign.inbox, seed=4)
    spec = campaign.form("fujian2")
    lay = build_layout(spec, campaign.rows_for(campaign.form("fujian2")))
    wb = load_workbook(path)
    ws = wb[spec.sheet]
    cells = {
        ws.cell(lay.footer_row, col).value: ws.cell(lay.footer_row, col + 1)
        for _, col in lay.footer_cells
    }
    assert set(cells) == {"审核人：", "填表人：", "填报日期："}
    assert all(not cell.protection.locked for cell in cells.values())  # free to sign
    cells["填表人："].value = "王建国"
    cells["审核人："].value = "李主任"
    cells["填报日期："].value = "2026.9.1"  # as a clerk types it
    wb.save(path)
    result = CliRunner().invoke(cli, _args(campaign, "run", "--period", str(AUG)))
    assert result.exit_code == 0, result.output
    status = load_workbook(campaign.outbox / str(AUG) / f"报送情况_{AUG}.xlsx").active
    header = next(r for r in range(1, 10) if status.cell(r, 1).value == "序号")
    names = [c.value for c in status[header]]
    row = next(
        r for r in range(header + 1, status.max_row + 1) if status.cell(r, 2).value == "QW001"
    )
    assert status.cell(row, names.index("填表人") + 1).value == "王建国"
    assert status.cell(row, names.index("审核人") + 1).value == "李主任"
    assert status.cell(row, names.index("填报日期") + 1).value == "2026-09-01"
    assert "填表时间" in names  # 附件1's own, left blank here
