"""Judging one new file: sniff, read within the limits, identify, extract.

Runs in worker processes when there are many files (:func:`judge_all`); whatever goes
wrong with one file is a finding on that file, never a stop. A zip of returns is not
judged as a return: its members are listed here (:mod:`pipeline.intake.archive`), for
the intake to judge next.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import parallel
from pipeline.campaigns.campaign import Campaign
from pipeline.config.addresses import known_addresses
from pipeline.config.calendar import Period
from pipeline.config.limits import Limits
from pipeline.config.roster import Institution, Roster
from pipeline.distribute.metadata import FORMAT
from pipeline.extract.reader import Refused, read_workbook
from pipeline.extract.returns import declared_bounds, extract, identify
from pipeline.faults import checkpoint
from pipeline.findings import Finding, make
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted
from pipeline.intake.archive import ArchiveRefused, Member, members
from pipeline.intake.outcome import FileOutcome
from pipeline.intake.sniff import sniff
from pipeline.intake.sources import Entry
from pipeline.ledger.store import MailOrigin

Progress = Callable[[str, int, int], None]
PARALLEL_FROM = 24  # new files; fewer are judged in-process (a pool costs ~0.1 s to start)


@dataclass
class Pending:
    """A new file read and identified, waiting for the batch validation; or a zip of
    returns with its ``members`` to judge next."""

    outcome: FileOutcome
    extracted: Extracted | None
    where: dict
    members: list[Member] | None = None
    campaign: str = ""  # the code of the campaign it belongs to ("" when none)


@dataclass(frozen=True)
class Target:
    """A campaign run now, for these periods."""

    campaign: Campaign
    periods: tuple[Period, ...]
    layouts: dict[str, Layout]
    roster: Roster  # the institutions in its scope


@dataclass(frozen=True)
class Context:
    """What judging a file needs, sent once to each worker process."""

    targets: dict[str, Target]  # campaign code -> the campaign, if run now
    known: dict[str, Campaign]  # every campaign of the workspace, by code
    roster: Roster
    bounds: dict[str, tuple[int, int]]  # every campaign's sheets
    institutions: dict[str, str]  # roster code or name -> code
    limits: Limits

    @property
    def single(self) -> Campaign | None:
        """The campaign, when the workspace has one."""
        return next(iter(self.known.values())) if len(self.known) == 1 else None


def where_of(name: str, sha: str, inst: Institution | None, period: Period | None) -> dict:
    return {
        "file": name,
        "sha256": sha,
        "institution": inst.code if inst else "",
        "institution_name": inst.name if inst else "",
        "period": str(period or ""),
    }


def _sender(origin: MailOrigin | None, inst: Institution, where: dict) -> list[Finding]:
    """A return mailed from another address than the institution's in the roster: a
    warning (people use personal mail), never a rejection."""
    if origin is None:
        return []
    roster = known_addresses(inst.email)
    if origin.sender.lower() in roster:
        return []
    expected = "、".join(sorted(roster)) or "名册中未登记"
    return [make("M-SENDER", value=origin.sender or "无发件人地址", expected=expected, **where)]


def _content(entry: Entry, limits: Limits) -> Path | bytes | None:
    """Where to read the entry from; None when it changed since it was hashed (still
    being copied, or rewritten in place to the same size): judged again on the next run."""
    if not entry.member:
        now = entry.path.stat()
        same = now.st_size == entry.size and (
            not entry.mtime_ns or now.st_mtime_ns == entry.mtime_ns
        )
        return entry.path if same else None
    data = entry.read(limits)
    return data if hashlib.sha256(data).hexdigest() == entry.sha256 else None


def _archive(entry: Entry, out: FileOutcome, where: dict, c: Context) -> Pending:
    """A zip of returns: its members listed, or the zip refused as a whole."""
    if entry.member:  # nested zips are not followed
        out.findings = [make("F-ARCHIVE-NESTED", value=entry.name.rsplit("/", 1)[-1], **where)]
        return Pending(out, None, where)
    try:
        found = members(entry.path, c.limits)
    except ArchiveRefused as exc:
        out.findings = [make(exc.rule, value=exc.detail, **where)]
        return Pending(out, None, where)
    out.outcome = "unpacked"
    judged = sum(1 for m in found if not m.skip)
    out.note = f"压缩包：其中 {judged} 个文件逐个检查，见“{entry.name}/…”各行"
    return Pending(out, None, where, members=found)


def guess_institution(name: str, roster: Roster) -> Institution | None:
    """The institution whose 机构代码 (as a whole token) or 机构名称 the file name holds;
    of names within one another (人民医院 in 人民医院分院) the longest; None when the
    name points at none, or at several."""
    stem = name.rsplit("/", 1)[-1]
    found = [
        inst
        for inst in roster
        if (inst.name and inst.name in stem)
        or re.search(rf"(?<![0-9A-Za-z]){re.escape(inst.code)}(?![0-9A-Za-z])", stem)
    ]
    if len(found) > 1:
        longest = max(found, key=lambda i: len(i.name))
        if all(i.code == longest.code or i.name in longest.name for i in found):
            return longest
        return None
    return found[0] if found else None


def judge_file(entry: Entry, c: Context) -> Pending:
    """Sniff, read and identify one new file; extraction when it is one of ours."""
    out = FileOutcome(
        name=entry.name,
        outcome="rejected",
        sha256=entry.sha256,
        size=entry.size,
        received_at=entry.received_at,
        origin=entry.origin,
    )
    content = _content(entry, c.limits)
    if content is None:
        out.mark_transient()
        out.findings = [make("F-COPYING", file=entry.name, sha256=entry.sha256)]
        return Pending(out, None, {})
    where = where_of(entry.name, entry.sha256, None, None)
    sniffed = sniff(content, entry.size, c.limits)
    if sniffed.kind == "archive":
        return _archive(entry, out, where, c)
    if sniffed.kind != "xlsx":
        out.findings = [make(sniffed.reason, value=sniffed.detail, **where)]
        return Pending(out, None, where)
    try:
        opened = io.BytesIO(content) if isinstance(content, bytes) else content
        raw = read_workbook(opened, c.bounds, c.limits)
    except Refused as exc:
        loc = {**where, "sheet": exc.sheet, "cell": exc.cell}
        out.findings = [make(exc.rule, value=exc.detail, **loc)]
        return Pending(out, None, where)
    code = (raw.meta or {}).get("campaign", "")
    campaign = c.known.get(code) or c.single
    if campaign is None:  # none of the workspace's: one finding, recorded once
        rule, value, expected = _foreign(raw.meta, c)
        out.findings = [make(rule, value=value, expected=expected, **where)]
        return Pending(out, None, where)
    target = c.targets.get(campaign.code)
    periods = target.periods if target else ()
    layouts = target.layouts if target else {}
    code = (raw.meta or {}).get("institution_code", "")
    if target is not None and c.roster.get(code) and target.roster.get(code) is None:
        inst = c.roster.get(code)
        where = where_of(entry.name, entry.sha256, inst, None)
        out.institution, out.campaign = code, campaign.code
        out.findings = [
            make(
                "M-OUT-OF-SCOPE", value=inst.level if inst else "", expected=campaign.name, **where
            )
        ]
        return Pending(out, None, where, campaign=campaign.code)
    ident = identify(raw, campaign, target.roster if target else c.roster, periods, layouts)
    where = where_of(entry.name, entry.sha256, ident.institution, ident.period)
    out.institution = ident.institution.code if ident.institution else ""
    out.period = str(ident.period or "")
    out.findings = [replace(f, **where) for f in ident.findings]
    out.findings += [make(rule, value=detail, **where) for rule, detail in raw.notes]
    found = Pending(out, None, where, campaign=campaign.code)
    if ident.findings and ident.findings[0].rule == "M-CAMPAIGN":
        found.campaign = ""
    out.campaign = found.campaign
    if target is None and ident.institution is not None:
        out.mark_transient(
            f"属于工作“{campaign.name}”，本次未运行该工作：请运行 make CAMPAIGN={campaign.code}"
        )
        return found
    if ident.transient and ident.period is not None and ident.period not in periods:
        other = (
            f"make CAMPAIGN={campaign.code} PERIOD={ident.period}"
            if len(c.known) > 1
            else f"make PERIOD={ident.period}"
        )
        out.mark_transient(f"属于{ident.period}，请运行 {other}")
    elif ident.transient:
        out.mark_transient("机构不在名册中：补入名册后重新运行")
    if ident.institution is None or ident.period is None or ident.transient:
        return found
    grown = declared_bounds(raw, campaign, layouts, c.bounds) if ident.aggregate else None
    if grown is not None:  # an aggregate longer than a return: read it again, further
        try:
            raw = read_workbook(_reopened(content), grown, c.limits)
        except Refused as exc:
            loc = {**where, "sheet": exc.sheet, "cell": exc.cell}
            out.findings += [make(exc.rule, value=exc.detail, **loc)]
            return found
    out.findings += _sender(entry.origin, ident.institution, where)
    found.extracted = extract(raw, campaign, ident, layouts, where, c.institutions)
    return found


def _reopened(content: Path | bytes) -> Path | io.BytesIO:
    """The file's content, to read from its start again."""
    return io.BytesIO(content) if isinstance(content, bytes) else content


