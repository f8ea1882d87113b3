"""A workspace of campaigns sharing one inbox, and campaigns of other periods.

- Routing: one inbox holds returns of the shipped workspace's two campaigns (seed 002
  monthly with its registers, seed 000), some inside a zip, a return of a third campaign
  and a spreadsheet that is no form at all. Each return lands in its own campaign's
  outputs and nowhere else; the two strays are rejected once, each with one finding,
  and listed once in the overview, however often the clerk runs.
- Which periods a run collects, and the periods it refuses, said in Chinese.
- A weekly and a quarterly campaign written as data alone, through ``run`` and
  ``remind`` against a real SMTP server: due dates moved by the holidays, the period
  named as clerks write it, the late ones chased.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import ROOT, example_workspace, read_jsonl, set_received
from openpyxl import Workbook, load_workbook
from support.smtp import Mailbox, attachment, body_text, running, template_meta

from pipeline.campaigns import select
from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return, random_month
from pipeline.distribute.templates import Prefills
from pipeline.errors import ConfigError, MailError
from pipeline.ledger.store import Ledger
from pipeline.mail.reminders import send_reminders

JUL = Period(2026, 7)
SRZZ, BZH = "srzz-2021", "aqbzh-2022"


def _workspace(base: Path) -> Workspace:
    return load_workspace(example_workspace(base))


def _cli(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(argv), catch_exceptions=False)
    return result.exit_code, result.output


def _fill(c: Campaign, code: str, period: Period, folder: Path, data: MonthData) -> Path:
    """``code``'s return of ``period`` filled from its template (pre-filled from the ledger)."""
    inst = c.roster().get(code)
    assert inst is not None
    ledger = Ledger(c.ledger_path, c.code)
    try:
        return fill_return(c, inst, period, folder, data, prefills=Prefills(c, period, ledger))
    finally:
        ledger.close()


BZH_ROW = {"stage": "建设中", "red": "0", "orange": "1", "yellow": "2", "blue": "3"}
LISTS = {k: {"built": "否"} for k in ("L1", "L2", "L3", "L4")}


def _bzh(ws: Workspace, code: str, folder: Path) -> Path:
    data = MonthData(texts={"bzh_progress": {"self": BZH_ROW}, "bzh_lists": LISTS})
    return _fill(ws.campaign(BZH), code, JUL, folder, data)


def _srzz(ws: Workspace, code: str, folder: Path) -> Path:
    c = ws.campaign(SRZZ)
    inst = c.roster().get(code)
    assert inst is not None
    return _fill(c, code, JUL, folder, random_month(c, inst, JUL, random.Random(code)))


def _foreign(ws: Workspace, source: Path, out: Path) -> Path:
    """A return of a campaign the workspace does not run (its metadata says so)."""
    wb = load_workbook(source)
    for row in wb["_meta"].iter_rows(min_col=1, max_col=2):
        if row[0].value == "campaign":
            row[1].value = "gwcs-2026"
        elif row[0].value == "campaign_name":
            row[1].value = "国家卫生城市复审"
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("workspace")
    ws = _workspace(base)
    scratch = base / "scratch"
    scratch.mkdir()
    inbox = ws.inbox
    _srzz(ws, "QW001", inbox)
    _srzz(ws, "QW002", inbox)
    _bzh(ws, "QW001", inbox)
    _bzh(ws, "QW003", inbox)
    with zipfile.ZipFile(inbox / "七月报表.zip", "w") as z:  # one of each campaign
        z.write(_bzh(ws, "QW005", scratch), "标准化_东城.xlsx")
        z.write(_srzz(ws, "QW003", scratch), "整治_妇幼.xlsx")
    _foreign(ws, _srzz(ws, "QW006", scratch), inbox / "创卫工作周报_西城.xlsx")
    wb = Workbook()
    wb.active["A1"] = "会议通知回执"
    wb.save(inbox / "回执.xlsx")
    due = dt.datetime(2026, 7, 30, 9)
    for path in inbox.iterdir():
        set_received(path, due)
    code, out = _cli("--workspace", str(ws.path), "run", "--period", "2026-07")
    assert code == 0, out
    return ws


