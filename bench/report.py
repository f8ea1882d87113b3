"""The benchmark's result: timings per command, the issue's targets, the table and the JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Sample

PROVINCE_N = 10_000
MEMORY_LIMIT_MIB = 500.0
TEMPLATES_PER_SECOND = 150


@dataclass
class Timing:
    """Every repetition of one timed command."""

    key: str
    label: str
    files: int  # files the command reads or writes, for files per second
    argv: list[str]
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds else math.inf

    @property
    def peak_mib(self) -> float:
        """Largest single process (``ru_maxrss``) over the repetitions."""
        return max(s.peak_kib for s in self.samples) / 1024

    @property
    def tree_mib(self) -> float:
        """Largest sampled sum over the process tree (0 when never sampled)."""
        return max(s.tree_kib for s in self.samples) / 1024

    @property
    def memory_mib(self) -> float:
        """What the memory target is held to: the larger of the two."""
        return max(self.peak_mib, self.tree_mib)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def background_cores(self) -> float:
        return statistics.median(s.background_cores for s in self.samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "argv": self.argv,
            "files": self.files,
            "median_seconds": round(self.seconds, 3),
            "files_per_second": round(self.files_per_second, 2),
            "peak_mib": round(self.peak_mib, 1),
            "tree_mib": round(self.tree_mib, 1),
            "median_cpu_seconds": round(self.cpu_seconds, 3),
            "median_background_cores": round(self.background_cores, 2),
            "samples": [asdict(s) for s in self.samples],
        }


@dataclass(frozen=True)
class Target:
    name: str
    measured: float | None
    shown: str  # the measured figure as printed
    goal: str
    status: str  # PASS, MISS or n/a
    note: str = ""


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _paired(a: Timing, b: Timing) -> float:
    """``a`` over ``b``: the median of the ratios of their samples taken in the same
    round, so that a busy spell slowing one round weighs on both; the ratio of the
    medians when the samples do not pair up."""
    if len(a.samples) == len(b.samples) and all(s.seconds for s in b.samples):
        return statistics.median(
            x.seconds / y.seconds for x, y in zip(a.samples, b.samples, strict=True)
        )
    return a.seconds / b.seconds


def ratios(t: dict[str, Timing]) -> dict[str, float]:
    out = {
        "peer_over_cold": _paired(t["peer"], t["cold"]),
        "cold_over_floor": _paired(t["cold"], t["floor"]),
        "rerun_over_cold": _paired(t["rerun"], t["cold"]),
        "rerun_one_over_cold": _paired(t["rerun_one"], t["cold"]),
        "templates_per_second": t["templates"].files_per_second,
    }
    if "peer_openpyxl" in t:
        out["openpyxl_peer_over_cold"] = _paired(t["peer_openpyxl"], t["cold"])
    return out


def targets(n: int, r: dict[str, float], memory: dict[int, float]) -> list[Target]:
    """The issue's targets (issue 15), judged on this run's figures."""
    peer, floor, rerun = r["peer_over_cold"], r["cold_over_floor"], r["rerun_over_cold"]
    rate = r["templates_per_second"]
    out = [
        Target(
            "cold run vs calamine peer (peer is X× slower)",
            peer,
            f"{peer:.2f}×",
            "> 1× (cold run faster)",
            _status(peer > 1),
        ),
        Target("cold run / floor", floor, f"{floor:.1f}×", "≤ 6×", _status(floor <= 6)),
        Target(
            "rerun, nothing new / cold run", rerun, f"{rerun:.1%}", "≤ 5%", _status(rerun <= 0.05)
        ),
        Target(
            "templates per second",
            rate,
            f"{rate:.1f}/s",
            f"≥ {TEMPLATES_PER_SECOND}/s",
            _status(rate >= TEMPLATES_PER_SECOND),
        ),
    ]
    mib = memory[n]
    if n >= PROVINCE_N:
        status, note = _status(mib < MEMORY_LIMIT_MIB), ""
    elif mib >= MEMORY_LIMIT_MIB:
        status, note = "MISS", f"already over at N={n}"
    else:
        status, note = "n/a", f"measured at N={n}; run with N={PROVINCE_N} to judge"
    out.append(
        Target(
            f"peak memory of the cold run, N={n}",
            mib,
            f"{mib:.0f} MiB",
            f"< {MEMORY_LIMIT_MIB:.0f} MiB at N={PROVINCE_N}",
            status,
            note,
        )
    )
    sizes = sorted(memory)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        growth, allowed = memory[large] / memory[small], large / small
        out.append(
            Target(
                f"memory growth N={small}→{large} ({large / small:g}× the returns)",
                growth,
                f"{growth:.2f}×",
                f"< {allowed:g}× (slower than N)",
                _status(growth < allowed),
            )
        )
    return out


def register_target(plain: Timing, registers: Timing, plain_rows: int, rows: int) -> Target:
    """Registers cost in proportion to their rows: a return with open items costs, per
    return, at most its rows over a plain return's rows times a plain return's cost.
    Each run's fixed start-up is in its per-return figure, to the registers' cost."""
    per_plain = plain.seconds / plain.files
    per_register = registers.seconds / registers.files
    ratio, allowed = per_register / per_plain, rows / plain_rows
    return Target(
        f"registers: cost per return vs a plain one ({rows} vs {plain_rows} rows)",
        ratio,
        f"{ratio:.2f}×",
        f"≤ {allowed:.2f}× (the rows' ratio)",
        _status(ratio <= allowed),
        f"{per_register * 1000:.1f} ms vs {per_plain * 1000:.1f} ms per return",
    )


# -- facts about the machine and the code ------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_mib": _mem_total_mib(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
    }


def code_version(root: Path) -> dict[str, Any]:
    commit = _git(root, "rev-parse", "HEAD")
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit, "branch": _git(root, "branch", "--show-current"), "dirty": dirty}


# -- output --------------------------------------------------------------------------------
def table(
    n: int, repeat: int, facts: dict[str, Any], timings: dict[str, Timing], goals: list[Target]
) -> str:
    m, code = facts["machine"], facts["code"]
    lines = [
        f"N = {n} returns, median of {repeat}; {m['cpu_model']}, {m['cpu_count']} CPUs, "
        f"Python {m['python']}; {facts['date']}; commit {code['commit'][:10]}"
        + (" (uncommitted changes)" if code["dirty"] else ""),
        "",
        f"{'command':<34}{'seconds':>10}{'files/s':>10}{'peak MiB':>10}{'tree MiB':>10}"
        f"{'CPU s':>9}{'others':>8}",
    ]
    for t in timings.values():
        tree = f"{t.tree_mib:.0f}" if t.tree_mib else "-"
        lines.append(
            f"{t.label:<34}{t.seconds:>10.2f}{t.files_per_second:>10.1f}"
            f"{t.peak_mib:>10.0f}{tree:>10}{t.cpu_seconds:>9.2f}{t.background_cores:>8.2f}"
        )
    lines.append(
        "(median of the repetitions; peak: largest process, from wait4; tree: sampled sum "
        "over the process and its workers; others: CPU cores other processes used meanwhile)"
    )
    lines += ["", f"{'target':<48}{'measured':>12}  {'goal':<26}result"]
    for g in goals:
        note = f"  ({g.note})" if g.note else ""
        lines.append(f"{g.name:<48}{g.shown:>12}  {g.goal:<26}{g.status}{note}")
    return "\n".join(lines)


def document(
    n: int,
    repeat: int,
    facts: dict[str, Any],
    timings: dict[str, Timing],
    r: dict[str, float],
    goals: list[Target],
    memory: dict[int, float],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "n": n,
        "repeat": repeat,
        **facts,
        "commands": {key: t.to_json() for key, t in timings.items()},
        "ratios": {k: round(v, 4) for k, v in r.items()},
        "targets": [asdict(g) for g in goals],
        "cold_memory_mib_by_n": {str(k): round(v, 1) for k, v in sorted(memory.items())},
        **extra,
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def today() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")
