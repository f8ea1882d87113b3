"""One run at a time per ledger: an exclusive lock on a file beside the ledger.

The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows), so it is
released by the operating system whenever its holder ends, even when killed: a crashed
run never leaves a stale lock behind. A ``flock`` belongs to the open file, which a
forked child shares: a worker process forked while the lock is held would keep it after
its parent was killed, and every later run would wait for a process nobody knows. So
every forked child closes the lock file at once (``os.register_at_fork``), and only the
run itself ever holds the lock.

The lock file stays in place and records who holds it, for the message the second run
prints while it waits or gives up, which says whether that process is still alive.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from pipeline.campaigns.campaign import Campaign

from pipeline.errors import BusyError

POLL_SECONDS = 0.2

try:
    import fcntl

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


_held: set[IO[bytes]] = set()  # lock files open in this process


def _close_in_child() -> None:
    """After a fork, in the child: let go of the parent's lock files."""
    for fh in list(_held):
        with suppress(OSError):
            fh.close()
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


def lock_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".lock")


_PID = re.compile(r"PID (\d+)，([^，]*)，")


def _holder(path: Path) -> str:
    """Who holds the lock, as its file says, and whether that process is still alive."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return "进程信息未知"
    line = text.splitlines()[0] if text else ""
    m = _PID.match(line)
    if m is None:
        return line or "进程信息未知"
    pid, host = int(m.group(1)), m.group(2)
    if host != socket.gethostname():
        return f"{line}；在另一台电脑上，无法确认该进程是否仍在运行"
    if _alive(pid):
        return f"{line}；该进程仍在运行"
    return (
        f"{line}；该进程已不存在，锁却仍被占用，可能是它遗留的子进程"
        "（请在任务管理器中结束这些 python 进程）"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by another user (or cannot tell: assume alive)
    return True


@contextmanager
def run_lock(
    ledger: Path, wait: float, notify: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the ledger's lock for the block; wait up to ``wait`` seconds for it.

    Raises :class:`BusyError` naming the run that holds it when the wait runs out.
    """
    path = lock_path(ledger)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+b")  # noqa: SIM115 - held for the whole block
    _held.add(fh)
    try:
        deadline = time.monotonic() + wait
        told = False
        while not _try_lock(fh):
            holder = _holder(path)
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"另一个运行正在使用台账 {ledger.name}（{holder}），"
                    f"等待 {wait:g} 秒后仍未结束，本次未运行。请等它结束后再运行。"
                    f" / another run holds the ledger lock {path}"
                )
            if notify and not told:
                notify(f"另一个运行正在使用台账（{holder}），等待其结束……")
                told = True
            time.sleep(POLL_SECONDS)
        fh.seek(0)
        fh.truncate()
        started = dt.datetime.now().isoformat(timespec="seconds")
        fh.write(f"PID {os.getpid()}，{socket.gethostname()}，开始于 {started}\n".encode())
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            _unlock(fh)
    finally:
        _held.discard(fh)
        fh.close()


P = ParamSpec("P")
R = TypeVar("R")


def holding_ledger_lock(
    f: Callable[Concatenate[Campaign, P], R],
) -> Callable[Concatenate[Campaign, P], R]:
    """Run ``f(campaign, ...)`` holding the campaign ledger's lock (waiting up to 60 s)."""

    @functools.wraps(f)
    def locked(campaign: Campaign, *args: P.args, **kwargs: P.kwargs) -> R:
        with run_lock(campaign.ledger_path, wait=60.0):
            return f(campaign, *args, **kwargs)

    return locked