def _log(ws: Workspace, campaign: str) -> list[dict]:
    return read_jsonl(ws.outbox / campaign / "2026-07" / "校验日志_2026-07.jsonl")


def _files(ws: Workspace, campaign: str) -> dict[str, tuple[str, str]]:
    return {
        r["file"]: (r["institution"], r["outcome"])
        for r in _log(ws, campaign)
        if r["type"] == "file"
    }


def _strays(ws: Workspace) -> list[tuple]:
    wb = load_workbook(ws.outbox / "总览.xlsx", read_only=True)
    try:
        rows = [r for r in wb["不属于任何工作的文件"].iter_rows(values_only=True) if any(r)]
    finally:
        wb.close()
    assert rows[1][:2] == ("文件", "原因")
    return rows[2:]


def test_each_return_reaches_its_own_campaign_only(mixed: Workspace) -> None:
    assert _files(mixed, SRZZ) == {
        "2026-07_srzz-2021_示例区人民医院_QW001.xlsx": ("QW001", "accepted"),
        "2026-07_srzz-2021_示例区中医院_QW002.xlsx": ("QW002", "accepted"),
        "七月报表.zip/整治_妇幼.xlsx": ("QW003", "accepted"),
    }
    assert _files(mixed, BZH) == {
        "2026-07_aqbzh-2022_示例区人民医院_QW001.xlsx": ("QW001", "accepted"),
        "2026-07_aqbzh-2022_示例区妇幼保健院_QW003.xlsx": ("QW003", "accepted"),
        "七月报表.zip/标准化_东城.xlsx": ("QW005", "accepted"),
    }


def test_strays_are_rejected_once_with_one_finding_and_listed_once(mixed: Workspace) -> None:
    expected = {"创卫工作周报_西城.xlsx": "M-CAMPAIGN", "回执.xlsx": "M-NO-META"}
    for _ in range(2):  # a second run changes nothing
        strays = _strays(mixed)
        assert sorted(r[0] for r in strays) == sorted(expected)
        assert "国家卫生城市复审" in next(r[1] for r in strays if r[0].startswith("创卫"))
        for campaign in (SRZZ, BZH):
            assert not set(expected) & set(_files(mixed, campaign))
        code, out = _cli("--workspace", str(mixed.path), "run", "--period", "2026-07")
        assert code == 0, out
    db = sqlite3.connect(mixed.ledger_path)
    try:
        rows = db.execute(
            "SELECT file_name, status, campaign FROM submissions WHERE file_name IN (?, ?)",
            tuple(expected),
        ).fetchall()
        findings = db.execute(
            "SELECT f.rule FROM findings f JOIN submissions s ON s.id = f.submission_id"
            " WHERE s.file_name IN (?, ?)",
            tuple(expected),
        ).fetchall()
    finally:
        db.close()
    assert sorted(rows) == sorted((n, "rejected", "") for n in expected)
    assert sorted(r for (r,) in findings) == sorted(expected.values())


def _overview(ws: Workspace) -> dict[str, dict[str, object]]:
    wb = load_workbook(ws.outbox / "总览.xlsx", read_only=True)
    try:
        rows = [r for r in wb["总览"].iter_rows(values_only=True) if any(r)]
    finally:
        wb.close()
    head = list(rows[1])
    return {r[head.index("工作代码")]: dict(zip(head, r, strict=False)) for r in rows[2:]}


