"""Headless LibreOffice for the end-to-end tests: find it (installing it if need be), convert.

``soffice_path()`` returns the LibreOffice binary, installing ``libreoffice-calc-nogui``
with apt-get when it is missing and we run as root (as in CI; about a minute). When it
cannot be had it returns None and ``unavailable_reason("soffice")`` says why, so the
caller can skip loudly instead of passing silently. ``pdftotext_path()`` does the same
for poppler-utils.

``convert()`` runs one conversion with a private, throw-away user profile
(``-env:UserInstallation``), so parallel runs and a desktop LibreOffice left open do not
share (and lock) a profile.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from support.apt import apt_install, cjk_font_problem

SOFFICE_NAMES = ("soffice", "libreoffice")
# Explicit export filters, so "xlsx" cannot silently pick another xlsx flavour.
FILTERS = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "pdf": "pdf:calc_pdf_Export",
    "ods": "ods:calc8",
    "csv": "csv:Text - txt - csv (StarCalc)",
}
# What LibreOffice prints when a file is damaged, needs repair or could not be read.
COMPLAINT = re.compile(
    r"repair|corrupt|damaged|could not be loaded|general (input/output )?error|"
    r"read error|format error",
    re.IGNORECASE,
)

_problems: dict[str, str] = {}


class LibreOfficeError(RuntimeError):
    """A conversion failed, timed out, complained or produced no file."""


@dataclass(frozen=True)
class Conversion:
    """One finished ``soffice --convert-to`` run."""

    source: Path
    output: Path
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def log(self) -> str:
        return f"{self.stdout}\n{self.stderr}".strip()

    @property
    def complaints(self) -> list[str]:
        """Lines of LibreOffice's output that say the file was damaged or unreadable."""
        return [line for line in self.log.splitlines() if COMPLAINT.search(line)]


def unavailable_reason(tool: str) -> str:
    """Why ``soffice_path()`` / ``pdftotext_path()`` returned None (empty if it did not)."""
    return _problems.get(tool, "")


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _find_or_install(tool: str, names: tuple[str, ...], package: str) -> str | None:
    found = _which(names)
    if found:
        return found
    problem = apt_install(package)
    found = _which(names)
    if found:
        return found
    _problems[tool] = problem or f"{package} was installed but none of {names} is on PATH"
    return None


def _has_calc(soffice: str) -> bool:
    """Whether this LibreOffice has Calc: ``soffice`` also comes with Writer alone, which
    then answers every xlsx with "source file could not be loaded"."""
    return (Path(soffice).resolve().parent / "libsclo.so").exists()


def _has_carlito() -> bool:
    """Carlito, Calibri's metric twin: our workbooks' default font is Calibri, which every
    office PC has; without its metrics LibreOffice lays columns out with whatever font it
    finds (a CJK font once installed is wider), and a page that fits in Excel does not."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    done = subprocess.run([fc_list, ":family=Carlito"], capture_output=True, text=True)
    return bool(done.stdout.strip())


@cache
def soffice_path() -> str | None:
    """Path of ``soffice``/``libreoffice`` with Calc and the Carlito font, installing
    ``libreoffice-calc-nogui`` and ``fonts-crosextra-carlito`` if missing; else None."""
    soffice = _which(SOFFICE_NAMES)
    if soffice is None or not _has_calc(soffice):
        problem = apt_install("libreoffice-calc-nogui")
        soffice = _which(SOFFICE_NAMES)
        if soffice is None or not _has_calc(soffice):
            _problems["soffice"] = problem or "libreoffice-calc-nogui installed, Calc not found"
            return None
    if not _has_carlito():
        problem = apt_install("fonts-crosextra-carlito")
        if problem or not _has_carlito():
            _problems["soffice"] = problem or "fonts-crosextra-carlito installed, Carlito not found"
            return None
    return soffice


def _has_writer(soffice: str) -> bool:
    return (Path(soffice).resolve().parent / "libswlo.so").exists()


@cache
def writer_path() -> str | None:
    """``soffice`` able to open a .docx (Writer, ``libreoffice-writer-nogui``, installed
    if missing) with a Chinese font to print it; else None, and
    ``unavailable_reason("writer")`` says why."""
    soffice = _which(SOFFICE_NAMES)
    if soffice is None or not _has_writer(soffice):
        problem = apt_install("libreoffice-writer-nogui")
        soffice = _which(SOFFICE_NAMES)
        if soffice is None or not _has_writer(soffice):
            _problems["writer"] = problem or "libreoffice-writer-nogui installed, Writer not found"
            return None
    problem = cjk_font_problem()
    if problem:
        _problems["writer"] = problem
        return None
    return soffice


@cache
def pdftotext_path() -> str | None:
    """Path of ``pdftotext`` (poppler-utils), installing it if missing; else None."""
    return _find_or_install("pdftotext", ("pdftotext",), "poppler-utils")


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_convert(path: Path, fmt: str, outdir: Path, timeout: float = 180) -> Conversion:
    """Convert ``path`` to ``fmt`` in ``outdir`` with headless LibreOffice; never raises
    for LibreOffice's own failures (see ``convert``), only for a timeout or no LibreOffice.
    """
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError(f"LibreOffice is not available: {unavailable_reason('soffice')}")
    path = Path(path).resolve()
    outdir = Path(outdir).resolve()
    ext = fmt.split(":", 1)[0].lower()
    target = outdir / f"{path.stem}.{ext}"
    if target == path:
        raise ValueError(f"converting {path} into its own folder would overwrite it")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-", ignore_cleanup_errors=True) as profile:
        cmd = (
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            FILTERS.get(fmt, fmt),
            "--outdir",
            str(outdir),
            str(path),
        )
        started = time.monotonic()
        # Own process group: on timeout, kill oosplash *and* soffice.bin, not just the script.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            stdout, stderr = proc.communicate()
            raise LibreOfficeError(
                f"LibreOffice timed out after {timeout:g} s converting {path.name} to {fmt}\n"
                f"command: {' '.join(cmd)}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            ) from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        return Conversion(
            source=path,
            output=target,
            command=cmd,
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
            seconds=time.monotonic() - started,
        )


def convert(path: Path, fmt: str, outdir: Path, timeout: float = 180) -> Path:
    """Convert ``path`` to ``fmt`` ("xlsx", "pdf", … or a full ``ext:Filter``) into
    ``outdir`` and return the new file; raise ``LibreOfficeError`` with LibreOffice's
    output on failure, timeout, a damaged-file message, or a missing output file.
    """
    done = run_convert(path, fmt, outdir, timeout)
    problem = None
    if done.returncode != 0:
        problem = f"exit code {done.returncode}"
    elif done.complaints:
        problem = "LibreOffice complained: " + " | ".join(done.complaints)
    elif not done.output.is_file() or done.output.stat().st_size == 0:
        problem = f"no output file {done.output}"
    if problem:
        raise LibreOfficeError(
            f"converting {path} to {fmt} failed ({problem})\n"
            f"command: {' '.join(done.command)}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done.output
