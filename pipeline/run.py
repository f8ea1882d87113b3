"""The monthly run: inbox → intake → extraction → validation → ledger → aggregation → outbox.

Data flows one way. Each inbox file is judged once (by its sha256) and the judgement is
recorded in the ledger; every output is then computed from the ledger alone, so rerunning
on the same inbox produces the same outputs, and a cleaned inbox loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline import parallel
from pipeline.aggregate.anomalies import ledger_anomalies
from pipeline.aggregate.totals import CumulativeLookup, GridTotals, grid_totals
from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.config.roster import Institution, Roster
from pipeline.extract.reader import Refused, read_workbook
from pipeline.extract.returns import Extracted, extract, identify, layouts_for, read_bounds
from pipeline.faults import checkpoint
from pipeline.findings import Finding, is_blocking, make
from pipeline.forms.layout import Layout
from pipeline.intake.sniff import display_name, is_regular_file, sha256_of, skip_reason, sniff
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger, Submission, damaged
from pipeline.validate import rules

Progress = Callable[[str, int, int], None]

OUTCOME_ZH = {
    "accepted": "已接收",
    "rejected": "已退回",
    "duplicate": "重复文件",
    "superseded": "已被更正版本替代",
    "skipped": "已跳过",
}


@dataclass
class FileOutcome:
    """What became of one inbox file in this run."""

    name: str
    outcome: str
    sha256: str = ""
    size: int = 0
    received_at: str = ""
    institution: str = ""
    period: str = ""
    submission_id: int | None = None
    note: str = ""
    findings: list[Finding] = field(default_factory=list)
    # Refused for now (roster, period, still copying, a fault of ours): not recorded in
    # the ledger, so the file is judged afresh on the next run.
    transient: bool = False

    def mark_transient(self, note: str = "本次未入账，下次运行时重新检查") -> None:
        self.transient = True
        self.note = note


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


@dataclass
class _Pending:
    """A new file read and identified, waiting for the batch validation."""

    outcome: FileOutcome
    extracted: Extracted | None
    where: dict


def _received_at(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")


def _where(name: str, sha: str, inst: Institution | None, period: Period | None) -> dict:
    return {
        "file": name,
        "sha256": sha,
        "institution": inst.code if inst else "",
        "institution_name": inst.name if inst else "",
        "period": str(period or ""),
    }


def _judge_file(
    path: Path,
    name: str,
    sha: str,
    size: int,
    campaign: Campaign,
    roster: Roster,
    period: Period,
    layouts: dict[str, Layout],
    bounds: dict,
) -> _Pending:
    """Sniff, read and identify one new file; extraction when it is one of ours."""
    out = FileOutcome(
        name=name, outcome="rejected", sha256=sha, size=size, received_at=_received_at(path)
    )
    if path.stat().st_size != size:
        out.mark_transient()
        out.findings = [make("F-COPYING", file=name, sha256=sha)]
        return _Pending(out, None, {})
    where = _where(name, sha, None, None)
    sniffed = sniff(path, size, campaign.limits)
    if sniffed.kind != "xlsx":
        out.findings = [make(sniffed.reason, value=sniffed.detail, **where)]
        return _Pending(out, None, where)
    try:
        raw = read_workbook(path, bounds, campaign.limits)
    except Refused as exc:
        loc = {**where, "sheet": exc.sheet, "cell": exc.cell}
        out.findings = [make(exc.rule, value=exc.detail, **loc)]
        return _Pending(out, None, where)
    ident = identify(raw, campaign, roster, period, layouts)
    where = _where(name, sha, ident.institution, ident.period)
    out.institution = ident.institution.code if ident.institution else ""
    out.period = str(ident.period or "")
    out.findings = [replace(f, **where) for f in ident.findings]
    out.findings += [make(rule, value=detail, **where) for rule, detail in raw.notes]
    if ident.transient and ident.period is not None and ident.period != period:
        out.mark_transient(f"属于{ident.period}，请运行 make PERIOD={ident.period}")
    elif ident.transient:
        out.mark_transient("机构不在名册中：补入名册后重新运行")
    if ident.institution is None or ident.period is None or ident.transient:
        return _Pending(out, None, where)
    ext = extract(raw, campaign, ident.institution, ident.period, layouts, where)
    return _Pending(out, ext, where)


def _validate(
    pending: list[_Pending],
    campaign: Campaign,
    ledger: Ledger,
    period: Period,
    layouts: dict[str, Layout],
) -> None:
    """Pandera over all returns at once per form, then the definition's cross-field rules."""
    batch = [(p, p.extracted) for p in pending if p.extracted is not None]
    if not batch:
        return
    from pipeline.validate import schema  # pandas and pandera: only when there is work

    cumulative = CumulativeLookup(ledger, campaign)
    topics = [t.key for t in campaign.topics]
    for spec in campaign.grid_forms:
        lay = layouts[spec.id]
        labels = {k: lay.labels.get((r, 1), k) for k, r in lay.row_of.items()}
        cells = [(i, c) for i, (_, ext) in enumerate(batch) for c in ext.values]
        for i, cell, rule in schema.failures(spec, cells):
            p, ext = batch[i]
            what = f"{labels[cell.row_key]}/{spec.measure(cell.measure).short_label}"
            ext.findings.append(
                make(
                    rule,
                    value=cell.raw if cell.raw is not None else cell.value,
                    expected=schema.EXPECTED[rule].format(max=spec.max_count),
                    what=what,
                    form=spec.id,
                    sheet=spec.sheet,
                    cell=cell.cell,
                    **p.where,
                )
            )
        for p, ext in batch:
            prev = cumulative(ext.institution.code, spec.id, period.shift(-1))
            ext.findings.extend(
                rules.check_return(
                    spec, topics, ext.values, ext.claims, prev, p.where, labels, ext.foreign
                )
            )
    # A blank return never replaces a filled one, recorded earlier or arriving now.
    filled_now = {
        ext.institution.code
        for _, ext in batch
        if not any(f.rule == "A-BLANK" for f in ext.findings) and not is_blocking(ext.findings)
    }
    for p, ext in batch:
        blank = [f for f in ext.findings if f.rule == "A-BLANK"]
        code = ext.institution.code
        if blank and (code in filled_now or ledger.has_figures(code, str(period))):
            loc = {**p.where, "form": blank[0].form, "sheet": blank[0].sheet}
            ext.findings.append(replace(make("V-BLANK-RESEND"), **loc))
        p.outcome.findings.extend(ext.findings)


