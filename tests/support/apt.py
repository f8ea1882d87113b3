"""Installing a Debian package a test needs (LibreOffice, Dovecot), within a time budget.

Only as root (as in CI and on the team's machines) and one installer at a time; the
caller skips loudly with the reason returned when the package cannot be had.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

APT_TIMEOUT = 900  # seconds, for `apt-get update` plus the install


def apt_install(package: str) -> str | None:
    """Install ``package`` with apt-get; None on success, else what went wrong."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return f"not running as root, so cannot `apt-get install {package}`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # One installer at a time (parallel workers would fight over the dpkg lock).
    lock_path = Path(tempfile.gettempdir()) / "health-returns-apt.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for cmd in (
                [apt, "update"],
                [apt, "install", "-y", "--no-install-recommends", package],
            ):
                done = subprocess.run(
                    cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT
                )
                if done.returncode != 0:
                    tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
                    return f"`{' '.join(cmd)}` failed with exit code {done.returncode}:\n{tail}"
        except (OSError, subprocess.TimeoutExpired) as exc:
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
