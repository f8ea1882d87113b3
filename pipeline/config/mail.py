"""The campaign file's ``[mail]`` and ``[smtp]`` tables: how forms and reminders are sent.

Both are optional: without them ``mail`` and ``remind`` still write every message as an
``.eml`` file (the dry run), from the bureau's address. Sending needs ``[smtp] host``.
The password is never in the file, only in the environment variable it names.
``ca_file`` names the bureau's own CA for a server whose certificate it signed; the
server's certificate and name are always verified, against that CA or the system's.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError

Security = Literal["starttls", "ssl", "none"]
Receipts = Literal["manual", "auto"]
RECEIPTS: tuple[Receipts, ...] = ("manual", "auto")
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
USUAL_PORT: dict[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_PASSWORD_ENV = "PIPELINE_SMTP_PASSWORD"

# Characters that must never reach a mail header: line breaks and other controls.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to deliver. ``port`` 0 means the usual port of ``security``."""

    host: str = ""
    port: int = 0
    security: Security = "starttls"
    user: str = ""
    sender: str = ""  # the From address; empty: the bureau's email
    password_env: str = DEFAULT_PASSWORD_ENV
    timeout: float = 60.0
    # The CA (PEM) that signed the server's certificate; None: the system's trust store.
    ca_file: Path | None = None

    @property
    def effective_port(self) -> int:
        return self.port or USUAL_PORT[self.security]


@dataclass(frozen=True)
class MailConfig:
    # The bureau's own subject/body templates, searched before the shipped ones.
    templates: Path | None = None
    # Seconds between two messages sent, for providers that limit the rate.
    pause_seconds: float = 0.0
    # A delivered reminder is not followed by another for the same institution and
    # month until this many days later (1: at most one a day).
    remind_every_days: int = 1
    # Receipts (回执) to the senders of returns: "manual" (``receipts``, dry run unless
    # --send) or "auto" (sent by ``run`` right after it judged the returns).
    receipts: Receipts = "manual"
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text")
    if CONTROL.search(value):
        raise ConfigError(f"{where}: {key} must not contain line breaks or control characters")
    return value.strip()


def _number(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}")
    return float(value)


def _ca_file(smtp: dict[str, Any], security: Security, base: Path, where: str) -> Path | None:
    """The bureau's CA, checked now: a missing or unreadable file would otherwise only
    show when sending, as a certificate the server cannot prove."""
    if not smtp.get("ca_file"):
        return None
    if security == "none":
        raise ConfigError(f'{where}: ca_file is only used with security = "ssl" or "starttls"')
    path = (base / _text(smtp, "ca_file", where)).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: ca_file not found: {path}")
    try:
        ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError is one
        raise ConfigError(
            f"{where}: ca_file {path} cannot be read as a PEM certificate ({exc}); export the CA as "
            '"Base-64 encoded X.509", or convert it: openssl x509 -inform der -in CA.cer -out CA.pem'
        ) from exc
    return path


def load_mail(data: dict[str, Any], base: Path, where: str) -> MailConfig:
    """``[mail]`` and ``[smtp]`` of a parsed campaign file; paths relative to ``base``."""
    mail = data.get("mail", {})
    smtp = data.get("smtp", {})
    for name, table in (("mail", mail), ("smtp", smtp)):
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
    w_mail, w_smtp = f"{where} [mail]", f"{where} [smtp]"

    templates = None
    if mail.get("templates"):
        templates = (base / _text(mail, "templates", w_mail)).resolve()
        if not templates.is_dir():
            raise ConfigError(f"{w_mail}: templates folder not found: {templates}")
    pause = _number(mail, "pause_seconds", 0.0, w_mail)
    every = _number(mail, "remind_every_days", 1, w_mail)
    if pause < 0:
        raise ConfigError(f"{w_mail}: pause_seconds must be 0 or more")
    if every < 1 or not float(every).is_integer():
        raise ConfigError(f"{w_mail}: remind_every_days must be a whole number of days, 1 or more")

    receipts = mail.get("receipts", "manual")
    if receipts not in RECEIPTS:
        raise ConfigError(f'{w_mail}: receipts must be "manual" or "auto", not {receipts!r}')
    if receipts == "auto" and not smtp.get("host"):
        raise ConfigError(
            f'{w_mail}: receipts = "auto" sends them after each run, which needs [smtp] host'
        )

    security = smtp.get("security", "starttls")
    if security not in SECURITIES:
        raise ConfigError(f"{w_smtp}: security must be one of {', '.join(SECURITIES)}")
    port = _number(smtp, "port", 0, w_smtp)
    if not (0 <= port <= 65535 and port.is_integer()):
        raise ConfigError(f"{w_smtp}: port must be a whole number 1..65535")
    timeout = _number(smtp, "timeout", 60.0, w_smtp)
    if timeout <= 0:
        raise ConfigError(f"{w_smtp}: timeout must be more than 0 seconds")
    password_env = _text(smtp, "password_env", w_smtp) or DEFAULT_PASSWORD_ENV
    if not _ENV_NAME.match(password_env):
        raise ConfigError(f"{w_smtp}: password_env must be an environment variable's name")
    if "password" in smtp:
        raise ConfigError(
            f"{w_smtp}: do not write the password in the campaign file; "
            f"set the environment variable {password_env} instead"
        )
    return MailConfig(
        templates=templates,
        pause_seconds=pause,
        remind_every_days=int(every),
        receipts=receipts,
        smtp=SmtpConfig(
            host=_text(smtp, "host", w_smtp),
            port=int(port),
            security=security,
            user=_text(smtp, "user", w_smtp),
            sender=_text(smtp, "sender", w_smtp),
            password_env=password_env,
            timeout=timeout,
            ca_file=_ca_file(smtp, security, base, w_smtp),
        ),
    )
