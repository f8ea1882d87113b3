"""The run: lock → intake → record → collect → write, for every campaign run now.

Data flows one way. Each inbox file is judged once (by its sha256) and the judgement is
recorded in the ledger (:mod:`pipeline.intake.judge`); every output is then computed
from the ledger alone (:mod:`pipeline.aggregate.period`, :mod:`pipeline.report`), so
rerunning on the same inbox produces the same outputs, and a cleaned inbox loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.aggregate.period import collect, current_returns
from pipeline.aggregate.result import RunResult
from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace
from pipeline.config.calendar import Period
from pipeline.errors import ConfigError
from pipeline.intake.judge import Progress, context_for, intake, source_for
from pipeline.intake.outcome import OUTCOME_ZH, FileOutcome
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger, damaged


def run_period(
    campaign: Campaign,
    period: Period,
    *,
    progress: Progress | None = None,
    lock_wait: float = 60.0,
    notify: Callable[[str], None] | None = None,
) -> RunResult:
    """The run of one campaign's ``period``, its own inbox and ledger as a workspace of
    one; returns what happened and where the outputs are."""
    ws = Workspace(
        path=campaign.path,
        name=campaign.name,
        campaigns=(campaign,),
        roster_path=campaign.roster_path,
        ledger_path=campaign.ledger_path,
        inbox=campaign.inbox,
        outbox=campaign.outbox,
        templates_dir=campaign.templates_dir,
        single=True,
    )
    run = run_workspace(
        ws, {campaign.code: [period]}, progress=progress, lock_wait=lock_wait, notify=notify
    )
    return run.results[0]


@dataclass
class WorkspaceRun:
    """A run over a workspace: the result of each campaign and period run, in order."""

    results: list[RunResult]
    campaigns: list[Campaign]
    overview: Path | None = None


def run_workspace(
    ws: Workspace,
    targets: Mapping[str, Sequence[Period]],
    *,
    progress: Progress | None = None,
    lock_wait: float = 60.0,
    notify: Callable[[str], None] | None = None,
) -> WorkspaceRun:
    """Judge the inbox once for every campaign of ``targets`` (code -> its periods run
    now), record each file under its campaign, write each campaign's outputs for each of
    its periods, and the overview when the workspace has several campaigns.

    One run at a time per ledger: a second run waits up to ``lock_wait`` seconds for the
    first (``notify`` is told it is waiting), then gives up with :class:`BusyError`.
    """
    with run_lock(ws.ledger_path, lock_wait, notify):
        return _run_locked(ws, targets, progress)


def _inputs(campaign: Campaign, ledger: Ledger, files: list[FileOutcome]) -> str:
    """Digest of everything the period's outputs are made from (see report.manifest)."""
    from pipeline import __version__
    from pipeline.report import manifest

    try:
        roster_bytes = hashlib.sha256(campaign.roster_path.read_bytes()).hexdigest()
    except OSError:
        roster_bytes = ""
    seen = [
        [o.name, o.sha256, o.outcome, o.note, o.transient, o.submission_id, repr(o.origin)]
        + [[f.rule, f.message, f.sheet, f.cell, f.value] for f in o.findings]
        for o in files
    ]
    return manifest.digest(
        [__version__, repr(campaign), roster_bytes, ledger.generation(), dt.date.today(), seen]
    )


def _run_locked(
    ws: Workspace, targets: Mapping[str, Sequence[Period]], progress: Progress | None
) -> WorkspaceRun:
    from pipeline.report import INDEX_NAME, manifest, overview, write_index, write_outputs

    campaigns = [ws.campaign(code) for code in targets]
    roster = ws.roster()
    if not ws.inbox.is_dir():  # a mistyped --inbox must not read as "nobody reported"
        raise ConfigError(
            f"收件箱文件夹不存在：{ws.inbox}（请检查 --inbox 或工作配置文件 [paths] inbox）"
            f" / inbox folder not found: {ws.inbox}"
        )
    ledger = Ledger(ws.ledger_path, campaigns[0].code if ws.single else "")
    try:
        run_ids = {
            (c.code, str(p)): ledger.scoped(c.code).start_run(str(p))
            for c in campaigns
            for p in targets[c.code]
        }
        batch = min(run_ids.values(), default=0)  # this run, as the ledger numbers it
        context = context_for(ws.campaigns, targets, roster)
        files = intake(context, ledger, run_ids, source_for(ws.campaigns[0]), progress)
        results = []
        for c in campaigns:
            scoped = ledger.scoped(c.code)
            reporters = c.roster()
            rewritten = False  # some period's outputs written again: its report page too
            # Its own files; a file of no campaign only in a workspace of one (else the
            # overview lists it, once).
            mine = [f for f in files if f.campaign == c.code or (ws.single and not f.campaign)]
            for period in targets[c.code]:
                outbox = c.outbox / str(period)
                inputs = _inputs(c, scoped, mine)
                done = manifest.current(scoped, str(period), outbox, inputs)
                if done is not None:  # nothing new since the outputs were written
                    outputs, anomalies, counts = done
                else:
                    rewritten = True
                    from pipeline.report import anomaly_list  # (the writers' imports)

                    data = collect(c, reporters, scoped, period, mine)
                    outputs = write_outputs(data, scoped, outbox, progress)
                    listed = anomaly_list.listed(data)
                    anomalies = len(listed)
                    late = sum(
                        1 for f in listed if f.rule.endswith(("-OVERDUE", "-LATE", "-BEHIND"))
                    )
                    counts = {"overdue": late}
                    manifest.record(scoped, str(period), inputs, outputs, anomalies, counts)
                current = current_returns(scoped.submissions(str(period)))
                missing = [i for i in reporters if i.code not in current]
                result = RunResult(
                    period, mine, anomalies, missing, outputs, outbox, done is not None, c
                )
                result.overdue = counts.get("overdue", 0)
                summary: dict[str, object] = {o: result.count(o) for o in OUTCOME_ZH}
                summary["batch"] = batch  # the overview shows a campaign's latest batch
                summary["overview"] = overview.row(result, ledger)
                scoped.finish_run(
                    run_ids[(c.code, str(period))],
                    json.dumps(summary),
                    ((f.name, f.sha256, f.outcome) for f in files),  # the whole inbox
                )
                results.append(result)
            if rewritten or not (c.outbox / INDEX_NAME).is_file():
                write_index(c)  # the periods' pages as they are now
        written = None
        if not ws.single:
            written = overview.write(ws, ledger, files)
        return WorkspaceRun(results, campaigns, written)
    except sqlite3.DatabaseError as exc:  # damage found mid-run: nothing half-written
        raise damaged(ws.ledger_path, exc) from exc
    finally:
        ledger.close()
