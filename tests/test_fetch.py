"""``fetch`` against a real IMAP server (Dovecot on 127.0.0.1, TLS from a test-made CA).

Messages are delivered with IMAP APPEND and an explicit INTERNALDATE, shaped as
institutions' mail clients send them; the fetch is read back from the inbox (names and
bytes), from the ledger (one row per message, one per file saved, the origin lookup the
intake uses) and from the mailbox itself (unchanged without ``move_to``). The server is
killed mid-fetch, its folder recreated under a new UIDVALIDITY, and the fetching process
killed between saving and recording: nothing is lost and nothing saved twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import letters as L
from support.imap import PASSWORD, USER, Dovecot, dovecot_path, unavailable_reason

from pipeline.campaigns.campaign import load_campaign
from pipeline.cli import cli
from pipeline.intake.mailbox import Fetcher, fetch_returns
from pipeline.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CST = dt.timezone(dt.timedelta(hours=8))  # the bureau's provider stamps Beijing time
MUTF7_YICHULI = b"&XfJZBHQG-"  # 已处理 in IMAP's modified UTF-7, worked out by hand


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=CST)


def local_iso(when: dt.datetime) -> str:
    return when.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dovecot_binary() -> str:
    path = dovecot_path()
    if path is None:
        pytest.skip(
            f"DOVECOT NOT AVAILABLE: {unavailable_reason()} -- fetching from a real IMAP "
            "server was NOT checked"
        )
    return path


@pytest.fixture
def server(dovecot_binary: str):
    srv = Dovecot(dovecot_binary)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_IMAP_PASSWORD", PASSWORD)


def campaign_for(
    base: Path,
    server: Dovecot,
    *,
    security: str = "ssl",
    trust: bool = True,
    port: int | None = None,
    imap: str = "",
    max_file_mb: float | None = None,
) -> Path:
    """``base/campaign/campaign.toml``: the example campaign with ``[imap]`` at ``server``;
    ledger, inbox and outbox under ``base``."""
    folder = base / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    if max_file_mb is not None:
        text = text.replace("max_file_mb = 20 ", f"max_file_mb = {max_file_mb} ")
    if port is None:
        port = server.ssl_port if security == "ssl" else server.plain_port
    text += f'\n[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
    text += f'user = "{USER}"\ntimeout = 10\n'
    if trust:
        (folder / "private-ca.pem").write_bytes(server.ca_file.read_bytes())
        text += 'ca_file = "private-ca.pem"\n'
    text += imap + "\n"
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    (folder / "roster.csv").write_text((EXAMPLES / "roster.csv").read_text("utf-8"), "utf-8")
    return folder / "campaign.toml"


def fetch(campaign: Path) -> Result:
    return CliRunner().invoke(cli, ["--campaign", str(campaign), "fetch"])


def inbox_files(base: Path) -> dict[str, bytes]:
    inbox = base / "inbox"
    return {p.name: p.read_bytes() for p in sorted(inbox.iterdir())} if inbox.exists() else {}


def rows(base: Path, table: str) -> list[dict]:
    db = sqlite3.connect(base / "ledger.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        db.close()


# -- every shape of real mail -----------------------------------------------------------------
def _shapes() -> tuple[list[tuple[bytes, dt.datetime]], dict[str, bytes], dict[str, str]]:
    """The messages, the inbox expected after one fetch (name → bytes) and the outcome
    expected for each Message-ID."""
    data = {k: L.xlsx_bytes(k) for k in "abcdefghijklmn"}
    inner_zip = L.zip_of({"一院.xlsx": data["j"], "二院.xlsx": data["k"]})
    png = b"\x89PNG\r\n\x1a\n" + b"logo" * 50
    big = os.urandom(80 * 1024)  # over max_file_mb = 0.05 (52 KB)
    gbk_lie = urllib.parse.quote("二院报表（喆）.xlsx".encode("gbk"))  # GBK, labelled GB2312
    msgs: list[tuple[bytes, dt.datetime]] = []

    def add(raw: bytes, when: dt.datetime) -> None:
        msgs.append((raw, when))

    def one(mid: str, disposition: bytes, payload: bytes, **kw: bytes) -> bytes:
        return L.message(
            [L.text_part("请查收。"), L.file_part(payload, disposition, **kw)],
            subject=L.encoded_word("报表", "utf-8"),
            sender=b"<aqk@h.example.cn>",
            message_id=mid,
        )

    add(
        L.simple("<a@h1>", "第一人民医院10月报表", [("附件2_第一人民医院.xlsx", data["a"])]),
        at(2, 9),
    )
    add(one("<b@h2>", f"attachment; filename*=gb2312''{gbk_lie}".encode(), data["b"]), at(2, 10))
    add(
        one(
            "<c@h3>",
            L.rfc2047_quoted("社区卫生服务中心报表.xlsx", "GBK"),
            data["c"],
            ctype_params=b'; name="' + L.encoded_word("社区卫生服务中心报表.xlsx", "GBK") + b'"',
        ),
        at(2, 11),
    )
    add(one("<d@h4>", L.rfc2047_split("妇幼保健院附件2.xlsx", "utf-8", cut=4), data["d"]), at(3))
    add(one("<e@h5>", L.raw_8bit("中医院报表.xlsx", "gb18030"), data["e"]), at(3, 10))
    add(one("<f@h6>", L.rfc2231_sections("疾控中心报表.xlsx", "utf-8", 5), data["f"]), at(3, 11))
    inner = L.simple("<g-inner@h7>", "乡镇卫生院报表", [("乡镇卫生院报表.xlsx", data["g"])])
    add(
        L.message(
            [L.text_part("转发：乡镇卫生院报表"), L.forwarded(inner)],
            subject=L.encoded_word("转发：乡镇卫生院报表", "utf-8"),
            sender=b"<zhongxin@h7.example.cn>",
            message_id="<g@h7>",
        ),
        at(4),
    )
    deep = L.simple("<h-inner@h8>", "原始邮件", [("村卫生室报表.xlsx", data["h"])])
    once = L.message([L.forwarded(deep)], subject=b"Fwd", sender=b"<x@h8>", message_id="<h1@h8>")
    add(
        L.message([L.forwarded(once)], subject=b"Fwd: Fwd", sender=b"<y@h8>", message_id="<h@h8>"),
        at(4, 10),
    )
    add(
        L.simple(
            "<i@h9>", "两张表", [("附件1_任务清单.xlsx", data["i"]), ("附件2_进展.xlsx", data["l"])]
        ),
        at(5),
    )
    add(
        L.message(
            [
                L.text_part("各院报表见压缩包"),
                L.file_part(
                    inner_zip, L.rfc2231("各院报表.zip"), ctype=b"application/x-zip-compressed"
                ),
            ],
            subject=L.encoded_word("压缩包", "utf-8"),
            sender=b"<zip@h10.example.cn>",
            message_id="<j@h10>",
        ),
        at(5, 10),
    )
    add(
        L.message(
            [L.letter_body(html_logo=png)],
            subject=L.encoded_word("关于报送10月份报表（喆）", "gbk", label="gb2312"),
            sender=b'"' + "张三".encode("gbk") + b'" <zhangsan@h11.example.cn>',
            message_id="<k@h11>",
        ),
        at(6),
    )
    add(one("<l@h12>", L.rfc2231("大文件.xlsx"), big), at(6, 10))
    add(one("<m@h13>", L.rfc2231("../../etc/逃逸.xlsx"), data["m"]), at(7))
    add(one("<n@h14>", L.rfc2231("~$临时.xlsx"), data["n"]), at(7, 10))
    add(
        one("<o@h15>", L.rfc2231("纸质报表扫描件.png"), png, ctype=b"image/png"),
        at(8),
    )
    add(L.simple("<p@h16>", "报表", [("报表.xlsx", data["a"][::-1])]), at(8, 10))
    add(L.simple(None, "无Message-ID", [("无标识.xlsx", data["b"][::-1])]), at(9))
    expected = {
        "附件2_第一人民医院.xlsx": data["a"],
        "二院报表（喆）.xlsx": data["b"],
        "社区卫生服务中心报表.xlsx": data["c"],
        "妇幼保健院附件2.xlsx": data["d"],
        "中医院报表.xlsx": data["e"],
        "疾控中心报表.xlsx": data["f"],
        "乡镇卫生院报表.xlsx": data["g"],
        "村卫生室报表.xlsx": data["h"],
        "附件1_任务清单.xlsx": data["i"],
        "附件2_进展.xlsx": data["l"],
        "各院报表.zip": inner_zip,
        "逃逸.xlsx": data["m"],
        "附件_临时.xlsx": data["n"],
        "纸质报表扫描件.png": png,
        "报表.xlsx": b"the clerk's own file, saved by hand",  # there before the fetch
        "报表 (2).xlsx": data["a"][::-1],
        "无标识.xlsx": data["b"][::-1],
    }
    outcomes = {
        "<k@h11>": "no_attachment",
        "<l@h12>": "refused",
    }
    return msgs, expected, outcomes


def test_every_shape_of_mail_is_saved_once_and_recorded(tmp_path: Path, server: Dovecot) -> None:
    msgs, expected, outcomes = _shapes()
    uids = server.append_many(msgs)
    campaign = campaign_for(tmp_path, server, max_file_mb=0.05)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "报表.xlsx").write_bytes(expected["报表.xlsx"])
    started = time.time()

    result = fetch(campaign)

    assert result.exit_code == 0, result.output
    assert inbox_files(tmp_path) == expected
    assert (
        f"新邮件 {len(msgs)} 封，保存附件 {len(expected) - 1} 个，无附件 1 封，拒收 1 封"
        in result.output
    )
    assert (
        "无附件：2026-11-06" in result.output and "张三 <zhangsan@h11.example.cn>" in result.output
    )
    assert (
        "拒收：" in result.output and "大文件.xlsx" in result.output and "超过上限" in result.output
    )
    assert "各院报表.zip［压缩包" in result.output

    messages = rows(tmp_path, "mail_messages")
    assert [m["uid"] for m in messages] == uids
    by_id = {m["message_id"]: m for m in messages}
    for m in messages:
        assert m["outcome"] == outcomes.get(m["message_id"], "saved"), m
        assert m["account"] == f"{USER}@127.0.0.1" and m["folder"] == "INBOX"
    assert [m["internaldate"] for m in messages] == [local_iso(when) for _, when in msgs]
    k = by_id["<k@h11>"]
    assert (k["sender"], k["sender_name"]) == ("zhangsan@h11.example.cn", "张三")
    assert k["subject"] == "关于报送10月份报表（喆）"
    assert (
        "大文件.xlsx" in by_id["<l@h12>"]["note"]
        and "80 KB，超过上限 0.05 MB" in by_id["<l@h12>"]["note"]
    )
    assert by_id[""]["raw_sha256"]  # no Message-ID: known by its bytes

    files = rows(tmp_path, "mail_files")
    assert sorted(f["saved_name"] for f in files) == sorted(set(expected) - {"报表.xlsx"})
    kinds = {f["saved_name"]: f["kind"] for f in files}
    assert kinds["各院报表.zip"] == "zip" and kinds["附件2_第一人民医院.xlsx"] == ""
    originals = {f["saved_name"]: f["original_name"] for f in files}
    assert originals["逃逸.xlsx"] == "../../etc/逃逸.xlsx"
    assert originals["附件_临时.xlsx"] == "~$临时.xlsx"
    assert originals["报表 (2).xlsx"] == "报表.xlsx"

    # The lookup the intake uses: a file's origin by its bytes.
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        for name in ("乡镇卫生院报表.xlsx", "村卫生室报表.xlsx", "二院报表（喆）.xlsx"):
            origin = ledger.mail_origin(hashlib.sha256(expected[name]).hexdigest(), name)
            assert origin is not None and origin.saved_name == name
        origin = ledger.mail_origin(hashlib.sha256(expected["乡镇卫生院报表.xlsx"]).hexdigest())
        assert origin is not None
        assert origin.received == dt.datetime.fromisoformat(local_iso(at(4)))
        assert (origin.sender, origin.message_id) == ("zhongxin@h7.example.cn", "<g@h7>")
        assert origin.subject == "转发：乡镇卫生院报表"
        assert ledger.mail_origin(hashlib.sha256(b"never mailed").hexdigest()) is None
    finally:
        ledger.close()
    # The receipt time is the ledger's; the file's own time is when it was saved.
    assert (tmp_path / "inbox" / "乡镇卫生院报表.xlsx").stat().st_mtime >= started - 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_second_fetch_fetches_nothing_again(
    tmp_path: Path, server: Dovecot, security: str
) -> None:
    server.append(L.simple("<1@x>", "一", [("一.xlsx", L.xlsx_bytes("1"))]), at(2))
    server.append(L.simple("<2@x>", "二", [("二.xlsx", L.xlsx_bytes("2"))]), at(3))
    campaign = campaign_for(tmp_path, server, security=security)

    first = fetch(campaign)
    assert first.exit_code == 0, first.output
    before = inbox_files(tmp_path)
    assert sorted(before) == ["一.xlsx", "二.xlsx"]

    again = fetch(campaign)
    assert again.exit_code == 0, again.output
    assert "新邮件 0 封，保存附件 0 个" in again.output
    assert inbox_files(tmp_path) == before
    assert len(rows(tmp_path, "mail_messages")) == 2

    server.append(L.simple("<3@x>", "三", [("三.xlsx", L.xlsx_bytes("3"))]), at(4))
    third = fetch(campaign)
    assert "新邮件 1 封，保存附件 1 个" in third.output
    assert sorted(inbox_files(tmp_path)) == ["一.xlsx", "三.xlsx", "二.xlsx"]
    assert [m["message_id"] for m in rows(tmp_path, "mail_messages")] == ["<1@x>", "<2@x>", "<3@x>"]


def test_without_move_to_the_mailbox_is_left_exactly_as_it_was(
    tmp_path: Path, server: Dovecot
) -> None:
    for n in range(3):
        server.append(L.simple(f"<{n}@x>", "表", [(f"{n}.xlsx", L.xlsx_bytes(str(n)))]), at(2 + n))
    before, folders = server.state(), server.folders()

    result = fetch(campaign_for(tmp_path, server))

    assert result.exit_code == 0, result.output
    assert len(inbox_files(tmp_path)) == 3
    after = server.state()
    # Same messages, same UIDs, still unread (no \Seen) and even still \Recent: the
    # folder was only EXAMINEd, never selected for writing.
    assert after == before
    assert all(b"\\Recent" in flags for flags, _ in after.values())
    assert all(b"\\Seen" not in flags for flags, _ in after.values())
    assert server.folders() == folders


@pytest.mark.parametrize(
    "capability",
    ["", "IMAP4rev1 SASL-IR LITERAL+ UIDPLUS"],  # with MOVE; without it (COPY + EXPUNGE)
    ids=["move", "copy-expunge"],
)
def test_move_to_moves_each_processed_message(
    tmp_path: Path, dovecot_binary: str, capability: str
) -> None:
    server = Dovecot(dovecot_binary, capability=capability)
    server.start()
    try:
        raws = [L.simple(f"<{n}@x>", "表", [(f"{n}.xlsx", L.xlsx_bytes(str(n)))]) for n in range(4)]
        server.append_many([(raw, at(2 + n)) for n, raw in enumerate(raws)])
        greeting = L.message(
            [L.text_part("只是问候")], subject=b"hi", sender=b"<q@x>", message_id="<q@x>"
        )
        server.append(greeting, at(9))
        campaign = campaign_for(tmp_path, server, imap='move_to = "已处理"')

        result = fetch(campaign)

        assert result.exit_code == 0, result.output
        assert "已移到文件夹“已处理”（新建的文件夹）：5 封" in result.output
        assert server.state("INBOX") == {}
        moved = server.state("已处理")
        assert sorted(raw for _, raw in moved.values()) == sorted([*raws, greeting])
        assert any(MUTF7_YICHULI in f for f in server.folders())
        assert len(inbox_files(tmp_path)) == 4

        again = fetch(campaign)
        assert "新邮件 0 封" in again.output and "：0 封" in again.output
    finally:
        server.stop()


# -- interruptions ----------------------------------------------------------------------------
def test_server_killed_halfway_then_the_next_fetch_resumes(tmp_path: Path, server: Dovecot) -> None:
    raws = [
        L.simple(f"<{n}@x>", f"表{n}", [(f"表{n}.xlsx", L.xlsx_bytes(str(n)))]) for n in range(12)
    ]
    server.append_many([(raw, at(2, 8 + n)) for n, raw in enumerate(raws)])
    campaign = load_campaign(campaign_for(tmp_path, server))

    def kill_after_five(done: int, total: int) -> None:
        if done == 5:
            server.kill()

    first = fetch_returns(campaign, progress=kill_after_five)

    assert "连接中断" in first.stopped and "已收取的 5 封已保存" in first.stopped
    assert len(first.seen) == 5
    assert sorted(inbox_files(tmp_path)) == sorted(f"表{n}.xlsx" for n in range(5))

    server.start()  # the same maildir: same UIDVALIDITY, same UIDs
    second = fetch_returns(campaign)

    assert second.stopped == ""
    assert len(second.seen) == 7
    files = inbox_files(tmp_path)
    assert files == {f"表{n}.xlsx": L.xlsx_bytes(str(n)) for n in range(12)}
    messages = rows(tmp_path, "mail_messages")
    assert sorted(m["message_id"] for m in messages) == sorted(f"<{n}@x>" for n in range(12))
    assert len(rows(tmp_path, "mail_files")) == 12


def test_a_connection_lost_is_reported_with_exit_1(
    tmp_path: Path, server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        server.append(L.simple(f"<{n}@x>", "表", [(f"{n}.xlsx", L.xlsx_bytes(str(n)))]), at(2))
    recorded = Fetcher._record

    def record_then_lose_the_server(self: Fetcher, *args: object) -> None:
        recorded(self, *args)  # type: ignore[arg-type]
        server.kill()  # the server dies after the first message is on record

    monkeypatch.setattr(Fetcher, "_record", record_then_lose_the_server)

    output = _one_line_failure(fetch(campaign_for(tmp_path, server)))

    assert "新邮件 1 封，保存附件 1 个" in output
    assert "连接中断" in output and "请稍后再运行 fetch" in output
    assert list(inbox_files(tmp_path)) == ["0.xlsx"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("crash", ["fetch-saved:3", "fetch-recorded:3"])
def test_fetch_killed_between_saving_and_recording_saves_nothing_twice(
    tmp_path: Path, server: Dovecot, crash: str
) -> None:
    raws = [L.simple(f"<{n}@x>", "表", [(f"表{n}.xlsx", L.xlsx_bytes(str(n)))]) for n in range(5)]
    server.append_many([(raw, at(2, 8 + n)) for n, raw in enumerate(raws)])
    campaign = campaign_for(tmp_path, server, imap='move_to = "已处理"')
    command = [sys.executable, "-m", "pipeline", "--campaign", str(campaign), "fetch"]
    env = {**os.environ, "PIPELINE_IMAP_PASSWORD": PASSWORD}

    killed = subprocess.run(
        command, cwd=ROOT, env={**env, "PIPELINE_CRASH_AT": crash}, capture_output=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(inbox_files(tmp_path)) == 3  # the third saved, then the crash
    assert len(rows(tmp_path, "mail_messages")) == (2 if crash == "fetch-saved:3" else 3)

    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert inbox_files(tmp_path) == {f"表{n}.xlsx": L.xlsx_bytes(str(n)) for n in range(5)}
    assert sorted(m["message_id"] for m in rows(tmp_path, "mail_messages")) == sorted(
        f"<{n}@x>" for n in range(5)
    )
    assert server.state("INBOX") == {}
    assert len(server.state("已处理")) == 5


def test_a_recreated_folder_under_a_new_uidvalidity_saves_only_the_new_message(
    tmp_path: Path, server: Dovecot
) -> None:
    folder = "报表收件"
    raws = [
        L.simple("<1@x>", "一", [("一.xlsx", L.xlsx_bytes("1"))]),
        L.simple("<2@x>", "二", [("二.xlsx", L.xlsx_bytes("2"))]),
        L.simple(None, "无标识", [("三.xlsx", L.xlsx_bytes("3"))]),
    ]
    server.create(folder)
    server.append_many([(raw, at(2 + n)) for n, raw in enumerate(raws)], folder)
    campaign = campaign_for(tmp_path, server, imap=f'folder = "{folder}"')
    assert fetch(campaign).exit_code == 0
    old = server.uidvalidity(folder)

    server.delete(folder)
    time.sleep(1.1)  # a UIDVALIDITY is a time in seconds: make the new one differ
    server.create(folder)
    new = L.simple("<4@x>", "四", [("四.xlsx", L.xlsx_bytes("4"))])
    server.append_many([(raw, at(2 + n)) for n, raw in enumerate([*raws, new])], folder)
    assert server.uidvalidity(folder) != old

    result = fetch(campaign)

    assert result.exit_code == 0, result.output
    assert "新邮件 4 封，保存附件 1 个" in result.output and "此前已收取 3 封" in result.output
    assert inbox_files(tmp_path) == {
        name: L.xlsx_bytes(tag)
        for name, tag in (("一.xlsx", "1"), ("二.xlsx", "2"), ("三.xlsx", "3"), ("四.xlsx", "4"))
    }
    outcomes = [(m["uidvalidity"] == old, m["outcome"]) for m in rows(tmp_path, "mail_messages")]
    assert outcomes == [(True, "saved")] * 3 + [(False, "duplicate")] * 3 + [(False, "saved")]


def test_two_hundred_messages_in_one_fetch(tmp_path: Path, server: Dovecot) -> None:
    raws = [
        (L.simple(f"<{n}@x>", f"表{n}", [(f"返回{n:03d}.xlsx", L.xlsx_bytes(str(n)))]), at(2, 8))
        for n in range(200)
    ]
    server.append_many(raws)

    result = fetch(campaign_for(tmp_path, server))

    assert result.exit_code == 0, result.output
    assert "新邮件 200 封，保存附件 200 个" in result.output
    assert "等 200 个" in result.output  # the list is cut, the count is not
    assert inbox_files(tmp_path) == {f"返回{n:03d}.xlsx": L.xlsx_bytes(str(n)) for n in range(200)}
    assert len(rows(tmp_path, "mail_messages")) == 200


# -- refusals ---------------------------------------------------------------------------------
def _one_line_failure(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.output


def test_a_refused_login_is_a_clear_message_and_exit_1(
    tmp_path: Path, server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.append(L.simple("<1@x>", "一", [("一.xlsx", L.xlsx_bytes("1"))]), at(2))
    monkeypatch.setenv("PIPELINE_IMAP_PASSWORD", "wrong")

    output = _one_line_failure(fetch(campaign_for(tmp_path, server)))

    assert "拒绝登录" in output and "PIPELINE_IMAP_PASSWORD" in output and USER in output
    assert inbox_files(tmp_path) == {}
    assert rows(tmp_path, "mail_messages") == []


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_an_untrusted_certificate_is_refused(
    tmp_path: Path, server: Dovecot, security: str
) -> None:
    output = _one_line_failure(
        fetch(campaign_for(tmp_path, server, security=security, trust=False))
    )
    assert "证书不受信任" in output and "ca_file" in output


def test_an_unreachable_server_is_a_clear_message(tmp_path: Path, server: Dovecot) -> None:
    from support.imap import free_port

    output = _one_line_failure(fetch(campaign_for(tmp_path, server, port=free_port())))
    assert "无法连接收件服务器" in output and "连接被拒绝" in output


def test_without_the_password_variable_nothing_is_tried(
    tmp_path: Path, server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPELINE_IMAP_PASSWORD")
    output = _one_line_failure(fetch(campaign_for(tmp_path, server)))
    assert "未设置环境变量 PIPELINE_IMAP_PASSWORD" in output


def test_without_an_imap_table_fetch_says_what_to_set(tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (folder / "campaign.toml").write_text((EXAMPLES / "campaign.toml").read_text("utf-8"), "utf-8")
    output = _one_line_failure(fetch(folder / "campaign.toml"))
    assert "[imap]" in output
