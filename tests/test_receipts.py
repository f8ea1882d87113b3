"""The loop of issue 13 against real servers: fetch (Dovecot) → run → receipts (aiosmtpd).

Real returns, filled in the templates as institutions fill them, are mailed into a real
IMAP mailbox with an INTERNALDATE before the due date, one message per shape: accepted,
rejected, sent twice (duplicate), corrected (superseded, superseding), two returns in one
zip, and from a personal address not in the roster. They are fetched after the due date,
judged by ``run`` and answered by ``receipts``, all through the CLI; what arrives at the
SMTP server is read back as a mail client would. Nothing here mocks either protocol.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from e2e_support import grid_layout, read_jsonl, status_rows
from openpyxl import load_workbook
from support import letters as L
from support.imap import PASSWORD, USER, Dovecot, dovecot_path, unavailable_reason
from support.smtp import Arrived, Mailbox, attachment, body_text, running, template_meta

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return, with_zeros

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PERIOD = "2026-10"
DUE = dt.date(2026, 11, 2)  # 1 November 2026 is a Sunday
CST = dt.timezone(dt.timedelta(hours=8))  # the bureau's provider stamps Beijing time
BUREAU = "anquan@example-qwj.gov.cn"
PERSONAL = "xiaoyang@qq.example.com"
ZIP = "各院报表.zip"
ZIP_AGAIN = "重发.zip"  # the same zip, sent again
PDF = "扫描件.pdf"  # not a return at all
T1 = "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题"
ADDRESS = {
    "QW001": "rmyy@example-qwj.gov.cn",
    "QW002": "zyy@example-qwj.gov.cn",
    "QW003": "fybj@example-qwj.gov.cn",
    "QW004": "cdc@example-qwj.gov.cn",
    "QW007": "nsz@example-qwj.gov.cn",
    "QW008": "bhz@example-qwj.gov.cn",
}


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=CST)


def shown(when: dt.datetime) -> str:
    """A receipt time as the outputs show it: local time, to the minute."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


# -- servers and the campaign between them ------------------------------------------------
@pytest.fixture(scope="module")
def dovecot_binary() -> str:
    path = dovecot_path()
    if path is None:
        pytest.skip(
            f"DOVECOT NOT AVAILABLE: {unavailable_reason()} -- fetching from a real IMAP "
            "server, and the receipts after it, were NOT checked"
        )
    return path


@dataclass
class Loop:
    """A campaign folder whose [imap] is a Dovecot and whose [smtp] an aiosmtpd."""

    base: Path
    campaign_path: Path
    dovecot: Dovecot
    mailbox: Mailbox
    outputs: dict[str, Result] = field(default_factory=dict)

    def cli(self, *args: str) -> Result:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PIPELINE_IMAP_PASSWORD", PASSWORD)
            result = CliRunner().invoke(cli, ["--campaign", str(self.campaign_path), *args])
        assert result.exit_code == 0, result.output
        return result

    def campaign(self) -> Campaign:
        return load_campaign(self.campaign_path)

    def out(self, stem: str, suffix: str = ".xlsx") -> Path:
        return self.base / "outbox" / PERIOD / f"{stem}_{PERIOD}{suffix}"

    def rows(self, table: str) -> list[dict]:
        db = sqlite3.connect(self.base / "ledger.sqlite")
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(f"SELECT * FROM {table}")]
        finally:
            db.close()

    def eml(self) -> list[Path]:
        return sorted((self.base / "outbox" / PERIOD / "mail").glob("回执_*.eml"))


