"""Saving a fetched attachment into the inbox: never over another file, never half-written.

The attachment is written to a hidden temporary file in the inbox (a name the intake
skips), flushed, then *linked* under its final name: a hard link fails when the name is
taken, so no file already in the inbox, whoever put it there, is ever replaced, and a
reader never sees a partial file. The sender's name is kept when it is free, else a
suffix is added (``报表 (2).xlsx``). A file already there under one of those names with
the very same bytes *is* this attachment (saved by a fetch killed before it could
record it, or by the clerk by hand): it is not written again.

The sender's name is hostile input: only its last path component is kept, characters
no file system accepts are replaced, and a name the intake would skip as office litter
(``~$x.xlsx``, ``x.tmp``) is prefixed so the file is judged, not silently ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pipeline.intake.sniff import skip_reason

TEMP_PREFIX = ".fetching."
TEMP_SUFFIX = ".part"
MAX_NAME_BYTES = 200  # room under the usual 255-byte limit for a " (n)" suffix
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u2028\u2029]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}
_EXTENSIONS = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}


def _split(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        return name, ""
    return stem, f".{ext}"


def _extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def clean_name(name: str, content_type: str = "application/octet-stream") -> str:
    """A file name for the inbox from the sender's attachment name (never a path)."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = "邮件附件" + _extension(content_type)
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    if skip_reason(name):
        name = "附件_" + name.lstrip("~$._ ")
        if skip_reason(name):
            name += "_"
    stem, ext = _split(name)
    while len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES and len(stem) > 1:
        stem = stem[:-1]
    return stem + ext


def _candidates(name: str) -> Iterator[str]:
    yield name
    stem, ext = _split(name)
    for n in range(2, 100_000):
        yield f"{stem} ({n}){ext}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _holds(path: Path, size: int, sha256: str) -> bool:
    """Whether ``path`` is a plain file with exactly these bytes."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size != size:
            return False
        return _sha256(path) == sha256
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temp(folder: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    os.chmod(name, 0o666 & ~_umask())  # as a plain open() would, not mkstemp's 0600
    return Path(name)


def _sync_folder(folder: Path) -> None:
    """Make the new name durable (POSIX; elsewhere the rename's own guarantees hold)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def land(inbox: Path, name: str, data: bytes, sha256: str) -> tuple[str, bool]:
    """Save ``data`` into ``inbox`` as ``name`` or the first free ``name (n)``.

    Returns the name it is saved under and whether it was written now (False: the same
    bytes were already there under that name).
    """
    inbox.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        for candidate in _candidates(name):
            target = inbox / candidate
            if _holds(target, len(data), sha256):
                return candidate, False
            if os.path.lexists(target):
                continue
            if tmp is None:
                tmp = _write_temp(inbox, data)
            try:
                os.link(tmp, target)
            except FileExistsError:
                if _holds(target, len(data), sha256):
                    return candidate, False
                continue
            except OSError:  # no hard links on this file system (FAT, some shares)
                if os.path.lexists(target):
                    continue
                os.replace(tmp, target)
                tmp = None
            _sync_folder(inbox)
            return candidate, True
        raise FileExistsError(
            f"收件箱 {inbox} 中名为 {name} 及其编号的文件已太多，无法再保存；请清理收件箱后重试"
        )
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def remove_leftovers(inbox: Path) -> list[Path]:
    """Temporary files a killed fetch left in the inbox (call holding the ledger lock)."""
    if not inbox.is_dir():
        return []
    stale = [p for p in inbox.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
