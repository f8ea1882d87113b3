"""The pieces of ``fetch`` that need no server: reading headers and names as Chinese mail
clients write them, telling a return from the letter around it, and landing a file in the
inbox without ever replacing another."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from support import letters as L

from pipeline.intake import landing
from pipeline.intake.attachments import MAX_DEPTH, archive_kind, read_letter
from pipeline.intake.headers import header_text
from pipeline.intake.imap_session import imap_utf7, parse_internaldate, uid_set
from pipeline.intake.landing import clean_name, land, remove_leftovers
from pipeline.intake.sniff import skip_reason


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- headers ------------------------------------------------------------------------------
def test_gbk_text_labelled_gb2312_is_read() -> None:
    assert header_text(L.encoded_word("报表（喆）", "gbk", label="gb2312").decode()) == "报表（喆）"


def test_a_character_split_across_two_encoded_words_survives() -> None:
    raw = "妇幼".encode()
    words = [raw[:4], raw[4:]]  # 妇 is 3 bytes: the cut is inside 幼
    value = " ".join(f"=?UTF-8?B?{base64.b64encode(w).decode()}?=" for w in words)
    assert header_text(value) == "妇幼"


def test_raw_8bit_headers_in_utf8_or_gbk_are_read() -> None:
    for charset in ("utf-8", "gbk"):
        value = "关于报送报表".encode(charset).decode("ascii", "surrogateescape")
        assert header_text(value) == "关于报送报表"


def test_q_encoding_and_plain_text_between_words() -> None:
    assert header_text("Re: =?utf-8?Q?=E6=8A=A5=E8=A1=A8_10?= (urgent)") == "Re: 报表 10 (urgent)"


def test_line_breaks_smuggled_in_an_encoded_word_become_spaces() -> None:
    smuggled = base64.b64encode(b"a\r\nBcc: x@y").decode()
    value = f"=?utf-8?B?{smuggled}?="
    assert header_text(value) == "a Bcc: x@y"


# -- what is a return ---------------------------------------------------------------------
def _names(raw: bytes) -> list[str]:
    return [p.name for p in read_letter(raw).parts]


def test_the_letter_its_logo_and_signatures_are_not_returns() -> None:
    p7s = L.file_part(
        b"sig", b'attachment; filename="smime.p7s"', ctype=b"application/pkcs7-signature"
    )
    raw = L.message(
        [L.letter_body(html_logo=b"\x89PNG logo"), p7s],
        subject=b"x",
        sender=b"<a@b>",
        message_id="<1@x>",
    )
    assert _names(raw) == []


def test_when_in_doubt_a_part_is_kept() -> None:
    parts = [
        L.file_part(b"scan", L.rfc2231("扫描件.jpg"), ctype=b"image/jpeg"),
        L.file_part(b"a,b", L.rfc2231("数据.csv"), ctype=b"text/csv"),
        L.file_part(b"\x00tnef", b"attachment", ctype=b"application/ms-tnef"),
    ]
    raw = L.message(parts, subject=b"x", sender=b"<a@b>", message_id="<1@x>")
    letter = read_letter(raw)
    assert [(p.name, p.content_type) for p in letter.parts] == [
        ("扫描件.jpg", "image/jpeg"),
        ("数据.csv", "text/csv"),
        ("", "application/ms-tnef"),
    ]
    assert clean_name("", "application/ms-tnef").startswith("邮件附件")


def test_forwarding_is_followed_to_a_bounded_depth() -> None:
    raw = L.simple("<0@x>", "原件", [("深处.xlsx", b"data")])
    for n in range(MAX_DEPTH):
        raw = L.message([L.forwarded(raw)], subject=b"Fwd", sender=b"<a@b>", message_id=f"<{n}@f>")
    letter = read_letter(raw)
    assert [(p.name, p.depth) for p in letter.parts] == [("深处.xlsx", MAX_DEPTH)]
    too_deep = L.message([L.forwarded(raw)], subject=b"Fwd", sender=b"<a@b>", message_id="<z@f>")
    letter = read_letter(too_deep)
    assert letter.parts == [] and "嵌套超过" in letter.notes[0]


def test_a_zip_of_returns_is_told_from_an_xlsx() -> None:
    assert archive_kind(L.zip_of({"a.xlsx": b"x"})) == "zip"
    assert archive_kind(L.xlsx_bytes("a")) == ""
    assert archive_kind(b"Rar!\x1a\x07\x00rest") == "rar"
    assert archive_kind(b"not an archive") == ""


# -- names and landing --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("../../etc/报表.xlsx", "报表.xlsx"),
        ("C:\\Users\\张三\\报表.xlsx", "报表.xlsx"),
        ("~$报表.xlsx", "附件_报表.xlsx"),
        (".~lock.报表.xlsx#", "~lock.报表.xlsx#"),
        ("报表.tmp", "附件_报表.tmp_"),
        ("README.md", "附件_README.md"),
        ("CON.xlsx", "_CON.xlsx"),
        ("报\r\n表.xlsx", "报__表.xlsx"),
        ("...", "邮件附件.xlsx"),
    ],
)
def test_a_senders_name_becomes_a_safe_inbox_name(sent: str, saved: str) -> None:
    name = clean_name(sent, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert name == saved
    assert skip_reason(name) is None  # the intake will judge it, not skip it


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    name = clean_name("很" * 200 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode()) <= landing.MAX_NAME_BYTES


def test_landing_never_replaces_a_file_and_knows_its_own_bytes(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "报表.xlsx").write_bytes(b"the clerk's")
    assert land(inbox, "报表.xlsx", b"mail 1", _sha(b"mail 1")) == ("报表 (2).xlsx", True)
    assert land(inbox, "报表.xlsx", b"mail 2", _sha(b"mail 2")) == ("报表 (3).xlsx", True)
    # The same bytes again (a fetch killed before recording them): not copied again.
    assert land(inbox, "报表.xlsx", b"mail 1", _sha(b"mail 1")) == ("报表 (2).xlsx", False)
    assert (inbox / "报表.xlsx").read_bytes() == b"the clerk's"
    assert sorted(p.name for p in inbox.iterdir()) == [
        "报表 (2).xlsx",
        "报表 (3).xlsx",
        "报表.xlsx",
    ]


def test_landing_without_hard_links_still_replaces_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a.xlsx").write_bytes(b"old")
    assert land(tmp_path, "a.xlsx", b"new", _sha(b"new")) == ("a (2).xlsx", True)
    assert (tmp_path / "a.xlsx").read_bytes() == b"old"
    assert (tmp_path / "a (2).xlsx").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a (2).xlsx", "a.xlsx"]


def test_leftovers_of_a_killed_fetch_are_removed_and_skipped_meanwhile(tmp_path: Path) -> None:
    stale = tmp_path / f"{landing.TEMP_PREFIX}abc{landing.TEMP_SUFFIX}"
    stale.write_bytes(b"half")
    (tmp_path / "报表.xlsx").write_bytes(b"keep")
    assert skip_reason(stale.name) is not None  # a run in between would not judge it
    assert remove_leftovers(tmp_path) == [stale]
    assert [p.name for p in tmp_path.iterdir()] == ["报表.xlsx"]


# -- the protocol's small formats ---------------------------------------------------------
def test_folder_names_in_modified_utf7() -> None:
    assert imap_utf7("已处理") == "&XfJZBHQG-"
    assert imap_utf7("A&B") == "A&-B"
    assert imap_utf7("INBOX") == "INBOX"


def test_uid_sets_are_compact() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10]) == "1:3,7,9:10"


def test_internaldate_becomes_local_time() -> None:
    got = parse_internaldate(b'1 (UID 5 INTERNALDATE " 2-Nov-2026 09:13:00 +0800")')
    expected = dt.datetime(2026, 11, 2, 1, 13, tzinfo=dt.UTC).astimezone().replace(tzinfo=None)
    assert got == expected.isoformat()
    assert parse_internaldate(b"1 (UID 5)") == ""
