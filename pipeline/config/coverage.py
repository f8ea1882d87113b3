"""Coverage of institutions by the bureau's own records (seed 004's 「每周督导、半月覆盖」:
every key hospital supervised at least once in each half-month), declared as data:

    [[coverage]]
    title = "督导覆盖情况"
    form = "supervision"          # a register of records (督导记录)
    date = "date"                 # its date field: when the visit was
    institution = "unit"          # its institution field: whom it visited
    every = "half"                # the window each must be covered in (a period kind)
    who = { "机构级别" = ["二级医院"] }   # whom to cover, by roster column
    # or: institutions = ["QW001", "QW002"]

The outputs show, per window from the campaign's start to the period's end, how many
were to be covered, how many were, and who was not; a window that ends within the period
leaves each institution it missed in the anomaly list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.config.calendar import KINDS, Kind
from pipeline.config.roster import COLUMNS, Institution
from pipeline.errors import ConfigError

KEYS = {"title", "form", "date", "institution", "every", "who", "institutions"}


@dataclass(frozen=True)
class Coverage:
    title: str
    form: str
    date: str
    institution: str
    every: Kind
    who: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # attr -> values
    institutions: tuple[str, ...] = ()

    def covers(self, inst: Institution) -> bool:
        if self.institutions and inst.code not in self.institutions:
            return False
        return all(getattr(inst, attr) in values for attr, values in self.who.items())


def load_coverage(tables: object, where: str) -> tuple[Coverage, ...]:
    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}：[[coverage]] 应为表的数组 / must be an array of tables")
    return tuple(_one(t, f"{where} 第{i + 1}个 [[coverage]]") for i, t in enumerate(tables))


def _one(table: dict[str, Any], where: str) -> Coverage:
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{where}：不可用的设置项 {unknown} / unknown keys {unknown}")
    for key in ("form", "date", "institution"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{where}：缺少 {key} / missing required key '{key}'")
    every = table.get("every", "half")
    if every not in KINDS:
        raise ConfigError(f"{where}：every 应为 {'、'.join(KINDS)} 之一 / bad every {every!r}")
    who: dict[str, tuple[str, ...]] = {}
    for column, values in (table.get("who") or {}).items():
        if column not in COLUMNS:
            raise ConfigError(
                f"{where} who：“{column}”不是名册的一列（{'、'.join(COLUMNS)}） / unknown column"
            )
        who[COLUMNS[column]] = tuple(
            str(v) for v in (values if isinstance(values, list) else [values])
        )
    codes = table.get("institutions", [])
    if not isinstance(codes, list):
        raise ConfigError(f"{where}：institutions 应为机构代码的列表 / must be a list of codes")
    return Coverage(
        title=str(table.get("title", "覆盖情况")),
        form=table["form"],
        date=table["date"],
        institution=table["institution"],
        every=every,
        who=who,
        institutions=tuple(str(c) for c in codes),
    )