def test_the_overview_has_a_line_per_campaign(mixed: Workspace) -> None:
    lines = _overview(mixed)
    assert list(lines) == [SRZZ, BZH, "ccwm-2026", "gdyd-2026"]  # the workspace's order
    assert lines[SRZZ]["报告期"] == lines[BZH]["报告期"] == "2026年7月"
    assert lines[SRZZ]["已报送"] == 3 and lines[BZH]["已报送"] == 3
    assert lines[BZH]["应报"] == 9  # its scope: 机构级别 of the notice
    assert lines[SRZZ]["应报"] == 13  # the whole roster
    assert "示例区中医院" in lines[BZH]["未报送"] and "示例区中医院" not in lines[SRZZ]["未报送"]
    assert lines[BZH]["报送截止"] == "2026-08-05"  # its own due rule: the 5th
    assert lines[SRZZ]["报送截止"] == "2026-08-03"  # the 1st is a Saturday
    assert lines["ccwm-2026"]["报告期"] == "尚未汇总"  # not run yet


def test_a_run_of_one_campaign_keeps_the_others_lines(mixed: Workspace, tmp_path: Path) -> None:
    copy = tmp_path / "w"
    shutil.copytree(mixed.path.parent.parent, copy)
    ws = load_workspace(copy / "examples" / "workspace.toml")
    before = _overview(ws)
    code, out = _cli("--workspace", str(ws.path), "--campaign", BZH, "run", "--period", "2026-08")
    assert code == 0, out
    after = _overview(ws)
    assert after[SRZZ] == before[SRZZ]  # its July, as its last run left it
    assert after[BZH]["报告期"] == "2026年8月" and after[BZH]["已报送"] == 0


def test_outputs_go_to_each_campaigns_folder(mixed: Workspace) -> None:
    for campaign in (SRZZ, BZH):
        folder = mixed.outbox / campaign / "2026-07"
        assert (folder / "汇总表_2026-07.xlsx").exists()
        assert (folder / "报送情况_2026-07.xlsx").exists()
    assert (mixed.outbox / BZH / "2026-07" / "标准化建设进度_2026-07.xlsx").exists()
    assert not (mixed.outbox / SRZZ / "2026-07" / "标准化建设进度_2026-07.xlsx").exists()


def test_one_campaign_run_leaves_the_others_files_waiting(mixed: Workspace, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    _srzz(ws, "QW001", ws.inbox)
    _bzh(ws, "QW001", ws.inbox)
    code, out = _cli("--workspace", str(ws.path), "--campaign", BZH, "run", "--period", "2026-07")
    assert code == 0, out
    assert list(_files(ws, BZH)) == ["2026-07_aqbzh-2022_示例区人民医院_QW001.xlsx"]
    assert not (ws.outbox / SRZZ).exists()
    # The other campaign's file was not judged for good: its own run accepts it.
    code, out = _cli("--workspace", str(ws.path), "--campaign", SRZZ, "run", "--period", "2026-07")
    assert code == 0, out
    assert _files(ws, SRZZ) == {
        "2026-07_srzz-2021_示例区人民医院_QW001.xlsx": ("QW001", "accepted")
    }


# --- which periods a run collects ---------------------------------------------------------


def test_a_run_without_period_collects_each_campaigns_open_periods(mixed: Workspace) -> None:
    # Thursday 6 August: July is complete for the monthly ones; the weekly one collects
    # its running week (due on its Friday); the two-monthly one May–June.
    assert select.for_run(mixed, None, None, dt.date(2026, 8, 6)) == {
        SRZZ: [Period(2026, 7)],
        BZH: [Period(2026, 7)],
        "ccwm-2026": [Period(2026, 32, "week")],
        "gdyd-2026": [Period(2026, 3, "bimonth")],
    }
    assert select.for_run(mixed, BZH, None, dt.date(2026, 9, 6)) == {BZH: [Period(2026, 8)]}
    # Before a campaign's start, nothing of it is due.
    assert select.for_run(mixed, None, None, dt.date(2026, 7, 20)) == {
        "gdyd-2026": [Period(2026, 3, "bimonth")]
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--period", "2026-06"],
            "安全生产专项整治三年行动从2026年7月开始，2026年6月不在其中",
        ),
        (["run", "--period", "2099-01"], "2099年1月还没有开始，不能汇总"),
        (["run", "--period", "2026-Q3"], "没有按季度报送的工作"),
        (["--campaign", BZH, "run", "--period", "2026-W27"], "本工作按月报送，应写作 2026-07"),
        (["--campaign", "nosuch", "run"], "没有代码为“nosuch”的工作"),
        (["templates", "--period", "2026-Q3"], "没有按季度报送的工作"),
        (["supervise", "QW001-9999"], "编号 QW001-9999 不在台账中"),
        (["--campaign", BZH, "supervise", "QW001-0001"], "本工作的报表中没有“挂牌督办”栏目"),
        (["baseline", "examples/roster.csv"], "请用 --campaign 指定其中一项"),
    ],
)
def test_periods_and_campaigns_a_run_refuses(
    mixed: Workspace, argv: list[str], message: str
) -> None:
    before = sorted(p.name for p in mixed.outbox.rglob("*"))
    code, out = _cli("--workspace", str(mixed.path), *argv)
    assert code != 0
    assert message in out, out
    assert "Traceback" not in out
    assert sorted(p.name for p in mixed.outbox.rglob("*")) == before


