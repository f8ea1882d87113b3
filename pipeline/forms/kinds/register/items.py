"""A register's items as the ledger knows them: each item's latest state as of a period.

An item's state in a period is the row of that period's current return that carries its
ID. An institution that missed a period carries its items over: the latest state before
is the item's state until a new return says otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.forms.kinds.base import Records
from pipeline.forms.kinds.register.spec import RegisterSpec


@dataclass
class ItemState:
    """An item as its latest return states it."""

    institution: str
    item_id: str
    period: str  # of the return that states it
    first_period: str = ""  # the first period a return brought it
    values: dict[str, str] = field(default_factory=dict)  # field key -> text
    cells: dict[str, str] = field(default_factory=dict)  # field key -> cell
    file: str = ""
    sha256: str = ""

    def date(self, key: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.values.get(key, ""))
        except ValueError:
            return None


States = dict[tuple[str, str], ItemState]  # (institution, item ID) -> latest state


def latest_states(spec: RegisterSpec, records: Records, through: str) -> States:
    """Every item's latest state in a current return of a period up to ``through``."""
    out: States = {}
    for inst, period, first, item, fld, text, cell, file, sha in records.item_states(
        spec.id, through
    ):
        state = out.get((inst, item))
        if state is None:
            state = out[(inst, item)] = ItemState(inst, item, period, first, file=file, sha256=sha)
        state.values[fld] = text
        state.cells[fld] = cell
    return out
