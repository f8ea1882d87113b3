"""A zip of returns: its members judged one by one, each as if it had come alone.

Institutions zip their returns (one hospital's two tables, or a township's clinics
together), and a zip is saved as received, by ``fetch`` or by hand. The sniffer has
already told it from a workbook and checked its directory against the campaign's limits
on archives (member count, sizes, ratio: :func:`pipeline.intake.sniff.sniff`); here its
members are listed, their names read as the zip tool wrote them (UTF-8, or GBK from the
Windows tools that do not say so), litter left out, and each member inflated within its
declared size to hash it. A member is read again by its name when it is judged. A zip
inside the zip is not followed: that member is refused (F-ARCHIVE-NESTED). The zip
itself is only ever read.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.limits import Limits
from pipeline.intake.sniff import skip_reason

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UTF8_FLAG = 0x800
MAX_NAME_CHARS = 200
CHUNK = 1 << 16


class ArchiveRefused(Exception):
    """The archive cannot be unpacked safely; ``rule`` is the finding to record."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class Member:
    """One file inside the zip: ``name`` as the log shows it, ``raw`` as zipfile knows it."""

    name: str
    raw: str
    sha256: str = ""
    size: int = 0
    skip: str = ""  # not judged, and why


def shown_name(info: zipfile.ZipInfo) -> str:
    """The member's path as its sender typed it, safe to print and to put in a header."""
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG:  # zipfile read the bytes as cp437
        raw = name.encode("cp437", "replace")
        for encoding in ("utf-8", "gb18030"):
            try:
                name = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    name = _CONTROL.sub("_", name.replace("\\", "/")).lstrip("/")
    return name[-MAX_NAME_CHARS:]


def _litter(name: str) -> str:
    """Why a member is not a return to judge, or ""."""
    if name.startswith("__MACOSX/"):
        return "macOS 压缩时附带的文件，已跳过"
    base = name.rsplit("/", 1)[-1]
    if base != "README.md" and skip_reason(base):
        return "办公软件临时文件或系统文件，已跳过"
    return ""


def _hash(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str, limits: Limits) -> Member:
    digest = hashlib.sha256()
    size = 0
    with zf.open(info) as fh:  # held to its declared size and checksum by zipfile
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            size += len(chunk)
            if size > limits.file_bytes:
                raise ArchiveRefused("F-TOO-LARGE", f"压缩包中的“{shown}”超过文件大小上限")
            digest.update(chunk)
    return Member(shown, info.filename, digest.hexdigest(), size)


def members(path: Path, limits: Limits) -> list[Member]:
    """Every member of the zip at ``path`` (folders left out), hashed; a member that is
    litter carries its ``skip`` reason. Raises :class:`ArchiveRefused`."""
    out: list[Member] = []
    seen: set[str] = set()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                shown = shown_name(info) or "（无名文件）"
                while shown in seen:  # two raw names read alike: keep both, apart
                    shown += "_"
                seen.add(shown)
                reason = _litter(shown)
                if reason:
                    out.append(Member(shown, info.filename, skip=reason))
                else:
                    out.append(_hash(zf, info, shown, limits))
    except ArchiveRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise ArchiveRefused("F-DAMAGED", f"{type(exc).__name__}: {str(exc)[:100]}") from exc
    if not any(not m.skip for m in out):
        raise ArchiveRefused("F-ARCHIVE-EMPTY", "只有文件夹或临时文件" if out else "空压缩包")
    return out


def read_member(path: Path, raw: str, limits: Limits) -> bytes:
    """A member's bytes, within the largest file accepted (OSError, zipfile's and zlib's
    errors propagate: the caller judges the member again on the next run)."""
    with zipfile.ZipFile(path) as zf, zf.open(raw) as fh:
        data = fh.read(limits.file_bytes + 1)
    if len(data) > limits.file_bytes:
        raise ValueError("member larger than max_file_mb")
    return data
