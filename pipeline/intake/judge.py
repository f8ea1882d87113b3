"""Intake: every file of the source judged once and recorded, in order of receipt.

The files come through a source (:mod:`pipeline.intake.sources`; the inbox folder by
default), each with its received time and, when it came by e-mail, its origin. Each new
file (by its sha256) is sniffed, read within the limits, identified from its hidden
metadata and extracted by its forms' kinds, in a pool of worker processes when there
are many (:mod:`pipeline.intake.reading`). A zip of returns is unpacked and each of its
members judged the same way, listed after it. The new returns are validated in batches
and recorded in the ledger, each in one transaction, in order of receipt and a slice
(:data:`SLICE`) at a time. A file seen before takes its outcome from the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Roster
from pipeline.extract.returns import layouts_for, read_bounds
from pipeline.faults import checkpoint
from pipeline.findings import Finding, is_blocking, make
from pipeline.forms.kinds.base import Returned
from pipeline.intake.archive import Member
from pipeline.intake.outcome import FileOutcome
from pipeline.intake.reading import (
    Context,
    Pending,
    Progress,
    Target,
    guess_institution,
    judge_all,
    where_of,
)
from pipeline.intake.sources import Entry, Source, member_entries, source_for
from pipeline.ledger.store import Ledger, Submission
from pipeline.validate.batch import validate_batch

__all__ = ["Progress", "context_for", "intake", "source_for"]

SLICE = 1000
"""New returns validated and recorded together. A run over many files goes through them
in order of receipt a slice at a time, each slice checked against the ledger with the
slices before it recorded (as if they had come in by earlier runs), so that its memory
does not grow with the number of files: a slice's extracted cells are let go once it is
recorded."""


def _ledger_findings(ledger: Ledger, sub: Submission, name: str, roster: Roster) -> list[Finding]:
    """A recorded file's findings. One refused before it named its institution (empty,
    damaged, not ours) says whom its file name suggests, marked as a guess, so the clerk
    knows whom to call; the return itself stays unattributed (still missing)."""
    inst = roster.get(sub.institution or "")
    base = where_of(name, sub.sha256, inst, None)
    base["period"] = sub.period or ""
    if inst is None and sub.institution:
        base["institution"] = sub.institution
    elif not sub.institution and (guess := guess_institution(name, roster)) is not None:
        base.update(institution=guess.code, institution_name=f"{guess.name}（据文件名推测）")
    return [Finding(**row, **base) for row in ledger.findings_of(sub.id)]


def _outcome_from_ledger(out: FileOutcome, sub: Submission, ledger: Ledger, roster: Roster) -> None:
    out.submission_id = sub.id
    out.campaign = sub.campaign
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
    if sub.withdrawn:  # the clerk took it back: counted no more, and said so
        out.outcome = "withdrawn"
        out.note = f"已撤回：{sub.withdrawn}"
        where = where_of(out.name, sub.sha256, roster.get(sub.institution or ""), None)
        where["period"] = sub.period or ""
        out.findings = [make("F-WITHDRAWN", value=sub.withdrawn, **where), *out.findings]


class _Intake:
    """One run's intake: the outcome of every entry, in the order listed, and the new
    files judged, waiting to be validated and recorded."""

    def __init__(
        self,
        context: Context,
        ledger: Ledger,
        progress: Progress | None,
        run_ids: dict[tuple[str, str], int],
        fallback: tuple[str, str],
    ) -> None:
        """``run_ids``: the runs of this intake by (campaign code, period); a file of
        no campaign is recorded under ``fallback``."""
        self.context = context
        self.ledger = ledger
        self.progress = progress
        self.run_ids = run_ids
        self.fallback = fallback
        self.outcomes: list[FileOutcome] = []
        self.pending: list[Pending] = []  # judged, waiting to be recorded with its slice
        self.seen: set[str] = set()  # sha256 of the files judged in this run
        self.earliest: dict[str, str] = {}  # sha256 -> the earliest receipt of its copies

    def _not_judged(self, e: Entry) -> FileOutcome | None:
        """The outcome of an entry that is not judged now, or None (judge it)."""
        if e.skip:
            return FileOutcome(name=e.name, outcome="skipped", note=e.skip, origin=e.origin)
        if e.unreadable:
            out = FileOutcome(name=e.name, outcome="rejected", origin=e.origin)
            out.mark_transient()
            out.findings = [make("F-UNREADABLE", value=e.unreadable, file=e.name)]
            return out
        if e.received_at:
            first = self.earliest.setdefault(e.sha256, e.received_at)
            self.earliest[e.sha256] = min(first, e.received_at)
        if self.ledger.known(e.sha256) is not None or e.sha256 in self.seen:
            # The outcome is filled in from the ledger at the end.
            return FileOutcome(
                name=e.name,
                outcome="duplicate",
                sha256=e.sha256,
                size=e.size,
                received_at=e.received_at,
                origin=e.origin,
            )
        self.seen.add(e.sha256)
        return None

    def place(self, entries: list[Entry]) -> list[tuple[int, Entry]]:
        """An outcome for each entry; those to judge, with their places."""
        jobs = []
        for e in entries:
            out = self._not_judged(e)
            self.outcomes.append(out or FileOutcome(name=e.name, outcome="rejected"))
            if out is None:
                jobs.append((len(self.outcomes) - 1, e))
        return jobs

    def _receipt(self, e: Entry) -> tuple[str, str]:
        """Where a file comes in the order of receipt (its earliest copy's time)."""
        return self.earliest.get(e.sha256) or e.received_at, e.name

    def judge(self, jobs: list[tuple[int, Entry]]) -> list[tuple[int, Entry, list[Member]]]:
        """Judge the jobs in order of receipt, recording them a slice at a time; the
        zips of returns among them, with their members."""
        jobs = sorted(jobs, key=lambda job: self._receipt(job[1]))
        judged = judge_all([e for _, e in jobs], self.context, self.progress)
        archives = []
        for (place, entry), p in zip(jobs, judged, strict=True):
            self.outcomes[place] = p.outcome
            if p.members is not None:
                archives.append((place, entry, p.members))
                continue
            self.pending.append(p)
            checkpoint("intake")
            if len(self.pending) >= SLICE:
                self.record()
        self.record()
        return archives

    def unpack(self, archives: list[tuple[int, Entry, list[Member]]]) -> list[tuple[int, Entry]]:
        """Each zip's members placed right after it; those to judge, with their places.
        The members of a zip that came by mail are recorded as from its messages."""
        at = {place: (entry, found) for place, entry, found in archives}
        unpacked = {entry.sha256: entry.name for entry, _ in at.values()}
        outcomes, self.outcomes = self.outcomes, []
        jobs = []
        for place, out in enumerate(outcomes):
            self.outcomes.append(out)
            if out.outcome == "duplicate" and out.sha256 in unpacked:  # a copy of a zip
                out.note = f"与“{unpacked[out.sha256]}”内容完全相同"
            if place not in at:
                continue
            entry, found = at[place]
            judged = [(m.name, m.sha256, m.size) for m in found if not m.skip]
            self.ledger.record_members(entry.sha256, judged)
            jobs += self.place(member_entries(entry, found))
        return jobs

    def record(self) -> None:
        """Validate the slice's new returns, each campaign and period as one batch, and
        record every file of the slice under its campaign (a file of none: the
        fallback); then let the slice go."""
        run_ids, fallback = self.run_ids, self.fallback
        targets = self.context.targets

        def received(out: FileOutcome) -> str:
            return self.earliest.get(out.sha256) or out.received_at

        groups: dict[tuple[str, str], list[Pending]] = {}
        for p in self.pending:
            if p.extracted is not None:
                groups.setdefault((p.campaign, str(p.extracted.period)), []).append(p)
        for (code, _), found in groups.items():
            target = targets[code]
            batch = [
                Returned(p.extracted, p.where, received(p.outcome))
                for p in found
                if p.extracted is not None
            ]
            period = found[0].extracted.period  # type: ignore[union-attr]
            validate_batch(batch, target.campaign, self.ledger.scoped(code), period)
        for p in self.pending:
            if p.extracted is not None:
                p.outcome.findings.extend(p.extracted.findings)

        # In order of receipt, so that of two returns the later received is current.
        for p in sorted(self.pending, key=lambda p: (received(p.outcome), p.outcome.name)):
            out = p.outcome
            if out.transient:
                continue
            ext = p.extracted
            code = p.campaign if p.campaign in targets else fallback[0]
            out.campaign = code
            period = out.period or fallback[1]  # an unidentified file: the run's period
            run_id = run_ids.get((code, period)) or next(iter(run_ids.values()), 0)
            self.ledger.scoped(code).record(
                sha256=out.sha256,
                file_name=out.name,
                size=out.size,
                received_at=received(out),
                run_id=run_id,
                institution=out.institution or None,
                period=period,
                accepted=ext is not None and not is_blocking(out.findings),
                values=ext.values if ext else (),
                texts=ext.texts if ext else (),
                new_items=ext.new_items if ext else (),
                findings=out.findings,
            )
        self.pending = []


def context_for(
    campaigns: Sequence[Campaign],
    targets: Mapping[str, Sequence[Period]],
    roster: Roster,
) -> Context:
    """What judging needs: every campaign of the workspace (to route a file to its own),
    and the periods of those run now."""
    known = {c.code: c for c in campaigns}
    run = {}
    bounds: dict[str, tuple[int, int]] = {}
    for c in campaigns:
        layouts = layouts_for(c)
        for sheet, (rows, cols) in read_bounds(c, layouts).items():
            old = bounds.get(sheet, (0, 0))
            bounds[sheet] = (max(rows, old[0]), max(cols, old[1]))
        if c.code in targets:
            run[c.code] = Target(c, tuple(targets[c.code]), layouts, c.roster())
    institutions = {i.name: i.code for i in roster} | {i.code: i.code for i in roster}
    return Context(run, known, roster, bounds, institutions, campaigns[0].limits)


def intake(
    context: Context,
    ledger: Ledger,
    run_ids: dict[tuple[str, str], int],
    source: Source,
    progress: Progress | None = None,
) -> list[FileOutcome]:
    """Judge every new file of ``source`` (the inbox) and record it; return every file's
    outcome, a zip's members listed after it. ``run_ids`` are the runs of this intake by
    (campaign code, period); a file of no campaign is recorded under the first."""
    first = next(iter(run_ids)) if run_ids else ("", "")
    # A file of no campaign: the campaign's, in a workspace of one; else none of them.
    fallback = first if context.single else ("", first[1])
    run = _Intake(context, ledger, progress, run_ids, fallback)
    entries = source.entries(ledger)
    archives = run.judge(run.place(entries))
    nested = run.judge(run.unpack(archives))
    assert not nested, "a zip inside a zip is refused, never unpacked"
    for out in run.outcomes:
        sub = ledger.known(out.sha256) if out.sha256 else None
        if sub is not None:  # else skipped, unpacked, or refused for now (roster, period...)
            _outcome_from_ledger(out, sub, ledger, context.roster)
    return run.outcomes
