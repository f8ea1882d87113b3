"""``python -m bench``: make the corpus, time every command as a process, print and save.

Every timed thing is a whole process (interpreter start and imports included), run
``--repeat`` rounds; the median is reported. The order within a round: the floor, the
two peers (openpyxl, then calamine), the cold run (empty ledger and outbox each time),
the rerun with nothing new and the rerun with one new return (each from a copy of the
ledger the cold run left), and the next month's templates (their 累计总计 prefilled from
that ledger). Ratios are taken within each round, then their median. The page cache is warmed first so
every command reads the same warm files. A command that exits non-zero fails the
benchmark; a missed target does not (it is a figure to report).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from bench import report
from bench.corpus import PERIOD, ROOT, Corpus, make_corpus
from bench.measure import CommandFailed, run_timed
from bench.registers import PERIOD as REGISTER_PERIOD
from bench.registers import RegisterCorpus, make_register_corpus
from bench.report import Timing

HERE = Path(__file__).resolve().parent
BUSY_CORES = 0.25  # other processes' CPU use, in cores, worth a note beside the figures
LOCK = Path(tempfile.gettempdir()) / "health-returns-bench.lock"
_SUMMARY = re.compile(r"文件 (\d+) 个：接收 (\d+)，退回 (\d+)")


class BenchFailed(Exception):
    """A timed command failed or did not do what it was timed for."""


def _nothing() -> None:
    pass


def _no_check(_out: str) -> None:
    pass


@dataclass
class Step:
    """One timed command, with what to set up before and tidy after each repetition."""

    key: str
    label: str
    files: int
    argv: list[str]
    prepare: Callable[[], None] = _nothing
    after: Callable[[], None] = _nothing
    check: Callable[[str], None] = _no_check


@dataclass(frozen=True)
class RunDir:
    """Scratch state of the runs over one corpus: ``<corpus>/run/``, recreated."""

    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def snapshot(self) -> Path:
        return self.root / "ledger-after-cold.sqlite"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def _link_all(source: Path, target: Path) -> None:
    """Hard links (same bytes, same receipt time) or, across devices, copies."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def _remove_ledger(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)


def _snapshot(ledger: Path, snapshot: Path) -> None:
    """A consistent copy of the ledger (SQLite's backup, so a WAL is included)."""
    if not ledger.exists():  # the run failed; its failure is being reported
        return
    _remove_ledger(snapshot)
    source, target = sqlite3.connect(ledger), sqlite3.connect(snapshot)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _restore(snapshot: Path, ledger: Path) -> None:
    _remove_ledger(ledger)
    shutil.copyfile(snapshot, ledger)


def prepare_run_dir(corpus: Corpus) -> RunDir:
    run = RunDir(corpus.root / "run")
    shutil.rmtree(run.root, ignore_errors=True)
    _link_all(corpus.returns, run.inbox)
    run.logs.mkdir(parents=True)
    return run


def warm_cache(folder: Path) -> None:
    for path in folder.iterdir():
        path.read_bytes()


def _pipeline(corpus: Corpus, run: RunDir, ledger: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline",
        "--campaign",
        str(corpus.campaign_file),
        "--inbox",
        str(run.inbox),
        "--outbox",
        str(run.outbox),
        "--ledger",
        str(ledger),
        *args,
    ]


def _expect_files(what: str, n: int, pattern: str) -> Callable[[str], None]:
    def check(out: str) -> None:
        m = re.search(pattern, out)
        if not m or int(m.group(1)) != n:
            raise BenchFailed(f"{what} should report {n} files; it printed:\n{out[-600:]}")

    return check


def _warn(warnings: list[str], message: str) -> None:
    if message not in warnings:
        warnings.append(message)


def _expect_run(corpus: Corpus, files: int, warnings: list[str]) -> Callable[[str], None]:
    """The run saw every file; accepted and rejected as the corpus was planted (else warn)."""
    rejected = corpus.planted.get("formula", 0)

    def check(out: str) -> None:
        m = _SUMMARY.search(out)
        if m is None:
            _warn(warnings, f"could not read the run's summary line; it printed:\n{out[-600:]}")
            return
        seen, accepted, refused = (int(g) for g in m.groups())
        if seen != files:
            raise BenchFailed(f"the run saw {seen} files, the inbox holds {files}")
        if refused != rejected or accepted != files - rejected:
            _warn(
                warnings,
                f"run accepted {accepted} and rejected {refused} of {files} files; the corpus "
                f"plants {rejected} rejections: the figures may not measure a normal month "
                "(stale corpus? try --regenerate)",
            )

    return check