def _ledger_findings(ledger: Ledger, sub: Submission, name: str, roster: Roster) -> list[Finding]:
    inst = roster.get(sub.institution or "")
    base = _where(name, sub.sha256, inst, Period.parse(sub.period) if sub.period else None)
    if inst is None and sub.institution:
        base["institution"] = sub.institution
    return [Finding(**row, **base) for row in ledger.findings_of(sub.id)]


def _outcome_from_ledger(out: FileOutcome, sub: Submission, ledger: Ledger, roster: Roster) -> None:
    out.submission_id = sub.id
    out.institution = sub.institution or ""
    out.period = sub.period or ""
    if sub.file_name != out.name:
        out.outcome = "duplicate"
        out.note = f"与“{sub.file_name}”内容完全相同"
        out.findings = []
        return
    out.outcome = sub.status
    out.received_at = sub.received_at
    if sub.status == "superseded" and sub.superseded_by:
        out.note = f"已被“{ledger.submission(sub.superseded_by).file_name}”替代"
    out.findings = _ledger_findings(ledger, sub, out.name, roster)


def _by_receipt(inbox: Path) -> list[Path]:
    """Inbox entries in order of receipt, so of identical copies the earliest is the return."""
    if not inbox.is_dir():
        return []

    def key(p: Path) -> tuple[float, str]:
        try:
            return (p.stat().st_mtime, p.name)
        except OSError:
            return (0.0, p.name)

    return sorted(inbox.iterdir(), key=key)


_Job = tuple[Path, str, str, int]  # path, display name, sha256, size
PARALLEL_FROM = 24  # new files; fewer are judged in-process (a pool costs ~0.1 s to start)


@dataclass(frozen=True)
class _Context:
    """What judging a file needs, sent once to each worker process."""

    campaign: Campaign
    roster: Roster
    period: Period
    layouts: dict[str, Layout]
    bounds: dict[str, tuple[int, int]]


_worker_context: _Context | None = None


def _start_worker(context: _Context) -> None:
    global _worker_context
    _worker_context = context


def _judge_safely(context: _Context, job: _Job) -> _Pending:
    path, name, sha, size = job
    c = context
    try:
        return _judge_file(
            path, name, sha, size, c.campaign, c.roster, c.period, c.layouts, c.bounds
        )
    except Exception as exc:  # a fault of ours must not stop the other files
        return _fault(job, f"程序内部错误 {type(exc).__name__}")


def _judge_in_worker(job: _Job) -> _Pending:
    assert _worker_context is not None, "worker started without its context"
    return _judge_safely(_worker_context, job)


def _fault(job: _Job, what: str) -> _Pending:
    _, name, sha, size = job
    out = FileOutcome(name=name, outcome="rejected", sha256=sha, size=size)
    out.mark_transient()  # judged again on the next run
    out.findings = [make("F-UNREADABLE", value=what, file=name, sha256=sha)]
    return _Pending(out, None, {})


