"""A list's definition: fixed rows the bureau pre-fills (tasks, checklist items), typed
fields an institution fills on each, and spare rows to add its own (附件1 of seed 002).

``[roles]`` says what each field is for, so that no code names a field of a form:
group     filled on a group's first row, merged down over the group (序号, 任务事项)
identity  checked in place on every pre-filled row (主要内容)
names     a row an institution adds names itself in one of these
remark    where an added row carries the definition's ``new_task_marker`` (新增)
lead      who leads an added row in the aggregated list
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError
from pipeline.forms.fields import Field, fields_from
from pipeline.forms.rows import Row, rows_from
from pipeline.forms.spec import COMMON_KEYS, FormSpec, common, require


@dataclass(frozen=True, kw_only=True)
class ListSpec(FormSpec):
    spare_rows: int = 0
    new_task_marker: str = "新增"
    group_fields: tuple[str, ...] = ()
    identity_field: str = ""
    name_fields: tuple[str, ...] = ()
    remark_field: str = ""
    lead_field: str = ""
    trend: int = 0  # the totals of its numbers over this many periods, side by side

    def opens_group(self, row: Row) -> bool:
        return any(row.values.get(k) for k in self.group_fields)

    @property
    def inputs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.is_input)

    def inputs_for(self, role: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.filled_by(role))

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


KEYS = COMMON_KEYS | {"fields", "spare_rows", "new_task_marker", "roles", "trend"}


def load_list(data: dict[str, Any], where: str) -> ListSpec:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(
            f"{where}：“{'”“'.join(unknown)}”不是 list 类报表可用的设置项。"
            f"可用的有：{'、'.join(sorted(KEYS))}"
        )
    fields = fields_from(require(data, "fields", where), where)
    roles = data.get("roles", {})
    keys = {f.key for f in fields}

    def field_keys(role: str, many: bool) -> tuple[str, ...]:
        value = roles.get(role, [] if many else "")
        names = tuple(value) if many else ((value,) if value else ())
        unknown = [k for k in names if k not in keys]
        if unknown:
            raise ConfigError(f"{where} [roles]：{role} 中的 {'、'.join(unknown)} 不是本表的字段")
        return names

    defaults = {str(k): str(v) for k, v in data.get("defaults", {}).items()}
    return ListSpec(
        **common(data, where),
        default_rows=rows_from(data.get("default_rows", []), f"{where} [[default_rows]]", defaults),
        fields=fields,
        spare_rows=int(data.get("spare_rows", 0)),
        new_task_marker=str(data.get("new_task_marker", "新增")),
        defaults=defaults,
        group_fields=field_keys("group", True),
        identity_field=next(iter(field_keys("identity", False)), ""),
        name_fields=field_keys("names", True),
        remark_field=next(iter(field_keys("remark", False)), ""),
        lead_field=next(iter(field_keys("lead", False)), ""),
        trend=int(data.get("trend", 0)),
    )
