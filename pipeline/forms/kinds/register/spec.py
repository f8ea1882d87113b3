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
sums        numeric fields totalled in those counts (累计完成投资 by 项目类别)
rising      a choice field whose new items per period are watched: more than the
            period before is an anomaly (问题来源: 第三方暗访 rising week on week)
owner       an institution field: the register's rows in the campaign are items the
            bureau seeds (the year's projects), each belonging to the institution named

An item without a ``status`` never closes (a project of the year). ``carry = false``
makes a register of records (督导记录): each row is an event of its period, nothing is
carried to the next template and nothing is missing. ``new_items = false``: only the
bureau's seeded items, a row added by an institution is refused. ``[schedule]``: a
percent field against the plan the seeded items' milestones draw (see
:mod:`pipeline.forms.kinds.register.schedule`).

``[supervise] when`` lists items supervised while open whatever the bureau decided
(重大隐患: 挂牌督办 until closed). ``[[reconcile]]`` checks the register against a grid
form of the same return: the items of a kind found (or closed) within the period, per
row, must equal a grid's figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError, shown
from pipeline.forms.fields import Field, fields_from
from pipeline.forms.spec import COMMON_KEYS, FormSpec, common, require

ROLE_KEYS = {
    "owner",
    "sums",
    "rising",
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


@dataclass(frozen=True)
class Schedule:
    """``progress`` (本期形象进度, a percent the institution reports) against the plan
    each seeded item's milestones and ``target`` (目标形象进度: the percent due at the
    end of the campaign's first year) draw; ``claim`` is the institution's own word on
    its milestones (节点完成情况), shown beside the verdict."""

    progress: str
    target: str = ""
    plan: str = ""  # the text field the milestones are written into (节点计划)
    claim: str = ""


@dataclass(frozen=True, kw_only=True)
class RegisterSpec(FormSpec):
    id_field: str
    identity_field: str
    status_field: str = ""
    closed_values: tuple[str, ...] = ()
    carry: bool = True
    new_items: bool = True
    owner_field: str = ""
    sums: tuple[str, ...] = ()
    rising: str = ""
    schedule: Schedule | None = None
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
        """Closed items leave the next template. Without a status: a record is done in
        its period, a carried item (a project) stays."""
        if not self.status_field:
            return not self.carry
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
    "carry",
    "new_items",
    "schedule",
}


def load_register(data: dict[str, Any], where: str) -> RegisterSpec:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(
            f"{where}：“{'”“'.join(unknown)}”不是 register 类报表可用的设置项。"
            f"可用的有：{'、'.join(sorted(KEYS))}"
        )
    fields = fields_from(require(data, "fields", where), where)
    keys = {f.key for f in fields}
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        raise ConfigError(f"{where}：[roles] 须为一个表（以 [roles] 开头、下面写 键 = 值）")
    unknown = sorted(set(roles) - ROLE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}：[roles] 中的“{'”“'.join(unknown)}”不是可用的设置项。"
            f"可用的有：{'、'.join(sorted(ROLE_KEYS))}"
        )

    def one(role: str, required: bool = False) -> str:
        value = roles.get(role, "")
        if required and not value:
            raise ConfigError(f'{where} [roles]：清单须写明 {role} = "<字段的 key>"')
        if value and value not in keys:
            raise ConfigError(f"{where} [roles]：{role} = {shown(value)} 不是本表的字段")
        return str(value)

    def many(role: str) -> tuple[str, ...]:
        value = roles.get(role, ())
        names = tuple(value) if isinstance(value, list | tuple) else (str(value),)
        for key in names:
            if key not in keys:
                raise ConfigError(f"{where} [roles]：{role} 中的 {shown(key)} 不是本表的字段")
        return names

    group_by = many("group_by")
    status = one("status")
    closed: tuple[str, ...] = ()
    if status:
        closed = tuple(roles.get("closed", ()))
        status_field = next(f for f in fields if f.key == status)
        if not closed or not set(closed) <= set(status_field.choices):
            raise ConfigError(
                f"{where} [roles]：closed 须列出字段 {status} 中表示已办结的选项，"
                f"从 {'、'.join(status_field.choices)} 中选，现为 {shown(list(closed))}"
            )
    id_key = one("id", True)
    if next(f for f in fields if f.key == id_key).fill != "system":
        raise ConfigError(f'{where}：编号字段 {id_key}（[roles] id）须写 fill = "system"')
    by_key = {f.key: f for f in fields}
    sums = many("sums")
    for key in sums:
        if by_key[key].type not in ("integer", "decimal"):
            raise ConfigError(
                f'{where} [roles]：sums 中的 {key} 须为数字字段（type = "integer" 或 "decimal"）'
            )
    rising = one("rising")
    if rising and by_key[rising].type != "choice":
        raise ConfigError(
            f'{where} [roles]：rising 所指的 {rising} 须为选择字段（type = "choice"）'
        )
    owner = one("owner")
    if owner and by_key[owner].type != "institution":
        raise ConfigError(
            f'{where} [roles]：owner 所指的 {owner} 须为单位字段（type = "institution"）'
        )
    supervise = data.get("supervise", {})
    return RegisterSpec(
        **common(data, where),
        fields=fields,
        id_field=id_key,
        identity_field=one("identity", True),
        status_field=status,
        closed_values=closed,
        carry=bool(data.get("carry", True)),
        new_items=bool(data.get("new_items", True)),
        owner_field=owner,
        sums=sums,
        rising=rising,
        schedule=_schedule(data.get("schedule"), by_key, f"{where} [schedule]"),
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
            _reconcile(r, keys, f"{where} 第{i + 1}个 [[reconcile]]")
            for i, r in enumerate(data.get("reconcile", []))
        ),
        rate_label=str(data.get("rate_label", "整改率")),
    )


def _schedule(table: object, fields: Mapping[str, Field], where: str) -> Schedule | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}：须为一个表（下面写 键 = 值）")
    unknown = sorted(set(table) - {"progress", "target", "plan", "claim"})
    if unknown:
        raise ConfigError(
            f"{where}：“{'”“'.join(unknown)}”不是可用的设置项。可用的有：progress、target、plan、claim"
        )
    for key in ("progress", "target", "plan", "claim"):
        value = table.get(key, "")
        if value and value not in fields:
            raise ConfigError(f"{where}：{key} = {shown(value)} 不是本表的字段")
    progress = table.get("progress", "")
    if not progress or fields[progress].type not in ("percent", "decimal", "integer"):
        raise ConfigError(
            f'{where}：须写明 progress = "<进度字段的 key>"（type 为 percent、decimal 或 integer 的字段）'
        )
    return Schedule(
        progress=progress,
        target=str(table.get("target", "")),
        plan=str(table.get("plan", "")),
        claim=str(table.get("claim", "")),
    )


def _reconcile(table: dict[str, Any], keys: set[str], where: str) -> Reconcile:
    for key in ("form", "row_field", "date_field", "measure"):
        if not isinstance(table.get(key), str):
            raise ConfigError(f"{where}：缺少必填的键 {key}（须为文字）")
    for key in (table["row_field"], table["date_field"], *table.get("where", {})):
        if key not in keys:
            raise ConfigError(f"{where}：{shown(key)} 不是本表的字段")
    return Reconcile(
        form=table["form"],
        row_field=table["row_field"],
        date_field=table["date_field"],
        measure=table["measure"],
        where={str(k): str(v) for k, v in table.get("where", {}).items()},
        label=str(table.get("label", "")),
    )