def steps(corpus: Corpus, run: RunDir, warnings: list[str]) -> list[Step]:
    n = corpus.n
    period = ["run", "--period", str(PERIOD)]
    extra = run.inbox / corpus.extra_file.name
    templates_out = run.root / "templates"
    templates_ledger = run.root / "ledger-templates.sqlite"

    def cold() -> None:
        _remove_ledger(run.ledger)
        shutil.rmtree(run.outbox, ignore_errors=True)

    def add_extra() -> None:
        _restore(run.snapshot, run.ledger)
        extra.unlink(missing_ok=True)
        os.link(corpus.extra_file, extra)

    def templates() -> None:
        shutil.rmtree(templates_out, ignore_errors=True)
        _restore(run.snapshot, templates_ledger)

    def templates_made(_out: str) -> None:
        made = len(list(templates_out.glob("*.xlsx")))
        if made != n:
            raise BenchFailed(f"templates wrote {made} files for {n} institutions")

    return [
        Step(
            "floor",
            "floor (zipfile, inflate all)",
            n,
            [sys.executable, str(HERE / "floor.py"), str(corpus.returns)],
            check=_expect_files("the floor", n, r"(\d+) files"),
        ),
        Step(
            "peer_openpyxl",
            "peer, openpyxl (one sheet)",
            n,
            [sys.executable, str(HERE / "peer.py"), "--engine", "openpyxl", str(corpus.returns)],
            check=_expect_files("the openpyxl peer", n, r"(\d+) files read"),
        ),
        Step(
            "peer",
            "peer, calamine (one sheet)",
            n,
            [sys.executable, str(HERE / "peer.py"), "--engine", "calamine", str(corpus.returns)],
            check=_expect_files("the calamine peer", n, r"(\d+) files read"),
        ),
        Step(
            "cold",
            "cold run (empty ledger)",
            n,
            _pipeline(corpus, run, run.ledger, *period),
            prepare=cold,
            after=lambda: _snapshot(run.ledger, run.snapshot),
            check=_expect_run(corpus, n, warnings),
        ),
        Step(
            "rerun",
            "rerun, nothing new",
            n,
            _pipeline(corpus, run, run.ledger, *period),
            prepare=lambda: _restore(run.snapshot, run.ledger),
            check=_expect_run(corpus, n, warnings),
        ),
        Step(
            "rerun_one",
            "rerun, one new return",
            n + 1,
            _pipeline(corpus, run, run.ledger, *period),
            prepare=add_extra,
            after=lambda: extra.unlink(missing_ok=True),
            check=_expect_run(corpus, n + 1, warnings),
        ),
        Step(
            "templates",
            f"templates ({PERIOD.shift(1)}, {n} forms)",
            n,
            _pipeline(
                corpus,
                run,
                templates_ledger,
                "templates",
                "--period",
                str(PERIOD.shift(1)),
                "--out",
                str(templates_out),
            ),
            prepare=templates,
            check=templates_made,
        ),
    ]


def time_once(
    step: Step, timing: Timing, rep: int, repeat: int, logs: Path, echo: Callable[[str], object]
) -> None:
    """One repetition of ``step``, its sample added to ``timing``."""
    step.prepare()
    try:
        sample, out = run_timed(step.argv, cwd=ROOT, log=logs / f"{step.key}-{rep}")
    except CommandFailed as exc:
        raise BenchFailed(f"{step.label}, repetition {rep}: {exc}") from exc
    finally:
        step.after()
    step.check(out)
    timing.samples.append(sample)
    echo(f"  {step.label} {rep}/{repeat}: {sample.seconds:.2f} s, {sample.peak_kib / 1024:.0f} MiB")


def time_step(step: Step, repeat: int, logs: Path, echo: Callable[[str], object]) -> Timing:
    timing = Timing(step.key, step.label, step.files, step.argv)
    for rep in range(1, repeat + 1):
        time_once(step, timing, rep, repeat, logs, echo)
    return timing


