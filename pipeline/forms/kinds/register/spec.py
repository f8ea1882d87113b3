"""A register's definition: variable rows, one per *item* (a hazard, a measure, a
problem, a project) that an institution adds, updates period after period and closes.

``[roles]`` says what each field is for, so that no code names a field of a form:
id          the item's 编号, given by the pipeline when the return that brings it is
            accepted (``<机构代码>-<id_prefix><running number>``), locked on the form
identity    its description: a corrected resubmission's same item keeps its ID
status      its state; ``closed`` lists the values that close it (已整改)
opened      the date it was found (days open are counted from it)
closed_on   the date it was closed
deadline    past this date at the period's end and not closed: overdue (逾期)
supervised  the bureau's decision to supervise it (挂牌督办), locked for institutions
group_by    the fields its counts are broken down by (所属专题 × 类别), with status

``[supervise] when`` lists items supervised while open whatever the bureau decided
(重大隐患: 挂牌督办 until closed). ``[[reconcile]]`` checks the register against a grid
form of the same return: the items of a kind found (or closed) within the period, per
row, must equal a grid's figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError
from pipeline.forms.fields import Field, fields_from
from pipeline.forms.spec import COMMON_KEYS, FormSpec, common, require

ROLE_KEYS = {
    "id",
    "identity",
    "status",
    "closed",
    "opened",
    "closed_on",
    "deadline",
    "supervised",
    "group_by",
}


@dataclass(frozen=True)
class Reconcile:
    """Items matching ``where`` whose ``date_field`` falls in the period, counted per
    ``row_field`` (its value is a grid row's label), against ``form``'s ``measure``."""

    form: str
    row_field: str
    date_field: str
    measure: str
    where: Mapping[str, str] = field(default_factory=dict, hash=False)
    label: str = ""  # the grid column in words, for messages (一般隐患/排查)


@dataclass(frozen=True, kw_only=True)
class RegisterSpec(FormSpec):
    id_field: str
    identity_field: str
    status_field: str
    closed_values: tuple[str, ...]
    opened_field: str = ""
    closed_field: str = ""
    deadline_field: str = ""
    supervised_field: str = ""
    supervised_value: str = "是"
    supervise_when: Mapping[str, str] = field(default_factory=dict, hash=False)
    group_by: tuple[str, ...] = ()
    id_prefix: str = ""
    blank_rows: int = 30
    reconcile: tuple[Reconcile, ...] = ()
    rate_label: str = "整改率"  # closed / found, cumulative, per institution

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def inputs_for(self, role: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.filled_by(role))

    def is_closed(self, values: Mapping[str, str]) -> bool:
        return values.get(self.status_field, "") in self.closed_values

    def auto_supervised(self, values: Mapping[str, str]) -> bool:
        return bool(self.supervise_when) and all(
            values.get(k) == v for k, v in self.supervise_when.items()
        )


KEYS = COMMON_KEYS | {
    "fields",
    "roles",
    "supervise",
    "reconcile",
    "id_prefix",
    "blank_rows",
    "rate_label",
}


def load_register(data: dict[str, Any], where: str) -> RegisterSpec:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown} for a register")
    fields = fields_from(require(data, "fields", where), where)
    keys = {f.key for f in fields}
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        raise ConfigError(f"{where}: [roles] must be a table")
    unknown = sorted(set(roles) - ROLE_KEYS)
    if unknown:
        raise ConfigError(f"{where} [roles]: unknown roles {unknown}; known: {sorted(ROLE_KEYS)}")

    def one(role: str, required: bool = False) -> str:
        value = roles.get(role, "")
        if required and not value:
            raise ConfigError(f"{where} [roles]: a register needs {role} = <field key>")
        if value and value not in keys:
            raise ConfigError(f"{where} [roles] {role}: unknown field {value!r}")
        return str(value)

    group_by = tuple(roles.get("group_by", ()))
    for key in group_by:
        if key not in keys:
            raise ConfigError(f"{where} [roles] group_by: unknown field {key!r}")
    closed = tuple(roles.get("closed", ()))
    status = one("status", True)
    status_field = next(f for f in fields if f.key == status)
    if not closed or not set(closed) <= set(status_field.choices):
        raise ConfigError(
            f"{where} [roles] closed: the values of {status!r} that close an item, "
            f"among {list(status_field.choices)}"
        )
    id_key = one("id", True)
    if next(f for f in fields if f.key == id_key).fill != "system":
        raise ConfigError(f'{where}: the id field {id_key!r} must have fill = "system"')
    supervise = data.get("supervise", {})
    return RegisterSpec(
        **common(data, where),
        fields=fields,
        id_field=id_key,
        identity_field=one("identity", True),
        status_field=status,
        closed_values=closed,
        opened_field=one("opened"),
        closed_field=one("closed_on"),
        deadline_field=one("deadline"),
        supervised_field=one("supervised"),
        supervised_value=str(supervise.get("value", "是")),
        supervise_when={str(k): str(v) for k, v in supervise.get("when", {}).items()},
        group_by=group_by,
        id_prefix=str(data.get("id_prefix", "")),
        blank_rows=int(data.get("blank_rows", 30)),
        reconcile=tuple(
            _reconcile(r, keys, f"{where} [[reconcile]] {i + 1}")
            for i, r in enumerate(data.get("reconcile", []))
        ),
        rate_label=str(data.get("rate_label", "整改率")),
    )


def _reconcile(table: dict[str, Any], keys: set[str], where: str) -> Reconcile:
    for key in ("form", "row_field", "date_field", "measure"):
        if not isinstance(table.get(key), str):
            raise ConfigError(f"{where}: missing required key '{key}'")
    for key in (table["row_field"], table["date_field"], *table.get("where", {})):
        if key not in keys:
            raise ConfigError(f"{where}: unknown field {key!r}")
    return Reconcile(
        form=table["form"],
        row_field=table["row_field"],
        date_field=table["date_field"],
        measure=table["measure"],
        where={str(k): str(v) for k, v in table.get("where", {}).items()},
        label=str(table.get("label", "")),
    )
