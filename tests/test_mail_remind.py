"""``remind``: after the due date, chase who has not reported, against a real SMTP server.

One month (2026-08, due Tuesday 2026-09-01) judged by ``run``: QW002's return is
rejected (a number typed over 排查隐患总数), QW005 and QW011 (no address) sent nothing,
QW012 reported two days late, the bureau QW000 has not filled its own columns yet, the
others reported on time. Only QW002 and QW005 are e-mailed; the rest are listed.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import due_moment, grid_layout, set_received, status_rows
from support.smtp import (
    LocalServer,
    Mailbox,
    attachment,
    body_text,
    campaign_folder,
    parse,
    running,
    template_meta,
)

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.errors import MailError
from pipeline.ledger.store import Ledger
from pipeline.mail.reminders import send_reminders
from pipeline.mail.summary import summary_lines

AUG = Period(2026, 8)
AFTER = dt.datetime(2026, 9, 3, 10, 0)  # two days past the due date
REJECTED, MISSING, LATE, NO_EMAIL, BUREAU = "QW002", "QW005", "QW012", "QW011", "QW000"
CHASED = {"zyy@example-qwj.gov.cn": REJECTED, "dcsq@example-qwj.gov.cn": MISSING}


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the campaign, the inbox and the ledger after ``run`` of 2026-08."""
    base = tmp_path_factory.mktemp("remind")
    path = campaign_folder(base)
    campaign = load_campaign(path)
    campaign.inbox.mkdir()
    for inst in campaign.roster():
        if inst.code in (BUREAU, MISSING, NO_EMAIL):
            continue
        data = random_month(campaign, inst, AUG, random.Random(inst.code))
        overwrite = None
        if inst.code == REJECTED:
            row = data.grid["fujian2"]["T2"]
            wrong = row["general_found"] + row["major_found"] + 3
            overwrite = {"fujian2": {("T2", "hazards_total"): wrong}}
        filled = fill_return(campaign, inst, AUG, campaign.inbox, data, overwrite_formula=overwrite)
        set_received(filled, due_moment(campaign, AUG, 2 if inst.code == LATE else -1))
    result = CliRunner().invoke(cli, ["--campaign", str(path), "run", "--period", str(AUG)])
    assert result.exit_code == 0, result.output
    return base


