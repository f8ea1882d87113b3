"""The machinery every mailing shares (forms, reminders, receipts): screen the roster,
write each message, deliver it, record it, and tell the clerk what happened.

A dry run (the default) writes every message as an ``.eml`` file under
``outbox/YYYY-MM/mail/`` and records nothing: only a delivery attempt is a *send*. With
``send`` each message is written, then recorded in the ledger as pending, handed to the
SMTP server, and its outcome recorded at once, each in its own transaction; so a rerun
never sends again what was delivered, and retries what failed. A retry reuses the
Message-ID of the failed attempt (for a reminder, the same day's), so a message that did
arrive although the connection dropped before the server's answer is shown once by the
recipient's mail client. Forms and reminders are one per institution and month; a
receipt is one per returned file (``regarding``: which file of which message).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Literal

from pipeline.atomic import safe_filename, write_atomic
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.mail import CONTROL
from pipeline.config.roster import Institution
from pipeline.errors import MailError
from pipeline.forms.kinds import kind_of
from pipeline.ledger.store import Ledger, Send
from pipeline.mail.compose import Attachment, build_message, message_id, render_letter
from pipeline.mail.postman import Postman, Unreachable
from pipeline.mail.recipients import Refusal, parse_address, recipients_of

Kind = Literal["monthly", "reminder", "receipt"]
KIND_ZH: dict[str, str] = {"monthly": "报表", "reminder": "催报", "receipt": "回执"}
Clock = Callable[[], dt.datetime]
MAX_DROPS = 2  # consecutive dropped connections before the batch stops


@dataclass(frozen=True)
class FormToFill:
    """One annexed table of the attachment, and what this institution fills on it."""

    annex: str
    title: str
    fill: tuple[str, ...]  # column groups or fields, as headed on the form


def forms_to_fill(campaign: Campaign, inst: Institution, period: Period) -> list[FormToFill]:
    """From the form definitions, each asked of its kind: a grid's input column groups
    for the institution's role (annex note 5), a list's input fields."""
    return [
        FormToFill(spec.annex, spec.title_for(period.year), kind_of(spec).to_fill(spec, inst.role))
        for spec in campaign.forms
    ]


@dataclass
class BatchResult:
    """What a mailing did, for the console summary (and the tests)."""

    kind: Kind
    period: Period
    send: bool
    folder: Path
    written: list[Path] = field(default_factory=list)  # .eml files of this run
    delivered: list[tuple[Institution, str]] = field(default_factory=list)  # (inst, note)
    failed: list[tuple[Institution, str]] = field(default_factory=list)  # (inst, error)
    not_attempted: list[Institution] = field(default_factory=list)  # batch stopped first
    already: list[tuple[Institution, Send]] = field(default_factory=list)  # delivered earlier
    no_email: list[Institution] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    skipped: list[tuple[Institution, str]] = field(default_factory=list)  # (inst, why)
    reported: list[Institution] = field(default_factory=list)  # nothing to chase
    listed: list[str] = field(default_factory=list)  # one line per message, when useful
    waiting: list[str] = field(default_factory=list)  # not yet judged: nothing to say yet
    stopped: str = ""  # why the batch stopped before its end
    status_report: Path | None = None


class Mailer:
    """One batch of one kind for one period; ``close`` when done."""

    def __init__(
        self,
        campaign: Campaign,
        ledger: Ledger,
        period: Period,
        kind: Kind,
        *,
        send: bool,
        clock: Clock = dt.datetime.now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.campaign = campaign
        self.config = campaign.mail
        self.ledger = ledger
        self.period = period
        self.kind = kind
        self.clock = clock
        self.sleep = sleep
        self.sender, self.reply_to = _sender(campaign)
        self.postman = Postman(self.config.smtp, _password(campaign)) if send else None
        folder = campaign.outbox / str(period) / "mail"
        self.result = BatchResult(kind, period, send, folder)
        self.history = ledger.sends(str(period), kind)
        self._drops = 0
        self._sent_any = False

    # -- screening -------------------------------------------------------------------
    def screen(self, institutions: list[Institution]) -> list[tuple[Institution, list[Address]]]:
        """Institutions that get a message: refused rows, rows without an address and the
        campaign's own bureau are listed in the result instead."""
        chosen = []
        for inst in institutions:
            if inst.role == "bureau":
                self.result.skipped.append((inst, "本局自己的报表，不发邮件"))
                continue
            found = recipients_of(inst)
            if isinstance(found, Refusal):
                self.result.refused.append(found)
            elif not found:
                self.result.no_email.append(inst)
            else:
                chosen.append((inst, found))
        return chosen

    def halted(self, inst: Institution) -> bool:
        """Whether the batch has stopped (the institution is then listed as not sent)."""
        if self.result.stopped:
            self.result.not_attempted.append(inst)
        return bool(self.result.stopped)

    @staticmethod
    def _about(send: Send) -> str:
        """What a message is one of: an institution's (forms, reminders), or a returned
        file's (receipts)."""
        return send.regarding or send.institution

    def last_delivered(self, about: str) -> Send | None:
        """The last delivered message about ``about`` (an institution's code, or what a
        receipt is ``regarding``)."""
        return next(
            (
                s
                for s in reversed(self.history)
                if self._about(s) == about and s.result == "delivered"
            ),
            None,
        )

    def _retry_of(self, about: str, since: dt.datetime | None) -> Send | None:
        """The latest attempt, when it did not (or may not have) arrived."""
        mine = [s for s in self.history if self._about(s) == about]
        if not mine or mine[-1].result == "delivered":
            return None
        last = mine[-1]
        return last if since is None or last.attempted >= since else None

    # -- one message -----------------------------------------------------------------
    def base_context(self, inst: Institution, attachment: Attachment | None) -> dict[str, object]:
        due, covered = self.campaign.due.due_date(self.period)
        return {
            "campaign": self.campaign,
            "bureau": self.campaign.bureau,
            "institution": inst,
            "period": self.period,
            "due": due,
            "due_covered": covered,
            "forms": forms_to_fill(self.campaign, inst, self.period),
            "attachment": attachment.name if attachment else "",
            "reply_to": (self.reply_to or self.sender).addr_spec,
            "today": self.clock().date(),
        }

    def eml_path(self, inst: Institution, tag: str = "") -> Path:
        name = f"{KIND_ZH[self.kind]}_{self.period}_{safe_filename(inst.name)}_{safe_filename(inst.code, 30)}"
        if self.kind == "reminder":
            name += f"_{self.clock():%Y%m%d}"
        if tag:
            name += f"_{safe_filename(tag, 40)}"
        return self.result.folder / f"{name}.eml"

    def dispatch(
        self,
        inst: Institution,
        to: list[Address],
        context: dict[str, object],
        attachment: Attachment | None,
        *,
        retry_since: dt.datetime | None = None,
        regarding: str = "",
        in_reply_to: str = "",
        tag: str = "",
    ) -> Path | None:
        """Write the message and, when sending, deliver and record it; its ``.eml``.
        ``regarding`` says which returned file a receipt answers (``in_reply_to``: that
        file's message); ``tag`` tells the ``.eml`` files of one institution apart."""
        if self.halted(inst):
            return None
        subject, body = render_letter(self.config.templates, self.kind, context)
        retry = self._retry_of(regarding or inst.code, retry_since) if self.postman else None
        msg_id = retry.message_id if retry else message_id(self.sender)
        data = build_message(
            sender=self.sender,
            reply_to=self.reply_to,
            to=to,
            subject=subject,
            body=body,
            attachment=attachment,
            msg_id=msg_id,
            date=self.clock(),
            in_reply_to=in_reply_to,
        )
        path = self.eml_path(inst, tag)
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
        self.result.written.append(path)
        if self.postman is not None:
            self._deliver(inst, to, subject, attachment, msg_id, data, regarding)
        return path

    def _deliver(
        self,
        inst: Institution,
        to: list[Address],
        subject: str,
        attachment: Attachment | None,
        msg_id: str,
        data: bytes,
        regarding: str,
    ) -> None:
        assert self.postman is not None
        if self._sent_any and self.config.pause_seconds:
            self.sleep(self.config.pause_seconds)
        try:
            self.postman.connect()
        except Unreachable as exc:
            self.result.stopped = f"{exc}；其余邮件未发送，再次运行时继续发送"
            self.result.not_attempted.append(inst)
            return
        self._sent_any = True
        send_id = self.ledger.begin_send(
            institution=inst.code,
            period=str(self.period),
            kind=self.kind,
            message_id=msg_id,
            recipients="；".join(a.addr_spec for a in to),
            subject=subject,
            attachment=attachment.name if attachment else "",
            attachment_sha256=attachment.sha256 if attachment else "",
            attempted_at=self.clock().isoformat(timespec="seconds"),
            regarding=regarding,
        )
        outcome = self.postman.send(self.sender.addr_spec, [a.addr_spec for a in to], data)
        self.ledger.end_send(send_id, outcome.delivered, outcome.error)
        if outcome.delivered:
            self.result.delivered.append((inst, outcome.error))
        else:
            self.result.failed.append((inst, outcome.error))
        self._drops = self._drops + 1 if outcome.dropped else 0
        if self._drops >= MAX_DROPS:
            self.result.stopped = (
                f"与邮件服务器 {self.postman.where} 的连接连续{MAX_DROPS}次中断，已停止发送；"
                "再次运行时继续发送"
            )

    def close(self) -> BatchResult:
        if self.postman is not None:
            self.postman.close()
        return self.result