def time_rounds(
    all_steps: list[Step], repeat: int, logs: Path, echo: Callable[[str], object]
) -> dict[str, Timing]:
    """Every step once per round, ``repeat`` rounds: a peer and the cold run are timed
    minutes apart at most, so a machine that other work slows for a while slows both,
    and their ratio is taken round by round (see :func:`bench.report.ratios`)."""
    timings = {s.key: Timing(s.key, s.label, s.files, s.argv) for s in all_steps}
    for rep in range(1, repeat + 1):
        echo(f"round {rep}/{repeat}")
        for step in all_steps:
            time_once(step, timings[step.key], rep, repeat, logs, echo)
    return timings


@contextlib.contextmanager
def machine_lock(what: str, echo: Callable[[str], object], path: Path = LOCK) -> Iterator[None]:
    """One benchmark at a time on this machine: two would slow each other's figures.

    A second benchmark, from any checkout, waits for the first to finish.
    """
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "holder unknown"
            echo(f"another benchmark is running ({holder}); waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"{what}, pid {os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)  # the lock itself goes with the file's closing


def cold_memory(corpus: Corpus, echo: Callable[[str], object]) -> Timing:
    """One cold run over another corpus, for the peak memory at another N."""
    run = prepare_run_dir(corpus)
    warm_cache(run.inbox)
    step = next(s for s in steps(corpus, run, []) if s.key == "cold")
    step.label = f"cold run, N={corpus.n}"
    return time_step(step, 1, run.logs, echo)


REGISTER_ITEMS = 50
PLAIN_ROWS = 18  # data rows of a return of the main corpus: 13 tasks (附件1), 5 topics (附件2)


def time_registers(reg: RegisterCorpus, repeat: int, echo: Callable[[str], object]) -> Timing:
    """The cold run of the register corpus's month, from the ledger of the month before."""
    run = RunDir(reg.root / "run")
    shutil.rmtree(run.root, ignore_errors=True)
    _link_all(reg.returns, run.inbox)
    run.logs.mkdir(parents=True)
    warm_cache(run.inbox)

    def prepare() -> None:
        shutil.rmtree(run.outbox, ignore_errors=True)
        _restore(reg.ledger, run.ledger)

    argv = [sys.executable, "-m", "pipeline", "--campaign", str(reg.campaign_file)]
    argv += ["--inbox", str(run.inbox), "--outbox", str(run.outbox), "--ledger", str(run.ledger)]
    argv += ["run", "--period", str(REGISTER_PERIOD)]
    step = Step(
        "registers",
        f"cold run, {reg.items} open items each",
        reg.files,
        argv,
        prepare=prepare,
        check=_expect_files("the register run", reg.files, r"文件 (\d+) 个"),
    )
    return time_step(step, repeat, run.logs, echo)


def bench(
    n: int,
    repeat: int,
    work: Path,
    results: Path,
    *,
    share: float,
    jobs: int | None,
    memory_also: list[int],
    regenerate: bool,
    registers: int = 0,
    echo: Callable[[str], object] = click.echo,
) -> dict:
    started = time.perf_counter()
    # Taken first: the figures belong to the code as it was when the run began.
    facts = {
        "date": report.today(),
        "machine": report.machine(),
        "code": report.code_version(ROOT),
    }
    corpus = make_corpus(work, n, share=share, jobs=jobs, regenerate=regenerate, echo=echo)
    run = prepare_run_dir(corpus)
    warm_cache(run.inbox)
    warnings: list[str] = []
    timings = time_rounds(steps(corpus, run, warnings), repeat, run.logs, echo)
    memory = {n: timings["cold"].memory_mib}
    others: dict[str, object] = {}
    for m in (m for m in memory_also if m != n):
        other = make_corpus(work, m, share=share, jobs=jobs, regenerate=regenerate, echo=echo)
        t = cold_memory(other, echo)
        memory[m] = t.memory_mib
        others[str(m)] = t.to_json()
    r = report.ratios(timings)
    goals = report.targets(n, r, memory)
    register_doc: dict[str, object] = {}
    if registers:
        reg = make_register_corpus(work, registers, REGISTER_ITEMS, jobs=jobs, echo=echo)
        reg_timing = time_registers(reg, repeat, echo)
        timings[reg_timing.key] = reg_timing
        goal = report.register_target(timings["cold"], reg_timing, PLAIN_ROWS, reg.rows_per_return)
        goals.append(goal)
        register_doc = {
            "n": reg.n,
            "files": reg.files,
            "items_per_return": reg.items,
            "rows_per_return": reg.rows_per_return,
            "plain_rows_per_return": PLAIN_ROWS,
            "reused": reg.reused,
        }
    busy = {k: round(t.background_cores, 2) for k, t in timings.items()}
    busy = {k: v for k, v in busy.items() if v > BUSY_CORES}
    elapsed = time.perf_counter() - started
    doc = report.document(
        n,
        repeat,
        facts,
        timings,
        r,
        goals,
        memory,
        {
            "cold_runs_at_other_n": others,
            "corpus": {
                "key": corpus.key,
                "planted": corpus.planted,
                "findings_share": share,
                "period": str(PERIOD),
                "generation_seconds": round(corpus.generation_seconds, 1),
                "reused": corpus.reused,
            },
            "register_corpus": register_doc,
            "warnings": warnings,
            "busy_machine": busy,
            "bench_seconds": round(elapsed, 1),
        },
    )
    path = results / f"bench-{n}.json"
    report.write_json(path, doc)
    echo("")
    echo(report.table(n, repeat, facts, timings, goals))
    for w in warnings:
        echo(f"\nWARNING: {w}")
    if busy:
        echo(
            "\nNOTE: other processes used the CPUs while these were timed (cores, median): "
            + ", ".join(f"{k} {v}" for k, v in busy.items())
            + "; on a quiet machine they would be faster."
        )
    echo(f"\nbench took {elapsed:.0f} s (corpus {'reused' if corpus.reused else 'made'}); {path}")
    return doc


def _sizes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: sizes separated by commas, e.g. 2000") from exc
    return [v for v in sizes if v > 0]


@click.command()
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=2),
    default=2000,
    show_default=True,
    help="Institutions, and returns, in the corpus.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Repetitions of each timed command; the median is reported.",
)
@click.option(
    "--findings",
    "share",
    type=click.FloatRange(0, 0.5),
    default=0.03,
    show_default=True,
    help="Share of returns carrying findings (at least 3).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes filling the corpus; default: every CPU.",
)
@click.option(
    "--memory-also",
    "memory_also",
    default=None,
    metavar="N[,N…]",
    callback=_sizes,
    help="Also one cold run at these sizes, for memory growth; default 2000 "
    "when N > 2000, none otherwise ('0' for none).",
)
@click.option(
    "--work",
    type=click.Path(path_type=Path),
    default=HERE / "work",
    show_default=True,
    help="Corpora and scratch runs (cached between runs).",
)
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    default=HERE / "results",
    show_default=True,
    help="Where bench-N.json is written.",
)
@click.option(
    "--lock/--no-lock",
    default=True,
    show_default=True,
    help=f"Wait for any other benchmark on this machine to finish ({LOCK}).",
)
@click.option(
    "--registers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help=f"Also a cold run over a corpus of this many institutions, each return with "
    f"{REGISTER_ITEMS} open register items (0: none).",
)
@click.option("--regenerate", is_flag=True, help="Make the corpus again even if cached.")
def main(
    n: int,
    repeat: int,
    share: float,
    jobs: int | None,
    memory_also: list[int] | None,
    work: Path,
    results: Path,
    regenerate: bool,
    lock: bool,
    registers: int,
) -> None:
    """Time the pipeline against pandas scripts and the zip floor (issues 4 and 15)."""
    also = memory_also if memory_also is not None else ([2000] if n > 2000 else [])
    what = f"N={n} in {ROOT}"
    try:
        with machine_lock(what, click.echo) if lock else contextlib.nullcontext():
            bench(
                n,
                repeat,
                work,
                results,
                share=share,
                jobs=jobs,
                memory_also=also,
                regenerate=regenerate,
                registers=registers,
            )
    except BenchFailed as exc:
        click.echo(f"\nBENCHMARK FAILED: {exc}", err=True)
        sys.exit(1)