def make_loop(
    base: Path, dovecot: Dovecot, smtp_port: int, mailbox: Mailbox, mail: str = ""
) -> Loop:
    folder = base / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "private-ca.pem").write_bytes(dovecot.ca_file.read_bytes())
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    text += (
        f'\n[imap]\nhost = "127.0.0.1"\nport = {dovecot.ssl_port}\nsecurity = "ssl"\n'
        f'user = "{USER}"\ntimeout = 10\nca_file = "private-ca.pem"\n'
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = 10\n'
    )
    if mail:
        text += f"\n[mail]\n{mail}\n"
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    (folder / "roster.csv").write_text((EXAMPLES / "roster.csv").read_text("utf-8"), "utf-8")
    return Loop(base, folder / "campaign.toml", dovecot, mailbox)


def filled(
    campaign: Campaign, code: str, found: int, overwrite: float | None = None
) -> tuple[str, bytes]:
    """(file name, bytes) of ``code``'s return: ``found`` general hazards under topic 1,
    two tasks reported; ``overwrite`` is typed over the formula of 排查隐患总数."""
    inst = campaign.roster().get(code)
    assert inst is not None
    grid = {"T1": {"general_found": found, "general_fixed": 3, "major_found": 1, "major_fixed": 0}}
    grid["T4"] = {"general_found": 2, "general_fixed": 2, "major_found": 0, "major_fixed": 0}
    texts = {"1.1": {"progress": "已组织专题学习"}, "2.1": {"progress": "已完成自查"}}
    data = MonthData(grid=with_zeros(campaign, {"fujian2": grid}), texts={"fujian1": texts})
    planted = {"fujian2": {("T1", "hazards_total"): overwrite}} if overwrite is not None else None
    with tempfile.TemporaryDirectory() as folder:
        path = fill_return(
            campaign, inst, Period.parse(PERIOD), Path(folder), data, overwrite_formula=planted
        )
        return path.name, path.read_bytes()


def letter(mid: str, subject: str, files: list[tuple[str, bytes]], sender: str) -> bytes:
    return L.simple(mid, subject, files, sender=sender)


@dataclass
class World:
    loop: Loop
    returns: dict[str, tuple[str, bytes]]
    zip_bytes: bytes
    fetched_mtime: float  # every inbox file's modification time is this or later
    dry_sends: list[dict]
    dry_eml: list[Path]
    first: list[Arrived]  # receipts of the first round
    again: Result  # receipts --send once more, nothing new
    second: list[Arrived]  # after the correction of QW003 arrived


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, dovecot_binary: str) -> Iterator[World]:
    base = tmp_path_factory.mktemp("loop")
    dovecot = Dovecot(dovecot_binary)
    dovecot.start()
    mailbox = Mailbox()
    try:
        with running(mailbox) as smtp:
            yield _world(make_loop(base, dovecot, smtp.port, mailbox))
    finally:
        dovecot.stop()


