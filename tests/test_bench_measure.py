"""The benchmark's measuring instrument: per-process peak memory, failures, the targets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measure import CommandFailed, run_timed
from bench.report import targets
from bench.run import machine_lock

MIB = 1024

HOLD = """
import sys, time
block = b"x" * ({mib} << 20)  # resident, unlike a zeroed allocation
time.sleep({seconds})
"""

FORK_TWO = """
import subprocess, sys
code = {hold!r}
procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
sys.exit(max(p.wait() for p in procs))
"""


def test_peak_memory_is_the_commands_own(tmp_path: Path) -> None:
    """Not the harness's: pytest has imported pandas and the pipeline, the child has not."""
    sample, _ = run_timed([sys.executable, "-c", "pass"], cwd=tmp_path, log=tmp_path / "a")
    assert sample.peak_kib < 30 * MIB
    sample, _ = run_timed(
        [sys.executable, "-c", HOLD.format(mib=120, seconds=0)], cwd=tmp_path, log=tmp_path / "b"
    )
    assert 120 * MIB <= sample.peak_kib < 160 * MIB
    assert sample.seconds > 0 and sample.cpu_seconds > 0


def test_tree_memory_sums_the_workers(tmp_path: Path) -> None:
    """Two workers of 80 MiB: the largest process is ~80 MiB, the tree ~160 MiB."""
    hold = HOLD.format(mib=80, seconds=1.0)
    sample, _ = run_timed(
        [sys.executable, "-c", FORK_TWO.format(hold=hold)], cwd=tmp_path, log=tmp_path / "t"
    )
    assert 80 * MIB <= sample.peak_kib < 120 * MIB
    assert sample.tree_kib >= 160 * MIB


def test_a_failing_command_is_reported_with_its_stderr(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-c",
        "import sys; print('broken ledger', file=sys.stderr); sys.exit(3)",
    ]
    with pytest.raises(CommandFailed, match=r"exit status 3(.|\n)*broken ledger"):
        run_timed(argv, cwd=tmp_path, log=tmp_path / "f")


def test_stdout_is_returned_and_kept(tmp_path: Path) -> None:
    _, out = run_timed(
        [sys.executable, "-c", "print('文件 3 个')"], cwd=tmp_path, log=tmp_path / "o"
    )
    assert out.strip() == "文件 3 个"
    assert (tmp_path / "o.out").read_text(encoding="utf-8").strip() == "文件 3 个"


RATIOS = {
    "peer_over_cold": 12.0,
    "cold_over_floor": 7.0,
    "rerun_over_cold": 0.04,
    "rerun_one_over_cold": 0.06,
    "templates_per_second": 99.0,
}


def test_targets_pass_and_miss_on_the_issues_bounds() -> None:
    status = {t.name: t.status for t in targets(2000, RATIOS, {2000: 300.0})}
    assert list(status.values()) == ["PASS", "MISS", "PASS", "MISS", "n/a"]


def test_memory_is_judged_at_province_scale_and_by_growth() -> None:
    goals = targets(10_000, RATIOS, {10_000: 480.0, 2000: 90.0})
    assert [g.status for g in goals[-2:]] == ["PASS", "MISS"]  # 5.3× the memory for 5× N
    goals = targets(10_000, RATIOS, {10_000: 420.0, 2000: 200.0})
    assert goals[-1].status == "PASS"
    assert targets(2000, RATIOS, {2000: 600.0})[-1].status == "MISS"  # over already


HOLD_LOCK = """
import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.write("N=10000 in /elsewhere, pid 1\\n"); f.flush()
print("held", flush=True)
time.sleep(1.0)
"""


def test_a_second_benchmark_waits_for_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "bench.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    said: list[str] = []
    start = time.monotonic()
    with machine_lock("N=20 here", said.append, lock):
        assert time.monotonic() - start > 0.5  # got the lock only once the first let go
        assert lock.read_text() == f"N=20 here, pid {os.getpid()}\n"
    holder.wait()
    assert said == [
        "another benchmark is running (N=10000 in /elsewhere, pid 1); waiting for it to finish"
    ]
    assert lock.read_text() == ""
