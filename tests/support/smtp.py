"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd), and how to read what
arrived.

``Mailbox`` is the server's handler: it keeps every message it accepted, refuses the
recipients in ``refuse`` (``550`` at RCPT, as a provider does for an unknown mailbox),
and drops the connection, without answering, on the DATA commands numbered in
``drop_on`` (counted from 1 over the server's life): the message is not delivered and
the client sees the connection lost mid-transaction. Each message keeps the TLS version
it came over and the login it came from.

For TLS, :func:`certificate` issues a server certificate from a CA the test makes
(``trustme``), and :func:`tls` gives the server implicit TLS or requires STARTTLS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import sqlite3
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from openpyxl import load_workbook

from pipeline.distribute.metadata import META_SHEET, parse_rows


@dataclass
class Arrived:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: str = ""  # the TLS version it came over ("TLSv1.3"); "" in plain text
    login: str = ""  # the user who logged in; "" without a login

    @property
    def message(self) -> EmailMessage:
        return parse(self.raw)


@dataclass
class Mailbox:
    refuse: set[str] = field(default_factory=set)
    drop_on: set[int] = field(default_factory=set)
    arrived: list[Arrived] = field(default_factory=list)
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            drop = self.data_commands in self.drop_on
        if drop:
            server.transport.close()
            return "421 4.4.2 connection dropped by the test"  # never reaches the client
        tls = server.transport.get_extra_info("ssl_object")
        auth = session.auth_data
        with self.lock:
            self.arrived.append(
                Arrived(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.content,
                    tls=tls.version() if tls else "",
                    login=auth.login.decode() if isinstance(auth, LoginPassword) else "",
                )
            )
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[Arrived]:
        return [a for a in self.arrived if address in a.rcpt_tos]


class LocalServer(Controller):
    """aiosmtpd's Controller on an ephemeral port of 127.0.0.1."""

    def __init__(self, handler: Mailbox, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def password_checker(user: str, password: str) -> Any:
    """An authenticator accepting only ``user``/``password`` (AUTH PLAIN or LOGIN)."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


@contextlib.contextmanager
def running(mailbox: Mailbox, **kwargs: Any) -> Iterator[LocalServer]:
    server = LocalServer(mailbox, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- TLS -------------------------------------------------------------------------------
def certificate(ca: trustme.CA, *names: str, expired: bool = False) -> ssl.SSLContext:
    """A server's TLS context with a certificate for ``names`` signed by ``ca``; an
    ``expired`` one ran out yesterday."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    not_after = dt.datetime.now(dt.UTC) - dt.timedelta(days=1) if expired else None
    ca.issue_cert(*names, not_after=not_after).configure_cert(context)
    return context


def tls(security: str, context: ssl.SSLContext) -> dict[str, Any]:
    """The server's arguments: TLS from the first byte ("ssl"), or STARTTLS required
    before any mail ("starttls")."""
    if security == "ssl":
        return {"ssl_context": context}
    assert security == "starttls"
    return {"tls_context": context, "require_starttls": True}


def write_ca(ca: trustme.CA, folder: Path, name: str = "certs/bureau-ca.pem") -> str:
    """The CA's certificate (PEM) under the campaign's ``folder``; the ``[smtp]`` line
    naming it relative to the campaign file."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(path))
    return f'ca_file = "{name}"'


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return part.get_content()


def attachment(msg: EmailMessage) -> tuple[str, bytes]:
    """The one attachment: its decoded file name and bytes."""
    parts = list(msg.iter_attachments())
    assert len(parts) == 1, [p.get_filename() for p in parts]
    name = parts[0].get_filename()
    assert name
    return name, parts[0].get_content()


def template_meta(data: bytes) -> dict[str, str]:
    """The very-hidden metadata sheet of an attached workbook, opened with openpyxl."""
    wb = load_workbook(BytesIO(data))
    try:
        ws = wb[META_SHEET]
        assert ws.sheet_state == "veryHidden"
        return parse_rows(ws.iter_rows(min_col=1, max_col=2, values_only=True))
    finally:
        wb.close()


# -- a campaign folder whose [smtp] points at the local server --------------------------
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def campaign_folder(
    base: Path,
    server: LocalServer | None = None,
    *,
    security: str = "none",
    host: str = "127.0.0.1",
    smtp: str = "",
    mail: str = "",
    roster: str | None = None,
) -> Path:
    """``base/campaign/campaign.toml``: the example campaign, its paths (ledger, inbox,
    outbox, form_templates) under ``base``, ``[smtp]`` at ``server`` (plain SMTP unless
    ``security``, by its address unless ``host``) plus the lines ``smtp``, and ``[mail]``
    with the lines ``mail``. ``roster`` replaces the example roster's text."""
    folder = base / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    if server is not None:
        text += f'\n[smtp]\nhost = "{host}"\nport = {server.port}\nsecurity = "{security}"\n'
        text += f"timeout = 10\n{smtp}\n"
    if mail:
        text += f"\n[mail]\n{mail}\n"
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    roster_text = roster if roster is not None else (EXAMPLES / "roster.csv").read_text("utf-8")
    (folder / "roster.csv").write_text(roster_text, encoding="utf-8")
    return folder / "campaign.toml"


def sends(campaign: Path) -> list[dict[str, Any]]:
    """The ledger's ``sends`` rows of the campaign made by :func:`campaign_folder`."""
    db = sqlite3.connect(campaign.parent.parent / "ledger.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM sends ORDER BY id")]
    finally:
        db.close()