def _world(loop: Loop) -> World:
    campaign = loop.campaign()
    r = {
        "accepted": filled(campaign, "QW001", 5),
        "rejected": filled(campaign, "QW002", 6, overwrite=99),
        "first": filled(campaign, "QW003", 7),
        "corrected": filled(campaign, "QW003", 8),
        "early": filled(campaign, "QW007", 1),
        "late": filled(campaign, "QW007", 2),
        "zip_a": filled(campaign, "QW004", 3),
        "zip_b": filled(campaign, "QW005", 4),
        "personal": filled(campaign, "QW006", 9),
    }
    zipped = L.zip_of(dict([r["zip_a"], r["zip_b"]]))
    personal = L.message(
        [
            L.text_part("用个人邮箱发送，请查收。"),
            L.file_part(r["personal"][1], L.rfc2231(r["personal"][0])),
        ],
        subject=L.encoded_word("西城社区10月报表", "utf-8"),
        sender=L.encoded_word("小杨", "utf-8") + f" <{PERSONAL}>".encode(),
        message_id="<p@qq>",
    )
    loop.dovecot.append_many(
        [
            (letter("<a1@rmyy>", "人民医院10月报表", [r["accepted"]], ADDRESS["QW001"]), at(1, 10)),
            (letter("<b1@zyy>", "中医院10月报表", [r["rejected"]], ADDRESS["QW002"]), at(1, 11)),
            (letter("<c1@fybj>", "妇幼10月报表", [r["first"]], ADDRESS["QW003"]), at(1, 14)),
            (letter("<d1@nsz>", "南山10月报表", [r["early"]], ADDRESS["QW007"]), at(1, 8)),
            (letter("<d2@nsz>", "南山10月报表（更正）", [r["late"]], ADDRESS["QW007"]), at(2, 8)),
            (letter("<z@cdc>", "疾控和东城的报表", [(ZIP, zipped)], ADDRESS["QW004"]), at(2, 10)),
            (personal, at(2, 15)),
            (
                letter(
                    "<a2@rmyy>", "人民医院10月报表（再发一次）", [r["accepted"]], ADDRESS["QW001"]
                ),
                at(3),
            ),
            (letter("<z2@cdc>", "重发", [(ZIP_AGAIN, zipped)], ADDRESS["QW004"]), at(3, 10)),
            (letter("<b2@zyy>", "中医院10月报表", [r["rejected"]], ADDRESS["QW002"]), at(3, 11)),
            (
                letter("<x@bhz>", "报表", [(PDF, b"%PDF-1.7\n% scanned")], ADDRESS["QW008"]),
                at(2, 9),
            ),
        ]
    )
    loop.cli("fetch")
    # Fetched after the due date: a file's modification time would make every return late.
    inbox = loop.base / "inbox"
    late = dt.datetime.combine(DUE + dt.timedelta(days=20), dt.time(9)).timestamp()
    for path in inbox.iterdir():
        if path.stat().st_mtime < late:
            os.utime(path, (late, late))
    loop.cli("run", "--period", PERIOD)
    loop.outputs["dry"] = loop.cli("receipts", "--period", PERIOD)
    dry_sends, dry_eml = loop.rows("sends"), loop.eml()
    loop.outputs["send"] = loop.cli("receipts", "--period", PERIOD, "--send")
    first = list(loop.mailbox.arrived)
    again = loop.cli("receipts", "--period", PERIOD, "--send")
    assert len(loop.mailbox.arrived) == len(first)
    loop.dovecot.append(
        letter("<c2@fybj>", "妇幼10月报表（更正）", [r["corrected"]], ADDRESS["QW003"]), at(5)
    )
    loop.cli("fetch")
    loop.outputs["run2"] = loop.cli("run", "--period", PERIOD)
    loop.outputs["send2"] = loop.cli("receipts", "--period", PERIOD, "--send")
    second = loop.mailbox.arrived[len(first) :]
    return World(loop, r, zipped, late, dry_sends, dry_eml, first, again, second)


def _by_reply(arrived: list[Arrived]) -> dict[str, list[Arrived]]:
    """Receipts by the Message-ID of the message they answer."""
    out: dict[str, list[Arrived]] = {}
    for a in arrived:
        out.setdefault(a.message["In-Reply-To"], []).append(a)
    return out


def _one(world: World, mid: str) -> tuple[Arrived, str]:
    (arrived,) = _by_reply(world.first + world.second)[mid]
    return arrived, text(arrived)


def text(arrived: Arrived) -> str:
    """The body as a mail client shows it (the message carries CRLF line ends)."""
    return body_text(arrived.message).replace("\r\n", "\n")


# -- received time --------------------------------------------------------------------------
def test_the_received_time_is_the_internaldate_not_the_fetch_time(world: World) -> None:
    loop = world.loop
    mtime = (loop.base / "inbox" / world.returns["accepted"][0]).stat().st_mtime
    assert mtime >= world.fetched_mtime  # fetched 20 days or more after the due date
    _, rows = status_rows(loop.out("报送情况"))
    row = rows["QW001"]
    assert row["接收时间"] == shown(at(1, 10))
    assert row["是否按时"] == "按时"  # by its modification time it would be 20 days late
    assert row["来源邮件"] == f"{ADDRESS['QW001']}，{shown(at(1, 10))}"
    assert rows["QW006"]["来源邮件"] == f"小杨 <{PERSONAL}>，{shown(at(2, 15))}"
    assert rows["QW005"]["来源邮件"] == f"{ADDRESS['QW004']}，{shown(at(2, 10))}"
    assert rows["QW008"]["来源邮件"] is None  # sent nothing
    subs = {s["file_name"]: s for s in loop.rows("submissions")}
    received = at(1, 10).astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
    assert subs[world.returns["accepted"][0]]["received_at"] == received


