"""Headless Chromium for the tests that read a page as a leader would: open it, list
every console message, failed load and refused resource, read the page, screenshot
it and print it to PDF.

``chromium_path()`` finds the browser, installing the distribution's ``chromium`` package
with apt-get when it is missing and we run as root (a browser that a tool downloads for
itself cannot be fetched here); None and ``unavailable_reason()`` when it cannot be had.

The browser is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
commands on fd 3, answers on fd 4, each a JSON message ending in NUL), so no port is
opened and no client library is needed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from support.apt import apt_install, cjk_font_problem

NAMES = ("chromium", "chromium-browser", "google-chrome")
_problem: list[str] = []


@cache
def chromium_path() -> str | None:
    for name in NAMES:
        if found := shutil.which(name):
            return found
    problem = apt_install("chromium")
    for name in NAMES:
        if found := shutil.which(name):
            return found
    _problem.append(problem or "chromium was installed but is not on PATH")
    return None


@cache
def ready() -> bool:
    """Chromium, and a Chinese font for it to draw the page with."""
    if chromium_path() is None:
        return False
    problem = cjk_font_problem()
    if problem:
        _problem.append(problem)
        return False
    return True


def unavailable_reason() -> str:
    return _problem[-1] if _problem else ""


class BrowserError(RuntimeError):
    """The browser did not answer, or answered with an error."""


@dataclass
class Visit:
    """What a page did when opened: its console, failed loads, and what we asked of it."""

    problems: list[str] = field(default_factory=list)  # console errors, refused or failed loads
    value: Any = None  # the result of the expression evaluated in the page
    screenshot: bytes = b""
    pdf: bytes = b""


class Browser:
    def __init__(self, timeout: float = 60) -> None:
        exe = chromium_path()
        if exe is None:
            raise BrowserError(f"Chromium is not available: {unavailable_reason()}")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]
        # The browser's fd 3 reads our commands, its fd 4 answers: moved there by bash.
        wire = f'exec 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&-; exec "$@"'
        self.proc = subprocess.Popen(
            [
                "bash",  # dash takes one-digit descriptors only
                "-c",
                wire,
                "bash",
                exe,
                "--headless",
                "--no-sandbox",  # as root in CI
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(*high,),
            start_new_session=True,
        )
        for fd in (to_child, from_child, *high):
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    # -- the protocol -------------------------------------------------------------------
    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self.events
        ):
            self.events.append(self._read(deadline))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    # -- a visit ------------------------------------------------------------------------
    def visit(self, page: Path, expression: str, width: int = 1000, height: int = 1400) -> Visit:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        s = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", s)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            s,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()
        self.call("Page.navigate", s, url=page.resolve().as_uri())
        self.wait_for("Page.loadEventFired", s)
        visit = Visit()
        evaluated = self.call("Runtime.evaluate", s, expression=expression, returnByValue=True)
        visit.value = evaluated.get("result", {}).get("value")
        shot = self.call("Page.captureScreenshot", s, format="png")
        visit.screenshot = base64.b64decode(shot["data"])
        pdf = self.call(
            "Page.printToPDF",
            s,
            printBackground=True,
            preferCSSPageSize=True,
            paperWidth=8.27,
            paperHeight=11.69,
        )
        visit.pdf = base64.b64decode(pdf["data"])
        visit.problems = _problems(self.events, s)
        self.call("Target.closeTarget", targetId=target)
        return visit


def _problems(events: list[dict[str, Any]], session: str) -> list[str]:
    out = []
    for e in events:
        if e.get("sessionId") != session:
            continue
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append(f"console.{p['type']}: {p.get('args')}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails')}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            entry = p["entry"]
            out.append(f"log {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            out.append(f"failed load: {p.get('errorText')} {p.get('blockedReason', '')}")
        elif method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:")):
                out.append(f"request outside the file: {url}")
    return out
