"""``mail``: each institution's blank form for the month, by e-mail.

The attachment is the institution's template in ``form_templates/YYYY-MM/`` as ``make
templates`` wrote it, written now if it is not there. Delivered once per institution and
month: a rerun sends only what was not delivered.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.distribute.templates import Prefills, template_filename, write_template
from pipeline.ledger.lock import holding_ledger_lock
from pipeline.ledger.store import Ledger
from pipeline.mail.batch import BatchResult, Clock, Mailer
from pipeline.mail.compose import Attachment


def _attachment(
    campaign: Campaign, inst: Institution, period: Period, prefills: Prefills
) -> Attachment:
    folder = campaign.templates_dir / str(period)
    path = folder / template_filename(period, inst, campaign.code)
    if not path.is_file():
        path = write_template(campaign, inst, period, folder, prefills)
    return Attachment(path.name, path.read_bytes())


@holding_ledger_lock
def mail_forms(
    campaign: Campaign,
    period: Period,
    *,
    send: bool = False,
    clock: Clock = dt.datetime.now,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Write (and with ``send``, deliver) every institution's form for ``period``."""
    roster = campaign.roster(strict_text=False)
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        mailer = Mailer(campaign, ledger, period, "monthly", send=send, clock=clock, sleep=sleep)
        try:
            prefills = Prefills(campaign, period, ledger)
            for inst, to in mailer.screen(list(roster)):
                earlier = mailer.last_delivered(inst.code)
                if earlier is not None:
                    mailer.result.already.append((inst, earlier))
                    continue
                if mailer.halted(inst):
                    continue
                attachment = _attachment(campaign, inst, period, prefills)
                mailer.dispatch(inst, to, mailer.base_context(inst, attachment), attachment)
        finally:
            result = mailer.close()
        return result
    finally:
        ledger.close()
