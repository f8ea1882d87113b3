"""The register corpus: each institution's return carries ITEMS open hazards in its 问题隐患清单.

Issue 15 asks that the registers cost in proportion to their rows. The corpus is made
as a clerk's months would make it, with the project's own code: in 2026-09 each
institution reports ITEMS new general hazards (its 附件2 counts and its register in
step, by the demo filler), that month is run into a ledger (not timed); the templates
of 2026-10 then come pre-filled with the ITEMS open items, and each institution returns
its template with nothing changed and its counts at 0. What is timed is the cold run of
2026-10 from the ledger of 2026-09, beside the main corpus's cold run: per return,
against the rows each return holds.

Kept under ``<work>/registers-<N>-<ITEMS>/`` while its key holds, like the main corpus.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import ROOT, _write_roster, campaign_toml, source_key
from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return, fill_template, with_zeros
from pipeline.distribute.templates import template_filename

VERSION = "1"
FIRST, PERIOD = Period(2026, 9), Period(2026, 10)
REGISTER = "hazard_register"  # its schema; the form itself is "hazards"
REGISTER_FORM = "hazards"
GRID = "fujian2"
_SOURCES = (
    "schemas/*.toml",
    "pipeline/distribute/*.py",
    "pipeline/forms/xlsxfile.py",
    "pipeline/demo/*.py",
    "bench/registers.py",
)

CAMPAIGN_TOML = campaign_toml(
    str(FIRST), ("fujian1_tasks", "fujian2_progress", REGISTER), "bench/registers.py"
)


@dataclass(frozen=True)
class RegisterCorpus:
    root: Path
    n: int  # institutions in the roster
    items: int  # open items in each return
    campaign_file: Path
    returns: Path  # the returns of PERIOD
    ledger: Path  # the ledger after FIRST was run
    files: int  # returns in ``returns``
    rows_per_return: int  # data rows each return holds (tasks, topics and items)
    reused: bool


def _key(n: int, items: int) -> str:
    return source_key(f"{VERSION}|{n}|{items}|{FIRST}|{PERIOD}", _SOURCES)


_campaign: Campaign | None = None


def _init(campaign_file: Path) -> None:
    global _campaign
    _campaign = load_campaign(campaign_file)


def _found(campaign: Campaign, items: int) -> dict[str, dict[str, dict[str, int]]]:
    """ITEMS general hazards found, spread over the topics, every other count 0."""
    spec = campaign.form(GRID)
    topics = [r.key for r in campaign.rows_for(spec)]
    share = {t: items // len(topics) + (i < items % len(topics)) for i, t in enumerate(topics)}
    return with_zeros(campaign, {spec.id: {t: {"general_found": k} for t, k in share.items()}})


def _first_month(task: tuple[str, int, str]) -> str:
    code, items, folder = task
    assert _campaign is not None
    inst = _campaign.roster().get(code)
    assert inst is not None
    path = Path(folder) / template_filename(FIRST, inst, _campaign.code)
    if not path.exists():
        fill_return(_campaign, inst, FIRST, Path(folder), MonthData(grid=_found(_campaign, items)))
    return path.name


def _second_month(task: tuple[str, str]) -> str:
    template, out = task
    assert _campaign is not None
    if not Path(out).exists():
        fill_template(
            _campaign, Path(template), Path(out), MonthData(grid=with_zeros(_campaign, {}))
        )
    return Path(out).name


def _pipeline(campaign_file: Path, inbox: Path, outbox: Path, ledger: Path, *args: str) -> None:
    argv = [sys.executable, "-m", "pipeline", "--campaign", str(campaign_file)]
    argv += ["--inbox", str(inbox), "--outbox", str(outbox), "--ledger", str(ledger), *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-1500:]}")


def make_register_corpus(
    work: Path,
    n: int,
    items: int = 50,
    *,
    jobs: int | None = None,
    echo: Callable[[str], object] = print,
) -> RegisterCorpus:
    root = (work / f"registers-{n}-{items}").resolve()
    key = _key(n, items)
    stamp = root / "corpus.json"
    campaign_file = root / "campaign.toml"
    try:
        made = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        made = {}
    if made.get("key") == key:
        echo(f"register corpus N={n}, {items} items: reused {root}")
        return _corpus(root, n, items, made, True)
    start = time.perf_counter()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    campaign_file.write_text(CAMPAIGN_TOML, encoding="utf-8")
    _write_roster(root / "roster.csv", n)
    campaign = load_campaign(campaign_file)
    register = campaign.form(REGISTER_FORM)
    codes = [i.code for i in campaign.roster() if register.reported_by(i.role)]
    first, templates, returns = root / "first", root / "templates", root / "returns"
    for folder in (first, templates, returns):
        folder.mkdir()
    jobs = jobs or os.cpu_count() or 1
    echo(f"register corpus N={n}, {items} items: filling {len(codes)} returns of {FIRST}")
    with multiprocessing.Pool(jobs, _init, (campaign_file,)) as pool:
        pool.map(_first_month, [(c, items, str(first)) for c in codes], chunksize=4)
    ledger = root / "first.sqlite"
    echo(f"  running {FIRST} into the ledger, then writing the templates of {PERIOD}")
    _pipeline(campaign_file, first, root / "first-outbox", ledger, "run", "--period", str(FIRST))
    _pipeline(
        campaign_file, first, root / "first-outbox", ledger,
        "templates", "--period", str(PERIOD), "--out", str(templates),
    )  # fmt: skip
    tasks = []
    roster = campaign.roster()
    for code in codes:
        inst = roster.get(code)
        assert inst is not None
        name = template_filename(PERIOD, inst, campaign.code)
        tasks.append((str(templates / name), str(returns / name)))
    echo(f"  filling {len(tasks)} returns of {PERIOD}, each with its {items} open items")
    with multiprocessing.Pool(jobs, _init, (campaign_file,)) as pool:
        pool.map(_second_month, tasks, chunksize=4)
    rows = sum(len(campaign.rows_for(campaign.form(f))) for f in ("fujian1", GRID)) + items
    made = {"key": key, "files": len(tasks), "rows_per_return": rows}
    made["seconds"] = round(time.perf_counter() - start, 1)
    stamp.write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    echo(f"register corpus made in {made['seconds']} s (not part of the measured figures)")
    return _corpus(root, n, items, made, False)


def _corpus(root: Path, n: int, items: int, made: dict, reused: bool) -> RegisterCorpus:
    return RegisterCorpus(
        root=root,
        n=n,
        items=items,
        campaign_file=root / "campaign.toml",
        returns=root / "returns",
        ledger=root / "first.sqlite",
        files=int(made["files"]),
        rows_per_return=int(made["rows_per_return"]),
        reused=reused,
    )
