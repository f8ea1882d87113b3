"""A register's period: every item of every institution as of the period's end, from
the ledger — its latest state, how long it has been open, whether it is overdue or
supervised — and the counts, lists and rates the outputs show.

An institution that did not report this period keeps its items as last reported (their
state is carried, and says so); a seeded item it never reported stands as the bureau
seeded it. Days open run from the item's found date to its closed date, or to the
period's end while it is open. A register of records shows the period's records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.findings import Finding, make
from pipeline.forms.kinds.base import AggregateContext, Totals
from pipeline.forms.kinds.register.items import ItemState, latest_states
from pipeline.forms.kinds.register.schedule import Verdict, plan_points, verdict
from pipeline.forms.kinds.register.seeds import seed_values, seeded, with_seed
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.rows import Row


@dataclass
class ItemView:
    """One item as the period's outputs show it."""

    state: ItemState
    values: dict[str, str]  # its latest values, the bureau's decision applied
    reported: bool  # stated by a return of this period (else carried from an earlier one)
    closed: bool
    days_open: int | None
    overdue_days: int  # 0: not overdue
    supervised: str  # why it is supervised (挂牌督办), "" when it is not
    verdict: Verdict | None = None  # against its plan, for a register with a schedule

    @property
    def institution(self) -> str:
        return self.state.institution

    @property
    def item_id(self) -> str:
        return self.state.item_id


@dataclass
class RegisterTotals(Totals):
    spec: RegisterSpec  # type: ignore[assignment]
    items: list[ItemView] = field(default_factory=list)  # roster order, then ID
    order: dict[str, int] = field(default_factory=dict)  # institution -> roster position


def register_totals(
    spec: RegisterSpec, rows: tuple[Row, ...], ctx: AggregateContext
) -> RegisterTotals:
    end = ctx.period.last_day()
    this = str(ctx.period)
    decisions = ctx.records.decisions(spec.id)
    order = {inst.code: i for i, inst in enumerate(ctx.roster)}
    seeds = seeded(spec, rows)
    totals = RegisterTotals(spec=spec, period=ctx.period, order=order)
    states = latest_states(spec, ctx.records, this)
    for inst, items in seeds.items():
        for item, row in items.items():
            if (inst, item) not in states:  # seeded, never reported
                states[(inst, item)] = ItemState(inst, item, "", "", seed_values(spec, row))
    for (inst, item), state in states.items():
        if not spec.carry and state.period != this:
            continue  # a record of an earlier period
        seed = seeds.get(inst, {}).get(item)
        values = with_seed(spec, seed, state.values)
        decided = decisions.get((inst, item))
        if spec.supervised_field and decided is not None:
            values[spec.supervised_field] = decided[1]
        closed = spec.is_closed(values)
        totals.items.append(
            ItemView(
                state=state,
                values=values,
                reported=state.period == this,
                closed=closed,
                days_open=_days_open(spec, state, values, closed, end),
                overdue_days=_overdue(spec, state, closed, end),
                supervised=_supervised(spec, values, closed, decided is not None),
                verdict=_verdict(spec, seed, values, ctx),
            )
        )
    totals.items.sort(key=lambda v: (order.get(v.institution, 1 << 30), v.institution, v.item_id))
    totals.anomalies = [
        *_anomalies(spec, totals, ctx),
        *_behind(spec, totals, ctx),
        *_rising(spec, states, ctx),
    ]
    return totals


def _verdict(
    spec: RegisterSpec, seed: Row | None, values: dict[str, str], ctx: AggregateContext
) -> Verdict | None:
    """Where a seeded item stands against its plan (its last reported percent, or its
    base percent when it never reported)."""
    sched = spec.schedule
    if sched is None or seed is None:
        return None
    base = _number(seed.values.get("base", "")) or 0.0
    target = _number(values.get(sched.target, "")) if sched.target else None
    points = plan_points(ctx.start.first_day(), base, seed.milestones, target)
    actual = _number(values.get(sched.progress, ""))
    return verdict(
        points,
        seed.milestones,
        base if actual is None else actual,
        ctx.period.last_day(),
        ctx.anomalies.schedule_margin,
    )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _days_open(
    spec: RegisterSpec, state: ItemState, values: dict[str, str], closed: bool, end: dt.date
) -> int | None:
    found = state.date(spec.opened_field) if spec.opened_field else None
    if found is None:
        return None
    until = end
    if closed and spec.closed_field:
        until = _date(values.get(spec.closed_field, "")) or end
    return max(0, (until - found).days)


