"""``mail --send`` over TLS, against a real SMTP server on 127.0.0.1 that speaks SSL
(TLS from the first byte) or requires STARTTLS, with a certificate the test issues
from a CA of its own (``trustme``), as a bureau's private CA would.

Delivery goes through when the certificate is trusted (the bureau's ``ca_file``) and
names the host.
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
        assert name == f"{PERIOD}_{row['机构名称']}_{row['机构代码']}.xlsx"
        meta = template_meta(data)
        assert meta["institution_code"] == row["机构代码"] and meta["period"] == PERIOD


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
