"""First look at an inbox file (pipeline/intake/sniff.py)."""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.config.limits import Limits
from pipeline.extract.reader import Refused, read_workbook
from pipeline.findings import RULES
from pipeline.intake.sniff import Sniffed, sha256_of, skip_reason, sniff

CFB = bytes.fromhex("D0CF11E0A1B11AE1")


def _sniff(path: Path) -> Sniffed:
    return sniff(path, path.stat().st_size, Limits())


def _judged(path: Path) -> Sniffed:
    """The directory checks, then the reader, which inflates every member to its end."""
    first = _sniff(path)
    if first.kind != "xlsx":
        return first
    try:
        read_workbook(path, {})
    except Refused as exc:
        return Sniffed("damaged", exc.rule, exc.detail)
    return first


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _xlsx(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "附件2"
    ws["A1"] = "安全生产专项整治三年行动工作进展情况"
    for r in range(3, 40):
        for c in range(1, 18):
            ws.cell(r, c, r * c)
    wb.save(path)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
WORKBOOK = b'<?xml version="1.0"?><workbook/>'


@pytest.mark.parametrize(
    "name",
    [
        "~$a.xlsx",
        "~$示例区人民医院.xlsx",
        ".~lock.a.xlsx#",
        "a.tmp",
        "a.TMP",
        "a.xlsx.crdownload",
        "README.md",
        "Thumbs.db",
        ".DS_Store",
        "._a.xlsx",
    ],
)
def test_litter_is_skipped(name: str) -> None:
    reason = skip_reason(name)
    assert reason is not None
    assert "已跳过" in reason


def test_readme_has_its_own_reason() -> None:
    assert skip_reason("README.md") == "收件箱说明文件，已跳过"
    assert skip_reason("~$a.xlsx") == "办公软件临时文件或说明文件，已跳过"


@pytest.mark.parametrize(
    "name", ["a.xlsx", "2026-10_示例区人民医院_QW001.xlsx", "a.xls", "temp.xlsx", "a~$.xlsx"]
)
def test_returns_are_not_skipped(name: str) -> None:
    assert skip_reason(name) is None


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.xlsx", b"")
    assert _sniff(path) == Sniffed("empty", "F-EMPTY")


def test_legacy_xls(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.xlsx", CFB + b"\x00" * 2048)
    assert _sniff(path) == Sniffed("xls", "F-LEGACY-XLS")


def test_encrypted_ooxml(tmp_path: Path) -> None:
    body = CFB + b"\x00" * 1000 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 1000
    path = _write(tmp_path, "a.xlsx", body)
    assert _sniff(path) == Sniffed("encrypted", "F-ENCRYPTED")


def test_html_saved_as_xlsx(tmp_path: Path) -> None:
    html = "\ufeff\n<html><body><table><tr><td>5</td></tr></table></body></html>"
    path = _write(tmp_path, "a.xlsx", html.encode("utf-8"))
    result = _sniff(path)
    assert (result.kind, result.reason) == ("html", "F-NOT-XLSX")
    path = _write(tmp_path, "b.xlsx", b"<!DOCTYPE HTML><html></html>")
    assert _sniff(path).reason == "F-NOT-XLSX"


def test_pdf_and_unknown_bytes(tmp_path: Path) -> None:
    assert _sniff(_write(tmp_path, "a.xlsx", b"%PDF-1.7\n")).kind == "pdf"
    other = _sniff(_write(tmp_path, "b.xlsx", b"\x00\x01binary"))
    assert (other.kind, other.reason) == ("other", "F-NOT-XLSX")


def test_a_zip_without_a_workbook_is_an_archive_of_returns(tmp_path: Path) -> None:
    """Whatever its name: its members are judged one by one (pipeline/intake/archive.py);
    a member is sniffed from its bytes."""
    path = _zip(tmp_path / "a.xlsx", {"data.csv": b"1,2,3"})
    assert _sniff(path) == Sniffed("archive")
    returns = _zip(
        tmp_path / "各院报表.zip", {"一院.xlsx": _xlsx(tmp_path / "1.xlsx").read_bytes()}
    )
    assert _sniff(returns) == Sniffed("archive")
    member = (tmp_path / "1.xlsx").read_bytes()
    assert sniff(member, len(member), Limits()) == Sniffed("xlsx")
    assert sniff(b"1,2,3", 5, Limits()).reason == "F-NOT-XLSX"


def test_an_archive_past_the_limits_on_archives_is_refused(tmp_path: Path) -> None:
    many = _zip(tmp_path / "many.zip", {f"{i}.xlsx": b"PK" for i in range(5)})
    assert _sniff(many) == Sniffed("archive")
    refused = sniff(many, many.stat().st_size, Limits(max_members=4))
    assert (refused.reason, refused.detail) == ("F-TOO-LARGE", "压缩包内有 5 个文件")
    bomb = _zip(tmp_path / "bomb.zip", {"a.xlsx": b"\x00" * (2 << 20)})
    assert _sniff(bomb) == Sniffed("bomb", "F-TOO-LARGE", "压缩包压缩比 1024 倍")
    noise = os.urandom(3 << 19).hex().encode()  # 3 MB that packs to half: not a bomb
    big = _zip(tmp_path / "big.zip", {"一院.xlsx": b"PK", "二院.xlsx": noise})
    assert _sniff(big) == Sniffed("archive")
    small = Limits(max_file_mb=2, max_unpacked_mb=100)
    assert sniff(big, big.stat().st_size, small).detail == "压缩包中的“二院.xlsx”解压后 3 MB"
    total = sniff(big, big.stat().st_size, Limits(max_unpacked_mb=2))
    assert total == Sniffed("bomb", "F-TOO-LARGE", "压缩包解压后共 3 MB")


def test_rar_and_7z_archives_are_named(tmp_path: Path) -> None:
    for magic in (b"Rar!\x1a\x07\x00", b"7z\xbc\xaf\x27\x1c\x00\x04"):
        found = _sniff(_write(tmp_path, "报表.rar", magic + b"\x00" * 64))
        assert found.reason == "F-NOT-XLSX" and "RAR 或 7z 压缩包" in found.detail


def _members_twice(folder: Path, name: str, other: str) -> Path:
    """A workbook zip holding ``name`` a second time (written as ``other``, which is
    ``name`` or ``name`` with backslashes), with other bytes."""
    good = _xlsx(folder / "good.xlsx")
    path = folder / "twice.xlsx"
    with zipfile.ZipFile(good) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for member, data in members:
            zf.writestr(member, data)
        zf.writestr(other, dict(members)[name].replace(b"<v>", b"<v>9"))
    return path


@pytest.mark.parametrize(
    "other", ["xl/worksheets/sheet1.xml", "xl\\worksheets\\sheet1.xml"], ids=["same", "backslash"]
)
def test_a_member_held_twice_is_damaged(tmp_path: Path, other: str) -> None:
    """Excel reads the first of two members of one name, zipfile the last: refused, by
    the directory checks and by the reader alike, naming the member."""
    path = _members_twice(tmp_path, "xl/worksheets/sheet1.xml", other)
    detail = "压缩包内有两个同名文件“xl/worksheets/sheet1.xml”"
    assert _sniff(path) == Sniffed("damaged", "F-DAMAGED", detail)
    with pytest.raises(Refused) as refused:
        read_workbook(path, {})
    assert (refused.value.rule, refused.value.detail) == ("F-DAMAGED", detail)
    assert (refused.value.sheet, refused.value.cell) == ("", "")


def test_a_workbook_without_content_types_is_read_with_a_note(tmp_path: Path) -> None:
    """Excel cannot open it; we can, and say so. A zip with neither it nor a workbook
    is still not a workbook."""
    good = _xlsx(tmp_path / "good.xlsx")
    assert read_workbook(good, {}).notes == []
    with zipfile.ZipFile(good) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    del members["[Content_Types].xml"]
    path = _zip(tmp_path / "untyped.xlsx", members)
    assert _sniff(path) == Sniffed("xlsx")
    raw = read_workbook(path, {})
    assert raw.notes == [("F-CONTENT-TYPES", "缺少 [Content_Types].xml")]
    assert raw.sheets["附件2"].text(1, 1) == "安全生产专项整治三年行动工作进展情况"


def test_word_document(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "a.xlsx", {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w/>"}
    )
    assert _sniff(path) == Sniffed("docx", "F-NOT-XLSX", "Word 文档")


def test_macro_workbook(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "a.xlsx",
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "xl/workbook.xml": WORKBOOK,
            "xl/vbaProject.bin": b"\x00" * 64,
        },
    )
    assert _sniff(path) == Sniffed("xlsm", "F-MACRO")


def test_macro_enabled_content_type(tmp_path: Path) -> None:
    types = CONTENT_TYPES.replace(
        b"/>",
        b'><Override ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>',
    )
    path = _zip(tmp_path / "a.xlsx", {"[Content_Types].xml": types, "xl/workbook.xml": WORKBOOK})
    assert _sniff(path).reason == "F-MACRO"


def test_zip_bomb(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "a.xlsx",
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "xl/workbook.xml": WORKBOOK,
            "xl/worksheets/sheet1.xml": b"\x00" * (4 * 1024 * 1024),
        },
    )
    result = _sniff(path)
    assert (result.kind, result.reason) == ("bomb", "F-TOO-LARGE")


def test_truncated_workbook(tmp_path: Path) -> None:
    good = _xlsx(tmp_path / "good.xlsx").read_bytes()
    path = _write(tmp_path, "cut.xlsx", good[: len(good) // 2])
    result = _sniff(path)
    assert (result.kind, result.reason) == ("damaged", "F-DAMAGED")
    assert result.detail


def test_corrupted_member(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "a.xlsx",
        {"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": WORKBOOK * 20},
    )
    data = bytearray(path.read_bytes())
    # Flip a byte inside the second member's compressed data: its CRC no longer matches.
    offset = data.index(b"xl/workbook.xml") + len("xl/workbook.xml") + 5
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    assert _judged(path).reason == "F-DAMAGED"


def test_valid_workbook(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "a.xlsx")
    assert _sniff(path) == Sniffed("xlsx")
    # The extension does not matter: the bytes do.
    renamed = path.rename(tmp_path / "a.xls")
    assert _sniff(renamed).kind == "xlsx"


def test_sha256_of(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    path = _write(tmp_path, "a.bin", data)
    assert sha256_of(path) == (hashlib.sha256(data).hexdigest(), len(data))
    empty = _write(tmp_path, "e.bin", b"")
    assert sha256_of(empty) == (hashlib.sha256(b"").hexdigest(), 0)


# --- broken zips must be refused, never raise ------------------------------------------
# The inbox loop calls sniff() outside any try: an exception here stops the whole run.


def _patched_zip(tmp_path: Path) -> tuple[bytearray, int, int, int]:
    """A small workbook-like zip; returns (bytes, local header, central header, data start)."""
    path = _zip(
        tmp_path / "z.xlsx",
        {"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": WORKBOOK * 20},
    )
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/workbook.xml")
    data = bytearray(path.read_bytes())
    local = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(b"xl/workbook.xml")] != b"xl/workbook.xml":
        central = data.index(b"PK\x01\x02", central + 4)
    return data, local, central, local + 30 + name_len + extra_len


def _refused(result: Sniffed) -> None:
    assert result.kind != "xlsx"
    assert result.reason in RULES
    assert result.reason.startswith("F-")


def test_invalid_deflate_stream_is_refused(tmp_path: Path) -> None:
    data, _, _, start = _patched_zip(tmp_path)
    data[start] = 0xFF  # deflate block type 11: reserved, zlib.error on reading
    path = _write(tmp_path, "deflate.xlsx", bytes(data))
    result = _judged(path)
    _refused(result)
    assert result.reason == "F-DAMAGED"


def test_unsupported_compression_method_is_refused(tmp_path: Path) -> None:
    data, local, central, _ = _patched_zip(tmp_path)
    struct.pack_into("<H", data, local + 8, 99)  # 99: WinZip AES
    struct.pack_into("<H", data, central + 10, 99)
    _refused(_judged(_write(tmp_path, "method.xlsx", bytes(data))))


def test_zip_encrypted_member_is_refused(tmp_path: Path) -> None:
    data, local, central, _ = _patched_zip(tmp_path)
    struct.pack_into("<H", data, local + 6, 1)  # general purpose flag bit 0: encrypted
    struct.pack_into("<H", data, central + 8, 1)
    _refused(_sniff(_write(tmp_path, "zipcrypto.xlsx", bytes(data))))


def test_a_file_rewritten_to_the_same_size_after_hashing_is_still_being_written(
    tmp_path: Path,
) -> None:
    """F-COPYING compares the modification time too: an export written in place keeps its
    size while its bytes change, and must not be judged on bytes it no longer has."""
    from pipeline.config.limits import DEFAULT_LIMITS
    from pipeline.intake.reading import _content
    from pipeline.intake.sources import FolderSource

    path = tmp_path / "报表.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"a" * 100)
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    class NoLedger:
        def mail_returns(self) -> list:
            return []

    (entry,) = FolderSource(tmp_path).entries(NoLedger())  # type: ignore[arg-type]
    assert _content(entry, DEFAULT_LIMITS) == path  # unchanged: read
    path.write_bytes(b"PK\x03\x04" + b"b" * 100)  # the same size, written again
    assert path.stat().st_size == entry.size
    assert _content(entry, DEFAULT_LIMITS) is None  # judged again next run (F-COPYING)
