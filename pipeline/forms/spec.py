"""Declarative form definitions (``schemas/*.toml``): what every kind of form shares.

A definition says everything about one annexed table: its title, rows, columns, who
fills which cells, derived cells and how it aggregates. The part every form has is read
here; the part its *kind* adds (a grid's measures, a list's fields, a register's item
life) is read by the kind (:mod:`pipeline.forms.kinds`), so a new kind brings its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import tomlfile
from pipeline.errors import ConfigError, shown
from pipeline.forms.fields import Field
from pipeline.forms.rows import Row

# The definitions shipped with the program, as package data (schemas/ at the top of the
# source is a link to this folder); a campaign may name a folder of its own.
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"


@dataclass(frozen=True, kw_only=True)
class FormSpec:
    """The part of a definition every kind of form has."""

    id: str
    version: int
    kind: str
    annex: str  # 附件2
    sheet: str  # the worksheet's name
    title: str  # {year} is the reporting period's year
    footer: tuple[str, ...] = ()  # 审核人：, 填表人：: each with a cell to sign in
    notes: tuple[str, ...] = ()  # 填报说明 under the table
    default_rows: tuple[Row, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict, hash=False)  # every row's values
    fields: tuple[Field, ...] = ()  # typed fields (lists, registers)
    # The campaign-wide name of this form's rows, so a campaign file's [[topics]] or
    # [[tasks]] (named after them) reach every form whose rows they are.
    row_set: str = ""
    reporter_label: str = "填报单位"  # the line under the title: 填报单位：<name>
    period_label: str = "报告期"  # and beside it: 报告期：<period>
    # Whose return has this form: every reporter's ("all"), the institutions' but not
    # the bureau's own ("institutions"), or the bureau's own alone ("bureau", e.g. its
    # 督导记录). A district bureau in its city's roster reports as the institutions do.
    reporters: str = "all"

    def title_for(self, year: int) -> str:
        return self.title.format(year=year)

    def reported_by(self, role: str) -> bool:
        if self.reporters == "bureau":
            return role == "bureau"
        return self.reporters == "all" or role != "bureau"


def require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}：缺少必填的键 {key}")
    return data[key]


def read_definition(path: Path) -> dict[str, Any]:
    """The TOML of one definition; errors name the file and what was expected."""
    return tomlfile.read(path, "报表定义文件")[0]


REPORTERS = ("all", "institutions", "bureau")
COMMON_KEYS = frozenset(
    {
        "id",
        "version",
        "kind",
        "annex",
        "sheet",
        "title",
        "footer",
        "notes",
        "default_rows",
        "rows",
        "reporter_label",
        "period_label",
        "defaults",
        "reporters",
    }
)


def common(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The keyword arguments of :class:`FormSpec` from a definition."""
    try:
        version = int(require(data, "version", where))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}：version 须为整数（不加引号），现为 {shown(data.get('version'))}"
        ) from exc
    reporters = data.get("reporters", "all")
    if reporters not in REPORTERS:
        raise ConfigError(
            f"{where}：reporters 应为 {'、'.join(REPORTERS)} 之一 / reporters must be one of {REPORTERS}"
        )
    row_set = data.get("rows", "")
    if not isinstance(row_set, str):
        raise ConfigError(
            f'{where}：rows 须为本表各行的统称，如 rows = "topics"，现为 {shown(row_set)}'
        )
    return {
        "id": str(require(data, "id", where)),
        "version": version,
        "kind": str(require(data, "kind", where)),
        "annex": str(require(data, "annex", where)),
        "sheet": str(require(data, "sheet", where)),
        "title": str(require(data, "title", where)),
        "footer": tuple(data.get("footer", ())),
        "notes": tuple(data.get("notes", ())),
        "row_set": row_set,
        "reporter_label": str(data.get("reporter_label", "填报单位")),
        "period_label": str(data.get("period_label", "报告期")),
        "reporters": reporters,
    }
