"""First look at an inbox file: skip office litter, hash it, and tell what it really is.

A file's type is decided from its bytes, never its extension: an ``.xls`` renamed to
``.xlsx`` or a web page saved as ``.xlsx`` is recognised and refused with advice. Only a
plain OOXML workbook without macros goes on to a spreadsheet reader.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.limits import Limits

CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_SKIP_PATTERNS = (
    re.compile(r"^~\$"),  # Excel / WPS owner file
    re.compile(r"^\.~lock\..*#$"),  # LibreOffice lock file
    re.compile(r"\.(tmp|temp|crdownload|part)$", re.IGNORECASE),
    re.compile(r"^(\.DS_Store|Thumbs\.db|desktop\.ini|README\.md)$", re.IGNORECASE),
    re.compile(r"^\._"),  # macOS resource fork
)


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say: ``kind`` is "xlsx" when the file may be opened."""

    kind: str
    reason: str = ""  # rule code of the refusal when kind != "xlsx"
    detail: str = ""


def skip_reason(name: str) -> str | None:
    """Office lock and temp files, and the inbox's own README, are skipped, not judged."""
    for pattern in _SKIP_PATTERNS:
        if pattern.search(name):
            return (
                "办公软件临时文件或说明文件，已跳过"
                if name != "README.md"
                else "收件箱说明文件，已跳过"
            )
    return None


def display_name(name: str) -> str:
    """A file name as a clerk would read it, even if its bytes are not UTF-8 (a zip
    unpacked from Windows leaves GBK names, which Python keeps as surrogates)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def is_regular_file(path: Path) -> bool:
    """A plain file (a symlink to one counts); not a folder, pipe, device or dead link."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def sha256_of(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _sniff_zip(path: Path, limits: Limits) -> Sniffed:
    """Checks over the zip directory only: nothing is inflated here but two tiny parts."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                return Sniffed("bomb", "F-TOO-LARGE", f"压缩包内有 {len(infos)} 个文件")
            if any(i.flag_bits & 0x1 for i in infos):
                return Sniffed("encrypted", "F-ENCRYPTED")
            names = {i.filename for i in infos}
            if "mimetype" in names and zf.read("mimetype")[:100].startswith(_ODS_MIME):
                return Sniffed("ods", "F-NOT-XLSX", "OpenDocument 表格（.ods）")
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return Sniffed("xlsm", "F-MACRO")
            if "[Content_Types].xml" not in names:
                return Sniffed("zip", "F-NOT-XLSX", "压缩包，不是 Excel 工作簿")
            with zf.open("[Content_Types].xml") as fh:
                types = fh.read(1 << 20)
            if b"macroEnabled" in types or b"vbaProject" in types:
                return Sniffed("xlsm", "F-MACRO")
            if b"sheet.binary" in types or "xl/workbook.bin" in names:
                return Sniffed("xlsb", "F-NOT-XLSX", "Excel 二进制工作簿（.xlsb）")
            if "word/document.xml" in names:
                return Sniffed("docx", "F-NOT-XLSX", "Word 文档")
            if not any(n.startswith("xl/") for n in names) and b"spreadsheetml" not in types:
                return Sniffed("zip", "F-NOT-XLSX", "Office 文件，但不是 Excel 工作簿")
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > limits.unpacked_bytes:
                return Sniffed("bomb", "F-TOO-LARGE", f"解压后共 {total // (1 << 20)} MB")
            if total / packed > limits.max_ratio:
                return Sniffed("bomb", "F-TOO-LARGE", f"压缩比 {total / packed:.0f} 倍")
    except Exception as exc:  # zlib.error, NotImplementedError (method), BadZipFile, ...
        return Sniffed("damaged", "F-DAMAGED", f"{type(exc).__name__}: {str(exc)[:100]}")
    return Sniffed("xlsx")


def _looks_like_text(head: bytes) -> bool:
    """CSV or plain text saved under a spreadsheet's name (UTF-8, GBK or UTF-16)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut by the 4 KB window
                return True
    return False


def sniff(path: Path, size: int, limits: Limits) -> Sniffed:
    if size == 0:
        return Sniffed("empty", "F-EMPTY")
    if size > limits.file_bytes:
        return Sniffed("large", "F-TOO-LARGE", f"文件 {size // (1 << 20)} MB")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(path, limits)
    if head.startswith(CFB_MAGIC):
        with open(path, "rb") as fh:
            body = fh.read(min(size, 1 << 20))
        if "EncryptionInfo".encode("utf-16-le") in body:
            return Sniffed("encrypted", "F-ENCRYPTED")
        return Sniffed("xls", "F-LEGACY-XLS")
    if head.startswith(b"PK"):
        return Sniffed("damaged", "F-DAMAGED", "压缩包结构不完整")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<?xml", b"mime")):
        return Sniffed("html", "F-NOT-XLSX", "网页或 XML 文件")
    if head.startswith(b"%PDF"):
        return Sniffed("pdf", "F-NOT-XLSX", "PDF 文件")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return Sniffed("image", "F-NOT-XLSX", "图片")
    if _looks_like_text(head):
        return Sniffed("text", "F-NOT-XLSX", "CSV 或文本文件")
    return Sniffed("other", "F-NOT-XLSX", "无法识别的文件类型")
