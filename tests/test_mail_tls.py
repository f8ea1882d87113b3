"""``mail --send`` over TLS, against a real SMTP server on 127.0.0.1 that speaks SSL
(TLS from the first byte) or requires STARTTLS, with a certificate the test issues
from a CA of its own (``trustme``), as a bureau's private CA would.

Delivery goes through only when the certificate is trusted (the bureau's ``ca_file``)
and names the host; otherwise the batch stops before any message, says why in the
clerk's words and records nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner, Result
from support.smtp import (
    EXAMPLES,
    Mailbox,
    attachment,
    campaign_folder,
    certificate,
    password_checker,
    running,
    sends,
    template_meta,
    tls,
    write_ca,
)

from pipeline.cli import cli

PERIOD = "2026-08"
ROSTER = list(csv.DictReader(io.StringIO((EXAMPLES / "roster.csv").read_text("utf-8"))))
# Everybody with an address but the bureau itself (QW000), which sends the forms.
ADDRESSED = {r["电子邮箱"]: r for r in ROSTER if r["电子邮箱"] and r["机构代码"] != "QW000"}
LOCAL = ("127.0.0.1", "localhost")
STOPPED = "其余邮件未发送，再次运行时继续发送"


def mail(campaign: Path) -> Result:
    return CliRunner().invoke(
        cli, ["--campaign", str(campaign), "mail", "--period", PERIOD, "--send"]
    )


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _check_arrived(mailbox: Mailbox, *, login: str = "") -> None:
    """One message per addressed institution, over TLS, its subject and form its own."""
    assert sorted(a for m in mailbox.arrived for a in m.rcpt_tos) == sorted(ADDRESSED)
    for arrived in mailbox.arrived:
        assert arrived.tls.startswith("TLSv1.")
        assert arrived.login == login
        row = ADDRESSED[arrived.rcpt_tos[0]]
        msg = arrived.message
        subject = msg["Subject"]
        assert "安全生产专项整治三年行动" in subject and "2026年8月" in subject
        assert row["机构名称"] in subject
        name, data = attachment(msg)
        assert name == f"{PERIOD}_srzz-2021_{row['机构名称']}_{row['机构代码']}.xlsx"
        meta = template_meta(data)
        assert meta["institution_code"] == row["机构代码"] and meta["period"] == PERIOD


def _refused(tmp_path: Path, result: Result, mailbox: Mailbox) -> None:
    """The batch stopped before the first message: exit 1, nothing sent or recorded."""
    assert result.exit_code == 1, result.output
    assert STOPPED in result.output
    assert "已发送 0 封" in result.output and "未发送 11 封" in result.output
    assert mailbox.arrived == []
    assert sends(tmp_path / "campaign" / "campaign.toml") == []


# -- trusted: the bureau's CA ----------------------------------------------------------
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_delivers_over_tls_to_a_server_signed_by_the_bureaus_ca(
    tmp_path: Path, ca: trustme.CA, security: str
) -> None:
    mailbox = Mailbox()
    ca_file = write_ca(ca, tmp_path / "campaign")  # relative to the campaign file
    with running(mailbox, **tls(security, certificate(ca, *LOCAL))) as srv:
        campaign = campaign_folder(tmp_path, srv, security=security, smtp=ca_file)
        result = mail(campaign)
    assert result.exit_code == 0, result.output
    assert "已发送 11 封" in result.output
    _check_arrived(mailbox)
    assert [r["result"] for r in sends(campaign)] == ["delivered"] * 11


def test_login_over_starttls_with_the_password_from_the_environment(
    tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server offers AUTH only after STARTTLS and takes no mail before a login."""
    mailbox = Mailbox()
    server = {
        **tls("starttls", certificate(ca, *LOCAL)),
        "authenticator": password_checker("anquan", "Sq-123!x"),
        "auth_required": True,
    }
    ca_file = write_ca(ca, tmp_path / "campaign")
    smtp = f'{ca_file}\nuser = "anquan"\npassword_env = "TEST_SMTP_PASSWORD"'
    with running(mailbox, **server) as srv:
        campaign = campaign_folder(tmp_path, srv, security="starttls", smtp=smtp)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        wrong = mail(campaign)
        assert wrong.exit_code == 1 and "拒绝登录" in wrong.output
        assert "TEST_SMTP_PASSWORD" in wrong.output
        assert mailbox.arrived == [] and sends(campaign) == []
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "Sq-123!x")
        ok = mail(campaign)
    assert ok.exit_code == 0, ok.output
    _check_arrived(mailbox, login="anquan")


# -- refused: a certificate that does not prove the server -----------------------------
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_untrusted_certificate_stops_the_batch_and_records_nothing(
    tmp_path: Path, ca: trustme.CA, security: str
) -> None:
    mailbox = Mailbox()
    with running(mailbox, **tls(security, certificate(ca, *LOCAL))) as srv:
        campaign = campaign_folder(tmp_path, srv, security=security)  # no ca_file
        result = mail(campaign)
    _refused(tmp_path, result, mailbox)
    assert f"邮件服务器 127.0.0.1:{srv.port} 的证书不受信任（" in result.output
    assert "为安全起见未连接" in result.output
    assert "请在工作配置文件 [smtp] 中用 ca_file 指明该 CA 的证书文件（PEM）" in result.output


def test_certificate_from_another_ca_than_ca_file_is_refused(
    tmp_path: Path, ca: trustme.CA
) -> None:
    mailbox = Mailbox()
    other = write_ca(trustme.CA(), tmp_path / "campaign")
    with running(mailbox, **tls("starttls", certificate(ca, *LOCAL))) as srv:
        campaign = campaign_folder(tmp_path, srv, security="starttls", smtp=other)
        result = mail(campaign)
    _refused(tmp_path, result, mailbox)
    assert "的证书不受信任（" in result.output
    pem = (tmp_path / "campaign" / "certs" / "bureau-ca.pem").resolve()
    assert f"请核对 [smtp] ca_file（{pem}）是否为签发该证书的 CA" in result.output


@pytest.mark.parametrize("security", ["ssl", "starttls"])
@pytest.mark.parametrize(
    ("host", "names"),
    [
        ("127.0.0.1", ("smtp.example-qwj.gov.cn",)),  # an address the certificate lacks
        ("localhost", ("127.0.0.1",)),  # a name the certificate lacks
    ],
)
def test_certificate_for_another_host_is_refused(
    tmp_path: Path, ca: trustme.CA, security: str, host: str, names: tuple[str, ...]
) -> None:
    mailbox = Mailbox()
    ca_file = write_ca(ca, tmp_path / "campaign")
    with running(mailbox, **tls(security, certificate(ca, *names))) as srv:
        campaign = campaign_folder(tmp_path, srv, security=security, host=host, smtp=ca_file)
        result = mail(campaign)
    _refused(tmp_path, result, mailbox)
    assert f"邮件服务器 {host}:{srv.port} 的证书不是签发给“{host}”的（" in result.output
    assert "请把工作配置文件 [smtp] host 改为证书上的服务器名称" in result.output


def test_expired_certificate_is_refused(tmp_path: Path, ca: trustme.CA) -> None:
    mailbox = Mailbox()
    ca_file = write_ca(ca, tmp_path / "campaign")
    with running(mailbox, **tls("ssl", certificate(ca, *LOCAL, expired=True))) as srv:
        campaign = campaign_folder(tmp_path, srv, security="ssl", smtp=ca_file)
        result = mail(campaign)
    _refused(tmp_path, result, mailbox)
    assert "的证书已过期或尚未生效（certificate has expired）" in result.output