def _overdue(spec: RegisterSpec, state: ItemState, closed: bool, end: dt.date) -> int:
    deadline = state.date(spec.deadline_field) if spec.deadline_field else None
    if closed or deadline is None or deadline >= end:
        return 0
    return (end - deadline).days


def _supervised(spec: RegisterSpec, values: dict[str, str], closed: bool, decided: bool) -> str:
    if closed:
        return ""
    reasons = []
    if spec.auto_supervised(values):
        reasons.append("、".join(values.get(k, "") for k in spec.supervise_when))
    if spec.supervised_field and values.get(spec.supervised_field) == spec.supervised_value:
        reasons.append("本局挂牌" if decided else "挂牌督办")
    return "；".join(reasons)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _anomalies(spec: RegisterSpec, totals: RegisterTotals, ctx: AggregateContext):
    """An overdue item is an anomaly to chase, at its deadline cell in its last return."""
    if not spec.deadline_field:
        return
    deadline = spec.field(spec.deadline_field).header
    for view in totals.items:
        if not view.overdue_days:
            continue
        inst = ctx.roster.get(view.institution)
        state = view.state
        yield make(
            "A-ITEM-OVERDUE",
            value=view.overdue_days,
            expected=state.values.get(spec.deadline_field, ""),
            what=f"{spec.title_for(totals.period.year)}/{view.item_id}",
            words={"deadline": deadline, "item": state.values.get(spec.identity_field, "")[:40]},
            institution=view.institution,
            institution_name=inst.name if inst else view.institution,
            form=spec.id,
            period=str(totals.period),
            file=state.file,
            sha256=state.sha256,
            sheet=spec.sheet,
            cell=state.cells.get(spec.deadline_field, ""),
        )


def _behind(spec: RegisterSpec, totals: RegisterTotals, ctx: AggregateContext):
    """Each seeded item behind its plan, at its progress cell in its last return."""
    sched = spec.schedule
    if sched is None:
        return
    for view in totals.items:
        v = view.verdict
        if v is None or not v.behind:
            continue
        inst = ctx.roster.get(view.institution)
        missed = "、".join(m.label() for m in v.missed)
        yield make(
            "A-BEHIND",
            value=f"{v.actual:g}",
            expected=f"{v.planned:g}",
            what=f"{spec.title_for(totals.period.year)}/{view.item_id}",
            words={
                "item": view.values.get(spec.identity_field, "")[:40],
                "plan": f"{v.planned:g}",
                "missed": f"，未完成节点：{missed}" if missed else "",
                "days": str(v.days_late),
            },
            institution=view.institution,
            institution_name=inst.name if inst else view.institution,
            form=spec.id,
            period=str(totals.period),
            file=view.state.file,
            sha256=view.state.sha256,
            sheet=spec.sheet if view.state.file else "",
            cell=view.state.cells.get(sched.progress, ""),
        )


def _rising(
    spec: RegisterSpec, states: dict[tuple[str, str], ItemState], ctx: AggregateContext
) -> list[Finding]:
    """New items per value of the watched field, this period against the one before,
    across every institution: a value with more is an anomaly (第三方暗访 rising)."""
    if not spec.rising or ctx.period.shift(-1) < ctx.start:
        return []  # the campaign's first period has nothing to rise from
    this, last = str(ctx.period), str(ctx.period.shift(-1))
    new: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for state in states.values():
        value = state.values.get(spec.rising, "")
        if state.first_period == this:
            new[value][0] += 1
        elif state.first_period == last:
            new[value][1] += 1
    header = spec.field(spec.rising).header
    return [
        make(
            "A-RISING",
            value=now,
            expected=before,
            what=f"{spec.title_for(ctx.period.year)}/{header}“{value}”",
            form=spec.id,
            period=this,
        )
        for value, (now, before) in sorted(new.items())
        if value and now > before
    ]


def counts(totals: RegisterTotals) -> dict[tuple[str, ...], dict[str, list[ItemView]]]:
    """(group values) -> status -> the items, for 分类统计."""
    spec = totals.spec
    out: dict[tuple[str, ...], dict[str, list[ItemView]]] = defaultdict(lambda: defaultdict(list))
    for view in totals.items:
        key = tuple(view.values.get(k, "") for k in spec.group_by)
        out[key][view.values.get(spec.status_field, "")].append(view)
    return out


def rates(totals: RegisterTotals) -> list[tuple[str, int, int]]:
    """(institution, items, closed) of every institution with items, cumulative."""
    by_inst: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for view in totals.items:
        by_inst[view.institution][0] += 1
        by_inst[view.institution][1] += int(view.closed)
    return [(inst, n, c) for inst, (n, c) in by_inst.items()]
