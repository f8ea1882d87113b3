"""Declarative form definitions, loaded from ``schemas/*.toml``.

A definition says everything about one annexed table: title, row and column layout,
units, who fills which cells, derived cells and how they are computed. Two kinds cover
the annexes: a *grid* (rows × numeric measures, 附件2) and a *list* (one text row per
task, 附件1). Rows come from the campaign (topics, tasks), with the definition's own
defaults when the campaign names none.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"

MeasureKind = Literal["count", "sum", "rate"]
Role = Literal["institution", "bureau"]  # who fills a count (see GridSpec.inputs_for)


@dataclass(frozen=True)
class Measure:
    """One numeric column of a grid form."""

    key: str
    header: tuple[str, ...]
    unit: str
    kind: MeasureKind
    role: Role | None = None
    terms: tuple[str, ...] = ()
    numerator: str | None = None
    denominator: str | None = None
    # A rate whose open items (denominator − numerator, cumulative) are an anomaly to
    # supervise until closed, e.g. 重大隐患 (挂牌督办).
    flag_open: bool = False

    @property
    def label(self) -> str:
        """Full Chinese name, e.g. ``排查整治隐患/一般隐患/排查``."""
        return "/".join(self.header)

    @property
    def short_label(self) -> str:
        """The header path without the top group when it adds nothing, for messages."""
        return "".join(self.header[1:]) if len(self.header) > 1 else self.header[0]

    @property
    def is_input(self) -> bool:
        return self.kind == "count"


@dataclass(frozen=True)
class Topic:
    """A row of a grid form (专题专项)."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        return text in (self.label, *self.aliases)


@dataclass(frozen=True)
class GridSpec:
    id: str
    version: int
    annex: str
    sheet: str
    title: str
    row_header: str
    measures: tuple[Measure, ...]
    default_rows: tuple[Topic, ...]
    month_total_label: str
    cumulative_label: str
    footer: tuple[str, ...]
    notes: tuple[str, ...]
    max_count: int
    kind: Literal["grid"] = "grid"

    def measure(self, key: str) -> Measure:
        for m in self.measures:
            if m.key == key:
                return m
        raise KeyError(key)

    @property
    def inputs(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.is_input)

    def inputs_for(self, role: str) -> tuple[Measure, ...]:
        """Counts a reporter fills: its role's own ("institution" or "bureau"); a
        subordinate health administration ("administration") reports every count."""
        if role == "administration":
            return self.inputs
        return tuple(m for m in self.inputs if m.role == role)

    @property
    def header_depth(self) -> int:
        return max(len(m.header) for m in self.measures)


@dataclass(frozen=True)
class ListField:
    key: str
    header: str
    width: int
    input: bool = False
    max_length: int = 0


@dataclass(frozen=True)
class Task:
    """A pre-filled row of a list form, by field key."""

    key: str
    values: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class ListSpec:
    id: str
    version: int
    annex: str
    sheet: str
    title: str
    fields: tuple[ListField, ...]
    default_rows: tuple[Task, ...]
    spare_rows: int
    new_task_marker: str
    footer: tuple[str, ...]
    notes: tuple[str, ...]
    defaults: dict[str, str] = field(default_factory=dict, hash=False)  # every task's
    # What the fields are for ([roles] of the definition):
    group_fields: tuple[str, ...] = ()  # filled on a group's first task, merged down
    identity_field: str = ""  # checked in place on every pre-filled task row
    name_fields: tuple[str, ...] = ()  # an added task names itself in one of these
    remark_field: str = ""  # where an added task carries the new-task marker
    lead_field: str = ""  # who leads an added task in the aggregated list
    kind: Literal["list"] = "list"

    def opens_group(self, task: Task) -> bool:
        return any(task.values.get(k) for k in self.group_fields)

    @property
    def inputs(self) -> tuple[ListField, ...]:
        return tuple(f for f in self.fields if f.input)


FormSpec = GridSpec | ListSpec


