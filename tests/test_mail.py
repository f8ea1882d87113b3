"""``mail``: every institution's form by e-mail, against a real SMTP server on 127.0.0.1.

What arrives is read back as a mail client would: one message per institution with an
address, subject and body decoded, the attachment opened with openpyxl and identified by
its hidden metadata. Reruns send nothing twice; a refused recipient and a connection
dropped mid-batch are recorded and retried without double sending.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.smtp import (
    EXAMPLES,
    LocalServer,
    Mailbox,
    attachment,
    body_text,
    campaign_folder,
    parse,
    password_checker,
    running,
    sends,
    template_meta,
)

from pipeline.campaigns.campaign import load_campaign
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.mail.monthly import mail_forms
from pipeline.mail.postman import Postman

PERIOD = "2026-08"
DUE = "2026年9月1日"  # the 1st of September 2026 is a Tuesday
ROSTER = list(csv.DictReader(io.StringIO((EXAMPLES / "roster.csv").read_text("utf-8"))))
# Everybody with an address but the bureau itself (QW000), which sends the forms.
ADDRESSED = {r["电子邮箱"]: r for r in ROSTER if r["电子邮箱"] and r["机构代码"] != "QW000"}
NO_EMAIL = "QW011"


def mail(campaign: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--campaign", str(campaign), "mail", "--period", PERIOD, *args])


def eml_files(campaign: Path) -> list[Path]:
    return sorted((campaign.parent.parent / "outbox" / PERIOD / "mail").glob("*.eml"))


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def server(mailbox: Mailbox):
    with running(mailbox) as srv:
        yield srv


def _check_arrived(mailbox: Mailbox) -> None:
    """One message per addressed institution, each its own form, readable."""
    assert sorted(a for m in mailbox.arrived for a in m.rcpt_tos) == sorted(ADDRESSED)
    for arrived in mailbox.arrived:
        (address,) = arrived.rcpt_tos
        row = ADDRESSED[address]
        msg = arrived.message
        assert arrived.mail_from == "anquan@example-qwj.gov.cn"
        assert msg["To"].addresses[0].addr_spec == address
        assert msg["To"].addresses[0].display_name == row["机构名称"]
        assert msg["From"].addresses[0].display_name == "示例区卫生健康局"
        subject = msg["Subject"]
        assert "安全生产专项整治三年行动" in subject and "2026年8月" in subject
        assert DUE in subject and row["机构名称"] in subject
        body = body_text(msg)
        for words in (
            f"{row['联系人']}同志",
            "报送截止：2026年9月1日",
            "附件2《安全生产专项整治三年行动工作进展情况》：只填写“排查整治隐患”栏",
            "“工作进展”“成果形式”“备注”",
            "以附件形式回复本邮件",
            "尹铁柱，电话 0432-63505907",
        ):
            assert words in body, (words, body)
        assert msg["Message-ID"] and msg["Date"]
        name, data = attachment(msg)
        assert name == f"{PERIOD}_srzz-2021_{row['机构名称']}_{row['机构代码']}.xlsx"
        meta = template_meta(data)
        assert meta["institution_code"] == row["机构代码"]
        assert meta["institution_name"] == row["机构名称"]
        assert meta["period"] == PERIOD and meta["kind"] == "template"


# -- dry run ---------------------------------------------------------------------------
def test_dry_run_writes_one_eml_per_institution_and_sends_nothing(tmp_path: Path) -> None:
    campaign = campaign_folder(tmp_path)
    result = mail(campaign)
    assert result.exit_code == 0, result.output
    files = eml_files(campaign)
    assert len(files) == len(ADDRESSED) == 11
    assert "试运行，未发送" in result.output and "已写出 11 封" in result.output
    assert "加 --send 发送" in result.output
    # Nobody left out silently: the institution without an address, and the bureau.
    assert "没有电子邮箱、未发邮件 1 家" in result.output
    assert "示例区安泰护理院（QW011）联系人 郑红 电话 0432-63500011" in result.output
    assert "示例区卫生健康局（QW000）：本局自己的报表，不发邮件" in result.output
    seen = set()
    for path in files:
        msg = parse(path.read_bytes())  # the standard library's parser, as a mail client
        address = msg["To"].addresses[0].addr_spec
        seen.add(address)
        name, data = attachment(msg)
        assert name.endswith(f"_{ADDRESSED[address]['机构代码']}.xlsx")
        meta = template_meta(data)
        assert meta["institution_code"] == ADDRESSED[address]["机构代码"]
        assert meta["period"] == PERIOD
        # The attachment is exactly the template written to form_templates/.
        template = tmp_path / "form_templates" / PERIOD / name
        assert template.read_bytes() == data
    assert seen == set(ADDRESSED)
    assert sends(campaign) == []  # a dry run is not a send


def test_dry_run_uses_an_existing_template_as_it_is(tmp_path: Path) -> None:
    campaign = campaign_folder(tmp_path)
    templates = CliRunner().invoke(
        cli, ["--campaign", str(campaign), "templates", "--period", PERIOD]
    )
    assert templates.exit_code == 0, templates.output
    before = {p.name: p.read_bytes() for p in (tmp_path / "form_templates" / PERIOD).iterdir()}
    assert mail(campaign).exit_code == 0
    for path in eml_files(campaign):
        name, data = attachment(parse(path.read_bytes()))
        assert before[name] == data


def test_raw_message_is_ascii_with_rfc2231_file_name(tmp_path: Path) -> None:
    campaign = campaign_folder(tmp_path)
    assert mail(campaign).exit_code == 0
    raw = next(p for p in eml_files(campaign) if "QW001" in p.name).read_bytes()
    assert raw.isascii()  # 7-bit: any server and client
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "Subject: =?utf-8?" in head
    assert "Message-ID: <" in head and "@example-qwj.gov.cn>" in head
    assert "Date: " in head
    assert "filename*0*=utf-8''2026-08_srzz-2021_%E7%A4%BA%E4%BE%8B" in raw.decode()  # 示例
    name, _ = attachment(parse(raw))
    assert name == "2026-08_srzz-2021_示例区人民医院_QW001.xlsx"


# -- sending ---------------------------------------------------------------------------
def test_send_delivers_one_message_per_institution_and_a_rerun_sends_nothing(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    campaign = campaign_folder(tmp_path, server)
    result = mail(campaign, "--send")
    assert result.exit_code == 0, result.output
    assert "已发送 11 封" in result.output
    assert len(mailbox.arrived) == 11
    _check_arrived(mailbox)
    records = sends(campaign)
    assert [r["result"] for r in records] == ["delivered"] * 11
    by_id = {r["message_id"]: r for r in records}
    for arrived in mailbox.arrived:
        msg = arrived.message
        record = by_id[msg["Message-ID"]]
        assert record["recipients"] == arrived.rcpt_tos[0]
        assert record["kind"] == "monthly" and record["period"] == PERIOD
        assert record["attachment"] == attachment(msg)[0]
        assert record["subject"] == msg["Subject"]
        assert record["error"] == ""
    # The .eml written is byte for byte what the server received.
    written = {parse(p.read_bytes())["Message-ID"]: p.read_bytes() for p in eml_files(campaign)}
    for arrived in mailbox.arrived:
        assert written[arrived.message["Message-ID"]].rstrip(b"\r\n") == arrived.raw.rstrip(b"\r\n")

    again = mail(campaign, "--send")
    assert again.exit_code == 0, again.output
    assert len(mailbox.arrived) == 11
    assert "已发送 0 封" in again.output and "此前已发送，本次不再发送 11 家" in again.output
    assert len(sends(campaign)) == 11
    dry = mail(campaign)  # nor does a dry run write them again
    assert "已写出 0 封" in dry.output


def test_refused_recipient_is_recorded_and_retried(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    refused = "rmyy@example-qwj.gov.cn"  # QW001
    mailbox.refuse.add(refused)
    campaign = campaign_folder(tmp_path, server)
    result = mail(campaign, "--send")
    assert result.exit_code == 0, result.output
    assert "已发送 10 封" in result.output and "发送失败 1 封，再次运行时重发" in result.output
    assert "示例区人民医院（QW001）：收件人被拒绝：rmyy@example-qwj.gov.cn（550 5.1.1" in (
        result.output
    )
    assert len(mailbox.arrived) == 10 and not mailbox.to(refused)
    failed = [r for r in sends(campaign) if r["result"] == "failed"]
    assert [(r["institution"], r["recipients"]) for r in failed] == [("QW001", refused)]
    assert "550" in failed[0]["error"]

    mailbox.refuse.clear()  # the mailbox was fixed
    retry = mail(campaign, "--send")
    assert retry.exit_code == 0, retry.output
    assert "已发送 1 封" in retry.output
    assert len(mailbox.arrived) == 11
    _check_arrived(mailbox)
    (arrived,) = mailbox.to(refused)
    # Same Message-ID as the failed attempt: one message, tried twice.
    assert arrived.message["Message-ID"] == failed[0]["message_id"]
    results = [(r["institution"], r["result"]) for r in sends(campaign)]
    assert results.count(("QW001", "delivered")) == 1 and len(results) == 12


def test_connection_dropped_midway_is_resumed_without_double_sending(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    mailbox.drop_on.add(4)  # the 4th message: the server hangs up before answering
    campaign = campaign_folder(tmp_path, server)
    result = mail(campaign, "--send")
    assert result.exit_code == 0, result.output
    assert "已发送 10 封" in result.output and "连接中断" in result.output
    assert len(mailbox.arrived) == 10  # reconnected and went on after the drop
    failed = [r for r in sends(campaign) if r["result"] == "failed"]
    assert len(failed) == 1 and "连接中断" in failed[0]["error"]

    retry = mail(campaign, "--send")
    assert retry.exit_code == 0, retry.output
    assert "已发送 1 封" in retry.output and "此前已发送，本次不再发送 10 家" in retry.output
    assert len(mailbox.arrived) == 11
    _check_arrived(mailbox)  # each institution exactly once


def test_server_going_away_stops_the_batch_and_the_next_run_finishes_it(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    mailbox.drop_on.update({3, 4})  # two drops in a row: the batch stops
    campaign = campaign_folder(tmp_path, server)
    result = mail(campaign, "--send")
    assert result.exit_code == 1
    assert "连接连续2次中断，已停止发送" in result.output
    assert "已发送 2 封" in result.output and "未发送 7 封" in result.output
    assert len(mailbox.arrived) == 2
    records = sends(campaign)
    assert [r["result"] for r in records] == ["delivered", "delivered", "failed", "failed"]

    retry = mail(campaign, "--send")
    assert retry.exit_code == 0, retry.output
    assert "已发送 9 封" in retry.output
    _check_arrived(mailbox)


def test_killed_between_delivery_and_record_resends_with_the_same_message_id(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one window a ledger cannot close: the server took the message and the tool
    died before recording it. The attempt stays 'pending'; the next run sends it again
    under the same Message-ID, so the recipient's mail client shows it once."""
    real_send = Postman.send
    calls = []

    def killed_after_third(self: Postman, *args: object) -> object:
        outcome = real_send(self, *args)  # type: ignore[arg-type]
        calls.append(outcome)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or the machine going down
        return outcome

    campaign = campaign_folder(tmp_path, server)
    with monkeypatch.context() as patch:
        patch.setattr(Postman, "send", killed_after_third)
        with pytest.raises(KeyboardInterrupt):
            mail_forms(load_campaign(campaign), Period.parse(PERIOD), send=True)
    records = sends(campaign)
    assert [r["result"] for r in records] == ["delivered", "delivered", "pending"]
    assert len(mailbox.arrived) == 3

    retry = mail(campaign, "--send")
    assert retry.exit_code == 0, retry.output
    assert "已发送 9 封" in retry.output
    ids = [m.message["Message-ID"] for m in mailbox.arrived]
    assert len(ids) == 12 and len(set(ids)) == 11
    assert ids.count(records[2]["message_id"]) == 2


