"""Installing a Debian package a test needs (LibreOffice, Dovecot), within one time budget.

Only as root (as in CI and on the team's machines) and one installer at a time; the
caller skips loudly with the reason returned when the package cannot be had.

The whole test session has one budget for its installs (:data:`INSTALL_BUDGET` seconds,
``HEALTH_TEST_INSTALL_BUDGET`` to change it), counted from the first install: waiting
for another installer's lock, ``apt-get update`` (once a session) and every install
share it. A slow mirror can therefore cost the session at most that much, not a
timeout per command and per package; once it is spent, the tests that need a package
skip saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_BUDGET = float(os.environ.get("HEALTH_TEST_INSTALL_BUDGET", "900"))  # seconds
LOCK_POLL = 0.5  # seconds between two tries of another installer's lock

_deadline: list[float] = []  # monotonic time the budget runs out, set by the first install
_updated: list[bool] = []  # apt-get update done this session


def remaining() -> float:
    """Seconds left of the session's install budget (the whole budget before any install)."""
    if not _deadline:
        return INSTALL_BUDGET
    return _deadline[0] - time.monotonic()


def _spent(package: str) -> str:
    return (
        f"the test session's install budget ({INSTALL_BUDGET:g} s) is spent, "
        f"so {package} was not installed"
    )


def apt_install(package: str) -> str | None:
    """Install ``package`` with apt-get; None on success, else what went wrong."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return f"not running as root, so cannot `apt-get install {package}`"
    if not _deadline:
        _deadline.append(time.monotonic() + INSTALL_BUDGET)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # One installer at a time (parallel workers would fight over the dpkg lock).
    lock_path = Path(tempfile.gettempdir()) / "health-returns-apt.lock"
    with lock_path.open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if remaining() <= 0:
                    return _spent(package)
                time.sleep(LOCK_POLL)
        try:
            commands = [] if _updated else [[apt, "update"]]
            commands.append([apt, "install", "-y", "--no-install-recommends", package])
            for cmd in commands:
                left = remaining()
                if left <= 0:
                    return _spent(package)
                returncode, out, err = _run(cmd, env, left)
                if returncode != 0:
                    tail = "\n".join((err or out).splitlines()[-15:])
                    return f"`{' '.join(cmd)}` failed with exit code {returncode}:\n{tail}"
                if cmd[1] == "update":
                    _updated.append(True)
        except subprocess.TimeoutExpired:
            return _spent(package)
        except OSError as exc:
            return f"installing {package} failed: {exc}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None


CJK_FONT_PACKAGE = "fonts-wqy-zenhei"  # small (about 10 MB), and has every GB2312 glyph


def cjk_font_problem() -> str | None:
    """None when fontconfig knows a font with Chinese glyphs (installing
    ``fonts-wqy-zenhei`` if it does not), else why there is none: Chinese printed by
    LibreOffice or Chromium would otherwise be empty boxes."""
    fc = shutil.which("fc-list")

    def known() -> bool:
        if fc is None:
            return False
        done = subprocess.run([fc, ":lang=zh", "file"], capture_output=True, text=True, timeout=60)
        return bool(done.stdout.strip())

    if known():
        return None
    problem = apt_install(CJK_FONT_PACKAGE)
    if known():
        return None
    return problem or f"{CJK_FONT_PACKAGE} was installed but fontconfig lists no Chinese font"


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """Run ``cmd`` in a process group of its own: on timeout the whole group is killed
    (apt-get's helpers, dpkg, would otherwise hold its output open and the wait on)."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out, err
