"""The corpus: a campaign, a roster of N institutions and their N filled returns for one month.

Everything is made with the project's own code: the templates by its template writer,
the figures and the clerks' habits by its demo filler (``pipeline.demo.filler``). A few
percent of the returns carry findings, in turn: typing habits (full-width digits, units,
numbers as text, spaces: warnings, kept), a number typed over a formula (an error, the
return is rejected) and a blank return (a warning). One more file, outside the corpus,
is the corrected resubmission of the first rejected return: the "one new return" of the
rerun.

Filling 10,000 returns takes minutes, so the corpus is made by a process pool and kept
under ``<work>/<N>/``; it is reused while its key (N, the findings' share, the seed, this
module's version and the source of the forms, the template writer and the filler) holds.
An interrupted making resumes: the files already written are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import BUREAU_LEVEL, Roster
from pipeline.demo.filler import HABITS, MonthData, Overwrites, fill_return, random_month
from pipeline.distribute.templates import template_filename

VERSION = "1"
ROOT = Path(__file__).resolve().parents[1]
PERIOD = Period(2026, 10)
SEED = 20261123
BUREAU_CODE = "B00000"
KINDS = ("habits", "formula", "blank")
"""What the returns with findings carry, in turn."""

# Sources whose change may change the files made: the key covers their text.
_SOURCES = (
    "schemas/*.toml",
    "pipeline/distribute/*.py",
    "pipeline/forms/xlsxfile.py",  # saves the templates the returns are filled from
    "pipeline/demo/filler.py",
)

_LEVELS = (
    ("二级医院", "人民医院"),
    ("社区卫生服务中心", "社区卫生服务中心"),
    ("卫生院", "卫生院"),
    ("一级医院", "康复医院"),
    ("专业公共卫生机构", "疾病预防控制中心"),
    ("门诊部", "口腔门诊部"),
    ("护理院", "护理院"),
    ("三级医院", "中心医院"),
)


def campaign_toml(start: str, forms: tuple[str, ...], made_by: str) -> str:
    """The benchmark's campaign file: seed 002's campaign from ``start`` with ``forms``,
    every path under ``run/`` beside it."""
    listed = ", ".join(f'"{f}"' for f in forms)
    return f"""\
# Benchmark campaign (made by {made_by}; safe to delete).
[campaign]
name = "安全生产专项整治三年行动"
code = "srzz-2021"
start = "{start}"
forms = [{listed}]

[bureau]
name = "测试市卫生健康委员会"
code = "{BUREAU_CODE}"
contact = "基准测试"
phone = "0000-00000000"
email = "bench@example.org"

