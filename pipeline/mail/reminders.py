"""``remind``: after the due date, chase (催报) every institution that has not reported.

Who is chased is read from the ledger through the status report's own judgement
(:func:`pipeline.report.status.standing`): an institution with no return yet (未报送,
overdue), or whose return was rejected and not yet replaced (已退回，待重报). A late
return already taken is a report, not a reason to chase. A rejected return's message
lists its errors as the anomaly list words them, from the ledger.

Reminders are refused before the due date has passed (``force`` overrides), and while
the inbox holds files the last run of the month has not judged: the institution that
sent one would be chased for a return the clerk already has. A delivered reminder is
not followed by another for the same institution and month for
``[mail] remind_every_days`` days (default 1: at most one a day); a failed one is
retried on the next run. After sending, 报送情况 is rewritten to show who was reminded
and when.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.aggregate.period import collect
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.distribute.templates import Prefills, template_bytes, template_filename
from pipeline.errors import MailError, NotYetDue
from pipeline.intake.sniff import display_name
from pipeline.ledger.lock import holding_ledger_lock
from pipeline.ledger.store import Ledger
from pipeline.mail.batch import BatchResult, Clock, Mailer
from pipeline.mail.compose import Attachment, zh_date
from pipeline.report import status
from pipeline.report.status import MISSING, REJECTED, Standing

MAX_PROBLEMS = 30  # errors listed in one reminder; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One error of a rejected return, as the reminder states it."""

    where: str  # 附件2!F8, or the sheet, or ""
    message: str
    advice: str


def problems_of(ledger: Ledger, submission_id: int) -> list[Problem]:
    """The return's errors (what rejected it), each once, in the ledger's order."""
    seen: dict[tuple[str, str], Problem] = {}
    for f in ledger.findings_of(submission_id):
        if f["severity"] != "error":
            continue
        where = f"{f['sheet']}!{f['cell']}" if f["sheet"] and f["cell"] else f["sheet"] or ""
        # Advice is written to the clerk ("请报送单位重新发送"); the reminder speaks to
        # the institution itself.
        advice = (f["advice"] or "").replace("请报送单位", "请")
        seen.setdefault((where, f["message"]), Problem(where, f["message"], advice))
    return list(seen.values())


def _why(ledger: Ledger, st: Standing, today: dt.date, due: dt.date) -> dict[str, object]:
    problems: list[Problem] = []
    rejected_file = rejected_received = ""
    if st.status == REJECTED and st.rejected is not None:
        problems = problems_of(ledger, st.rejected.id)
        rejected_file = st.rejected.file_name
        rejected_received = st.received
    return {
        "reason": "rejected" if st.status == REJECTED else "missing",
        "overdue_days": max(0, (today - due).days),
        "rejected_file": rejected_file,
        "rejected_received": rejected_received,
        "problems": problems[:MAX_PROBLEMS],
        "more_problems": max(0, len(problems) - MAX_PROBLEMS),
    }


def _check_inbox_judged(campaign: Campaign, ledger: Ledger, period: Period) -> None:
    """Refuse while the month's standing may be stale (never run, or files since)."""
    seen = ledger.last_run_files(str(period))
    if seen is None:
        raise MailError(
            f"{period.label()}尚未汇总，无法判断哪些单位未报送："
            f"请先运行 make PERIOD={period}（即 run --period {period}），再催报"
        )
    inbox = campaign.inbox
    names = sorted(display_name(p.name) for p in inbox.iterdir()) if inbox.is_dir() else []
    new = [n for n in names if n not in seen]
    if new:
        raise MailError(
            f"收件箱中有{len(new)}个文件在上次汇总后才放入（如“{new[0]}”）："
            f"请先运行 make PERIOD={period}（即 run --period {period}），再催报，以免催促已报送的单位"
        )


@holding_ledger_lock
def send_reminders(
    campaign: Campaign,
    period: Period,
    *,
    send: bool = False,
    force: bool = False,
    clock: Clock = dt.datetime.now,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Write (and with ``send``, deliver) a reminder to every institution still owing
    ``period``'s return."""
    today = clock().date()
    due, _ = campaign.due.due_date(period)
    if today <= due and not force:
        raise NotYetDue(
            f"{period.label()}报表的报送截止日是{zh_date(due)}，尚未逾期，不发催报；"
            "确需提前提醒请加 --force"
        )
    roster = campaign.roster(strict_text=False)
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        _check_inbox_judged(campaign, ledger, period)
        data = collect(campaign, roster, ledger, period, [])
        mailer = Mailer(campaign, ledger, period, "reminder", send=send, clock=clock, sleep=sleep)
        try:
            owing = {}
            for inst in roster:
                st = status.standing(data, inst.code)
                if st.status in (MISSING, REJECTED):
                    owing[inst.code] = st
                else:
                    mailer.result.reported.append(inst)
            prefills = Prefills(campaign, period, ledger)
            every = campaign.mail.remind_every_days
            midnight = dt.datetime.combine(today, dt.time())
            chased = [inst for inst in roster if inst.code in owing]
            for inst, to in mailer.screen(chased):
                earlier = mailer.last_delivered(inst.code)
                if earlier is not None and (today - earlier.attempted.date()).days < every:
                    mailer.result.already.append((inst, earlier))
                    continue
                if mailer.halted(inst):
                    continue
                attachment = Attachment(
                    template_filename(period, inst, campaign.code),
                    template_bytes(campaign, inst, period, prefills),
                )
                context = mailer.base_context(inst, attachment)
                context.update(_why(ledger, owing[inst.code], today, due))
                mailer.dispatch(inst, to, context, attachment, retry_since=midnight)
        finally:
            result = mailer.close()
        if result.delivered or result.failed:
            result.status_report = status.write(data, ledger, campaign.outbox / str(period))
        return result
    finally:
        ledger.close()
