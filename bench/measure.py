"""Time one command as a whole process: wall seconds, CPU seconds, peak memory.

Each command runs under ``bench/spawn.py``, a stdlib-only wrapper that forks it, waits
for it with ``os.wait4`` and reports that one child's resource usage: ``ru_maxrss`` is
the largest resident set the process reached, the kernel's own account, never a sample,
and not inflated by the harness (see spawn.py for why the wrapper is needed). The wall
time is taken by the wrapper too, from fork to exit, so the wrapper's own start-up is
not counted; the command's interpreter start-up and imports are.

For a command that forks workers, ``ru_maxrss`` is the largest *single* process of its
tree, so a sampler also sums the proportional set size (PSS, shared pages split between
their users) of the command and all its descendants every ``TREE_INTERVAL`` seconds: a
pipeline that uses both cores is held to the sum. The sample can miss a spike shorter
than the interval.

The machine may be shared: the CPU time every *other* process used while the command
ran (all busy time in /proc/stat minus the command's own) is recorded as background
cores, so a figure taken on a busy machine says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TREE_INTERVAL = 0.2
SPAWN = Path(__file__).resolve().with_name("spawn.py")
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class CommandFailed(Exception):
    """A timed command exited with a non-zero status."""


@dataclass(frozen=True)
class Sample:
    """One timed run of one command."""

    seconds: float
    cpu_seconds: float  # user + system, the child and the children it waited for
    peak_kib: int  # ru_maxrss of the child (largest single process of its tree)
    tree_kib: int  # sampled peak of the whole tree's summed PSS; 0 when not sampled
    background_cores: float = 0.0  # other processes' CPU use meanwhile, in cores


def _busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy (stolen included) since boot, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/<pid>/stat."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces
        if len(fields) > 1:
            out[int(entry)] = int(fields[1])
    return out


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:  # no smaps_rollup (old kernel): resident pages, shared ones counted in full
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_KIB
    except (OSError, ValueError, IndexError):
        return 0


def descendants_kib(root: int) -> int:
    """Summed PSS of every descendant of ``root`` (not ``root`` itself), now."""
    parents = _parents()
    tree: set[int] = set()
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(_pss_kib(pid) for pid in tree)


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(TREE_INTERVAL):
            self.peak = max(self.peak, descendants_kib(self.pid))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def run_timed(argv: Sequence[str], *, cwd: Path, log: Path) -> tuple[Sample, str]:
    """Run ``argv`` to completion; its stdout and stderr go to ``log``.out/.err.

    Returns the sample and the stdout text. Raises :class:`CommandFailed`, naming the
    command and the end of its stderr, when it exits with a non-zero status.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    usage_path = log.with_suffix(".usage.json")
    usage_path.unlink(missing_ok=True)
    wrapper = [sys.executable, "-I", "-S", str(SPAWN), str(usage_path), *argv]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        busy = _busy_seconds()
        proc = subprocess.Popen(wrapper, cwd=cwd, stdout=out, stderr=err)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        status = proc.wait()
        busy = _busy_seconds() - busy
        tree = sampler.stop()
    if status != 0 or not usage_path.exists():
        tail = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        how = f"exit status {status}"
        if status < 0:  # the wrapper itself was killed, from outside the harness
            how = f"killed by {signal.Signals(-status).name} from outside"
        elif status > 128:  # the wrapper's report of a command killed by a signal
            with contextlib.suppress(ValueError):
                how = f"killed by {signal.Signals(status - 128).name}"
        raise CommandFailed(
            f"{how}: {' '.join(argv)}\n"
            + "\n".join(f"    {line}" for line in tail)
            + f"\n  (full output: {out_path}, {err_path})"
        )
    usage = json.loads(usage_path.read_text(encoding="utf-8"))
    cpu = usage["user"] + usage["system"]
    sample = Sample(
        seconds=usage["seconds"],
        cpu_seconds=cpu,
        peak_kib=usage["maxrss_kib"],
        tree_kib=tree,
        background_cores=max(0.0, busy - cpu) / usage["seconds"] if usage["seconds"] else 0.0,
    )
    return sample, out_path.read_text(encoding="utf-8", errors="replace")
