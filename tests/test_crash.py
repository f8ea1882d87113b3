"""Crash safety and concurrency, on real processes.

A run is killed with SIGKILL (no cleanup, no ``finally``) during intake, inside a ledger
transaction and while writing outputs; the next run must leave outputs and ledger exactly
as one uninterrupted run does. Two runs started at once must serialise on the ledger's
lock; a damaged ledger or one from a newer version is reported and never touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import EXAMPLE, ROOT, campaign_in, fingerprint, invoke, outbox_snapshot

from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.ledger.lock import run_lock

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="SIGKILL crash tests need a POSIX system"
)

JUL = Period(2026, 7)
PERIOD = str(JUL)


@dataclass(frozen=True)
class Reference:
    returns: Path  # the inbox files, with their received times
    outputs: dict[str, object]
    ledger: dict[str, object]


def _returns(folder: Path) -> Path:
    """Eight inbox files: five returns, one rejected, a correction and an exact copy."""
    campaign = campaign_in(folder / "make")
    roster = campaign.roster()
    folder.mkdir(parents=True, exist_ok=True)
    base = dt.datetime(2026, 7, 28, 9, 0)
    made: list[Path] = []
    for code in ("QW001", "QW002", "QW003", "QW004", "QW005"):
        inst = roster.get(code)
        assert inst is not None
        data = random_month(campaign, inst, JUL, random.Random(code))
        overwrite = {"fujian2": {("T1", "hazards_total"): 99.0}} if code == "QW004" else None
        made.append(fill_return(campaign, inst, JUL, folder, data, overwrite_formula=overwrite))
    inst = roster.get("QW001")
    assert inst is not None
    scratch = folder / "scratch"
    scratch.mkdir()
    data = random_month(campaign, inst, JUL, random.Random("QW001 corrected"))
    corrected = fill_return(campaign, inst, JUL, scratch, data)
    made.append(corrected.rename(folder / "人民医院更正.xlsx"))
    shutil.rmtree(scratch)
    copy = folder / "人民医院更正(1).xlsx"
    shutil.copyfile(made[-1], copy)
    made.append(copy)
    junk = folder / "报表说明.xlsx"
    junk.write_text("请查收附件", encoding="utf-8")
    made.append(junk)
    for n, path in enumerate(made):
        stamp = (base + dt.timedelta(hours=n)).timestamp()
        os.utime(path, (stamp, stamp))
    shutil.rmtree(folder / "make", ignore_errors=True)
    return folder


def _workspace(base: Path, returns: Path) -> Path:
    inbox = base / "inbox"
    inbox.mkdir(parents=True)
    for path in returns.iterdir():
        shutil.copy2(path, inbox / path.name)  # keeps the received times
    return base


def _run(base: Path, crash_at: str = "", wait: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_CRASH_AT"}
    if crash_at:
        env["PIPELINE_CRASH_AT"] = crash_at
    argv = [sys.executable, "-m", "pipeline", "--campaign", str(EXAMPLE)]
    for flag in ("inbox", "outbox"):
        argv += [f"--{flag}", str(base / flag)]
    argv += ["--ledger", str(base / "ledger.sqlite"), "run", "--period", PERIOD]
    argv += ["--wait", str(wait)]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _ledger_state(path: Path) -> dict[str, object]:
    """The store of record, by file content: what each file became and what it holds."""
    db = sqlite3.connect(path)
    try:
        subs = db.execute(
            "SELECT id, sha256, file_name, institution, period, status, superseded_by"
            " FROM submissions ORDER BY sha256"
        ).fetchall()
        sha_of = {row[0]: row[1] for row in subs}
        state: dict[str, object] = {
            "submissions": [(*row[1:6], sha_of.get(row[6])) for row in subs],
            "runs_finished": db.execute(
                "SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL"
            ).fetchone()[0],
        }
        for table in ("grid_values", "text_values", "findings"):
            rows = db.execute(
                f"SELECT s.sha256, COUNT(*) FROM {table} t JOIN submissions s"
                " ON s.id = t.submission_id GROUP BY s.sha256 ORDER BY s.sha256"
            ).fetchall()
            state[table] = rows
        return state
    finally:
        db.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    returns = _returns(tmp_path_factory.mktemp("returns"))
    base = _workspace(tmp_path_factory.mktemp("uninterrupted"), returns)
    done = _run(base)
    assert done.returncode == 0, done.stderr
    state = _ledger_state(base / "ledger.sqlite")
    statuses = sorted(s[4] for s in state["submissions"])  # type: ignore[attr-defined]
    assert statuses == ["accepted"] * 4 + ["rejected"] * 2 + ["superseded"]
    return Reference(returns, outbox_snapshot(base / "outbox" / PERIOD), state)


@pytest.mark.parametrize(
    "crash_at",
    [
        "intake:3",  # three files judged, nothing recorded yet
        "ledger:1",  # inside the first return's transaction
        "ledger:4",  # three returns committed, the fourth half-written
        "output:1",  # the first output written to its temporary file, not yet renamed
        "output:5",  # four outputs in place, the fifth pending
    ],
)
def test_a_killed_run_is_finished_by_the_next_one_as_if_never_interrupted(
    tmp_path: Path, reference: Reference, crash_at: str
) -> None:
    base = _workspace(tmp_path, reference.returns)
    inbox_before = fingerprint(base / "inbox")
    crashed = _run(base, crash_at)
    assert crashed.returncode == -signal.SIGKILL, (crashed.stdout, crashed.stderr)
    if crash_at.startswith("output"):
        assert list((base / "outbox" / PERIOD).glob(".*.part")), "the kill left no temp file"

    again = _run(base)
    assert again.returncode == 0, again.stderr
    assert outbox_snapshot(base / "outbox" / PERIOD) == reference.outputs
    assert not list((base / "outbox" / PERIOD).glob(".*.part"))
    state = _ledger_state(base / "ledger.sqlite")
    assert state == reference.ledger
    assert fingerprint(base / "inbox") == inbox_before


def _lines(proc: subprocess.Popen[str], into: list[str]) -> threading.Thread:
    """A thread collecting ``proc``'s output lines as they come."""

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            into.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _until(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_two_runs_started_at_once_take_turns(tmp_path: Path, reference: Reference) -> None:
    """Both start together. Whichever takes the ledger's lock first is held there (SIGSTOP)
    until the other is seen waiting for it, naming it: so the two runs did overlap, and
    the second took its turn, rather than merely running one after the other."""
    base = _workspace(tmp_path, reference.returns)
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_CRASH_AT"}
    env["PYTHONUNBUFFERED"] = "1"  # the waiting message as it is said
    argv = [sys.executable, "-m", "pipeline", "--campaign", str(EXAMPLE)]
    argv += ["--inbox", str(base / "inbox"), "--outbox", str(base / "outbox")]
    argv += ["--ledger", str(base / "ledger.sqlite"), "run", "--period", PERIOD]
    procs = [
        subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    said: dict[int, list[str]] = {p.pid: [] for p in procs}
    readers = [_lines(p, said[p.pid]) for p in procs]
    lock = base / "ledger.sqlite.lock"
    pids = {p.pid: p for p in procs}

    def holder() -> int:
        text = lock.read_text(encoding="utf-8") if lock.exists() else ""
        match = re.match(r"PID (\d+)", text)
        return int(match.group(1)) if match and int(match.group(1)) in pids else 0

    first = pids[int(_until(holder, 120, "a run holding the ledger's lock"))]  # type: ignore[call-overload]
    second = next(p for p in procs if p is not first)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        waiting = f"另一个运行正在使用台账（PID {first.pid}，"
        _until(
            lambda: any(waiting in line for line in said[second.pid]),
            120,
            "the second run waiting for the first",
        )
        assert second.poll() is None  # it waits while the first holds the ledger
    finally:
        os.kill(first.pid, signal.SIGCONT)
    for p in procs:
        p.wait(timeout=300)
    for r in readers:
        r.join(timeout=10)
    outputs = {p.pid: "".join(said[p.pid]) for p in procs}
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "另一个运行正在使用台账" not in outputs[first.pid]
    assert outbox_snapshot(base / "outbox" / PERIOD) == reference.outputs
    state = _ledger_state(base / "ledger.sqlite")
    assert state["submissions"] == reference.ledger["submissions"]
    assert state["runs_finished"] == 2


def test_a_run_finding_the_ledger_busy_waits_then_says_who_holds_it(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    with run_lock(campaign.ledger_path, wait=0):
        result = invoke(
            "run",
            "--period",
            PERIOD,
            "--wait",
            "0.3",
            inbox=campaign.inbox,
            outbox=campaign.outbox,
            ledger=campaign.ledger_path,
        )
    assert result.exit_code == 1
    assert "另一个运行正在使用台账" in result.output
    assert f"PID {os.getpid()}" in result.output
    assert not campaign.outbox.exists()
    # Released with the block: the next run goes ahead.
    again = invoke(
        "run",
        "--period",
        PERIOD,
        inbox=campaign.inbox,
        outbox=campaign.outbox,
        ledger=campaign.ledger_path,
    )
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("damage", ["not a database", "torn header", "newer version"])
def test_an_unusable_ledger_is_reported_and_never_touched(tmp_path: Path, damage: str) -> None:
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    ledger = campaign.ledger_path
    if damage == "not a database":
        ledger.write_bytes(b"PK\x03\x04 this is somebody's zip file, saved over the ledger")
    else:
        ok = invoke(
            "run", "--period", PERIOD, inbox=campaign.inbox, outbox=tmp_path / "o", ledger=ledger
        )
        assert ok.exit_code == 0, ok.output
        if damage == "torn header":
            data = bytearray(ledger.read_bytes())
            data[0:16] = b"\x00" * 16  # the SQLite magic string, overwritten
            ledger.write_bytes(bytes(data))
        else:
            db = sqlite3.connect(ledger)
            db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
            db.commit()
            db.close()
    before = _digest(ledger)
    result = invoke(
        "run", "--period", PERIOD, inbox=campaign.inbox, outbox=campaign.outbox, ledger=ledger
    )
    assert result.exit_code == 1
    expected = "更新版本" if damage == "newer version" else "已损坏或不是本程序的台账"
    assert expected in result.output, result.output
    assert "未作任何修改" in result.output
    assert _digest(ledger) == before
    assert not (campaign.outbox / PERIOD).exists()


def _many_returns(folder: Path, count: int) -> Path:
    """``count`` returns of as many institutions (the roster grown to hold them)."""
    roster = (ROOT / "examples" / "roster.csv").read_text(encoding="utf-8").splitlines()
    lines = roster + [
        f"QX{n:03d},测试卫生院{n},卫生院,公立,x{n}@example.org,联系人{n},0432-1"
        for n in range(count)
    ]
    make = folder / "make"
    make.mkdir(parents=True)
    text = (EXAMPLE.read_text(encoding="utf-8")).replace(
        'roster = "roster.csv"', f'roster = "{make / "roster.csv"}"'
    )
    (make / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (make / "campaign.toml").write_text(text, encoding="utf-8")
    campaign = campaign_in(make, make / "campaign.toml")
    inbox = folder / "returns"
    inbox.mkdir()
    for n in range(count):
        inst = campaign.roster().get(f"QX{n:03d}")
        assert inst is not None
        data = random_month(campaign, inst, JUL, random.Random(n))
        fill_return(campaign, inst, JUL, inbox, data)
    return make / "campaign.toml"


def _processes_naming(text: str) -> list[int]:
    """PIDs of live processes whose command line mentions ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or not Path("/proc/self/cmdline").exists(),
    reason="needs the worker pool (two cores) and /proc to see the workers",
)
def test_a_run_killed_while_its_workers_judge_leaves_no_worker_and_no_lock(
    tmp_path: Path,
) -> None:
    campaign_file = _many_returns(tmp_path, 40)

    def run(base: Path, crash_at: str = "", wait: float = 60) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if k != "PIPELINE_CRASH_AT"}
        if crash_at:
            env["PIPELINE_CRASH_AT"] = crash_at
        argv = [sys.executable, "-m", "pipeline", "--campaign", str(campaign_file)]
        argv += ["--inbox", str(tmp_path / "returns"), "--outbox", str(base / "outbox")]
        argv += ["--ledger", str(base / "ledger.sqlite"), "run", "--period", PERIOD]
        argv += ["--wait", str(wait)]
        # Output to a file, not a pipe: an orphaned worker would hold a pipe open.
        base.mkdir(parents=True, exist_ok=True)
        with open(base / "console.txt", "w+", encoding="utf-8") as out:
            code = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=out, timeout=300)
            out.seek(0)
            return code.returncode, out.read()

    code, console = run(tmp_path / "uninterrupted")
    assert code == 0, console
    killed_base = tmp_path / "killed"
    code, console = run(killed_base, "judging:5")
    assert code == -signal.SIGKILL, console
    # The workers end with the run (the kernel kills them, or they see their parent gone).
    for _ in range(50):
        if not _processes_naming(str(killed_base / "ledger.sqlite")):
            break
        time.sleep(0.1)
    assert not _processes_naming(str(killed_base / "ledger.sqlite"))
    # Nothing holds the lock: a run that will not wait at all goes ahead at once.
    code, console = run(killed_base, wait=0)
    assert code == 0, console
    assert outbox_snapshot(killed_base / "outbox" / PERIOD) == outbox_snapshot(
        tmp_path / "uninterrupted" / "outbox" / PERIOD
    )


def test_the_busy_message_says_the_holder_is_gone_when_it_is(tmp_path: Path) -> None:
    """A lock file naming a dead process, while something else holds the lock."""
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    with run_lock(campaign.ledger_path, wait=0):
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        lock_file = campaign.ledger_path.with_name(campaign.ledger_path.name + ".lock")
        host = __import__("socket").gethostname()
        lock_file.write_text(
            f"PID {dead.stdout.strip()}，{host}，开始于 2026-08-01T09:00:00\n", encoding="utf-8"
        )
        result = invoke(
            "run",
            "--period",
            PERIOD,
            "--wait",
            "0",
            inbox=campaign.inbox,
            outbox=campaign.outbox,
            ledger=campaign.ledger_path,
        )
    assert result.exit_code == 1
    assert "该进程已不存在" in result.output, result.output
    with run_lock(campaign.ledger_path, wait=0):
        result = invoke(
            "run",
            "--period",
            PERIOD,
            "--wait",
            "0",
            inbox=campaign.inbox,
            outbox=campaign.outbox,
            ledger=campaign.ledger_path,
        )
    assert "该进程仍在运行" in result.output, result.output
