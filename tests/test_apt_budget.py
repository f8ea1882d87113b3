"""The test set-up's installs share one time budget for the session (tests/support/apt.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support import apt


@pytest.fixture
def fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``apt-get`` that logs its arguments and takes ``APT_SECONDS`` per command."""
    log = tmp_path / "calls.log"
    script = tmp_path / "apt-get"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nsleep "${{APT_SECONDS:-0}}"\n')
    script.chmod(0o755)
    monkeypatch.setattr(apt.shutil, "which", lambda name: str(script))
    monkeypatch.setattr(apt.os, "geteuid", lambda: 0)
    monkeypatch.setattr(apt, "_deadline", [])
    monkeypatch.setattr(apt, "_updated", [])
    return log


def test_update_runs_once_and_every_install_counts_against_one_budget(
    fake_apt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apt, "INSTALL_BUDGET", 60.0)
    assert apt.apt_install("libreoffice-calc-nogui") is None
    assert apt.apt_install("dovecot-imapd") is None
    assert fake_apt.read_text().splitlines() == [
        "update",
        "install -y --no-install-recommends libreoffice-calc-nogui",
        "install -y --no-install-recommends dovecot-imapd",
    ]
    assert 0 < apt.remaining() <= 60


def test_a_slow_mirror_costs_the_session_its_budget_once(
    fake_apt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apt, "INSTALL_BUDGET", 1.0)
    monkeypatch.setenv("APT_SECONDS", "30")
    started = time.monotonic()
    first = apt.apt_install("libreoffice-calc-nogui")
    second = apt.apt_install("dovecot-imapd")  # nothing left: not even tried
    took = time.monotonic() - started
    assert first is not None and "install budget (1 s) is spent" in first
    assert second is not None and "dovecot-imapd was not installed" in second
    assert took < 10, took
    assert fake_apt.read_text().splitlines() == ["update"]