[paths]
roster = "roster.csv"
ledger = "run/ledger.sqlite"
inbox = "run/inbox"
outbox = "run/outbox"
templates = "run/form_templates"
"""


CAMPAIGN_TOML = campaign_toml(str(PERIOD), ("fujian1_tasks", "fujian2_progress"), "bench/corpus.py")


@dataclass(frozen=True)
class Corpus:
    """A generated corpus on disk. ``returns`` holds exactly ``n`` filled returns."""

    root: Path
    n: int
    key: str
    campaign_file: Path
    returns: Path
    extra: Path  # the corrected resubmission, one file
    planted: dict[str, int]  # finding kind -> number of returns carrying it
    generation_seconds: float  # when made by this run; the stored figure when reused
    reused: bool

    @property
    def extra_file(self) -> Path:
        return next(self.extra.iterdir())


def _is_administration(i: int) -> bool:
    """A few other health administrations (district bureaus in a city's roster)."""
    return i % 500 == 7


def roster_rows(n: int) -> list[dict[str, str]]:
    """Row 0 is the campaign's bureau; a few other administrations; the rest institutions."""
    rows = [
        {
            "机构代码": BUREAU_CODE,
            "机构名称": "测试市卫生健康委员会",
            "机构级别": BUREAU_LEVEL,
            "经济类型": "公立",
        }
    ]
    for i in range(1, n):
        district = i // 100 + 1
        if _is_administration(i):
            level, name = BUREAU_LEVEL, f"测试市第{district}区卫生健康局"
        else:
            level, kind = _LEVELS[i % len(_LEVELS)]
            name = f"测试市第{district}区第{i}{kind}"
        rows.append(
            {
                "机构代码": f"B{i:05d}",
                "机构名称": name,
                "机构级别": level,
                "经济类型": "公立" if i % 5 else "民营",
            }
        )
    for row in rows:
        code = row["机构代码"].lower()
        row |= {"电子邮箱": f"{code}@example.org", "联系人": "测试", "联系电话": "0000-1"}
    return rows


def plan_findings(n: int, share: float) -> dict[int, str]:
    """Roster index -> kind of finding, for about ``share`` of the returns (at least 3)."""
    count = min(n - 1, max(len(KINDS), round(n * share)))
    chosen = sorted(random.Random(SEED).sample(range(1, n), count))
    return {index: KINDS[k % len(KINDS)] for k, index in enumerate(chosen)}


def source_key(head: str, sources: tuple[str, ...]) -> str:
    """A corpus's cache key: ``head`` (its parameters) and every file the corpus is made
    by (glob patterns under the repository), so a change to any of them makes it anew."""
    digest = hashlib.sha256(head.encode())
    for pattern in sources:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def corpus_key(n: int, share: float) -> str:
    return source_key(f"{VERSION}|{n}|{share}|{SEED}|{PERIOD}", _SOURCES)


# -- filling, in pool workers ------------------------------------------------------------
_campaign: Campaign | None = None
_roster: Roster | None = None


def _init_worker(campaign_file: Path) -> None:
    global _campaign, _roster
    _campaign = load_campaign(campaign_file)
    _roster = _campaign.roster()


def _received(index: int, due: dt.date) -> float:
    """Receipt time: on time, spread over the three days before the due date."""
    first = dt.datetime.combine(due - dt.timedelta(days=3), dt.time(9, 0))
    return (first + dt.timedelta(seconds=7 * index)).timestamp()


def _overwrite(campaign: Campaign, data: MonthData) -> Overwrites:
    """排查隐患总数 of the first topic typed over its formula, one more than its parts."""
    spec = campaign.form("fujian2")
    topic = campaign.rows_for(spec)[0].key
    row = data.grid.get(spec.id, {}).get(topic, {})
    wrong = row.get("general_found", 0) + row.get("major_found", 0) + 1
    return {spec.id: {(topic, "hazards_total"): wrong}}


def fill_one(task: tuple[int, str, str, str]) -> str:
    """Fill the return of roster row ``index`` into ``folder``; returns the file name.

    The figures depend only on the institution's code, so the pool's order does not
    matter. ``kind`` is "" (clean), one of :data:`KINDS`, or "corrected" (the clean
    resubmission of a "formula" return, saved under another name and received later).
    """
    index, code, kind, folder = task
    assert _campaign is not None and _roster is not None, "worker not initialised"
    campaign = _campaign
    inst = _roster.get(code)
    assert inst is not None
    path = Path(folder) / template_filename(PERIOD, inst, campaign.code)
    due, _ = campaign.due.due_date(PERIOD)
    when = _received(index, due)
    if kind == "corrected":
        path = path.with_name(f"{path.stem}（更正）{path.suffix}")
        when = dt.datetime.combine(due - dt.timedelta(days=1), dt.time(16, 0)).timestamp()
    if not path.exists():  # else made before an interruption (files are written atomically)
        rng = random.Random(f"{SEED}:{code}")
        data = random_month(campaign, inst, PERIOD, rng)
        habits = frozenset(HABITS) if kind == "habits" else frozenset()
        overwrite = _overwrite(campaign, data) if kind == "formula" else None
        if kind == "blank":
            data = MonthData()
        made = fill_return(
            campaign, inst, PERIOD, Path(folder), data, habits=habits, overwrite_formula=overwrite
        )
        made.rename(path)
    os.utime(path, (when, when))
    return path.name


# -- the corpus --------------------------------------------------------------------------
def _write_roster(path: Path, n: int) -> None:
    rows = roster_rows(n)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _stamp_path(root: Path) -> Path:
    return root / "corpus.json"


def _partial_path(root: Path) -> Path:
    """Present while a corpus is being made; holds its key."""
    return root / "corpus.partial"


def _partial_key(root: Path) -> str:
    try:
        return _partial_path(root).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _cached(root: Path, n: int, key: str) -> Corpus | None:
    try:
        stamp = json.loads(_stamp_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    corpus = _corpus(root, n, key, stamp.get("planted", {}), stamp.get("seconds", 0.0), True)
    if stamp.get("key") != key or not corpus.extra.is_dir():
        return None
    if sum(1 for _ in corpus.returns.iterdir()) != n or len(list(corpus.extra.iterdir())) != 1:
        return None
    return corpus


def _corpus(
    root: Path, n: int, key: str, planted: dict[str, int], seconds: float, reused: bool
) -> Corpus:
    return Corpus(
        root=root,
        n=n,
        key=key,
        campaign_file=root / "campaign.toml",
        returns=root / "returns",
        extra=root / "extra",
        planted=planted,
        generation_seconds=seconds,
        reused=reused,
    )


def make_corpus(
    work: Path,
    n: int,
    *,
    share: float = 0.03,
    jobs: int | None = None,
    regenerate: bool = False,
    echo: Callable[[str], object] = print,
) -> Corpus:
    """The corpus of ``n`` returns under ``work/<n>/``, reused when its key holds."""
    if n < 2:
        raise ValueError("N must be at least 2 (the bureau and one institution)")
    root = (work / str(n)).resolve()
    key = corpus_key(n, share)
    if not regenerate:
        cached = _cached(root, n, key)
        if cached is not None:
            echo(f"corpus N={n}: reused {root} (key {key})")
            return cached
    start = time.perf_counter()
    corpus = _corpus(root, n, key, {}, 0.0, False)
    resume = not regenerate and _partial_key(root) == key
    if resume:  # an interrupted making of this very corpus: keep the files it finished
        for folder in (corpus.returns, corpus.extra):
            for cut in folder.glob(".*.part"):  # a write cut short
                cut.unlink()
    else:
        for part in ("returns", "extra", "run"):
            shutil.rmtree(root / part, ignore_errors=True)
    _stamp_path(root).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    _partial_path(root).write_text(key + "\n", encoding="utf-8")
    if resume:
        echo(f"corpus N={n}: resuming, {sum(1 for _ in corpus.returns.iterdir())} returns kept")
    (root / "campaign.toml").write_text(CAMPAIGN_TOML, encoding="utf-8")
    _write_roster(root / "roster.csv", n)
    plan = plan_findings(n, share)
    corpus.returns.mkdir(exist_ok=True)
    corpus.extra.mkdir(exist_ok=True)
    codes = [row["机构代码"] for row in roster_rows(n)]
    tasks = [(i, code, plan.get(i, ""), str(corpus.returns)) for i, code in enumerate(codes)]
    first_formula = min(i for i, kind in plan.items() if kind == "formula")
    tasks.append((first_formula, codes[first_formula], "corrected", str(corpus.extra)))
    jobs = jobs or os.cpu_count() or 1
    echo(f"corpus N={n}: filling {len(tasks)} returns with {jobs} processes into {root}")
    step = max(1, len(tasks) // 10)
    with multiprocessing.Pool(jobs, _init_worker, (corpus.campaign_file,)) as pool:
        for done, _ in enumerate(pool.imap_unordered(fill_one, tasks, chunksize=8), start=1):
            if done % step == 0 or done == len(tasks):
                echo(f"  {done}/{len(tasks)} filled, {time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    planted = {kind: sum(1 for k in plan.values() if k == kind) for kind in KINDS}
    stamp = {"key": key, "n": n, "share": share, "planted": planted, "seconds": seconds}
    _stamp_path(root).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    _partial_path(root).unlink()
    echo(f"corpus N={n}: made in {seconds:.1f} s (not part of the measured figures)")
    return _corpus(root, n, key, planted, seconds, False)
