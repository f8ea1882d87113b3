"""The run of a period: lock → intake → record → collect → write.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.aggregate.period import collect, current_returns
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.intake.judge import Progress, intake
from pipeline.intake.outcome import OUTCOME_ZH, FileOutcome
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger, damaged


@dataclass
class RunResult:
    period: Period
    files: list[FileOutcome]
    anomalies: int  # rows of 异常清单: warnings, errors, ledger anomalies
    missing: list[Institution]
    outputs: list[Path]
    outbox: Path
    unchanged: bool = False  # nothing new: the outputs of the last run were kept

    def count(self, outcome: str) -> int:
        """Files of this period (or unidentified) with ``outcome``."""
        return sum(1 for f in self.files if f.outcome == outcome and not self._earlier(f))

    def _earlier(self, f: FileOutcome) -> bool:
        return f.submission_id is not None and f.period not in ("", str(self.period))

    @property
    def other_month_returns(self) -> list[str]:
        """Months of returns refused in this run because they belong to another month."""
        return sorted(
            {
                f.period
                for f in self.files
                if f.transient and f.period and f.period != str(self.period)
            }
        )

    @property
    def other_periods(self) -> int:
        """Files already recorded for another period (left in the inbox from earlier runs)."""
        return sum(1 for f in self.files if self._earlier(f))


def run_period(
    campaign: Campaign,
    period: Period,
    *,
    progress: Progress | None = None,
    lock_wait: float = 60.0,
    notify: Callable[[str], None] | None = None,
) -> RunResult:
    """The whole monthly run for ``period``; returns what happened and where outputs are.

    One run at a time per ledger: a second run waits up to ``lock_wait`` seconds for the
    first (``notify`` is told it is waiting), then gives up with :class:`BusyError`.
    """
    with run_lock(campaign.ledger_path, lock_wait, notify):
        return _run_locked(campaign, period, progress)


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


def _run_locked(campaign: Campaign, period: Period, progress: Progress | None) -> RunResult:
    from pipeline.report import anomaly_list, manifest, write_outputs

    roster = campaign.roster()
    ledger = Ledger(campaign.ledger_path)
    try:
        run_id = ledger.start_run(str(period))
        files = intake(campaign, roster, ledger, period, run_id, progress)
        outbox = campaign.outbox / str(period)
        inputs = _inputs(campaign, ledger, files)
        done = manifest.current(ledger, str(period), outbox, inputs)
        if done is not None:  # nothing new since the outputs were written
            outputs, anomalies = done
        else:
            data = collect(campaign, roster, ledger, period, files)
            outputs = write_outputs(data, ledger, outbox)
            anomalies = len(anomaly_list.listed(data))
            manifest.record(ledger, str(period), inputs, outputs, anomalies)
        current = current_returns(ledger.submissions(str(period)))
        missing = [i for i in roster if i.code not in current]
        result = RunResult(period, files, anomalies, missing, outputs, outbox, done is not None)
        summary = {o: result.count(o) for o in OUTCOME_ZH}
        ledger.finish_run(
            run_id, json.dumps(summary), ((f.name, f.sha256, f.outcome) for f in files)
        )
        return result
    except sqlite3.DatabaseError as exc:  # damage found mid-run: nothing half-written
        raise damaged(campaign.ledger_path, exc) from exc
    finally:
        ledger.close()
