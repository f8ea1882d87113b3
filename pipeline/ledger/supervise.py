"""The bureau's decision to supervise an item by listing (挂牌督办), and to lift it.

Seed 002: 重大问题和重大隐患实行挂牌督办. A register says which of its fields records the
decision (``supervised``); an institution cannot change it (its template has the cell
locked, and a change is reported, not taken). The decision is kept in the ledger with
when and why, shown on the next templates and on the 挂牌督办 list.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.campaigns.campaign import Campaign
from pipeline.errors import InputError
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class Decision:
    institution: str
    form: str  # the register's title
    item_id: str
    value: str


def supervise(campaign: Campaign, item_id: str, *, on: bool = True, note: str = "") -> Decision:
    """List ``item_id`` for supervision (``on``) or take it off the list."""
    registers = {
        s.id: s for s in campaign.forms if isinstance(s, RegisterSpec) and s.supervised_field
    }
    if not registers:
        raise InputError(
            "本工作的报表中没有“挂牌督办”栏目 / no register of the campaign is supervised"
        )
    with run_lock(campaign.ledger_path, wait=60.0):
        ledger = Ledger(campaign.ledger_path, campaign.code)
        try:
            owners = [
                (inst, form)
                for form in registers
                for inst, ids in ledger.item_ids(form).items()
                if item_id in ids
            ]
            if not owners:
                raise InputError(
                    f"编号 {item_id} 不在台账中：请核对编号（见问题隐患清单汇总） / unknown item"
                )
            if len(owners) > 1:
                raise InputError(f"编号 {item_id} 属于多个单位或清单：{owners}")
            inst, form = owners[0]
            spec = registers[form]
            field = spec.field(spec.supervised_field)
            off = next((c for c in field.choices if c != spec.supervised_value), "")
            value = spec.supervised_value if on else off
            ledger.decide(inst, form, item_id, spec.supervised_field, value, note)
        finally:
            ledger.close()
    return Decision(inst, spec.title, item_id, value)
