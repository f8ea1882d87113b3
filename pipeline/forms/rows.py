"""The fixed rows of a form: a grid's topics (专题专项), a list's pre-filled tasks.

Rows belong to each form's definition (``[[default_rows]]``); a campaign may replace or
extend them for one form by its id (``[[forms.<id>.rows]]``, ``[[forms.<id>.local_rows]]``),
as a district adds local topics (附件2 filling note 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Row:
    """One fixed row. ``label`` is what a grid shows in its first column (other spellings
    read back in ``aliases``, e.g. the annex's own misprint); ``values`` are a list's
    pre-filled fields by key."""

    key: str
    label: str = ""
    aliases: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def matches(self, text: str) -> bool:
        return text in (self.label, *self.aliases)


def rows_from(
    tables: object, where: str, defaults: Mapping[str, str] | None = None
) -> tuple[Row, ...]:
    """Rows from a TOML array of tables; ``defaults`` are every row's field values."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}: rows must be an array of tables ([[...]] with key = ...)")
    rows = []
    for i, table in enumerate(tables):
        rows.append(_row(table, f"{where} row {i + 1}", defaults or {}))
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: duplicate row keys in {keys}")
    return tuple(rows)


def _row(table: dict[str, Any], where: str, defaults: Mapping[str, str]) -> Row:
    if "key" not in table:
        raise ConfigError(f"{where}: missing required key 'key'")
    aliases = table.get("aliases", ())
    if not isinstance(aliases, list | tuple) or not all(isinstance(a, str) for a in aliases):
        raise ConfigError(f"{where}: aliases must be a list of texts")
    values = {
        **defaults,
        **{k: str(v) for k, v in table.items() if k not in ("key", "label", "aliases")},
    }
    return Row(
        key=str(table["key"]),
        label=str(table.get("label", "")),
        aliases=tuple(aliases),
        values=values,
    )
