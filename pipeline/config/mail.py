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

from pipeline.errors import ConfigError, shown

Security = Literal["starttls", "ssl", "none"]
Receipts = Literal["manual", "auto"]
RECEIPTS: tuple[Receipts, ...] = ("manual", "auto")
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
USUAL_PORT: dict[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_PASSWORD_ENV = "PIPELINE_SMTP_PASSWORD"
MAIL_KEYS = ("templates", "pause_seconds", "remind_every_days", "receipts")
# "password" is known so as to be refused with its own message (use password_env).
SMTP_KEYS = (
    "host",
    "port",
    "security",
    "user",
    "sender",
    "password_env",
    "password",
    "timeout",
    "ca_file",
)

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
        raise ConfigError(
            f'{where}：{key} 须为文字（用英文双引号括起，如 {key} = "…"），现为 {shown(value)}'
        )
    if CONTROL.search(value):
        raise ConfigError(f"{where}：{key} 中不能有换行或其他控制字符")
    return value.strip()


def _number(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}：{key} 须为数字（不加引号），现为 {shown(value)}")
    return float(value)


def _ca_file(smtp: dict[str, Any], security: Security, base: Path, where: str) -> Path | None:
    """The bureau's CA, checked now: a missing or unreadable file would otherwise only
    show when sending, as a certificate the server cannot prove."""
    if not smtp.get("ca_file"):
        return None
    if security == "none":
        raise ConfigError(
            f'{where}：ca_file 只在 security = "ssl" 或 "starttls" 时使用；security = "none" 时请删去 ca_file'
        )
    path = (base / _text(smtp, "ca_file", where)).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}：找不到 ca_file 所指的证书文件 {path}")
    try:
        ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError is one
        raise ConfigError(
            f"{where}：ca_file 所指的 {path} 无法作为 PEM 证书读取；导出 CA 证书时请选"
            "“Base64 编码 X.509”格式，或用 openssl x509 -inform der -in CA.cer -out CA.pem 转换"
            f"（{exc}）"
        ) from exc
    return path


def load_mail(data: dict[str, Any], base: Path, where: str) -> MailConfig:
    """``[mail]`` and ``[smtp]`` of a parsed campaign file; paths relative to ``base``."""
    mail = data.get("mail", {})
    smtp = data.get("smtp", {})
    for name, table in (("mail", mail), ("smtp", smtp)):
        if not isinstance(table, dict):
            raise ConfigError(f"{where}：[{name}] 须为一个表（以 [{name}] 开头、下面写 键 = 值）")
    w_mail, w_smtp = f"{where} [mail]", f"{where} [smtp]"

    templates = None
    if mail.get("templates"):
        templates = (base / _text(mail, "templates", w_mail)).resolve()
        if not templates.is_dir():
            raise ConfigError(f"{w_mail}：找不到 templates 所指的文件夹 {templates}")
    pause = _number(mail, "pause_seconds", 0.0, w_mail)
    every = _number(mail, "remind_every_days", 1, w_mail)
    if pause < 0:
        raise ConfigError(
            f"{w_mail}：pause_seconds 须为0或正数（秒），现为 {shown(mail.get('pause_seconds'))}"
        )
    if every < 1 or not float(every).is_integer():
        raise ConfigError(
            f"{w_mail}：remind_every_days 须为不小于1的整数（天），现为 {shown(mail.get('remind_every_days'))}"
        )

    receipts = mail.get("receipts", "manual")
    if receipts not in RECEIPTS:
        raise ConfigError(f'{w_mail}：receipts 须为 "manual" 或 "auto"，现为 {shown(receipts)}')
    if receipts == "auto" and not smtp.get("host"):
        raise ConfigError(
            f'{w_mail}：receipts = "auto" 要在每次汇总后发送回执，须先在 [smtp] 中填写 host（邮件服务器）'
        )

    security = smtp.get("security", "starttls")
    if security not in SECURITIES:
        raise ConfigError(
            f"{w_smtp}：security 须为 {'、'.join(SECURITIES)} 之一，现为 {shown(security)}"
        )
    port = _number(smtp, "port", 0, w_smtp)
    if not (0 <= port <= 65535 and port.is_integer()):
        raise ConfigError(f"{w_smtp}：port 须为1—65535的整数，现为 {shown(smtp.get('port'))}")
    timeout = _number(smtp, "timeout", 60.0, w_smtp)
    if timeout <= 0:
        raise ConfigError(f"{w_smtp}：timeout 须大于0（秒），现为 {shown(smtp.get('timeout'))}")
    password_env = _text(smtp, "password_env", w_smtp) or DEFAULT_PASSWORD_ENV
    if not _ENV_NAME.match(password_env):
        raise ConfigError(
            f"{w_smtp}：password_env 须为环境变量名（英文字母、数字和下划线，"
            f"如 {DEFAULT_PASSWORD_ENV}），现为 {shown(password_env)}"
        )
    if "password" in smtp:
        raise ConfigError(
            f"{w_smtp}：密码不能写在配置文件里；请删去 password，"
            f"把密码（或授权码）放在环境变量 {password_env} 中"
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
