"""Which campaigns of a workspace, and which of their periods, a command works on.

``run`` without a period collects, for every campaign, the periods open today (the last
complete one, and the current one when its return is due before it ends, as a week's);
with a period, the campaigns that report by that kind of period. A period before the
campaign's start, or one that has not begun, is refused. ``templates`` and ``mail``
prepare the period being collected, or name any up to the next one.
"""

from __future__ import annotations

import datetime as dt

from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace
from pipeline.config.calendar import KIND_ZH, Period, open_periods
from pipeline.errors import ConfigError
from pipeline.forms.kinds.register.spec import RegisterSpec


def one(ws: Workspace, code: str | None) -> Campaign:
    """The campaign a single-campaign command works on."""
    if code:
        return ws.campaign(code)
    if len(ws.campaigns) == 1:
        return ws.campaigns[0]
    known = "、".join(f"{c.code}（{c.name}）" for c in ws.campaigns)
    raise ConfigError(
        f"工作区有{len(ws.campaigns)}项工作，请用 --campaign 指定其中一项（make CAMPAIGN=代码）：{known}"
        " / several campaigns: name one with --campaign CODE"
    )


def supervising(ws: Workspace, code: str | None) -> Campaign:
    """The campaign whose registers the bureau supervises (挂牌督办): the one named, or
    the only campaign of the workspace that has such a register."""
    if code or len(ws.campaigns) == 1:
        return one(ws, code)
    found = [
        c
        for c in ws.campaigns
        if any(isinstance(s, RegisterSpec) and s.supervised_field for s in c.forms)
    ]
    return found[0] if len(found) == 1 else one(ws, None)


def each(ws: Workspace, code: str | None, period: str | None) -> list[Campaign]:
    """The campaigns a command for every campaign works on: the one named, else every
    campaign of the workspace (those reporting by ``period``'s kind when one is named)."""
    if code:
        return [ws.campaign(code)]
    campaigns = list(ws.campaigns)
    if period is None or len(campaigns) == 1:
        return campaigns
    kind = Period.parse(period).kind
    matching = [c for c in campaigns if c.kind == kind]
    if not matching:
        kinds = "、".join(f"{c.name}按{KIND_ZH[c.kind]}" for c in campaigns)
        raise ConfigError(
            f"没有按{KIND_ZH[kind]}报送的工作（{kinds}） / no campaign reports by {kind}"
        )
    return matching


def for_run(
    ws: Workspace, code: str | None, period: str | None, today: dt.date
) -> dict[str, list[Period]]:
    """Campaign code -> the periods ``run`` collects."""
    campaigns = each(ws, code, period)
    if period is None:
        return {
            c.code: found
            for c in campaigns
            if (found := open_periods(today, c.kind, c.due, c.start))
        }
    return {c.code: [checked(c, c.period(period), today)] for c in campaigns}


def checked(campaign: Campaign, period: Period, today: dt.date) -> Period:
    """``period`` if a run may collect it: not before the campaign, not in the future."""
    if period < campaign.start:
        raise ConfigError(
            f"{campaign.name}从{campaign.start.label()}开始，{period.label()}不在其中"
            f" / {period} is before the campaign's start {campaign.start}"
        )
    if period.first_day() > today:
        raise ConfigError(f"{period.label()}还没有开始，不能汇总 / {period} has not begun")
    return period


def to_prepare(campaign: Campaign, period: str | None, today: dt.date) -> Period:
    """The period ``templates`` and ``mail`` prepare: the one collected now, or one
    named, up to the next."""
    current = Period.containing(today, campaign.kind)
    if period is None:
        found = open_periods(today, campaign.kind, campaign.due, campaign.start)
        return found[-1] if found else max(campaign.start, current.shift(-1))
    parsed = campaign.period(period)
    if parsed > current.shift(1):
        raise ConfigError(
            f"{parsed.label()}太远：只能准备本期或下一期（{current.shift(1).label()}）的报表"
            f" / {parsed} is beyond the next period"
        )
    return parsed
