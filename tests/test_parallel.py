"""Many new files are judged by a pool of worker processes (pipeline/intake/reading.py)."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ModelPrefills, campaign_in, ledger_counts, outbox_snapshot, read_jsonl
from test_crash import PERIOD, _returns

import pipeline.intake.reading as run_module
from pipeline import parallel
from pipeline.config.calendar import Period
from pipeline.intake.reading import Context, Pending
from pipeline.intake.sources import Entry
from pipeline.run import run_period

pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="the worker pool is used only with two or more cores"
)


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _returns(tmp_path_factory.mktemp("returns"))


def _log(base: Path) -> dict[str, dict]:
    """File name -> its line of the validation log, with the messages of its findings."""
    records = read_jsonl(campaign_in(base).outbox / PERIOD / f"校验日志_{PERIOD}.jsonl")
    files = {r["file"]: {**r, "messages": []} for r in records if r.get("type") == "file"}
    for r in records:
        if r.get("type") == "finding":
            files[r["file"]]["messages"].append(r["message"])
    return files


def _run(base: Path, returns: Path | None = None) -> tuple[dict, dict, dict[str, dict]]:
    campaign = campaign_in(base)
    if returns is not None:
        shutil.copytree(returns, campaign.inbox)
    run_period(campaign, Period.parse(PERIOD))
    outputs = outbox_snapshot(campaign.outbox / PERIOD)
    return outputs, ledger_counts(campaign.ledger_path), _log(base)


def _victims(log: dict[str, dict]) -> list[dict]:
    return [r for r in log.values() if any("读取进程意外终止" in m for m in r["messages"])]


def _spy(module: Any, name: str, seen: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap ``module.name`` so each call leaves a file named by the calling process's id
    in ``seen``: forked workers inherit the wrapper, and a file outlives its worker."""
    real = getattr(module, name)
    seen.mkdir(parents=True, exist_ok=True)

    def spied(*args: Any, **kwargs: Any) -> Any:
        (seen / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spied)


def _workers(seen: Path) -> tuple[set[int], int]:
    """The processes that did the work, and how many items they did."""
    calls = [int(p.name.split("-")[0]) for p in seen.iterdir()]
    return set(calls), len(calls)