def _req(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing required key '{key}'")
    return data[key]


def _load_measure(d: dict[str, Any], where: str) -> Measure:
    kind = _req(d, "kind", where)
    if kind not in ("count", "sum", "rate"):
        raise ConfigError(f"{where}: kind must be count, sum or rate, not {kind!r}")
    m = Measure(
        key=_req(d, "key", where),
        header=tuple(_req(d, "header", where)),
        unit=d.get("unit", ""),
        kind=kind,
        role=d.get("role"),
        terms=tuple(d.get("terms", ())),
        numerator=d.get("numerator"),
        denominator=d.get("denominator"),
        flag_open=bool(d.get("flag_open", False)),
    )
    if kind == "count" and m.role not in ("institution", "bureau"):
        raise ConfigError(f"{where}: a count needs role = 'institution' or 'bureau'")
    if kind == "sum" and not m.terms:
        raise ConfigError(f"{where}: a sum needs terms")
    if kind == "rate" and not (m.numerator and m.denominator):
        raise ConfigError(f"{where}: a rate needs numerator and denominator")
    return m


def _check_references(spec: GridSpec, where: str) -> None:
    counts = {m.key for m in spec.inputs}
    for m in spec.measures:
        refs = (*m.terms, *(r for r in (m.numerator, m.denominator) if r))
        for ref in refs:
            if ref not in counts:
                raise ConfigError(f"{where}: measure '{m.key}' refers to unknown count '{ref}'")


def topics_from(rows: list[dict[str, Any]], where: str) -> tuple[Topic, ...]:
    topics = tuple(
        Topic(
            key=str(_req(r, "key", f"{where} row {i + 1}")),
            label=str(_req(r, "label", f"{where} row {i + 1}")),
            aliases=tuple(r.get("aliases", ())),
        )
        for i, r in enumerate(rows)
    )
    keys = [t.key for t in topics]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: duplicate topic keys in {keys}")
    return topics


def tasks_from(
    rows: list[dict[str, Any]], defaults: dict[str, str], where: str
) -> tuple[Task, ...]:
    tasks = []
    for i, r in enumerate(rows):
        key = str(_req(r, "key", f"{where} task {i + 1}"))
        values = {**defaults, **{k: str(v) for k, v in r.items() if k != "key"}}
        tasks.append(Task(key=key, values=values))
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: duplicate task keys in {keys}")
    return tuple(tasks)


def load_form(path: Path) -> FormSpec:
    """Read one form definition; errors name the file and what was expected."""
    try:
        return _load_form(path)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _load_form(path: Path) -> FormSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"form definition not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (save it as UTF-8): {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    where = str(path)
    kind = _req(data, "kind", where)
    common = {
        "id": _req(data, "id", where),
        "version": int(_req(data, "version", where)),
        "annex": _req(data, "annex", where),
        "sheet": _req(data, "sheet", where),
        "title": _req(data, "title", where),
        "footer": tuple(data.get("footer", ())),
        "notes": tuple(data.get("notes", ())),
    }
    if kind == "grid":
        measures = tuple(
            _load_measure(d, f"{where} measure {i + 1}")
            for i, d in enumerate(_req(data, "measures", where))
        )
        spec = GridSpec(
            **common,
            row_header=data.get("row_header", ""),
            measures=measures,
            default_rows=topics_from(data.get("default_rows", []), where),
            month_total_label=_req(data, "month_total_label", where),
            cumulative_label=_req(data, "cumulative_label", where),
            max_count=int(data.get("bounds", {}).get("max_count", 100000)),
        )
        _check_references(spec, where)
        return spec
    if kind == "list":
        fields = tuple(
            ListField(
                key=_req(f, "key", where),
                header=_req(f, "header", where),
                width=int(f.get("width", 12)),
                input=bool(f.get("input", False)),
                max_length=int(f.get("max_length", 0)),
            )
            for f in _req(data, "fields", where)
        )
        roles = data.get("roles", {})
        keys = {f.key for f in fields}

        def field_keys(role: str, many: bool) -> tuple[str, ...]:
            value = roles.get(role, [] if many else "")
            names = tuple(value) if many else ((value,) if value else ())
            unknown = [k for k in names if k not in keys]
            if unknown:
                raise ConfigError(f"{where} [roles] {role}: unknown field(s) {unknown}")
            return names

        defaults = {str(k): str(v) for k, v in data.get("defaults", {}).items()}
        return ListSpec(
            **common,
            fields=fields,
            default_rows=tasks_from(data.get("default_rows", []), defaults, where),
            spare_rows=int(data.get("spare_rows", 0)),
            new_task_marker=data.get("new_task_marker", "新增"),
            defaults=defaults,
            group_fields=field_keys("group", True),
            identity_field=next(iter(field_keys("identity", False)), ""),
            name_fields=field_keys("names", True),
            remark_field=next(iter(field_keys("remark", False)), ""),
            lead_field=next(iter(field_keys("lead", False)), ""),
        )
    raise ConfigError(f"{where}: kind must be 'grid' or 'list', not {kind!r}")


def load_forms(names: list[str], schemas_dir: Path = SCHEMAS_DIR) -> list[FormSpec]:
    return [load_form(schemas_dir / f"{name}.toml") for name in names]
