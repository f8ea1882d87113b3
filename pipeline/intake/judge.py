"""Intake: every inbox file judged once and recorded, in order of receipt.

Each new file (by its sha256) is sniffed, read within the limits, identified from its
hidden metadata and extracted by its forms' kinds, in a pool of worker processes when
there are many; all new returns are then validated as one batch and recorded in the
ledger, each in one transaction. A file seen before takes its outcome from the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import parallel
from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.config.roster import Institution, Roster
from pipeline.extract.reader import Refused, read_workbook
from pipeline.extract.returns import extract, identify, layouts_for, read_bounds
from pipeline.faults import checkpoint
from pipeline.findings import Finding, is_blocking, make
from pipeline.forms.kinds.base import Returned
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.intake.outcome import FileOutcome
from pipeline.intake.sniff import display_name, is_regular_file, sha256_of, skip_reason, sniff
from pipeline.ledger.store import Ledger, Submission
from pipeline.validate.batch import validate_batch

Progress = Callable[[str, int, int], None]


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
    institutions: dict[str, str],
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
    ext = extract(raw, campaign, ident, layouts, where, institutions)
    return _Pending(out, ext, where)


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
    institutions: dict[str, str]  # roster code or name -> code


_worker_context: _Context | None = None


def _start_worker(context: _Context) -> None:
    global _worker_context
    _worker_context = context


def _judge_safely(context: _Context, job: _Job) -> _Pending:
    path, name, sha, size = job
    c = context
    try:
        return _judge_file(
            path,
            name,
            sha,
            size,
            c.campaign,
            c.roster,
            c.period,
            c.layouts,
            c.bounds,
            c.institutions,
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
    bounds = read_bounds(campaign, layouts)
    institutions = {i.name: i.code for i in roster} | {i.code: i.code for i in roster}
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
    context = _Context(campaign, roster, period, layouts, bounds, institutions)
    judged = _judge_all(jobs, context, progress)
    for place, p in zip(places, judged, strict=True):
        outcomes[place] = p.outcome
        pending.append(p)
        checkpoint("intake")
    batch = [Returned(p.extracted, p.where) for p in pending if p.extracted is not None]
    validate_batch(batch, campaign, ledger, period)
    for p in pending:
        if p.extracted is not None:
            p.outcome.findings.extend(p.extracted.findings)
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
            new_items=ext.new_items if ext else (),
            findings=out.findings,
        )
    for out in outcomes:
        sub = ledger.known(out.sha256) if out.sha256 else None
        if sub is not None:  # else skipped, or refused for now (roster, period, copying)
            _outcome_from_ledger(out, sub, ledger, roster)
    return outcomes
