"""The IMAP conversation with the bureau's mailbox (imaplib), in the clerk's words.

Always encrypted unless the campaign file says ``security = "none"``: implicit TLS
("ssl", port 993) or STARTTLS (port 143), the server's certificate verified against the
system's authorities plus ``ca_file``. Folder names are sent in IMAP's modified UTF-7, so
a folder called 已处理 works. Without ``move_to`` the folder is opened read-only
(EXAMINE) and every fetch is a ``BODY.PEEK``: the mailbox is left exactly as it was, and
messages stay unread for the clerk's own mail client.

Failures before the first message (no server, untrusted certificate, login refused, no
such folder) raise :class:`~pipeline.errors.MailboxError`; a connection lost later
raises :class:`Dropped`, so the caller can keep what it has.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import imaplib
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.config.imap import ImapConfig
from pipeline.errors import MailboxError

HEADER_FIELDS = "MESSAGE-ID FROM SUBJECT"
_UID = re.compile(rb"\bUID (\d+)")
_DATE = re.compile(
    rb'INTERNALDATE "\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"'
)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_START = re.compile(rb"^\d+ \(")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Dropped(Exception):
    """The connection was lost in the middle of the work."""


@dataclass(frozen=True)
class Head:
    """What is known of a message before its body is fetched."""

    uid: int
    internaldate: str  # ISO local time
    size: int
    header: bytes  # Message-ID, From and Subject lines


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def quoted(folder: str) -> str:
    text = imap_utf7(folder)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: Iterable[int]) -> str:
    """``1,2,3,7`` → ``1:3,7``."""
    ranges: list[list[int]] = []
    for uid in sorted(set(uids)):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def parse_internaldate(meta: bytes) -> str:
    """INTERNALDATE (``"29-Nov-2026 04:31:10 +0000"``) as ISO local time, "" if absent."""
    m = _DATE.search(meta)
    if m is None or m.group(2).decode().title() not in _MONTHS:
        return ""
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    offset = dt.timedelta(hours=int(zh), minutes=int(zm)) * (1 if sign == b"+" else -1)
    when = dt.datetime(
        int(year),
        _MONTHS.index(mon.decode().title()) + 1,
        int(day),
        int(hh),
        int(mm),
        int(ss),
        tzinfo=dt.timezone(offset),
    )
    return when.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")


def _responses(data: list) -> list[tuple[bytes, bytes]]:
    """imaplib's FETCH data as (response text, literal) pairs."""
    out: list[list[bytes]] = []
    for item in data:
        if isinstance(item, tuple):
            out.append([item[0], item[1]])
        elif isinstance(item, bytes):
            if _START.match(item):
                out.append([item, b""])
            elif out:
                out[-1][0] += b" " + item  # the rest of a response after its literal
    return [(meta, literal) for meta, literal in out]