def test_unreachable_server_stops_with_one_line_and_records_nothing(tmp_path: Path) -> None:
    with running(Mailbox()) as srv:
        campaign = campaign_folder(tmp_path, srv)
    # The server is stopped: its port refuses connections.
    result = mail(campaign, "--send")
    assert result.exit_code == 1
    assert "无法连接邮件服务器 127.0.0.1:" in result.output
    assert "其余邮件未发送，再次运行时继续发送" in result.output
    assert sends(campaign) == []


def test_pause_between_messages(tmp_path: Path, mailbox: Mailbox, server: LocalServer) -> None:
    path = campaign_folder(tmp_path, server, mail="pause_seconds = 2.5")
    campaign = load_campaign(path)
    pauses: list[float] = []
    result = mail_forms(campaign, Period.parse(PERIOD), send=True, sleep=pauses.append)
    assert len(result.delivered) == 11
    assert pauses == [2.5] * 10  # between messages, not before the first


def test_login_with_the_password_from_the_environment(
    tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = password_checker("anquan", "Sq-123!x")
    with running(mailbox, authenticator=checker, auth_require_tls=False) as srv:
        smtp = 'user = "anquan"\npassword_env = "TEST_SMTP_PASSWORD"'
        campaign = campaign_folder(tmp_path, srv, smtp=smtp)
        monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
        missing = mail(campaign, "--send")
        assert missing.exit_code == 1
        assert "未设置环境变量 TEST_SMTP_PASSWORD" in missing.output
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        wrong = mail(campaign, "--send")
        assert wrong.exit_code == 1 and "拒绝登录" in wrong.output
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "授权码")
        chinese = mail(campaign, "--send")
        assert chinese.exit_code == 1 and "含有中文等非英文字符" in chinese.output
        assert not mailbox.arrived and sends(campaign) == []
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "Sq-123!x")
        ok = mail(campaign, "--send")
    assert ok.exit_code == 0, ok.output
    assert len(mailbox.arrived) == 11


