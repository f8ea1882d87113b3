"""``receipts``: one reply (回执) to the sender of every return that came by mail.

Each file that came by e-mail (an attachment ``fetch`` saved, or a member of a zip it
saved) and that a run has judged gets exactly one reply, to the address it came from,
in Chinese, answering its message (In-Reply-To):

- accepted: what the institution filled, read back form by form
  (:mod:`pipeline.mail.readback`), so that a typo shows, and its warnings;
- superseding: accepted, and replacing the earlier return of the month;
- superseded: accepted, but replaced by a later return received since;
- rejected: each error with its sheet and cell and what to do (the reminder's words),
  and a fresh template attached;
- duplicate: the same bytes as a file received before; nothing new.

One receipt per file, never two: each attempt is a row of the ledger's *sends* (kind
"receipt") ``regarding`` the file of its message (:attr:`MailOrigin.key`), so a rerun
sends only what was not delivered and retries what failed. A file not judged yet (its
month not run, or refused for now) waits for its run. The dry run (the default) writes
each reply as an ``.eml`` file and records nothing, as for ``mail`` and ``remind``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address

from pipeline.campaigns.campaign import Campaign
from pipeline.config.addresses import known_addresses, parse_address
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Roster
from pipeline.distribute.templates import Prefills, template_bytes, template_filename
from pipeline.ledger.lock import holding_ledger_lock
from pipeline.ledger.store import Ledger, MailOrigin, Submission
from pipeline.mail.batch import BatchResult, Clock, Mailer
from pipeline.mail.compose import Attachment
from pipeline.mail.readback import Readbacks
from pipeline.mail.recipients import Refusal, unsafe_field
from pipeline.mail.reminders import MAX_PROBLEMS, Problem, problems_of

OUTCOME_ZH = {
    "accepted": "已接收",
    "superseding": "已接收（替代此前的报表）",
    "superseded": "已接收，已被随后的报表替代",
    "rejected": "已退回",
    "duplicate": "重复文件",
}


@dataclass(frozen=True)
class Reply:
    """One file that came by mail, judged: what its receipt says."""

    origin: MailOrigin
    submission: Submission
    outcome: str  # a key of OUTCOME_ZH
    other: Submission | None  # the return it replaced, that replaced it, or it repeats


def _outcome(
    ledger: Ledger, origin: MailOrigin, sub: Submission, period_subs: list[Submission]
) -> tuple[str, Submission | None]:
    """(outcome, the other submission it concerns)."""
    first = ledger.mail_origin(sub.sha256, sub.file_name)  # the copy that is the return
    if first is not None and first.key != origin.key:
        return "duplicate", sub
    if sub.status == "rejected":
        return "rejected", None
    if sub.status == "superseded":
        later = ledger.submission(sub.superseded_by) if sub.superseded_by else None
        return "superseded", later
    earlier = next((s for s in period_subs if s.superseded_by == sub.id), None)
    return ("superseding", earlier) if earlier else ("accepted", None)


def replies(ledger: Ledger, period: Period) -> tuple[list[Reply], list[MailOrigin]]:
    """Every file of ``period`` that came by mail, judged; and the files that came by
    mail and are not judged yet (waiting for their month's run)."""
    origins = ledger.mail_returns()
    unpacked = {o.file_id for o in origins if o.member}  # the zips: their members reply
    period_subs = ledger.submissions(str(period))
    out, waiting = [], []
    for origin in origins:
        if not origin.member and origin.file_id in unpacked:
            continue
        sub = ledger.known(origin.sha256)
        if sub is None:
            waiting.append(origin)
        elif sub.period == str(period):
            outcome, other = _outcome(ledger, origin, sub, period_subs)
            out.append(Reply(origin, sub, outcome, other))
    return out, waiting


def _by_sender(roster: Roster, sender: str) -> Institution | None:
    """The institution whose roster address sent the file (for a file not identified)."""
    return next((i for i in roster if sender.lower() in known_addresses(i.email)), None)


def _stand_in(origin: MailOrigin) -> Institution:
    """Who a receipt greets when the file says nothing of its sender."""
    return Institution(code="", name=origin.sender_name or origin.sender, level="")


def _when(text: str) -> str:
    return text.replace("T", " ")[:16]


def _warnings(ledger: Ledger, sub: Submission) -> list[Problem]:
    found: dict[tuple[str, str], Problem] = {}
    for f in ledger.findings_of(sub.id):
        if f["severity"] == "warning":
            where = f"{f['sheet']}!{f['cell']}" if f["sheet"] and f["cell"] else f["sheet"] or ""
            found.setdefault((where, f["message"]), Problem(where, f["message"], ""))
    return list(found.values())


class Receipts:
    """The receipts of one period, written (and sent) through one :class:`Mailer`."""

    def __init__(self, campaign: Campaign, ledger: Ledger, period: Period, mailer: Mailer) -> None:
        self.campaign = campaign
        self.ledger = ledger
        self.period = period
        self.mailer = mailer
        self.roster = campaign.roster(strict_text=False)
        self.readbacks = Readbacks(campaign, ledger, period)
        self.due, _ = campaign.due.due_date(period)
        self._prefills: Prefills | None = None

    def _attachment(self, reply: Reply, inst: Institution | None) -> Attachment | None:
        """A fresh template for a rejected return's institution (known, or by its address)."""
        if reply.outcome != "rejected" or inst is None or inst.role == "bureau":
            return None
        if self._prefills is None:
            self._prefills = Prefills(self.campaign, self.period, self.ledger)
        data = template_bytes(self.campaign, inst, self.period, self._prefills)
        return Attachment(template_filename(self.period, inst, self.campaign.code), data)

    def _timeliness(self, reply: Reply) -> str:
        """On time or how late, by the time the mail server received the message."""
        if reply.outcome in ("rejected", "duplicate"):
            return ""
        late = (reply.origin.received.date() - self.due).days
        return "按时" if late <= 0 else f"逾期{late}天"

    def _context(self, reply: Reply, identified: bool) -> dict[str, object]:
        sub, origin, other = reply.submission, reply.origin, reply.other
        problems = problems_of(self.ledger, sub.id) if reply.outcome == "rejected" else []
        readback = self.readbacks.of(sub.sha256, self.period.year)
        return {
            "outcome": reply.outcome,
            "file": origin.name,
            "received": _when(origin.received_at),
            "mail_subject": origin.subject,
            "timeliness": self._timeliness(reply),
            "other_file": other.file_name if other else "",
            "other_received": _when(other.received_at) if other else "",
            "other_status": other.status if other else "",
            "figures": readback.forms,
            "signed": readback.signed,
            "warnings": _warnings(self.ledger, sub) if reply.outcome != "rejected" else [],
            "problems": problems[:MAX_PROBLEMS],
            "more_problems": max(0, len(problems) - MAX_PROBLEMS),
            "identified": identified,
        }

    def _to(self, reply: Reply, inst: Institution | None) -> list[Address] | str:
        """The sender's address, or why no reply can go to it."""
        if not reply.origin.sender:
            return "来信没有发件地址，无法回复；请电话告知报送单位"
        try:
            address = parse_address(reply.origin.sender).addr_spec
        except ValueError as exc:
            return f"发件地址{exc}，无法回复；请电话告知报送单位"
        # The institution's name only on its own address (a personal one is somebody's).
        own = inst is not None and address.lower() in known_addresses(inst.email)
        name = inst.name if inst is not None and own else ""
        return [Address(display_name=name, addr_spec=address)]

    def write(self, reply: Reply) -> None:
        """The receipt of one file, unless it was delivered before."""
        mailer, origin = self.mailer, reply.origin
        known = self.roster.get(reply.submission.institution or "")
        inst = known or _by_sender(self.roster, origin.sender)
        shown = inst or _stand_in(origin)
        earlier = mailer.last_delivered(origin.key)
        if earlier is not None:
            mailer.result.already.append((shown, earlier))
            return
        unsafe = unsafe_field(inst) if inst is not None else None
        if inst is not None and unsafe:  # roster text would reach the subject
            mailer.result.refused.append(Refusal(inst, unsafe))
            return
        to = self._to(reply, inst)
        if isinstance(to, str):
            mailer.result.skipped.append((shown, f"“{origin.name}”：{to}"))
            return
        attachment = self._attachment(reply, inst)
        context = mailer.base_context(shown, attachment)
        context.update(self._context(reply, known is not None))
        tag = str(origin.file_id)
        if origin.member:
            tag += "-" + hashlib.sha256(origin.member.encode()).hexdigest()[:8]
        path = mailer.dispatch(
            shown,
            to,
            context,
            attachment,
            regarding=origin.key,
            in_reply_to=origin.message_id,
            tag=tag,
        )
        if path is not None:
            to_text = "、".join(a.addr_spec for a in to)
            mailer.result.listed.append(f"{OUTCOME_ZH[reply.outcome]}：{origin.name} → {to_text}")


@holding_ledger_lock
def send_receipts(
    campaign: Campaign,
    period: Period,
    *,
    send: bool = False,
    clock: Clock = dt.datetime.now,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Write (and with ``send``, deliver) a receipt for every file of ``period`` that came
    by mail, has been judged and has had none delivered."""
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        mailer = Mailer(campaign, ledger, period, "receipt", send=send, clock=clock, sleep=sleep)
        try:
            found, waiting = replies(ledger, period)
            receipts = Receipts(campaign, ledger, period, mailer)
            for reply in found:
                receipts.write(reply)
            mailer.result.waiting = [
                f"{o.name}（{o.sender or '无发件人'}，{_when(o.received_at)}）" for o in waiting
            ]
        finally:
            result = mailer.close()
        return result
    finally:
        ledger.close()
