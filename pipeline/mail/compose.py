"""Write one message: subject and body from jinja2 templates, a form attached (if any).

Templates are looked up in the bureau's own folder (``[mail] templates``) first, then in
the package (``pipeline/templates/mail/``); a template the bureau did not copy comes from
the package. ``StrictUndefined`` makes a misspelt variable fail loudly, naming the file.

The message is internet mail a 2005 client still reads: UTF-8 subject (RFC 2047) and
body (base64), the attachment's Chinese file name in RFC 2231 (``filename*=utf-8''…``),
a Message-ID and a Date; a reply (a receipt) names the message it answers in
In-Reply-To and References, so mail clients show them together. It is serialised once,
with CRLF line ends; the same bytes are written to the ``.eml`` file and handed to the
SMTP server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path

import jinja2

from pipeline.errors import ConfigError
from pipeline.templating import overridable

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
# A Message-ID fit to be repeated in our headers: one <...> of visible ASCII, no spaces.
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,900}>")


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def zh_date(day: dt.date) -> str:
    """``2026年9月1日``"""
    return f"{day.year}年{day.month}月{day.day}日"


@cache
def environment(folder: Path | None) -> jinja2.Environment:
    env = overridable("mail", folder, autoescape=False)  # plain text mail
    env.filters["zh_date"] = zh_date
    return env


def render(folder: Path | None, name: str, context: dict[str, object]) -> str:
    """Render template ``name``; a broken template (the bureau's, usually) is a ConfigError
    naming the file and line."""
    env = environment(folder)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"邮件模板 {exc.filename or name}：第{exc.lineno}行格式有误（{exc.message}）"
        ) from exc
    except jinja2.TemplateError as exc:  # UndefinedError, TemplateNotFound, ...
        where = _source(env, name)
        raise ConfigError(f"邮件模板 {where} 无法生成邮件（{_explained(exc)}）") from exc


def _explained(exc: jinja2.TemplateError) -> str:
    """What went wrong in a template, for the IT helper who edited it; jinja2's words after."""
    if isinstance(exc, jinja2.UndefinedError):
        return f"模板中用了不存在的变量，请对照程序自带的模板核对变量名：{exc}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"找不到模板文件：{exc}"
    return str(exc)


def _source(env: jinja2.Environment, name: str) -> str:
    try:
        source = env.loader.get_source(env, name) if env.loader else None  # type: ignore[union-attr]
    except jinja2.TemplateNotFound:
        return name
    return (source[1] if source else None) or name


def render_letter(folder: Path | None, kind: str, context: dict[str, object]) -> tuple[str, str]:
    """(subject, body) of ``kind`` ("monthly", "reminder", "receipt"): ``<kind>_subject.txt.j2`` and
    ``<kind>_body.txt.j2``. The subject is folded to one line."""
    subject = " ".join(render(folder, f"{kind}_subject.txt.j2", context).split())
    body = render(folder, f"{kind}_body.txt.j2", context).strip() + "\n"
    if not subject:
        raise ConfigError(f"邮件模板 {kind}_subject.txt.j2 生成的邮件主题是空的，请补上主题文字")
    return subject, body


def message_id(sender: Address) -> str:
    """A new Message-ID in the sender's domain (no DNS look-up of this host's name)."""
    return make_msgid(domain=sender.domain or "localhost")


def build_message(
    *,
    sender: Address,
    reply_to: Address | None,
    to: list[Address],
    subject: str,
    body: str,
    attachment: Attachment | None,
    msg_id: str,
    date: dt.datetime,
    in_reply_to: str = "",
) -> bytes:
    """The message as the bytes sent (CRLF line ends), ready for SMTP or an ``.eml`` file.
    ``in_reply_to``: the Message-ID of the message answered, when it is a plain one (it
    came from outside: anything else is left out rather than put into a header)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    if reply_to is not None and reply_to.addr_spec.lower() != sender.addr_spec.lower():
        msg["Reply-To"] = reply_to
    msg["Date"] = format_datetime(date.astimezone() if date.tzinfo is None else date)
    msg["Message-ID"] = msg_id
    if _MESSAGE_ID.fullmatch(in_reply_to):
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body, charset="utf-8", cte="base64")
    if attachment is not None:
        maintype, subtype = XLSX_TYPE
        msg.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return msg.as_bytes(policy=policy.SMTP)
