"""Items the bureau seeds a register with (the year's projects of seed 003's 项目进度表).

A register whose definition names an ``owner`` field takes the campaign's rows for it
(``[[forms.<id>.rows]]``) as items: the row's key is the item's 编号, its values the
bureau's fields (项目名称, 项目类别, 责任单位, 年度目标…), its milestones the plan
(written into the ``[schedule] plan`` field as text). Each belongs to the institution its
owner field names, whose templates carry it from the first period on; what the
institution reports updates it, the bureau's fields always come from the campaign file.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.rows import Row


def seed_values(spec: RegisterSpec, row: Row) -> dict[str, str]:
    values = dict(row.values)
    plan = spec.schedule.plan if spec.schedule else ""
    if plan and row.milestones and not values.get(plan):
        values[plan] = "；".join(m.label() for m in row.milestones)
    return values


def seeded(spec: RegisterSpec, rows: tuple[Row, ...]) -> dict[str, dict[str, Row]]:
    """Owner institution -> its seeded items by ID (none unless ``owner`` is set)."""
    out: dict[str, dict[str, Row]] = {}
    if not spec.owner_field:
        return out
    for row in rows:
        out.setdefault(row.values.get(spec.owner_field, ""), {})[row.key] = row
    return out


def bureau_fields(spec: RegisterSpec) -> tuple[str, ...]:
    """The fields a seeded item's campaign row decides (not the institution's)."""
    return tuple(f.key for f in spec.fields if f.fill == "prefilled")


def with_seed(
    spec: RegisterSpec, row: Row | None, values: Mapping[str, str] | None
) -> dict[str, str]:
    """An item's values: as last reported, the bureau's fields from its seed row."""
    out = dict(values or {})
    if row is not None:
        seed = seed_values(spec, row)
        for key in bureau_fields(spec):
            if key in seed:
                out[key] = seed[key]
    return out