def _judge_all(jobs: list[_Job], context: _Context, progress: Progress | None) -> list[_Pending]:
    """Each new file judged (read, identified, extracted), in ``jobs`` order.

    Reading is most of a run's work and each file is independent, so many files are
    shared among worker processes, one per core. Should a worker die, the files it had
    are refused for now (judged again next run) and the others keep their judgement.
    """
    done: list[_Pending] = []
    try:
        for pending in parallel.each(
            _judge_in_worker, jobs, _start_worker, (context,), parallel_from=PARALLEL_FROM
        ):
            done.append(pending)
            checkpoint("judging")  # a crash here leaves workers mid-batch
            if progress:
                progress("读取", len(done), len(jobs))
    except BrokenProcessPool:
        done += [_fault(job, "读取进程意外终止") for job in jobs[len(done) :]]
    return done


def intake(
    campaign: Campaign,
    roster: Roster,
    ledger: Ledger,
    period: Period,
    run_id: int,
    progress: Progress | None = None,
) -> list[FileOutcome]:
    """Judge every new inbox file and record it; return every file's outcome."""
    layouts = layouts_for(campaign)
    bounds = read_bounds(layouts)
    entries = _by_receipt(campaign.inbox)
    outcomes: list[FileOutcome] = []
    pending: list[_Pending] = []
    seen: dict[str, str] = {}
    jobs: list[_Job] = []  # new files to judge, and where their outcomes go
    places: list[int] = []
    for path in entries:
        name = display_name(path.name)
        reason = "文件夹，未读取" if path.is_dir() else skip_reason(name)
        if not reason and not is_regular_file(path):
            reason = "不是普通文件（失效的链接、管道或设备），未读取"
        if reason:
            outcomes.append(FileOutcome(name=name, outcome="skipped", note=reason))
            continue
        try:
            sha, size = sha256_of(path)
        except OSError as exc:  # removed or locked since the listing
            out = FileOutcome(name=name, outcome="rejected")
            out.mark_transient()
            out.findings = [make("F-UNREADABLE", value=type(exc).__name__, file=name)]
            outcomes.append(out)
            continue
        known = ledger.known(sha)
        if known is not None or sha in seen:  # outcome filled in from the ledger below
            outcomes.append(FileOutcome(name=name, outcome="duplicate", sha256=sha, size=size))
            continue
        seen[sha] = name
        jobs.append((path, name, sha, size))
        outcomes.append(FileOutcome(name=name, outcome="rejected"))  # its place, for now
        places.append(len(outcomes) - 1)
    judged = _judge_all(jobs, _Context(campaign, roster, period, layouts, bounds), progress)
    for place, p in zip(places, judged, strict=True):
        outcomes[place] = p.outcome
        pending.append(p)
        checkpoint("intake")
    _validate(pending, campaign, ledger, period, layouts)
    # Record in order of receipt, so that of two returns the later received is current.
    for p in sorted(pending, key=lambda p: (p.outcome.received_at, p.outcome.name)):
        out = p.outcome
        if out.transient:
            continue
        ext = p.extracted
        ledger.record(
            sha256=out.sha256,
            file_name=out.name,
            size=out.size,
            received_at=out.received_at,
            run_id=run_id,
            institution=out.institution or None,
            period=out.period or str(period),  # an unidentified file: this run's month
            accepted=ext is not None and not is_blocking(out.findings),
            values=ext.values if ext else (),
            texts=ext.texts if ext else (),
            findings=out.findings,
        )
    for out in outcomes:
        sub = ledger.known(out.sha256) if out.sha256 else None
        if sub is not None:  # else skipped, or refused for now (roster, period, copying)
            _outcome_from_ledger(out, sub, ledger, roster)
    return outcomes


@dataclass
class PeriodData:
    """Everything the reports need, computed from the ledger."""

    campaign: Campaign
    roster: Roster
    period: Period
    due: dt.date
    due_covered: bool
    files: list[FileOutcome]
    submissions: list[Submission]
    totals: dict[str, GridTotals]
    layouts: dict[str, Layout]
    anomalies: list[Finding]

    def current(self) -> dict[str, Submission]:
        return current_returns(self.submissions)


def current_returns(subs: list[Submission]) -> dict[str, Submission]:
    """Institution -> its accepted (not superseded) return among ``subs``."""
    return {s.institution: s for s in subs if s.status == "accepted" and s.institution}


def collect(
    campaign: Campaign, roster: Roster, ledger: Ledger, period: Period, files: list[FileOutcome]
) -> PeriodData:
    layouts = layouts_for(campaign)
    due, covered = campaign.due.due_date(period)
    subs = ledger.submissions(str(period))
    current = {code: (s.file_name, s.sha256) for code, s in current_returns(subs).items()}
    totals = {spec.id: grid_totals(ledger, campaign, spec, period) for spec in campaign.grid_forms}
    anomalies = [
        a
        for spec in campaign.grid_forms
        for a in ledger_anomalies(
            totals[spec.id], layouts[spec.id], roster, campaign.anomalies, current, campaign.start
        )
    ]
    return PeriodData(
        campaign, roster, period, due, covered, files, subs, totals, layouts, anomalies
    )


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
        [o.name, o.sha256, o.outcome, o.note, o.transient, o.submission_id]
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
