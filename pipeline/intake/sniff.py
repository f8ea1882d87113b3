"""First look at an inbox file: skip office litter, hash it, and tell what it really is.

A file's type is decided from its bytes, never its extension: an ``.xls`` renamed to
``.xlsx`` or a web page saved as ``.xlsx`` is recognised and refused with advice. Only a
plain OOXML workbook without macros goes on to a spreadsheet reader. An xlsx is itself a
zip; a zip that holds neither a workbook's parts nor an OpenDocument's is an *archive*
of returns, whose members the intake judges one by one (:mod:`pipeline.intake.archive`).
What is sniffed is an inbox file (a path) or a member of such an archive (its bytes).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from pipeline.config.limits import Limits

Source = Path | bytes  # an inbox file, or the bytes of an archive's member

CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
SETTLE_SECONDS = 1.0  # an unfinished zip changed more recently may still be growing
_EOCD = b"PK\x05\x06"  # a zip's end-of-central-directory record: 22 bytes, a comment
_EOCD_SIZE = 22
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_OTHER_ARCHIVES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
_SKIP_PATTERNS = (
    re.compile(r"^~\$"),  # Excel / WPS owner file
    re.compile(r"^\.~lock\..*#$"),  # LibreOffice lock file
    re.compile(r"\.(tmp|temp|crdownload|part)$", re.IGNORECASE),
    re.compile(r"^(\.DS_Store|Thumbs\.db|desktop\.ini|README\.md)$", re.IGNORECASE),
    re.compile(r"^\._"),  # macOS resource fork
)


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say: ``kind`` is "xlsx" when the file may be opened as a workbook,
    "archive" when it is a zip of files to judge one by one (within the limits)."""

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
    """The file's sha256 and the number of bytes hashed.

    A workbook still being copied or downloaded into the inbox is a zip whose end record
    is not yet at its end. Such a file, changed moments ago, is given until
    :data:`SETTLE_SECONDS` after its last change before this returns, so that the caller,
    comparing the size hashed with the file's size now, sees that it is still growing
    (F-COPYING) instead of judging half a file. Any other file costs no wait.
    """
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
        age = time.time() - os.fstat(fh.fileno()).st_mtime
        # A clock a little ahead (a network share) counts as now.
        if -SETTLE_SECONDS < age < SETTLE_SECONDS and _unfinished_zip(fh):
            time.sleep(SETTLE_SECONDS - max(age, 0.0))
    return h.hexdigest(), size


def _unfinished_zip(fh: BinaryIO) -> bool:
    """A zip that does not end with its end-of-central-directory record (and comment)."""
    fh.seek(0)
    if fh.read(4) != ZIP_MAGIC:
        return False
    end = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, end - _EOCD_SIZE - 0xFFFF))  # the record, and a comment of any length
    tail = fh.read()
    at = tail.rfind(_EOCD)
    while at >= 0:
        if len(tail) - at >= _EOCD_SIZE:
            (comment,) = struct.unpack_from("<H", tail, at + 20)
            if at + _EOCD_SIZE + comment == len(tail):
                return False
        at = tail.rfind(_EOCD, 0, at)
    return True


def opened(source: Source) -> IO[bytes]:
    """The file or the bytes, to read from."""
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _sniff_zip(source: Source, limits: Limits) -> Sniffed:
    """Checks over the zip directory only: nothing is inflated here but two tiny parts."""
    try:
        with opened(source) as raw, zipfile.ZipFile(raw) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                return Sniffed("bomb", "F-TOO-LARGE", f"压缩包内有 {len(infos)} 个文件")
            if any(i.flag_bits & 0x1 for i in infos):
                return Sniffed("encrypted", "F-ENCRYPTED")
            # Some Windows tools write "xl\\workbook.xml": Excel reads it, and so do we.
            by_name = {i.filename.replace("\\", "/"): i for i in infos}
            if twice := _held_twice(infos):
                return Sniffed("damaged", "F-DAMAGED", f"压缩包内有两个同名文件“{twice[:80]}”")
            names = set(by_name)
            if "mimetype" in names and zf.read(by_name["mimetype"])[:100].startswith(_ODS_MIME):
                return Sniffed("ods", "F-NOT-XLSX", "OpenDocument 表格（.ods）")
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return Sniffed("xlsm", "F-MACRO")
            types = b""  # missing from a workbook: read, with a note (see extract.reader)
            if "[Content_Types].xml" in names:
                with zf.open(by_name["[Content_Types].xml"]) as fh:
                    types = fh.read(1 << 20)
            elif not any(n.startswith("xl/") for n in names):
                return _archive(infos, limits)
            # Before the macro check: every .xlsb is typed "binary.macroEnabled".
            if b"sheet.binary" in types or "xl/workbook.bin" in names:
                return Sniffed("xlsb", "F-NOT-XLSX", "Excel 二进制工作簿（.xlsb）")
            if b"macroEnabled" in types or b"vbaProject" in types:
                return Sniffed("xlsm", "F-MACRO")
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


def _archive(infos: list[zipfile.ZipInfo], limits: Limits) -> Sniffed:
    """A zip of returns, within the limits on archives (declared sizes: the reader of
    its members holds each to its declared size)."""
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > limits.unpacked_bytes:
        return Sniffed("bomb", "F-TOO-LARGE", f"压缩包解压后共 {total // (1 << 20)} MB")
    if total / packed > limits.max_ratio:
        return Sniffed("bomb", "F-TOO-LARGE", f"压缩包压缩比 {total / packed:.0f} 倍")
    for info in infos:
        if info.file_size > limits.file_bytes:
            name = info.filename[-80:]
            size = info.file_size // (1 << 20)
            return Sniffed("bomb", "F-TOO-LARGE", f"压缩包中的“{name}”解压后 {size} MB")
    return Sniffed("archive")