# -- every file by mail, one receipt --------------------------------------------------------
def test_every_return_that_came_by_mail_gets_exactly_one_receipt(world: World) -> None:
    replies = _by_reply(world.first)
    expected = {
        "<a1@rmyy>": [ADDRESS["QW001"]],
        "<a2@rmyy>": [ADDRESS["QW001"]],
        "<b1@zyy>": [ADDRESS["QW002"]],
        "<b2@zyy>": [ADDRESS["QW002"]],
        "<c1@fybj>": [ADDRESS["QW003"]],
        "<d1@nsz>": [ADDRESS["QW007"]],
        "<d2@nsz>": [ADDRESS["QW007"]],
        "<z@cdc>": [ADDRESS["QW004"]] * 2,  # one per return in the zip
        "<z2@cdc>": [ADDRESS["QW004"]] * 2,  # the same zip again: two duplicates
        "<p@qq>": [PERSONAL],
        "<x@bhz>": [ADDRESS["QW008"]],
    }
    assert {mid: sorted(a.rcpt_tos[0] for a in got) for mid, got in replies.items()} == expected
    for got in world.first:
        msg = got.message
        assert got.mail_from == BUREAU and len(got.rcpt_tos) == 1
        assert msg["To"].addresses[0].addr_spec == got.rcpt_tos[0]
        assert msg["References"] == msg["In-Reply-To"]
        assert msg["Subject"].startswith("【回执】")
        assert "回复您的来信《" in text(got)
    sends = world.loop.rows("sends")
    assert len(sends) == 14 and all(s["kind"] == "receipt" for s in sends)
    assert all(s["result"] == "delivered" for s in sends)
    assert len({s["regarding"] for s in sends}) == 14


def test_an_accepted_return_has_its_figures_read_back(world: World) -> None:
    msg, body = _one(world, "<a1@rmyy>")
    assert (
        msg.message["Subject"]
        == "【回执】安全生产专项整治三年行动2026年10月报表已接收（示例区人民医院）"
    )
    assert "王建国同志：" in body
    assert f"我局于{shown(at(1, 10))}收到示例区人民医院2026年10月报表" in body
    assert "经校验已接收（按时）" in body
    assert "附件2《安全生产专项整治三年行动工作进展情况》" in body
    assert (
        f"  {T1}：一般隐患排查 5处，一般隐患已整改 3处，重大隐患排查 1处，重大隐患已整改 0处"
        in body
    )
    assert "  4.治安消防安全整治：一般隐患排查 2处，一般隐患已整改 2处" in body
    assert (
        "  合计：一般隐患排查 7处，一般隐患已整改 5处，重大隐患排查 1处，重大隐患已整改 0处" in body
    )
    assert "附件1《安全生产专项整治三年行动2026年度重点工作任务清单》\n  填写了 2 行" in body
    assert not list(msg.message.iter_attachments())
    assert "请注意" not in body  # sent from its roster address: nothing to warn of