def test_commands_for_every_campaign_work_on_each_in_turn(mixed: Workspace) -> None:
    code, out = _cli("--workspace", str(mixed.path), "templates", "--period", "2026-07")
    assert code == 0, out
    for campaign, count in ((SRZZ, 13), (BZH, 9)):
        assert f"— {mixed.campaign(campaign).name}（{campaign}）" in out
        assert len(list((mixed.templates_dir / campaign / "2026-07").glob("*.xlsx"))) == count
    # Reminders (a dry run): each campaign's own missing institutions, in its own folder.
    code, out = _cli("--workspace", str(mixed.path), "remind", "--period", "2026-07")
    assert code == 0, out
    chased = {
        c: {p.stem.split("_")[-2] for p in (mixed.outbox / c / "2026-07" / "mail").glob("*.eml")}
        for c in (SRZZ, BZH)
    }
    assert "QW002" in chased[BZH] and "QW002" not in chased[SRZZ]  # it sent 附件 of srzz only
    assert "QW005" not in chased[BZH]  # its return came in the zip


def test_templates_may_be_prepared_for_the_next_period_not_further() -> None:
    c = load_workspace(ROOT / "examples" / "workspace.toml").campaign(BZH)
    today = dt.date(2026, 9, 15)
    assert select.to_prepare(c, None, today) == Period(2026, 8)
    assert select.to_prepare(c, "2026-10", today) == Period(2026, 10)
    with pytest.raises(ConfigError, match="只能准备本期或下一期"):
        select.to_prepare(c, "2026-11", today)


# --- a weekly and a quarterly campaign, written as data, through run and remind -----------

ROSTER = """机构代码,机构名称,机构级别,经济类型,电子邮箱,联系人,联系电话
QW000,示例区卫生健康局,卫生健康行政部门,公立,anquan@example-qwj.gov.cn,尹铁柱,0432-63505907
H1,第一医院,二级医院,公立,h1@example-qwj.gov.cn,甲,1
H2,第二医院,二级医院,公立,h2@example-qwj.gov.cn,乙,2
H3,第三医院,一级医院,公立,h3@example-qwj.gov.cn,丙,3
"""