def _sender(campaign: Campaign) -> tuple[Address, Address | None]:
    """(From, Reply-To): the SMTP sender, or the bureau's address; replies to the bureau."""
    bureau = campaign.bureau
    if CONTROL.search(bureau.name + bureau.contact + bureau.phone):
        raise MailError(f"{campaign.path} [bureau]：名称、联系人或电话中含有换行符或控制字符")
    text = campaign.mail.smtp.sender or bureau.email
    if not text:
        raise MailError(
            f"{campaign.path}：未设置发件地址；请在 [smtp] sender 或 [bureau] email 中填写"
        )
    try:
        sender = Address(bureau.name, addr_spec=parse_address(text).addr_spec)
        reply = parse_address(bureau.email) if bureau.email else None
    except ValueError as exc:
        raise MailError(f"{campaign.path}：发件地址{exc}") from exc
    reply_to = Address(bureau.name, addr_spec=reply.addr_spec) if reply else None
    return sender, reply_to


def _password(campaign: Campaign) -> str | None:
    """SMTP settings for sending, and the password from the environment (never the file)."""
    smtp = campaign.mail.smtp
    if not smtp.host:
        raise MailError(
            f"{campaign.path}：未设置邮件服务器（[smtp] host），无法发送；"
            "不加 --send 可先生成邮件草稿（.eml）查看"
        )
    if not smtp.user:
        return None
    password = os.environ.get(smtp.password_env)
    if not password:
        raise MailError(
            f"未设置环境变量 {smtp.password_env}：请把邮箱密码（或授权码）放在该环境变量中再发送"
        )
    return password
