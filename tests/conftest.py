"""Records which rules each test file makes fire, and checks tests/test_every_rule.py's
table against it at the end of the session.

Every finding is made through :func:`pipeline.findings.make`; it is wrapped here, before
any test imports the pipeline (modules that import it later bind the wrapper), so the
rules made while a test file runs are recorded under that file's name. A forked worker
(the run's pool) inherits the wrapper and appends what it makes to a file the session
reads back. At the end, a test that :data:`test_every_rule.TRIGGERS` names as a rule's
trigger, and that ran here and passed, must have seen its file make that rule: otherwise
the session fails, naming the rule and the test.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import pipeline.findings as findings

RECORDED: dict[str, set[str]] = defaultdict(set)  # test file name -> rules made
_current = {"file": ""}
_MAIN = os.getpid()
_SPILL = Path(tempfile.mkdtemp(prefix="rules-made-")) / "workers.tsv"
_original_make = findings.make


def _recording_make(rule: str, **kwargs: Any) -> findings.Finding:
    made = _original_make(rule, **kwargs)
    if os.getpid() == _MAIN:
        RECORDED[_current["file"]].add(rule)
    else:  # a forked worker: its memory dies with it
        with _SPILL.open("a", encoding="utf-8") as fh:
            fh.write(f"{_current['file']}\t{rule}\n")
    return made


_recording_make.__doc__ = _original_make.__doc__
findings.make = _recording_make  # type: ignore[assignment]
for _name, _mod in list(sys.modules.items()):  # any pipeline module imported already
    if _name.startswith("pipeline") and getattr(_mod, "make", None) is _original_make:
        _mod.make = _recording_make  # type: ignore[attr-defined]

_passed: set[str] = set()  # "file::function" of every test that passed (any parameter)
_failed: set[str] = set()  # ... and of every one that failed


def _test_of(nodeid: str) -> str:
    """``tests/test_x.py::test_y[param]`` -> ``test_x.py::test_y``."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).name}::{rest.split('[')[0]}"


def _file_of(item: pytest.Item) -> str:
    return Path(str(item.fspath)).name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    _current["file"] = _file_of(item)
    yield
    _current["file"] = ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    test = _test_of(report.nodeid)
    if report.when == "call" and report.passed:
        _passed.add(test)
    if report.failed:
        _failed.add(test)


def _unmade() -> list[str]:
    """Rules whose named triggering test ran here and passed, while its file never made
    them (rules are recorded by file: a module's shared run is made in the set-up of
    whichever of its tests comes first)."""
    try:
        from test_every_rule import SUBPROCESS, TRIGGERS
    except ImportError:
        return []
    if _SPILL.exists():
        for line in _SPILL.read_text(encoding="utf-8").splitlines():
            file, _, rule = line.partition("\t")
            RECORDED[file].add(rule)
    wrong = []
    for rule, tests in sorted(TRIGGERS.items()):
        checked = [t for t in tests if t not in SUBPROCESS and t in _passed and t not in _failed]
        if checked and not any(rule in RECORDED[t.split("::")[0]] for t in checked):
            wrong.append(f"{rule}: never made while {', '.join(checked)} ran")
    return wrong


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    wrong = _unmade()
    if wrong:
        session.config._rules_unmade = wrong  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    wrong = getattr(config, "_rules_unmade", [])
    if wrong:
        terminalreporter.section("rules named as triggered but never made", red=True)
        for line in wrong:
            terminalreporter.line(line)


# -- hypothesis: how many examples ------------------------------------------------------
# `make test` draws enough to mean something in seconds; `make deep`
# (HYPOTHESIS_PROFILE=deep) draws many more, outside the suite's time budget.
from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("suite", max_examples=25)
_hypothesis.register_profile("deep", max_examples=400)
_hypothesis.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
