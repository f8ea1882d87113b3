"""The mail loop of ``make demo``, on servers of its own on 127.0.0.1: the bureau mails
one month's forms (SMTP), institutions answer with their filled returns into the bureau's
mailbox (IMAP), the clerk fetches them, runs the month and sends every sender a receipt.

The servers are the test tools the project already installs: aiosmtpd (SMTP, in this
process) and pymap (a pure-Python IMAP server with in-memory mailboxes, a child process).
The campaign is the workspace's, with its ``[smtp]`` and ``[imap]`` pointed at them for
the loop only; nothing is written into the workspace's files. Where a server cannot be
started the loop says why and how to try the same by hand (README: *Mail loop on your
own machine*), and the rest of the demo stands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import imaplib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace
from pipeline.config.calendar import Period
from pipeline.config.imap import ImapConfig
from pipeline.config.mail import SmtpConfig
from pipeline.demo.filler import fill_return, random_month
from pipeline.distribute.templates import Prefills
from pipeline.ledger.store import Ledger

PASSWORD_ENV = "PIPELINE_DEMO_IMAP_PASSWORD"
PASSWORD = "demo-only-password"
REPLIES = ("QW001", "QW002", "QW003", "QW005", "QW007", "QW008")
WRONG = "QW003"  # types a number over a formula: its receipt says what to correct
HOW_TO = "可按 README“Mail loop on your own machine”一节手工尝试：启动本地邮件服务器后在工作区文件中填写 [smtp] 和 [imap]。"

Echo = Callable[[str], object]


class _Outbox:
    """aiosmtpd's handler: every message the bureau sends, kept."""

    def __init__(self) -> None:
        self.arrived: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def _servers(user: str) -> Iterator[tuple[_Outbox, int, int]]:
    from aiosmtpd.controller import Controller

    outbox = _Outbox()
    smtp = Controller(outbox, hostname="127.0.0.1", port=_free_port())
    imap_port = _free_port()
    command = [
        *(sys.executable, "-c", "import sys; from pymap.main import main; sys.exit(main())"),
        *("--host", "127.0.0.1", "--port", str(imap_port), "--no-tls"),
        *("dict", "--demo-user", user, "--demo-password", PASSWORD),
    ]
    with tempfile.TemporaryFile() as log:
        imap = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        smtp.start()
        try:
            if not _wait(imap_port):
                log.seek(0)
                said = log.read()[-300:].decode(errors="replace")
                raise RuntimeError(f"IMAP 服务器未能启动：{said}")
            yield outbox, smtp.port, imap_port
        finally:
            smtp.stop()
            imap.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                imap.wait(5)
            if imap.poll() is None:
                imap.kill()


def _reply(to_bureau: str, inst_email: str, subject: str, name: str, data: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = inst_email
    msg["To"] = to_bureau
    msg["Subject"] = f"回复：{subject}"
    msg.set_content("附件是本单位的报表，请查收。")
    msg.add_attachment(
        data,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
    )
    return msg.as_bytes(policy=SMTP_POLICY)


def run_loop(ws: Workspace, echo: Echo) -> None:
    """One more month of the work-safety campaign, entirely by mail."""
    srzz = ws.campaign("srzz-2021")
    period = srzz.start.shift(3)
    bureau = srzz.bureau.email
    echo("")
    echo(f"== {period.label()}：邮件往返（本机临时邮件服务器）==")
    try:
        import aiosmtpd  # noqa: F401
        import pymap  # noqa: F401
    except ImportError as exc:
        echo(f"未安装演示用的邮件服务器（{exc.name}），跳过邮件往返演示。{HOW_TO}")
        return
    try:
        with _servers(bureau) as (outbox, smtp_port, imap_port):
            loop = replace(
                srzz,
                mail=replace(
                    srzz.mail, smtp=SmtpConfig(host="127.0.0.1", port=smtp_port, security="none")
                ),
                imap=ImapConfig(
                    host="127.0.0.1",
                    user=bureau,
                    port=imap_port,
                    security="none",
                    password_env=PASSWORD_ENV,
                ),
            )
            os.environ[PASSWORD_ENV] = PASSWORD
            _loop(ws, loop, period, outbox, imap_port, echo)
    except Exception as exc:  # a server that will not start must not spoil the demo
        echo(f"邮件往返演示未能完成：{exc}。{HOW_TO}")


def _loop(
    ws: Workspace, c: Campaign, period: Period, outbox: _Outbox, imap_port: int, echo: Echo
) -> None:
    from pipeline.intake.fetch_summary import summary_lines as fetched
    from pipeline.intake.mailbox import fetch_returns
    from pipeline.mail.monthly import mail_forms
    from pipeline.mail.receipts import send_receipts
    from pipeline.run import run_workspace

    sent = mail_forms(c, period, send=True)
    echo(
        f"本局发出报表邮件 {len(sent.delivered)} 封（SMTP 127.0.0.1，本机演示服务器收到 {len(outbox.arrived)} 封）"
    )
    due, _ = c.due.due_date(period)
    roster = c.roster()
    ledger = Ledger(c.ledger_path, c.code)
    box = imaplib.IMAP4("127.0.0.1", imap_port)
    try:
        box.login(c.bureau.email, PASSWORD)
        prefills = Prefills(c, period, ledger)
        rng = random.Random(f"mail-loop/{period}")
        with tempfile.TemporaryDirectory(prefix="demo-replies-") as scratch:
            for n, code in enumerate(REPLIES):
                inst = roster.get(code)
                forms = [m for to, m in outbox.arrived if inst and inst.email in to]
                if inst is None or not forms:
                    continue
                subject = str(email.message_from_bytes(forms[0])["Subject"] or "")
                subject = str(make_header(decode_header(subject)))
                data = random_month(c, inst, period, rng)
                wrong: dict[str, dict[tuple[str, str], float]] | None = None
                if code == WRONG:
                    spec = c.form("fujian2")
                    topic = c.rows_for(spec)[0].key
                    wrong = {spec.id: {(topic, "hazards_total"): 999}}
                path = fill_return(
                    c, inst, period, Path(scratch), data, overwrite_formula=wrong, prefills=prefills
                )
                when = dt.datetime.combine(due - dt.timedelta(days=2), dt.time(9)) + dt.timedelta(
                    minutes=17 * n
                )
                raw = _reply(c.bureau.email, inst.email, subject, path.name, path.read_bytes())
                box.append("INBOX", None, imaplib.Time2Internaldate(when.timestamp()), raw)
    finally:
        with contextlib.suppress(Exception):
            box.logout()
        ledger.close()
    wrong_one = roster.get(WRONG)
    echo(
        f"{len(REPLIES)} 个单位回复邮件并附上填好的报表"
        f"（其中{wrong_one.name if wrong_one else WRONG}改写了自动计算的单元格）"
    )
    got = fetch_returns(c)
    for line in fetched(got)[:3]:
        echo(line)
    done = run_workspace(ws, {c.code: [period]})
    result = done.results[0]
    echo(
        f"汇总 {period.label()}：接收 {result.count('accepted')}，退回 {result.count('rejected')}；"
        f"报送情况和校验日志中的“来源邮件”列出发件人和收到时间"
    )
    receipts = send_receipts(c, period, send=True)
    echo(
        f"回执：已发送 {len(receipts.delivered)} 封（接收的列出读取到的数字，退回的写明问题并附新模板）"
    )