def _foreign(meta: dict[str, str] | None, c: Context) -> tuple[str, str, str]:
    """A file of no campaign of the workspace: not one of our forms, or another's."""
    if not meta or meta.get("format") != FORMAT:
        return "M-NO-META", "", ""
    names = "、".join(camp.name for camp in c.known.values())
    return "M-CAMPAIGN", meta.get("campaign_name") or meta.get("campaign", ""), names


_worker_context: Context | None = None


def _start_worker(context: Context) -> None:
    global _worker_context
    _worker_context = context


def _judge_safely(context: Context, entry: Entry) -> Pending:
    try:
        return judge_file(entry, context)
    except Exception as exc:  # a fault of ours must not stop the other files
        return fault(entry, f"程序内部错误 {type(exc).__name__}")


def _judge_in_worker(entry: Entry) -> Pending:
    assert _worker_context is not None, "worker started without its context"
    return _judge_safely(_worker_context, entry)


def fault(entry: Entry, what: str) -> Pending:
    """Refused for now (judged again on the next run), and why."""
    out = FileOutcome(
        name=entry.name,
        outcome="rejected",
        sha256=entry.sha256,
        size=entry.size,
        origin=entry.origin,
    )
    out.mark_transient()
    out.findings = [make("F-UNREADABLE", value=what, file=entry.name, sha256=entry.sha256)]
    return Pending(out, None, {})


def judge_all(
    entries: Sequence[Entry], context: Context, progress: Progress | None
) -> Iterator[Pending]:
    """Each new file judged (read, identified, extracted), yielded in ``entries`` order
    as soon as it is, so that the caller can store them slice by slice.

    Reading is most of a run's work and each file is independent, so many files are
    shared among worker processes, one per core, a bounded window of them ahead of the
    caller. Should a worker die, the files not yet judged are refused for now (judged
    again next run) and the others keep their judgement.
    """
    done = 0
    try:
        for pending in parallel.each(
            _judge_in_worker, entries, _start_worker, (context,), parallel_from=PARALLEL_FROM
        ):
            done += 1
            checkpoint("judging")  # a crash here leaves workers mid-batch
            if progress:
                progress("读取", done, len(entries))
            yield pending
    except BrokenProcessPool:
        for entry in entries[done:]:
            yield fault(entry, "读取进程意外终止")