def test_a_rejected_return_is_told_each_error_and_gets_a_fresh_template(world: World) -> None:
    msg, body = _one(world, "<b1@zyy>")
    subject = msg.message["Subject"]
    assert subject.startswith("【回执】安全生产专项整治三年行动2026年10月报表未通过校验")
    cell = grid_layout(world.loop.campaign()).cell("T1", "hazards_total")
    assert (
        f"1. 附件2!{cell}：{T1}/排查隐患总数：自动计算的单元格被改写为99，按所填数字应为7。" in body
    )
    assert "请使用下发的模板重新填写，不要改动自动计算的单元格。" in body
    name, data = attachment(msg.message)
    assert name == f"{PERIOD}_srzz-2021_示例区中医院_QW002.xlsx"
    meta = template_meta(data)
    assert (meta["institution_code"], meta["period"], meta["kind"]) == ("QW002", PERIOD, "template")
    assert f"附件是新的空白报表模板（{name}）" in body


def test_a_file_that_is_no_return_gets_the_template_of_the_address_it_came_from(
    world: World,
) -> None:
    msg, body = _one(world, "<x@bhz>")
    assert (
        f"黄伟同志：\n\n我局于{shown(at(2, 9))}收到您发来的文件“{PDF}”，未通过校验，已退回。"
        in body
    )
    assert "1. 文件不是 Excel 工作簿（PDF 文件）。请在下发的 .xlsx 模板中填写" in body
    name, data = attachment(msg.message)
    assert name == f"{PERIOD}_srzz-2021_示例区北湖镇卫生院_QW008.xlsx"
    assert template_meta(data)["institution_code"] == "QW008"


def test_a_copy_sent_twice_is_a_duplicate(world: World) -> None:
    msg, body = _one(world, "<a2@rmyy>")
    name = world.returns["accepted"][0]
    assert msg.message["Subject"] == f"【回执】已收到，与此前报送的文件相同（{name}）"
    assert (
        f"与{shown(at(1, 10))}收到的“{name}”内容完全相同，已按重复文件处理，无需再次报送。" in body
    )
    # A rejected file sent again is no report: the receipt says so.
    _, again = _one(world, "<b2@zyy>")
    assert (
        "已按重复文件处理。该文件未通过校验，已退回，请按此前回执中的意见更正后重新报送。" in again
    )


def test_a_correction_supersedes_and_the_earlier_return_is_told(world: World) -> None:
    early, early_body = _one(world, "<d1@nsz>")
    late, late_body = _one(world, "<d2@nsz>")
    early_name, late_name = world.returns["early"][0], world.returns["late"][0]
    saved_late = late_name.replace(".xlsx", " (2).xlsx")  # same name, other bytes
    assert early.message["Subject"] == f"【回执】已收到，已以您随后报送的报表为准（{early_name}）"
    assert f"此后又收到“{saved_late}”（{shown(at(2, 8))}），已以其为准" in early_body
    assert "请核对我局读取到的数字" not in early_body
    assert (
        late.message["Subject"]
        == "【回执】安全生产专项整治三年行动2026年10月更正报表已接收（示例区南山镇卫生院）"
    )
    assert f"本报表已替代此前报送的“{early_name}”" in late_body
    assert f"{T1}：一般隐患排查 2处" in late_body


def test_two_returns_in_one_zip_are_judged_and_answered_one_by_one(world: World) -> None:
    loop = world.loop
    assert (loop.base / "inbox" / ZIP).read_bytes() == world.zip_bytes  # never modified
    files = {
        r["file"]: r for r in read_jsonl(loop.out("校验日志", ".jsonl")) if r["type"] == "file"
    }
    assert files[ZIP]["outcome"] == "unpacked"
    for key, code in (("zip_a", "QW004"), ("zip_b", "QW005")):
        record = files[f"{ZIP}/{world.returns[key][0]}"]
        assert (record["outcome"], record["institution"]) == ("accepted", code)
        assert record["mail_from"] == ADDRESS["QW004"] and record["mail_message_id"] == "<z@cdc>"
    bodies = [text(a) for a in _by_reply(world.first)["<z@cdc>"]]
    for key in ("zip_a", "zip_b"):
        assert sum(f"（文件“{ZIP}/{world.returns[key][0]}”）" in b for b in bodies) == 1
    assert files[ZIP_AGAIN]["outcome"] == "duplicate"
    assert files[ZIP_AGAIN]["note"] == f"与“{ZIP}”内容完全相同"
    for a in _by_reply(world.first)["<z2@cdc>"]:
        assert a.message["Subject"].startswith("【回执】已收到，与此前报送的文件相同（重发.zip/")
        assert f"与{shown(at(2, 10))}收到的“{ZIP}/" in text(a)
    # QW004's address sent QW005's return too: accepted, with a warning.
    warned = next(b for b in bodies if "东城街道" in b)
    assert (
        f"报表由 {ADDRESS['QW004']} 发来，不是名册中本单位的电子邮箱（dcsq@example-qwj.gov.cn）"
        in warned
    )


