"""Crash points, so the crash-safety tests can kill a run exactly where it hurts.

``PIPELINE_CRASH_AT=name`` (or ``name:n``) makes the process kill itself with SIGKILL the
first (or n-th) time it passes :func:`checkpoint` ``name``: no cleanup handler, no
``finally``, no flush runs, exactly as when the machine's OOM killer or a clerk closing
the terminal stops a run. Unset, which is always the case outside the tests, a checkpoint
is one comparison.
"""

from __future__ import annotations

import os
import signal

_ENV = "PIPELINE_CRASH_AT"
_passed: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(_ENV, "")
    if not spec:
        return None
    name, _, count = spec.partition(":")
    return name, int(count) if count.isdigit() else 1


def checkpoint(name: str) -> None:
    """Die here by SIGKILL if the environment asks for it (tests only)."""
    target = _target()
    if target is None or target[0] != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= target[1]:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
