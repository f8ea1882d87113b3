"""Atomic output: write to a temporary file beside the target, then rename over it.

A reader (or a crash) never sees a half-written output: the old file stays whole until
the new one is complete and flushed.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from pipeline.faults import checkpoint

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def safe_filename(text: str, limit: int = 80) -> str:
    """A file-name fragment valid on Windows, macOS and Linux; never a path."""
    name = _UNSAFE.sub("_", text).strip(" .")
    name = name.replace("..", "_")[:limit].strip(" .")
    if not name or name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would, not mkstemp's 0600
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        checkpoint("output")  # a crash here leaves the old output whole, and a .part
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def remove_leftovers(folder: Path) -> list[Path]:
    """Temporary files a killed run left in ``folder`` (call with the run lock held)."""
    if not folder.is_dir():
        return []
    stale = [p for p in folder.glob(".*.part") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_atomic(target: Path, writer: Callable[[Path], object]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return target


def write_text_atomic(target: Path, text: str, encoding: str = "utf-8") -> Path:
    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)

    return write_atomic(target, _write)


def open_atomic(
    target: Path, mode: str = "w", **kwargs: object
) -> contextlib.AbstractContextManager[IO]:
    """Context manager for a file object that lands atomically at ``target``."""

    @contextlib.contextmanager
    def _cm() -> Iterator[IO]:
        with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as fh:  # type: ignore[call-overload]
            yield fh

    return _cm()