def _campaign(folder: Path, kind: str, start: str, port: int) -> Campaign:
    folder.mkdir(parents=True)
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "campaign.toml").write_text(
        f"""
[campaign]
name = "标准化建设进展（{kind}）"
code = "bzh-{kind}"
start = "{start}"
period = "{kind}"
forms = ["bzh_progress"]
scope = {{ "机构级别" = ["二级医院", "一级医院"] }}

[bureau]
name = "示例区卫生健康局"
code = "QW000"
contact = "尹铁柱"
phone = "0432-63505907"
email = "anquan@example-qwj.gov.cn"

[paths]
roster = "roster.csv"
ledger = "ledger.sqlite"
inbox = "inbox"
outbox = "outbox"
templates = "form_templates"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 10
""",
        encoding="utf-8",
    )
    return load_campaign(folder / "campaign.toml")


def _returns(c: Campaign, period: Period, before_due: dt.datetime) -> None:
    """H1 reports correctly, H2 with a score over 100 (rejected), H3 not at all."""
    c.inbox.mkdir()
    rows = {
        "H1": {**BZH_ROW, "stage": "已自评", "assessed": "2026-06-01", "score": "88"},
        "H2": {**BZH_ROW, "stage": "已自评", "assessed": "2026-06-01", "score": "120"},
    }
    for code, fields in rows.items():
        data = MonthData(texts={"bzh_progress": {"self": fields}})
        set_received(_fill(c, code, period, c.inbox, data), before_due)


@pytest.mark.parametrize(
    ("kind", "start", "key", "label", "due", "before", "after", "late"),
    [
        # Week 37 (7–13 September), due its Friday, 11 September; chased on Monday 14th.
        (
            "week",
            "2026-W36",
            "2026-W37",
            "2026年第37周（9月7日—9月13日）",
            "2026年9月11日",
            dt.datetime(2026, 9, 10, 9),
            dt.datetime(2026, 9, 14, 10),
            3,
        ),
        # Q3, due 1 October, moved past the National Day holiday to Thursday 8 October.
        (
            "quarter",
            "2026-Q3",
            "2026-Q3",
            "2026年第三季度",
            "2026年10月8日",
            dt.datetime(2026, 9, 30, 9),
            dt.datetime(2026, 10, 12, 10),
            4,
        ),
    ],
)
def test_a_week_and_a_quarter_campaign_through_remind(
    tmp_path: Path,
    kind: str,
    start: str,
    key: str,
    label: str,
    due: str,
    before: dt.datetime,
    after: dt.datetime,
    late: int,
) -> None:
    mailbox = Mailbox()
    with running(mailbox) as server:
        c = _campaign(tmp_path / kind, kind, start, server.port)
        period = c.period(key)
        assert period.label() == label
        _returns(c, period, before)
        code, out = _cli("--campaign", str(c.path), "run", "--period", key)
        assert code == 0, out
        log = read_jsonl(c.outbox / key / f"校验日志_{key}.jsonl")
        assert {r["institution"]: r["outcome"] for r in log if r["type"] == "file"} == {
            "H1": "accepted",
            "H2": "rejected",
        }
        # Not before the due date (the National Day holiday moved the quarter's).
        with pytest.raises(MailError, match=f"{label}报表的报送截止日是{due}，尚未逾期"):
            send_reminders(c, period, send=True, clock=lambda: after - dt.timedelta(days=late))
        result = send_reminders(c, period, send=True, clock=lambda: after)
    assert sorted(i.code for i, _ in result.delivered) == ["H2", "H3"]
    assert sorted(a for m in mailbox.arrived for a in m.rcpt_tos) == [
        "h2@example-qwj.gov.cn",
        "h3@example-qwj.gov.cn",
    ]
    for arrived in mailbox.arrived:
        body = body_text(arrived.message)
        assert label in body or label in arrived.message["Subject"]
        assert f"报送截止日为{due}，已逾期{late}天。" in body
        name, data = attachment(arrived.message)
        assert template_meta(data)["period"] == key
        assert name.startswith(f"{key}_bzh-{kind}_")
    wrong = next(m for m in mailbox.arrived if m.rcpt_tos == ["h2@example-qwj.gov.cn"])
    assert "自评得分" in body_text(wrong.message) and "退回原因" in body_text(wrong.message)
