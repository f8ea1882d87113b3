"""The campaign file's ``[imap]`` table: defaults, and every mistake named by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.campaigns.campaign import load_campaign
from pipeline.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def campaign_with(tmp_path: Path, imap: str) -> Path:
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8") + "\n" + imap + "\n"
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_imap_there_is_no_mailbox(tmp_path: Path) -> None:
    assert load_campaign(campaign_with(tmp_path, "")).imap is None


def test_defaults_are_ssl_on_993_inbox_read_only(tmp_path: Path) -> None:
    imap = load_campaign(
        campaign_with(tmp_path, '[imap]\nhost = "imap.example.cn"\nuser = "a@example.cn"')
    ).imap
    assert imap is not None
    assert (imap.security, imap.effective_port, imap.folder, imap.move_to) == (
        "ssl",
        993,
        "INBOX",
        "",
    )
    assert imap.password_env == "PIPELINE_IMAP_PASSWORD"
    assert imap.ca_file is None and imap.timeout == 60
    assert imap.account == "a@example.cn@imap.example.cn"


@pytest.mark.parametrize(("security", "port"), [("starttls", 143), ("none", 143), ("ssl", 993)])
def test_the_port_follows_security(tmp_path: Path, security: str, port: int) -> None:
    imap = load_campaign(
        campaign_with(tmp_path, f'[imap]\nhost = "h"\nuser = "u"\nsecurity = "{security}"')
    ).imap
    assert imap is not None and imap.effective_port == port


def test_every_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "bureau-ca.pem").write_text("pem", encoding="utf-8")
    imap = load_campaign(
        campaign_with(
            tmp_path,
            '[imap]\nhost = "imap.qwj.gov.cn"\nport = 10993\nsecurity = "ssl"\n'
            'user = "anquan"\npassword_env = "QWJ_IMAP"\nfolder = "报表"\n'
            'move_to = "已处理"\nca_file = "certs/bureau-ca.pem"\ntimeout = 15',
        )
    ).imap
    assert imap is not None
    assert (imap.host, imap.effective_port, imap.user, imap.password_env) == (
        "imap.qwj.gov.cn",
        10993,
        "anquan",
        "QWJ_IMAP",
    )
    assert (imap.folder, imap.move_to, imap.timeout) == ("报表", "已处理", 15.0)
    assert imap.ca_file == (tmp_path / "certs" / "bureau-ca.pem").resolve()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'host = "h"\nuser = "u"\npassword = "x"',
            "密码不能写在配置文件里；请删去 password，把密码（或授权码）放在环境变量 PIPELINE_IMAP_PASSWORD 中",
        ),
        ('host = "h"\nuser = "u"\npassword_env = "X"\npassword = "x"', "放在环境变量 X 中"),
        ('user = "u"', "[imap]：缺少必填的键 host"),
        ('host = "h"', "[imap]：缺少必填的键 user"),
        (
            'host = "h"\nuser = "u"\nsecurity = "tls"',
            '[imap]：security 须为 ssl、starttls、none 之一，现为 "tls"',
        ),
        ('host = "h"\nuser = "u"\nport = 70000', "port 须为1—65535的整数，现为 70000"),
        ('host = "h"\nuser = "u"\nport = "993"', 'port 须为数字（不加引号），现为 "993"'),
        ('host = "h"\nuser = "u"\ntimeout = 0', "timeout 须大于0（秒），现为 0"),
        (
            'host = "h"\nuser = "u"\nmove_to = "inbox"',
            "move_to 须是另一个文件夹，不能与 folder（INBOX）相同",
        ),
        ('host = "h"\nuser = "u"\nca_file = "nope.pem"', "找不到 ca_file 所指的证书文件 "),
        (
            'host = "h"\nuser = "u"\npassword_env = "NOT A NAME"',
            'password_env 须为环境变量名（英文字母、数字和下划线，如 PIPELINE_IMAP_PASSWORD），现为 "NOT A NAME"',
        ),
        ('host = "h"\nuser = "u"\nfolder = "a\\nb"', "folder 中不能有换行或其他控制字符"),
        (
            'host = "h"\nuser = "u"\nmoveto = "x"',
            "[imap] 中的“moveto”不是可用的设置项，是不是“move_to”？",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, table: str, expected: str) -> None:
    path = campaign_with(tmp_path, "[imap]\n" + table)
    with pytest.raises(ConfigError) as err:
        load_campaign(path)
    assert str(path) in str(err.value) and "[imap]" in str(err.value)
    assert expected in str(err.value)


def test_a_non_table_imap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    path.write_text('imap = "imap.example.cn"\n' + text, encoding="utf-8")  # a top-level key
    with pytest.raises(ConfigError, match=r"\[imap\] 须为一个表"):
        load_campaign(path)