def _text(data: object) -> str:
    if isinstance(data, list):
        data = b" ".join(d for d in data if isinstance(d, bytes))
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return " ".join(str(data).split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "找不到该服务器地址"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "连接超时"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"服务器证书不受信任：{exc.verify_message or exc.reason or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"加密连接失败：{exc.reason or exc}"
    if isinstance(exc, imaplib.IMAP4.abort | EOFError | ConnectionError):
        return "服务器断开了连接"
    return f"{type(exc).__name__}: {exc}"


class Session:
    """One connection to the mailbox; ``close`` when done."""

    def __init__(self, config: ImapConfig, password: str) -> None:
        self.config = config
        self.password = password
        self.imap: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.effective_port}"

    # -- opening -------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, encrypt, log in; :class:`MailboxError` in the clerk's words if not."""
        cfg = self.config
        try:
            self.imap = self._connect()
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"无法连接收件服务器 {self.where}（{_describe(exc)}）；"
                "若单位邮箱使用自建证书，请在工作配置文件 [imap] ca_file 中指定其根证书"
            ) from exc
        except (OSError, imaplib.IMAP4.error, EOFError) as exc:
            raise MailboxError(f"无法连接收件服务器 {self.where}（{_describe(exc)}）") from exc
        try:
            self.imap.login(cfg.user, self.password)
        except UnicodeEncodeError as exc:
            self.close()
            raise MailboxError(
                f"[imap] user 或环境变量 {cfg.password_env} 中含有中文等非英文字符，无法登录收件服务器"
            ) from exc
        except imaplib.IMAP4.abort as exc:
            self.close()
            raise MailboxError(f"收件服务器 {self.where} 断开了连接（{_describe(exc)}）") from exc
        except imaplib.IMAP4.error as exc:
            self.close()
            raise MailboxError(
                f"收件服务器 {self.where} 拒绝登录（{_text(exc.args[0] if exc.args else exc)}）；"
                f"请核对 [imap] user（{cfg.user}）和环境变量 {cfg.password_env} 中的密码（或授权码）"
            ) from exc
        except OSError as exc:
            self.close()
            raise MailboxError(f"收件服务器 {self.where} 连接中断（{_describe(exc)}）") from exc
        self.capabilities = self._capabilities()

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.config
        context = ssl.create_default_context()
        if cfg.ca_file is not None:
            context.load_verify_locations(cafile=str(cfg.ca_file))
        if cfg.security == "ssl":
            return imaplib.IMAP4_SSL(
                cfg.host, cfg.effective_port, ssl_context=context, timeout=cfg.timeout
            )
        imap = imaplib.IMAP4(cfg.host, cfg.effective_port, timeout=cfg.timeout)
        if cfg.security == "starttls":
            if "STARTTLS" not in imap.capabilities:
                with contextlib.suppress(OSError, imaplib.IMAP4.error):
                    imap.shutdown()
                raise MailboxError(
                    f"收件服务器 {self.where} 不支持 STARTTLS 加密；"
                    '请在工作配置文件 [imap] 中改用 security = "ssl"（通常端口993）'
                )
            imap.starttls(ssl_context=context)
        return imap

    def _capabilities(self) -> set[str]:
        typ, data = self._imap.capability()
        return set(_text(data).upper().split()) if typ == "OK" else set()

    @property
    def _imap(self) -> imaplib.IMAP4:
        assert self.imap is not None, "open() first"
        return self.imap

    # -- folders -------------------------------------------------------------------------
    def select(self, folder: str, *, readonly: bool) -> int:
        """Open ``folder`` (EXAMINE when ``readonly``); its UIDVALIDITY."""
        try:
            typ, data = self._imap.select(quoted(folder), readonly=readonly)
            if typ != "OK":
                raise MailboxError(
                    f"收件邮箱中没有文件夹“{folder}”或无法打开（{_text(data)}）；"
                    "请核对工作配置文件 [imap] folder"
                )
            _, values = self._imap.response("UIDVALIDITY")
        except imaplib.IMAP4.abort as exc:
            raise Dropped(_describe(exc)) from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"无法打开文件夹“{folder}”（{_text(exc.args)}）") from exc
        except OSError as exc:
            raise Dropped(_describe(exc)) from exc
        value = values[-1] if values and values[-1] else b""
        if not isinstance(value, bytes) or not value.strip().isdigit():
            raise MailboxError(
                f"收件服务器未给出文件夹“{folder}”的 UIDVALIDITY，无法记录已收取的邮件"
            )
        return int(value)

    def can_move(self) -> bool:
        return "MOVE" in self.capabilities or "UIDPLUS" in self.capabilities

    def ensure_folder(self, folder: str) -> bool:
        """Create ``folder`` unless it exists; whether it was created."""
        name = quoted(folder)
        try:
            typ, data = self._imap.list('""', name)
            if typ == "OK" and any(d for d in data if d):
                return False
            typ, data = self._imap.create(name)
        except imaplib.IMAP4.abort as exc:
            raise Dropped(_describe(exc)) from exc
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"无法在收件邮箱中建立文件夹“{folder}”（{_describe(exc)}）") from exc
        if typ != "OK":
            raise MailboxError(f"无法在收件邮箱中建立文件夹“{folder}”（{_text(data)}）")
        return True

    # -- messages ------------------------------------------------------------------------
    def _uid(self, command: str, *args: str) -> list:
        """One UID command; :class:`Dropped` when the connection goes."""
        try:
            typ, data = self._imap.uid(command, *args)
        except imaplib.IMAP4.abort as exc:
            raise Dropped(_describe(exc)) from exc
        except (OSError, EOFError) as exc:
            raise Dropped(_describe(exc)) from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"收件服务器拒绝了命令 UID {command}（{_text(exc.args)}）") from exc
        if typ != "OK":
            raise MailboxError(f"收件服务器拒绝了命令 UID {command}（{_text(data)}）")
        return data

    def uids(self) -> list[int]:
        data = self._uid("SEARCH", "ALL")
        return sorted(int(x) for x in _text(data).split() if x.isdigit())

    def heads(self, uids: list[int]) -> dict[int, Head]:
        """Receipt time, size and the identifying headers of ``uids``, in one command."""
        if not uids:
            return {}
        items = f"(UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
        out = {}
        for meta, literal in _responses(self._uid("FETCH", uid_set(uids), items)):
            uid, size = _UID.search(meta), _SIZE.search(meta)
            if uid is None:
                continue  # an unsolicited update (flags changed by another client)
            out[int(uid.group(1))] = Head(
                uid=int(uid.group(1)),
                internaldate=parse_internaldate(meta),
                size=int(size.group(1)) if size else len(literal),
                header=literal,
            )
        return out

    def body(self, uid: int) -> bytes | None:
        """The whole message as received (None when it was deleted meanwhile)."""
        for meta, literal in _responses(self._uid("FETCH", str(uid), "(UID BODY.PEEK[])")):
            found = _UID.search(meta)
            if found is not None and int(found.group(1)) == uid:
                return literal
        return None

    def move(self, uids: list[int], folder: str) -> None:
        """Move messages to ``folder`` (MOVE; else COPY, flag deleted, UID EXPUNGE)."""
        if not uids:
            return
        which, name = uid_set(uids), quoted(folder)
        if "MOVE" in self.capabilities:
            self._uid("MOVE", which, name)
            return
        self._uid("COPY", which, name)
        self._uid("STORE", which, "+FLAGS.SILENT", r"(\Deleted)")
        self._uid("EXPUNGE", which)

    def close(self) -> None:
        if self.imap is None:
            return
        with contextlib.suppress(OSError, imaplib.IMAP4.error, EOFError):
            self.imap.logout()
        with contextlib.suppress(OSError):
            self.imap.shutdown()
        self.imap = None
