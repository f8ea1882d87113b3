"""Mail pieces on their own: the campaign's [mail]/[smtp], roster rows as recipients, the
templates (shipped and the bureau's own) and the MIME message."""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from pathlib import Path

import pytest
import trustme
from support.smtp import attachment, body_text, campaign_folder, parse, write_ca

from pipeline.campaigns.campaign import load_campaign
from pipeline.config.roster import Institution
from pipeline.errors import ConfigError
from pipeline.mail.compose import Attachment, build_message, render_letter
from pipeline.mail.recipients import Refusal, parse_address, recipients_of


# -- [mail] and [smtp] -----------------------------------------------------------------
def test_mail_settings_default_to_a_dry_run_from_the_bureau(tmp_path: Path) -> None:
    campaign = load_campaign(campaign_folder(tmp_path))
    mail = campaign.mail
    assert mail.templates is None and mail.pause_seconds == 0 and mail.remind_every_days == 1
    assert mail.smtp.host == "" and mail.smtp.password_env == "PIPELINE_SMTP_PASSWORD"
    assert mail.smtp.security == "starttls" and mail.smtp.effective_port == 587
    assert mail.smtp.ca_file is None  # the system's trust store


def test_mail_settings_read(tmp_path: Path) -> None:
    (tmp_path / "campaign" / "邮件模板").mkdir(parents=True)
    ca_file = write_ca(trustme.CA(), tmp_path / "campaign", "证书/本局CA.pem")
    path = campaign_folder(
        tmp_path,
        mail='templates = "邮件模板"\npause_seconds = 1.5\nremind_every_days = 3',
    )
    text = path.read_text("utf-8") + (
        '\n[smtp]\nhost = "smtp.example.cn"\nsecurity = "ssl"\nuser = "anquan"\n'
        f'sender = "noreply@example.cn"\npassword_env = "QWJ_MAIL_PASSWORD"\n{ca_file}\n'
    )
    path.write_text(text, "utf-8")
    mail = load_campaign(path).mail
    assert mail.templates == (tmp_path / "campaign" / "邮件模板").resolve()
    assert (mail.pause_seconds, mail.remind_every_days) == (1.5, 3)
    assert (mail.smtp.host, mail.smtp.effective_port, mail.smtp.user) == (
        "smtp.example.cn",
        465,
        "anquan",
    )
    assert (mail.smtp.sender, mail.smtp.password_env) == ("noreply@example.cn", "QWJ_MAIL_PASSWORD")
    assert mail.smtp.ca_file == (tmp_path / "campaign" / "证书" / "本局CA.pem").resolve()


@pytest.mark.parametrize(
    ("table", "lines", "words"),
    [
        ("smtp", 'host = "h"\npassword = "secret"', "密码不能写在配置文件里；请删去 password"),
        ("smtp", 'security = "tls"', 'security 须为 starttls、ssl、none 之一，现为 "tls"'),
        ("smtp", "port = 70000", "port 须为1—65535的整数，现为 70000"),
        ("smtp", 'password_env = "MY PASSWORD"', "password_env 须为环境变量名"),
        ("smtp", 'host = "smtp.example.cn\\r\\nX: y"', "host 中不能有换行或其他控制字符"),
        ("smtp", 'ca_file = "certs/ca.pem"', "找不到 ca_file 所指的证书文件 "),
        (
            "smtp",
            'ca_file = "roster.csv"',
            "无法作为 PEM 证书读取；导出 CA 证书时请选“Base64 编码 X.509”格式",
        ),
        (
            "smtp",
            'security = "none"\nca_file = "roster.csv"',
            'ca_file 只在 security = "ssl" 或 "starttls" 时使用',
        ),
        ("mail", 'templates = "nowhere"', "找不到 templates 所指的文件夹 "),
        ("mail", "pause_seconds = -1", "pause_seconds 须为0或正数（秒），现为 -1"),
        ("mail", "remind_every_days = 0.5", "remind_every_days 须为不小于1的整数（天），现为 0.5"),
    ],
)
def test_bad_mail_settings_name_the_file_and_table(
    tmp_path: Path, table: str, lines: str, words: str
) -> None:
    path = campaign_folder(tmp_path)
    path.write_text(path.read_text("utf-8") + f"\n[{table}]\n{lines}\n", "utf-8")
    with pytest.raises(ConfigError) as exc:
        load_campaign(path)
    assert f"campaign.toml [{table}]" in str(exc.value) and words in str(exc.value)


# -- roster rows as recipients ---------------------------------------------------------
def _inst(**fields: str) -> Institution:
    values = {"code": "QW001", "name": "示例区人民医院", "level": "二级医院", **fields}
    return Institution(**values, line=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "addresses"),
    [
        ("rmyy@example.cn", ["rmyy@example.cn"]),
        (" RMYY@example.cn ", ["RMYY@example.cn"]),
        ("rmyy＠example．cn", ["rmyy@example.cn"]),  # full-width, as an input method types
        ("a@example.cn；b@example.cn", ["a@example.cn", "b@example.cn"]),
        ("a@example.cn, b@example.cn a@EXAMPLE.cn", ["a@example.cn", "b@example.cn"]),
        ("", []),
    ],
)
def test_addresses_as_clerks_type_them(typed: str, addresses: list[str]) -> None:
    found = recipients_of(_inst(email=typed))
    assert not isinstance(found, Refusal)
    assert [a.addr_spec for a in found] == addresses
    assert all(a.display_name == "示例区人民医院" for a in found)