@pytest.fixture
def folder(judged: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "w"
    shutil.copytree(judged, copy)
    return copy


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def server(mailbox: Mailbox):
    with running(mailbox) as srv:
        yield srv


def _campaign(folder: Path, server: LocalServer | None = None, mail: str = "") -> Campaign:
    return load_campaign(campaign_folder(folder, server, mail=mail))


def _reminded(campaign: Campaign) -> dict[str, object]:
    _, rows = status_rows(campaign.outbox / str(AUG) / f"报送情况_{AUG}.xlsx")
    return {code: row["催报记录"] for code, row in rows.items()}


def test_reminders_go_to_the_missing_and_the_rejected_with_what_is_wrong(
    folder: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    campaign = _campaign(folder, server)
    result = send_reminders(campaign, AUG, send=True, clock=lambda: AFTER)
    assert sorted(a for m in mailbox.arrived for a in m.rcpt_tos) == sorted(CHASED)
    for arrived in mailbox.arrived:
        code = CHASED[arrived.rcpt_tos[0]]
        msg = arrived.message
        body = body_text(msg)
        assert msg["Subject"].startswith("【催报】")
        assert "报送截止日为2026年9月1日，已逾期2天。" in body
        assert "附件是新的空白报表模板" in body
        name, data = attachment(msg)
        meta = template_meta(data)
        assert (meta["institution_code"], meta["period"], meta["kind"]) == (
            code,
            str(AUG),
            "template",
        )
        assert name.endswith(f"_{code}.xlsx")
        if code == REJECTED:
            cell = grid_layout(campaign).cell("T2", "hazards_total")
            assert "报表已退回，请更正后重新报送" in msg["Subject"]
            assert "未通过校验，已退回" in body and "退回原因：" in body
            assert f"1. 附件2!{cell}：" in body and "自动计算的单元格被改写为" in body
            assert "请使用下发的模板重新填写" in body  # advice, addressed to them
            assert "报送单位" not in body
        else:
            assert "截至2026年9月3日，我局尚未收到示例区东城街道社区卫生服务中心" in body
            assert "退回原因" not in body
    lines = summary_lines(result)
    assert "已发送 2 封" in lines
    assert "已报送、无需催报 9 家" in lines
    assert any(f"（{NO_EMAIL}）联系人 郑红" in line for line in lines)
    assert f"示例区卫生健康局（{BUREAU}）：本局自己的报表，不发邮件" in lines
    # 报送情况 is rewritten from the ledger: who was reminded, when, and the result.
    assert result.status_report is not None
    reminded = _reminded(campaign)
    assert reminded[REJECTED] == reminded[MISSING] == "2026-09-03 10:00 已送达"
    assert not any(v for code, v in reminded.items() if code not in (REJECTED, MISSING))
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        records = ledger.sends(str(AUG), "reminder")
    finally:
        ledger.close()
    assert sorted((s.institution, s.result) for s in records) == [
        (REJECTED, "delivered"),
        (MISSING, "delivered"),
    ]


def test_one_reminder_a_day_unless_configured_otherwise(
    folder: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    campaign = _campaign(folder, server)
    send_reminders(campaign, AUG, send=True, clock=lambda: AFTER)
    later = send_reminders(campaign, AUG, send=True, clock=lambda: AFTER + dt.timedelta(hours=5))
    assert len(mailbox.arrived) == 2
    assert not later.delivered and {i.code for i, _ in later.already} == {REJECTED, MISSING}
    assert later.status_report is None  # nothing sent: 报送情况 is left as it was
    next_day = AFTER + dt.timedelta(days=1, hours=-1)
    send_reminders(campaign, AUG, send=True, clock=lambda: next_day)
    assert len(mailbox.arrived) == 4
    assert "已逾期3天" in body_text(mailbox.arrived[-1].message)
    assert _reminded(campaign)[MISSING] == "2026-09-03 10:00 已送达；2026-09-04 09:00 已送达"

    weekly = _campaign(folder, server, mail="remind_every_days = 7")
    for days in (2, 6):
        send_reminders(weekly, AUG, send=True, clock=lambda d=days: next_day + dt.timedelta(d))
        assert len(mailbox.arrived) == 4
    send_reminders(weekly, AUG, send=True, clock=lambda: next_day + dt.timedelta(7))
    assert len(mailbox.arrived) == 6


def test_a_failed_reminder_is_retried_the_same_day(
    folder: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    campaign = _campaign(folder, server)
    mailbox.refuse.add("dcsq@example-qwj.gov.cn")
    first = send_reminders(campaign, AUG, send=True, clock=lambda: AFTER)
    assert [i.code for i, _ in first.failed] == [MISSING]
    assert _reminded(campaign)[MISSING] == "2026-09-03 10:00 发送失败"
    mailbox.refuse.clear()
    retry = send_reminders(campaign, AUG, send=True, clock=lambda: AFTER + dt.timedelta(hours=1))
    assert [i.code for i, _ in retry.delivered] == [MISSING]
    assert {i.code for i, _ in retry.already} == {REJECTED}
    assert _reminded(campaign)[MISSING] == "2026-09-03 10:00 发送失败；2026-09-03 11:00 已送达"
    assert len(mailbox.arrived) == 2


def test_no_reminder_before_the_due_date_has_passed(folder: Path) -> None:
    campaign = _campaign(folder)
    on_due_day = dt.datetime(2026, 9, 1, 17, 0)
    with pytest.raises(MailError, match=r"报送截止日是2026年9月1日，尚未逾期，不发催报.*--force"):
        send_reminders(campaign, AUG, clock=lambda: on_due_day)
    early = send_reminders(campaign, AUG, force=True, clock=lambda: on_due_day)
    assert len(early.written) == 2
    body = body_text(parse(early.written[0].read_bytes()))
    assert "报送截止日为2026年9月1日。" in body and "逾期" not in body


def test_no_reminder_while_the_inbox_holds_files_not_yet_judged(folder: Path) -> None:
    campaign = _campaign(folder)
    arrived = campaign.inbox / "2026-08_示例区东城街道社区卫生服务中心_QW005.xlsx"
    arrived.write_bytes(b"a return that came in after the run")
    with pytest.raises(
        MailError, match=r"收件箱中有1个文件在上次汇总后才放入.*make PERIOD=2026-08"
    ):
        send_reminders(campaign, AUG, clock=lambda: AFTER)
    result = CliRunner().invoke(
        cli, ["--campaign", str(campaign.path), "run", "--period", "2026-08"]
    )
    assert result.exit_code == 0, result.output
    assert len(send_reminders(campaign, AUG, clock=lambda: AFTER).written) == 2


def test_no_reminder_for_a_month_never_run(folder: Path) -> None:
    campaign = _campaign(folder)
    with pytest.raises(MailError, match=r"2026年9月尚未汇总.*make PERIOD=2026-09"):
        send_reminders(campaign, Period(2026, 9), clock=lambda: dt.datetime(2026, 10, 9))


def test_remind_command_dry_run(folder: Path) -> None:
    campaign = campaign_folder(folder)
    status = folder / "outbox" / str(AUG) / f"报送情况_{AUG}.xlsx"
    before = status.read_bytes()
    result = CliRunner().invoke(cli, ["--campaign", str(campaign), "remind", "--period", str(AUG)])
    assert result.exit_code == 0, result.output
    assert "2026年8月催报邮件（试运行，未发送）：已写出 2 封" in result.output
    files = sorted((folder / "outbox" / str(AUG) / "mail").glob("催报_*.eml"))
    assert len(files) == 2
    for path in files:
        msg = parse(path.read_bytes())
        code = CHASED[msg["To"].addresses[0].addr_spec]
        assert template_meta(attachment(msg)[1])["institution_code"] == code
    assert status.read_bytes() == before  # a dry run records nothing