def test_a_sender_not_in_the_roster_is_a_warning_not_a_rejection(world: World) -> None:
    loop = world.loop
    name = world.returns["personal"][0]
    findings = [
        r
        for r in read_jsonl(loop.out("校验日志", ".jsonl"))
        if r["type"] == "finding" and r["file"] == name
    ]
    (warning,) = [f for f in findings if f["rule"] == "M-SENDER"]
    assert warning["severity"] == "warning" and warning["value"] == PERSONAL
    assert warning["expected"] == "xcsq@example-qwj.gov.cn"
    _, rows = status_rows(loop.out("报送情况"))
    assert rows["QW006"]["报送状态"] == "已报送"
    msg, body = _one(world, "<p@qq>")
    assert msg.rcpt_tos == [PERSONAL]
    assert msg.message["To"].addresses[0].display_name == ""  # a person's, not the hospital's
    assert "经校验已接收（按时）" in body
    assert f"请注意：\n1. 报表由 {PERSONAL} 发来，不是名册中本单位的电子邮箱" in body


def test_the_log_shows_where_each_file_came_from(world: World) -> None:
    loop = world.loop
    files = {
        r["file"]: r for r in read_jsonl(loop.out("校验日志", ".jsonl")) if r["type"] == "file"
    }
    record = files[world.returns["personal"][0]]
    assert record["mail_from"] == PERSONAL and record["mail_from_name"] == "小杨"
    assert record["mail_subject"] == "西城社区10月报表" and record["mail_message_id"] == "<p@qq>"
    assert record["received_at"] == at(2, 15).astimezone().replace(tzinfo=None).isoformat()
    wb = load_workbook(loop.out("校验日志"))
    ws = wb["文件"]
    header = [c.value for c in ws[3]]
    column = header.index("来源邮件")
    shown_rows = {
        row[0].value: row[column].value for row in ws.iter_rows(min_row=4) if row[0].value
    }
    assert shown_rows[world.returns["personal"][0]] == f"小杨 <{PERSONAL}>，{shown(at(2, 15))}"
    wb.close()


# -- dry run, and never twice ---------------------------------------------------------------
def test_the_dry_run_writes_every_receipt_and_records_nothing(world: World) -> None:
    assert world.dry_sends == []
    assert len(world.dry_eml) == 13
    out = world.loop.outputs["dry"].output
    assert "回执邮件（试运行，未发送）：已写出 13 封" in out
    assert f"已退回：{world.returns['rejected'][0]} → {ADDRESS['QW002']}" in out


def test_receipts_are_never_sent_twice(world: World) -> None:
    assert "此前已发送，本次不再发送 13 封" in world.again.output
    assert "已发送 0 封" in world.again.output
    # The correction of QW003, fetched and run later: its one receipt, and nothing else.
    (arrived,) = world.second
    assert arrived.rcpt_tos == [ADDRESS["QW003"]]
    assert arrived.message["In-Reply-To"] == "<c2@fybj>"
    assert f"本报表已替代此前报送的“{world.returns['first'][0]}”" in text(arrived)
    assert "此前已发送，本次不再发送 13 封" in world.loop.outputs["send2"].output