@pytest.mark.parametrize(
    "typed",
    ["rmyy", "rmyy@localhost", "<rmyy@example.cn>", "王医生@example.cn", "a@@example.cn"],
)
def test_an_address_that_is_not_one_is_refused_naming_the_row(typed: str) -> None:
    found = recipients_of(_inst(email=typed))
    assert isinstance(found, Refusal)
    assert str(found).startswith("名册第3行（QW001 示例区人民医院）：电子邮箱“")
    with pytest.raises(ValueError):
        parse_address(typed)


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("name", "示例区人民医院\r\nBcc: x@evil.example", "“机构名称”含有换行符"),
        ("email", "a@example.cn\nBcc: x@evil.example", "“电子邮箱”含有换行符"),
        ("contact", "王建国\u2028", "“联系人”含有换行符"),
        ("contact", "王建国\x00", "“联系人”含有控制字符"),
        ("code", "QW\t001", "“机构代码”含有控制字符"),
    ],
)
def test_control_characters_anywhere_a_message_shows_are_refused(
    field: str, text: str, words: str
) -> None:
    found = recipients_of(_inst(**{field: text}))
    assert isinstance(found, Refusal)
    assert words in str(found) and "\n" not in str(found) and "\r" not in str(found)


# -- templates -------------------------------------------------------------------------
def _context(**more: object) -> dict[str, object]:
    from pipeline.config.calendar import Period

    campaign = load_campaign(Path(__file__).resolve().parents[1] / "examples" / "campaign.toml")
    return {
        "campaign": campaign,
        "bureau": campaign.bureau,
        "institution": _inst(contact="王建国"),
        "period": Period(2026, 8),
        "due": dt.date(2026, 9, 1),
        "due_covered": True,
        "forms": [],
        "attachment": "2026-08_示例区人民医院_QW001.xlsx",
        "reply_to": "anquan@example-qwj.gov.cn",
        "today": dt.date(2026, 9, 3),
        **more,
    }


def test_the_bureau_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "monthly_subject.txt.j2").write_text(
        "{{ institution.name }}：{{ period.label() }}月报\n请查收\n", "utf-8"
    )
    subject, body = render_letter(tmp_path, "monthly", _context())
    assert subject == "示例区人民医院：2026年8月月报 请查收"  # folded to one line
    assert body.startswith("王建国同志：\n\n您好！")  # the shipped body


def test_a_broken_bureau_template_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "monthly_body.txt.j2").write_text("{{ institution.nmae }}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"monthly_body\.txt\.j2.*nmae"):
        render_letter(tmp_path, "monthly", _context())
    (tmp_path / "monthly_body.txt.j2").write_text("第一行\n{% if %}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"monthly_body\.txt\.j2：第2行格式有误"):
        render_letter(tmp_path, "monthly", _context())


def test_reminder_for_a_rejected_return_lists_its_problems() -> None:
    from pipeline.mail.reminders import Problem

    problems = [Problem("附件2!F8", "自动计算的单元格被改写为15，按所填数字应为12", "请重填。")]
    subject, body = render_letter(
        None,
        "reminder",
        _context(
            reason="rejected",
            overdue_days=2,
            rejected_file="QW001.xlsx",
            rejected_received="2026-08-31 09:00",
            problems=problems,
            more_problems=0,
        ),
    )
    assert (
        subject
        == "【催报】安全生产专项整治三年行动2026年8月报表已退回，请更正后重新报送（示例区人民医院）"
    )
    assert "于2026-08-31 09:00报送的2026年8月报表（文件“QW001.xlsx”）未通过校验" in body
    assert "报送截止日为2026年9月1日，已逾期2天。" in body
    assert "1. 附件2!F8：自动计算的单元格被改写为15，按所填数字应为12。请重填。" in body


# -- the message -----------------------------------------------------------------------
def test_message_headers_body_and_attachment() -> None:
    raw = build_message(
        sender=Address("示例区卫生健康局", addr_spec="noreply@example-qwj.gov.cn"),
        reply_to=Address("示例区卫生健康局", addr_spec="anquan@example-qwj.gov.cn"),
        to=[Address("示例区人民医院", addr_spec="rmyy@example-qwj.gov.cn")],
        subject="【安全生产专项整治三年行动】请于2026年9月1日前报送2026年8月报表",
        body="王建国同志：\n\n您好！\n",
        attachment=Attachment("2026-08_示例区人民医院_QW001.xlsx", b"PK\x03\x04 not really"),
        msg_id="<1.2.3@example-qwj.gov.cn>",
        date=dt.datetime(2026, 8, 25, 9, 30),
    )
    assert raw.isascii()
    text = raw.decode()
    assert "\r\nMessage-ID: <1.2.3@example-qwj.gov.cn>\r\n" in text
    assert "\r\nDate: Tue, 25 Aug 2026 09:30:00 " in text
    # RFC 2231: the Chinese file name percent-encoded in UTF-8, never raw or RFC 2047.
    assert "filename*0*=utf-8''2026-08_%E7%A4%BA%E4%BE%8B%E5%8C%BA" in text
    assert "=?utf-8?" not in text.split("Content-Disposition", 1)[1]
    msg = parse(raw)
    assert msg["Subject"] == "【安全生产专项整治三年行动】请于2026年9月1日前报送2026年8月报表"
    assert msg["Reply-To"].addresses[0].addr_spec == "anquan@example-qwj.gov.cn"
    # Text in canonical form (CRLF line ends) inside the base64, as RFC 2045 wants it.
    assert body_text(msg) == "王建国同志：\r\n\r\n您好！\r\n"
    assert attachment(msg) == ("2026-08_示例区人民医院_QW001.xlsx", b"PK\x03\x04 not really")
