"""Delivery over SMTP: one connection for a batch, opened when first needed.

Each message is one SMTP transaction whose outcome is reported, never raised: a refused
recipient or a rejected message fails that message alone and the batch goes on; a
dropped connection fails the message in flight, and the next message reconnects. Only
when the server cannot be reached, cannot prove who it is (its certificate), or refuses
the login does the batch stop, with :class:`Unreachable`.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass, field

from pipeline.config.mail import SmtpConfig

# OpenSSL's verify codes (X509_V_ERR_*) behind a refused certificate, by what to do.
_UNTRUSTED = {2, 18, 19, 20, 21}  # issuer unknown, self-signed, chain incomplete
_WRONG_NAME = {62, 64}  # host name, IP address mismatch
_OUT_OF_DATE = {9, 10}  # not yet valid, expired


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """Verifies the server's certificate and its name, always: against the bureau's CA
    when ``ca_file`` is set (instead of the system's trust store), else the system's."""
    return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)


class Unreachable(Exception):
    """The server cannot be reached or refuses us: no message of the batch can go."""


@dataclass(frozen=True)
class Delivery:
    """What became of one message."""

    delivered: bool
    error: str = ""  # in the clerk's words, with the server's reply
    refused: dict[str, str] = field(default_factory=dict)  # addresses refused, delivered to others
    dropped: bool = False  # the connection was lost during the transaction


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"


class Postman:
    """Sends prepared messages through one server; ``close`` when the batch is done."""

    def __init__(self, config: SmtpConfig, password: str | None) -> None:
        self.config = config
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.effective_port}"

    def connect(self) -> None:
        """Open the connection unless it is open; :class:`Unreachable` when it cannot be."""
        if self.smtp is None:
            self.smtp = self._connect()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            return self._open()
        except smtplib.SMTPAuthenticationError as exc:
            raise Unreachable(
                f"邮件服务器 {self.where} 拒绝登录（{_reply(exc.smtp_code, exc.smtp_error)}）；"
                f"请核对 [smtp] user 和环境变量 {cfg.password_env} 中的密码（或授权码）"
            ) from exc
        except UnicodeEncodeError as exc:  # smtplib logs in with ASCII only
            raise Unreachable(
                f"[smtp] user 或环境变量 {cfg.password_env} 中含有中文等非英文字符，"
                "无法登录邮件服务器"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise Unreachable(self._refused_certificate(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"无法连接邮件服务器 {self.where}（{_describe(exc)}）") from exc

    def _open(self) -> smtplib.SMTP:
        """Connect, encrypt and log in; the connection is closed if any step fails."""
        cfg = self.config
        context = tls_context(cfg)
        smtp: smtplib.SMTP
        if cfg.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                cfg.host, cfg.effective_port, timeout=cfg.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.effective_port, timeout=cfg.timeout)
        try:
            smtp.ehlo()
            if cfg.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise Unreachable(
                        f"邮件服务器 {self.where} 不支持 STARTTLS 加密；"
                        '请在工作配置文件 [smtp] 中改用 security = "ssl"（通常端口465）'
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.user:
                smtp.login(cfg.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _refused_certificate(self, exc: ssl.SSLCertVerificationError) -> str:
        """Why the server's certificate was not accepted, and what the bureau can do."""
        cfg = self.config
        code, why = exc.verify_code, exc.verify_message
        head = f"邮件服务器 {self.where} 的证书"
        if code in _WRONG_NAME:
            return (
                f"{head}不是签发给“{cfg.host}”的（{why}），为安全起见未连接；"
                "请把工作配置文件 [smtp] host 改为证书上的服务器名称（可向邮件服务器管理员询问）"
            )
        if code in _OUT_OF_DATE:
            return (
                f"{head}已过期或尚未生效（{why}），为安全起见未连接；"
                "请核对本机的日期时间，并请邮件服务器管理员更换证书"
            )
        if code in _UNTRUSTED:
            if cfg.ca_file:
                hint = f"请核对 [smtp] ca_file（{cfg.ca_file}）是否为签发该证书的 CA"
            else:
                hint = (
                    "若该服务器使用本单位自建 CA 签发的证书，"
                    "请在工作配置文件 [smtp] 中用 ca_file 指明该 CA 的证书文件（PEM）"
                )
            return f"{head}不受信任（{why}），为安全起见未连接；{hint}"
        return f"{head}未通过校验（{why}），为安全起见未连接；请联系邮件服务器管理员"

    def send(self, sender: str, recipients: list[str], data: bytes) -> Delivery:
        """Deliver ``data``; raises :class:`Unreachable` only when (re)connecting fails."""
        self.connect()
        assert self.smtp is not None
        try:
            refused = self.smtp.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            outcome = Delivery(False, "收件人被拒绝：" + _refused(exc.recipients))
        except smtplib.SMTPSenderRefused as exc:
            outcome = Delivery(False, f"发件人被拒绝：{_reply(exc.smtp_code, exc.smtp_error)}")
        except smtplib.SMTPDataError as exc:
            outcome = Delivery(False, f"邮件被拒收：{_reply(exc.smtp_code, exc.smtp_error)}")
        except smtplib.SMTPResponseException as exc:
            outcome = Delivery(False, f"服务器拒绝：{_reply(exc.smtp_code, exc.smtp_error)}")
        except (OSError, smtplib.SMTPException) as exc:  # dropped, timed out, reset
            self._drop()
            return Delivery(False, f"连接中断（{_describe(exc)}），下次运行时重发", dropped=True)
        else:
            if refused:
                text = "部分收件人被拒绝：" + _refused(refused)
                return Delivery(True, text, refused=_texts(refused))
            return Delivery(True)
        if self.smtp.sock is None:  # smtplib closed it (a 421 reply): reconnect next time
            self._drop()
        return outcome

    def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
        self._drop()


def _texts(refused: dict[str, tuple[int, bytes]]) -> dict[str, str]:
    return {addr: _reply(code, msg) for addr, (code, msg) in refused.items()}


def _refused(refused: dict[str, tuple[int, bytes]]) -> str:
    return "；".join(f"{addr}（{text}）" for addr, text in _texts(refused).items())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "连接超时"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "服务器断开了连接"
    if isinstance(exc, ssl.SSLError):
        return f"加密连接失败：{exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return "找不到该服务器地址"
    return f"{type(exc).__name__}: {exc}"