def test_starttls_refused_by_a_server_without_it(tmp_path: Path, server: LocalServer) -> None:
    campaign = campaign_folder(tmp_path, server)
    text = campaign.read_text("utf-8").replace('security = "none"', 'security = "starttls"')
    campaign.write_text(text, "utf-8")
    result = mail(campaign, "--send")
    assert result.exit_code == 1
    assert "不支持 STARTTLS" in result.output


def test_send_without_a_server_in_the_campaign_file(tmp_path: Path) -> None:
    campaign = campaign_folder(tmp_path)
    result = mail(campaign, "--send")
    assert result.exit_code == 1
    assert "未设置邮件服务器（[smtp] host）" in result.output
    assert eml_files(campaign) == []


# -- roster rows that must not become a message ----------------------------------------
def _roster(rows: dict[str, dict[str, str]]) -> str:
    """The example roster with some rows' fields replaced."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ROSTER[0]), lineterminator="\n")
    writer.writeheader()
    for row in ROSTER:
        writer.writerow({**row, **rows.get(row["机构代码"], {})})
    return out.getvalue()


def test_header_injection_in_the_roster_is_refused_naming_the_row(
    tmp_path: Path, mailbox: Mailbox, server: LocalServer
) -> None:
    roster = _roster(
        {
            "QW002": {"机构名称": "示例区中医院\nBcc: victim@evil.example"},
            "QW003": {"电子邮箱": "fybj@example-qwj.gov.cn\r\nBcc: victim@evil.example"},
            "QW004": {"联系人": "刘志强\x1b"},
            "QW005": {"电子邮箱": "dcsq at example-qwj.gov.cn"},
            "QW006": {"电子邮箱": "xcsq＠example-qwj．gov.cn；xcsq2@example-qwj.gov.cn"},
        }
    )
    campaign = campaign_folder(tmp_path, server, roster=roster)
    result = mail(campaign, "--send")
    assert result.exit_code == 0, result.output
    assert "名册有误、未生成邮件 4 家" in result.output
    # Row numbers as Excel shows them (a quoted line break does not start a new row).
    assert (
        "名册第4行（QW002 示例区中医院\\u000aBcc: victim@evil.example）："
        "“机构名称”含有换行符（示例区中医院\\u000aBcc: victim@evil.example），"
        "可能被用来伪造邮件头，未生成邮件；请修改名册"
    ) in result.output
    assert "\nBcc" not in result.output  # shown, never echoed raw
    for line, code, words in (
        (5, "QW003", "“电子邮箱”含有换行符"),
        (6, "QW004", "“联系人”含有控制字符"),
        (7, "QW005", "电子邮箱“dcsq at example-qwj.gov.cn”中“dcsq”不是有效的邮箱地址"),
    ):
        assert f"名册第{line}行（{code} " in result.output, code
        assert words in result.output, words
    assert not any("evil" in a for m in mailbox.arrived for a in m.rcpt_tos)
    assert not any(b"evil" in m.raw for m in mailbox.arrived)
    codes = {p.name.rsplit("_", 1)[1][:-4] for p in eml_files(campaign)}
    assert codes.isdisjoint({"QW002", "QW003", "QW004", "QW005"})
    assert len(mailbox.arrived) == 7  # the others went on
    # Full-width ＠ and ． as typed by an input method, and two addresses in one cell.
    (two,) = [m for m in mailbox.arrived if "xcsq2@example-qwj.gov.cn" in m.rcpt_tos]
    assert two.rcpt_tos == ["xcsq@example-qwj.gov.cn", "xcsq2@example-qwj.gov.cn"]


def test_run_still_refuses_a_roster_with_a_line_break(tmp_path: Path) -> None:
    """Only the mail commands refuse the row alone; the monthly run refuses the roster."""
    roster = _roster({"QW002": {"机构名称": "示例区中医院\nBcc: x@evil.example"}})
    campaign = campaign_folder(tmp_path, roster=roster)
    result = CliRunner().invoke(cli, ["--campaign", str(campaign), "run", "--period", PERIOD])
    assert result.exit_code == 1
    assert "第4行：“机构名称”中有换行" in result.output