def _held_twice(infos: list[zipfile.ZipInfo]) -> str | None:
    """The first member name the zip holds twice, if any. Excel reads the first of the
    two, Python's zipfile (and so this sniffing) the last: the clerk would see other
    numbers than those we count, so such a file is refused as damaged."""
    seen: set[str] = set()
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name in seen:
            return name
        seen.add(name)
    return None


def _sniff_cfb(source: Source, size: int) -> Sniffed:
    """A compound file (CFB) is told by the names in its directory: a legacy .xls or
    .et, a workbook encrypted with a password, or a Word or Outlook file sent by mistake."""
    names = {n.lower() for n in _cfb_names(source, size) or ()}
    if not names:  # a directory that cannot be walked: look for the encryption stream
        with opened(source) as fh:
            body = fh.read(min(size, 1 << 20))
        if "EncryptionInfo".encode("utf-16-le") in body:
            return Sniffed("encrypted", "F-ENCRYPTED")
        return Sniffed("xls", "F-LEGACY-XLS")
    if {"encryptioninfo", "encryptedpackage"} <= names:
        return Sniffed("encrypted", "F-ENCRYPTED")
    if "worddocument" in names:
        return Sniffed("doc", "F-NOT-XLSX", "Word 文档（.doc）")
    if "powerpoint document" in names:
        return Sniffed("ppt", "F-NOT-XLSX", "PowerPoint 演示文稿（.ppt）")
    if "__properties_version1.0" in names:
        return Sniffed("msg", "F-NOT-XLSX", "Outlook 邮件（.msg），附件需从邮件中另存")
    return Sniffed("xls", "F-LEGACY-XLS")  # "Workbook" or "Book", or nothing we know


_CFB_MARKERS = 0xFFFFFFFA  # sector numbers from here up mark a chain's end, free, FAT...


def _cfb_names(source: Source, size: int) -> set[str] | None:
    """Names of the streams and storages in a compound file's directory, or None when
    the directory cannot be walked. Every chain is bounded by the file's sector count."""
    try:
        with opened(source) as fh:
            return _walk_cfb(fh, size)
    except (OSError, ValueError, struct.error):
        return None


def _walk_cfb(fh: IO[bytes], size: int) -> set[str] | None:
    header = fh.read(512)
    (shift,) = struct.unpack_from("<H", header, 30)
    if shift not in (9, 12):
        return None
    sector = 1 << shift
    count = size // sector  # no chain in the file can be longer
    n_fat, first_dir = struct.unpack_from("<II", header, 44)
    difat_next, n_difat = struct.unpack_from("<II", header, 68)
    fat_sectors = list(struct.unpack_from("<109I", header, 76))
    for _ in range(min(n_difat, count)):  # the FAT sectors past the header's 109
        if difat_next >= _CFB_MARKERS:
            break
        *more, difat_next = struct.unpack(f"<{sector // 4}I", _sector(fh, difat_next, sector))
        fat_sectors += more
    fat_sectors = [n for n in fat_sectors if n < _CFB_MARKERS][:n_fat]
    per_sector = sector // 4

    def next_of(n: int) -> int:
        which, index = divmod(n, per_sector)
        if which >= len(fat_sectors):
            return _CFB_MARKERS
        return int(struct.unpack_from("<I", _sector(fh, fat_sectors[which], sector), 4 * index)[0])

    names: set[str] = set()
    seen: set[int] = set()
    n = first_dir
    while n < _CFB_MARKERS and n not in seen and len(seen) < count:
        seen.add(n)
        block = _sector(fh, n, sector)
        for at in range(0, sector, 128):  # directory entries: name, its length, type
            length = struct.unpack_from("<H", block, at + 64)[0]
            if block[at + 66] in (1, 2) and 2 <= length <= 64:
                names.add(block[at : at + length - 2].decode("utf-16-le", "replace"))
        n = next_of(n)
    return names


def _sector(fh: IO[bytes], n: int, size: int) -> bytes:
    fh.seek((n + 1) * size)
    block = fh.read(size)
    if len(block) < size:
        raise ValueError(f"sector {n} lies past the end of the file")
    return block


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


def sniff(source: Source, size: int, limits: Limits) -> Sniffed:
    """What ``source`` (an inbox file, or an archive member's bytes) of ``size`` bytes is."""
    if size == 0:
        return Sniffed("empty", "F-EMPTY")
    if size > limits.file_bytes:
        return Sniffed("large", "F-TOO-LARGE", f"文件 {size // (1 << 20)} MB")
    with opened(source) as fh:
        head = fh.read(4096)
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(source, limits)
    if head.startswith(CFB_MAGIC):
        return _sniff_cfb(source, size)
    if head.startswith(b"PK"):
        return Sniffed("damaged", "F-DAMAGED", "压缩包结构不完整")
    if head.startswith(_OTHER_ARCHIVES):
        return Sniffed(
            "rar", "F-NOT-XLSX", "RAR 或 7z 压缩包，无法解开；请改用 zip 或直接发送 .xlsx"
        )
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
