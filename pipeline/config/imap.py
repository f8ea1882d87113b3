"""The campaign file's ``[imap]`` table: the bureau's mailbox that returns arrive in.

Optional: without it ``fetch`` cannot run and the clerk saves attachments by hand. The
password is never in the file, only in the environment variable it names. Without
``move_to`` the mailbox is only ever read (the folder is opened read-only and messages
are fetched without marking them read); with it, each message is moved there once its
attachments are saved and recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.config.mail import CONTROL
from pipeline.errors import ConfigError, shown

Security = Literal["ssl", "starttls", "none"]
SECURITIES: tuple[Security, ...] = ("ssl", "starttls", "none")
USUAL_PORT: dict[Security, int] = {"ssl": 993, "starttls": 143, "none": 143}
DEFAULT_PASSWORD_ENV = "PIPELINE_IMAP_PASSWORD"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KEYS = (
    "host",
    "port",
    "security",
    "user",
    "password_env",
    "folder",
    "move_to",
    "ca_file",
    "timeout",
)


@dataclass(frozen=True)
class ImapConfig:
    """Where returns are fetched from. ``port`` 0 means the usual port of ``security``."""

    host: str
    user: str
    port: int = 0
    security: Security = "ssl"
    password_env: str = DEFAULT_PASSWORD_ENV
    folder: str = "INBOX"
    move_to: str = ""  # empty: the mailbox is never modified
    ca_file: Path | None = None  # a private CA's certificate, trusted besides the system's
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        return self.port or USUAL_PORT[self.security]

    @property
    def account(self) -> str:
        """The mailbox as the ledger names it: user at host."""
        return f"{self.user}@{self.host}"


def _text(table: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(
            f'{where}：{key} 须为文字（用英文双引号括起，如 {key} = "…"），现为 {shown(value)}'
        )
    if CONTROL.search(value):
        raise ConfigError(f"{where}：{key} 中不能有换行或其他控制字符")
    value = value.strip()
    if required and not value:
        raise ConfigError(f"{where}：缺少必填的键 {key}")
    return value


def _number(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}：{key} 须为数字（不加引号），现为 {shown(value)}")
    return float(value)


def _ca_file(table: dict[str, Any], base: Path, where: str) -> Path | None:
    name = _text(table, "ca_file", where)
    if not name:
        return None
    path = (base / name).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}：找不到 ca_file 所指的证书文件 {path}")
    return path


def load_imap(data: dict[str, Any], base: Path, where: str) -> ImapConfig | None:
    """``[imap]`` of a parsed campaign file (None when absent); paths relative to ``base``."""
    if "imap" not in data:
        return None
    table = data["imap"]
    w = f"{where} [imap]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}：[imap] 须为一个表（以 [imap] 开头、下面写 键 = 值）")
    password_env = _text(table, "password_env", w) or DEFAULT_PASSWORD_ENV
    if not ENV_NAME.match(password_env):
        raise ConfigError(
            f"{w}：password_env 须为环境变量名（英文字母、数字和下划线，"
            f"如 {DEFAULT_PASSWORD_ENV}），现为 {shown(password_env)}"
        )
    if "password" in table:
        raise ConfigError(
            f"{w}：密码不能写在配置文件里；请删去 password，"
            f"把密码（或授权码）放在环境变量 {password_env} 中"
        )
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{where}：[imap] 中的“{'”“'.join(unknown)}”不是可用的设置项。"
            f"可用的有：{'、'.join(KEYS)}"
        )
    security = table.get("security", "ssl")
    if security not in SECURITIES:
        raise ConfigError(
            f"{w}：security 须为 {'、'.join(SECURITIES)} 之一，现为 {shown(security)}"
        )
    port = _number(table, "port", 0, w)
    if not (0 <= port <= 65535 and port.is_integer()):
        raise ConfigError(f"{w}：port 须为1—65535的整数，现为 {shown(table.get('port'))}")
    timeout = _number(table, "timeout", 60.0, w)
    if timeout <= 0:
        raise ConfigError(f"{w}：timeout 须大于0（秒），现为 {shown(table.get('timeout'))}")
    folder = _text(table, "folder", w) or "INBOX"
    move_to = _text(table, "move_to", w)
    if move_to and move_to.casefold() == folder.casefold():
        raise ConfigError(
            f"{w}：move_to 须是另一个文件夹，不能与 folder（{folder}）相同；"
            "不想移动邮件时请删去 move_to"
        )
    return ImapConfig(
        host=_text(table, "host", w, required=True),
        user=_text(table, "user", w, required=True),
        port=int(port),
        security=security,
        password_env=password_env,
        folder=folder,
        move_to=move_to,
        ca_file=_ca_file(table, base, w),
        timeout=timeout,
    )