def test_the_pool_judges_exactly_as_one_process_does(
    tmp_path: Path, returns: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = _run(tmp_path / "serial", returns)
    pools: list[object] = []
    seen = tmp_path / "judged-by"
    _spy(run_module, "judge_file", seen, monkeypatch)

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(run_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", CountedPool)
    pooled = _run(tmp_path / "pooled", returns)
    assert len(pools) == 1
    assert pooled == serial
    # The files were judged in the pool's workers, not here.
    judged_by, judged = _workers(seen)
    log = pooled[2]
    assert judged == sum(1 for r in log.values() if r["outcome"] not in ("duplicate", "skipped"))
    assert judged_by and os.getpid() not in judged_by


def test_a_worker_that_dies_costs_its_files_one_run_not_the_whole_run(
    tmp_path: Path, returns: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = run_module.judge_file

    def dies_on_one(entry: Entry, context: Context) -> Pending:
        if entry.name.startswith("2026-07_srzz-2021_示例区中医院"):
            os._exit(3)  # the worker process vanishes, as if killed
        return judge(entry, context)

    monkeypatch.setattr(run_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(run_module, "judge_file", dies_on_one)
    _, _, log = _run(tmp_path, returns)
    assert len(log) == 8  # every file has its line, none lost
    victims = _victims(log)
    assert victims and all(r["outcome"] == "rejected" for r in victims), log
    # Refused for now, not recorded: the next run (healthy) judges them.
    monkeypatch.setattr(run_module, "judge_file", judge)
    _, counts, log = _run(tmp_path)
    assert not _victims(log)
    assert counts["submissions"] == {"accepted": 4, "rejected": 2, "superseded": 1}


def test_templates_written_by_the_pool_are_those_written_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from e2e_support import workbook_values

    import pipeline.distribute.templates as templates_module
    from pipeline.distribute.templates import write_templates

    campaign = campaign_in(tmp_path)
    period = Period.parse(PERIOD)

    def cumulative(code: str, form: str, through: Period) -> dict[str, float]:
        return {"general_found": float(len(code)), "major_found": 1.0} if code != "QW003" else {}

    serial = write_templates(
        campaign, period, ModelPrefills(cumulative, period), tmp_path / "serial"
    )
    monkeypatch.setattr(templates_module, "PARALLEL_FROM", 2)
    seen = tmp_path / "written-by"
    _spy(templates_module, "write_atomic", seen, monkeypatch)
    pooled = write_templates(
        campaign, period, ModelPrefills(cumulative, period), tmp_path / "pooled"
    )
    assert [p.name for p in pooled] == [p.name for p in serial]
    assert len(serial) == len(campaign.roster())
    written_by, written = _workers(seen)  # by the pool's workers, not here
    assert written == len(serial)
    assert written_by and os.getpid() not in written_by
    for a, b in zip(serial, pooled, strict=True):
        assert workbook_values(a) == workbook_values(b), a.name


def test_a_restamped_template_is_the_template_built_afresh(tmp_path: Path) -> None:
    """write_templates builds one workbook per role and restamps it for the others."""
    from e2e_support import workbook_values
    from openpyxl import load_workbook

    from pipeline.distribute.templates import write_template, write_templates

    campaign = campaign_in(tmp_path)
    period = Period.parse(PERIOD)

    def cumulative(code: str, form: str, through: Period) -> dict[str, float]:
        n = int(code[2:])
        return {"general_found": n * 1.5, "major_fixed": float(n % 3)} if n % 4 else {}

    batch = write_templates(campaign, period, ModelPrefills(cumulative, period), tmp_path / "batch")
    roles = [i.role for i in campaign.roster()]
    assert len(set(roles)) == 2 and len(roles) > 3  # so most files were restamped
    for inst, made in zip(campaign.roster(), batch, strict=True):
        fresh = write_template(
            campaign,
            inst,
            period,
            tmp_path / "fresh" / inst.code,
            ModelPrefills(cumulative, period),
        )
        assert workbook_values(made) == workbook_values(fresh), inst.code
        a, b = load_workbook(made), load_workbook(fresh)
        for ws in a.worksheets:
            other = b[ws.title]
            assert ws.protection.sheet == other.protection.sheet
            assert [str(d.sqref) for d in ws.data_validations.dataValidation] == [
                str(d.sqref) for d in other.data_validations.dataValidation
            ]
            unlocked = {
                c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked
            }
            assert unlocked == {
                c.coordinate for row in other.iter_rows() for c in row if not c.protection.locked
            }, (inst.code, ws.title)


def test_outputs_written_with_汇总表_aside_are_those_written_in_order(
    tmp_path: Path, returns: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.report as report

    serial = _run(tmp_path / "serial", returns)
    forks: list[str] = []
    aside = parallel.aside

    def counted(func: Any, what: str) -> Any:
        forks.append(what)
        return aside(func, what)

    monkeypatch.setattr(report, "ASIDE_FROM", 2)
    monkeypatch.setattr(parallel, "aside", counted)
    assert _run(tmp_path / "aside", returns) == serial
    assert forks == ["汇总表"]


def test_work_aside_that_fails_is_reported(tmp_path: Path) -> None:
    done = tmp_path / "done"
    parallel.aside(lambda: done.write_text("ok"), "a file")()
    assert done.read_text() == "ok"
    with pytest.raises(parallel.AsideFailed, match="退出码 1"):
        parallel.aside(lambda: 1 / 0, "a division")()
    with pytest.raises(parallel.AsideFailed, match="被信号 9 终止"):
        parallel.aside(lambda: os.kill(os.getpid(), 9), "a kill")()


def _touch(path: Path) -> Path:
    path.touch()
    return path


def test_workers_run_a_bounded_window_ahead_of_a_slow_caller(tmp_path: Path) -> None:
    """The pool judges at most a few chunks per worker ahead of the caller, so a caller
    that records results slice by slice holds a slice and a window, never every file."""
    jobs = [tmp_path / f"{i:04d}" for i in range(800)]
    results = parallel.each(_touch, jobs, lambda: None, (), parallel_from=1)
    assert next(results) == jobs[0]
    time.sleep(2.0)  # ample for the workers to do all 800 if nothing held them back
    done_ahead = len(list(tmp_path.iterdir()))
    workers = min(os.cpu_count() or 1, parallel.MAX_WORKERS)
    size = max(1, min(32, len(jobs) // (workers * 8)))
    assert done_ahead <= (workers * parallel.AHEAD + 1) * size < len(jobs)
    assert list(results) == jobs[1:]  # and the rest come, in order