# -- automatic after run ----------------------------------------------------------------------
def test_receipts_auto_are_sent_by_run_once(tmp_path: Path, dovecot_binary: str) -> None:
    dovecot = Dovecot(dovecot_binary)
    dovecot.start()
    mailbox = Mailbox()
    try:
        with running(mailbox) as smtp:
            loop = make_loop(tmp_path, dovecot, smtp.port, mailbox, mail='receipts = "auto"')
            name, data = filled(loop.campaign(), "QW001", 5)
            dovecot.append(letter("<auto@rmyy>", "报表", [(name, data)], ADDRESS["QW001"]), at(1))
            loop.cli("fetch")
            first = loop.cli("run", "--period", PERIOD)
            assert "回执邮件：已写出 1 封" in first.output and "已发送 1 封" in first.output
            (arrived,) = mailbox.arrived
            assert arrived.rcpt_tos == [ADDRESS["QW001"]]
            assert arrived.message["In-Reply-To"] == "<auto@rmyy>"
            again = loop.cli("run", "--period", PERIOD)
            assert "此前已发送，本次不再发送 1 封" in again.output
            assert len(mailbox.arrived) == 1
            assert [s["regarding"] for s in loop.rows("sends")] == ["1"]
    finally:
        dovecot.stop()


def test_receipts_auto_needs_a_server(tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    (folder / "campaign.toml").write_text(text + '\n[mail]\nreceipts = "auto"\n', "utf-8")
    (folder / "roster.csv").write_text((EXAMPLES / "roster.csv").read_text("utf-8"), "utf-8")
    result = CliRunner().invoke(cli, ["--campaign", str(folder / "campaign.toml"), "run"])
    assert result.exit_code == 1
    assert (
        '[mail]：receipts = "auto" 要在每次汇总后发送回执，须先在 [smtp] 中填写 host（邮件服务器）'
        in result.output
    )
    (folder / "campaign.toml").write_text(text + '\n[mail]\nreceipts = "yes"\n', "utf-8")
    result = CliRunner().invoke(cli, ["--campaign", str(folder / "campaign.toml"), "run"])
    assert '[mail]：receipts 须为 "manual" 或 "auto"，现为 "yes"' in result.output


def test_a_receipt_that_failed_is_retried_with_its_message_id(
    tmp_path: Path, dovecot_binary: str
) -> None:
    dovecot = Dovecot(dovecot_binary)
    dovecot.start()
    mailbox = Mailbox(refuse={ADDRESS["QW001"]})
    try:
        with running(mailbox) as smtp:
            loop = make_loop(tmp_path, dovecot, smtp.port, mailbox)
            campaign = loop.campaign()
            one, two = filled(campaign, "QW001", 5), filled(campaign, "QW002", 6)
            dovecot.append_many(
                [
                    (letter("<r1@rmyy>", "报表", [one], ADDRESS["QW001"]), at(1)),
                    (letter("<r2@zyy>", "报表", [two], ADDRESS["QW002"]), at(1, 10)),
                ]
            )
            loop.cli("fetch")
            loop.cli("run", "--period", PERIOD)
            first = loop.cli("receipts", "--period", PERIOD, "--send")
            assert "发送失败 1 封，再次运行时重发" in first.output
            assert [a.rcpt_tos for a in mailbox.arrived] == [[ADDRESS["QW002"]]]
            mailbox.refuse.clear()
            loop.cli("receipts", "--period", PERIOD, "--send")
            assert [a.rcpt_tos for a in mailbox.arrived][1:] == [[ADDRESS["QW001"]]]
            sends = loop.rows("sends")
            failed, retried = [s for s in sends if s["recipients"] == ADDRESS["QW001"]]
            assert (failed["result"], retried["result"]) == ("failed", "delivered")
            assert failed["message_id"] == retried["message_id"]
            assert failed["regarding"] == retried["regarding"]
            assert mailbox.arrived[1].message["Message-ID"] == failed["message_id"]
    finally:
        dovecot.stop()
