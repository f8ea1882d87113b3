"""Typed fields of list and register forms: what a column holds, who fills it, its bounds.

A field's type says how a cell is read (text as typed; a number read like a grid's
counts; a date from a date cell or from text a clerk typed; a choice from its closed
list, shown as an in-cell drop-down) and how it is checked (pandera, once per form over
every return of a run). ``fill`` says who types it: every reporter ("institution"), the
bureau alone ("bureau", e.g. 挂牌督办), nobody ("prefilled": the bureau's own text, and
"system": an item's 编号, assigned by the pipeline).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.errors import ConfigError, shown
from pipeline.findings import as_text
from pipeline.forms.values import normalise_number, normalise_text, parse_date

FieldType = Literal["text", "integer", "decimal", "percent", "date", "choice", "institution"]
FIELD_TYPES: tuple[FieldType, ...] = (
    "text",
    "integer",
    "decimal",
    "percent",
    "date",
    "choice",
    "institution",
)
Fill = Literal["institution", "bureau", "prefilled", "system"]
FILLS: tuple[Fill, ...] = ("institution", "bureau", "prefilled", "system")
NUMERIC: frozenset[str] = frozenset({"integer", "decimal", "percent"})
PERIOD_END = "period_end"  # in not_after: the last day of the reporting period

_KEYS = {
    "key",
    "header",
    "type",
    "fill",
    "input",
    "required",
    "width",
    "max_length",
    "places",
    "min",
    "max",
    "unit",
    "choices",
    "choices_from",
    "not_after",
    "not_before",
    "required_when",
    "ordered",
    "flag",
    "warn_above",
    "warn_below",
    "streak",
    "tally",
    "sum",
}


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    type: FieldType = "text"
    fill: Fill = "prefilled"
    required: bool = False
    width: int = 12
    max_length: int = 0  # text: longer is a warning (kept whole)
    places: int = 0  # decimal: shown with this many places
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""  # accepted after a number ("5处"), shown in the header
    choices: tuple[str, ...] = ()
    choices_from: str = ""  # the labels of another form's rows (the campaign's topics)
    not_after: tuple[str, ...] = ()  # "period_end" or other date fields' keys
    not_before: tuple[str, ...] = ()
    # required when every other field named has the value given (or one of the values
    # listed), e.g. 整改完成日期 when 整改状态 is 已整改
    required_when: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    # a choice whose list is in order (建设阶段): a value below the last period's is a
    # step back, reported
    ordered: bool = False
    # a number whose non-zero values single out the institution in the outputs, under
    # this heading (红色风险: 有重大风险点的单位)
    flag: str = ""
    # a number above (below) this is an anomaly of the return, a warning at its cell
    # (窗口平均排队时间 over 15 minutes)
    warn_above: float | None = None
    warn_below: float | None = None
    # this choice reported for the same row in this many periods running is an anomaly
    # (自评结果 不达标 two weeks running): (value, periods)
    streak: tuple[str, int] | None = None
    # a choice counted per row and value across institutions (不达标 per checklist item)
    tally: bool = False
    # whether a number is totalled across institutions: counts are, a score, a percent
    # or an average (排队时间) is not unless the definition says so
    sum: bool | None = None

    def rank(self, value: str) -> int:
        """Where ``value`` stands in an ordered choice (-1: not one of them)."""
        return self.choices.index(value) if value in self.choices else -1

    def stepped_back(self, now: str, before: str) -> bool:
        """An ordered field's value below the one reported before: a stage back, or a
        number down (形象进度 never decreases)."""
        if not self.ordered:
            return False
        if self.type in NUMERIC:
            try:
                return float(now) < float(before)
            except ValueError:
                return False
        return 0 <= self.rank(now) < self.rank(before)

    @property
    def summed(self) -> bool:
        if self.sum is not None:
            return self.sum
        return self.type == "integer"

    @property
    def is_input(self) -> bool:
        """Typed by somebody filling the form (not pre-filled, not assigned)."""
        return self.fill in ("institution", "bureau")

    def filled_by(self, role: str) -> bool:
        """Whether a reporter of ``role`` fills this field: every reporter fills the
        institutions' fields; the bureau's are its own, and a subordinate health
        administration (a district reporting to its city) fills both."""
        if self.fill == "institution":
            return True
        if self.fill == "bureau":
            return role in ("bureau", "administration")
        return False

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        if self.type == "percent":
            low = 0.0 if self.minimum is None else self.minimum
            return low, 100.0 if self.maximum is None else self.maximum
        return self.minimum, self.maximum


def fields_from(tables: object, where: str) -> tuple[Field, ...]:
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{where}：须有字段，每个字段以 [[fields]] 开头、下面写 key = ...")
    out = tuple(_field(t, f"{where} 第{i + 1}个字段") for i, t in enumerate(tables))
    keys = [f.key for f in out]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ConfigError(
            f"{where}：字段的 key 重复：{'、'.join(repeated)}；每个字段的 key 须各不相同"
        )
    known = set(keys)
    for f in out:
        for ref in (*f.not_after, *f.not_before, *f.required_when):
            if ref != PERIOD_END and ref not in known:
                raise ConfigError(f"{where}：字段 {f.key} 引用了不存在的字段 {ref}")
    return out


def _field(table: object, where: str) -> Field:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}：须为一个表（以 [[fields]] 开头、下面写 键 = 值）")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}：“{'”“'.join(unknown)}”不是可用的设置项。可用的有：{'、'.join(sorted(_KEYS))}"
        )
    for key in ("key", "header"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{where}：缺少必填的键 {key}（须为文字）")
    kind = table.get("type", "text")
    if kind not in FIELD_TYPES:
        raise ConfigError(f"{where}：type 须为 {'、'.join(FIELD_TYPES)} 之一，现为 {shown(kind)}")
    # `input = true` (the first list definitions) means an institution fills the field.
    fill = table.get("fill", "institution" if table.get("input") else "prefilled")
    if fill not in FILLS:
        raise ConfigError(f"{where}：fill 须为 {'、'.join(FILLS)} 之一，现为 {shown(fill)}")
    choices = table.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise ConfigError(f'{where}：choices 须为文字的列表，如 choices = ["是", "否"]')
    if kind == "choice" and not choices and not table.get("choices_from"):
        raise ConfigError(
            f'{where}：type = "choice" 的字段须写出选项 choices = [...] 或 choices_from'
        )
    required_when = table.get("required_when", {})
    if not isinstance(required_when, dict):
        raise ConfigError(
            f'{where}：required_when 须为一个表，如 required_when = {{ status = "已整改" }}'
        )
    return Field(
        key=table["key"],
        header=table["header"],
        type=kind,
        fill=fill,
        required=bool(table.get("required", False)),
        width=int(table.get("width", 12)),
        max_length=int(table.get("max_length", 0)),
        places=int(table.get("places", 0)),
        minimum=_number(table, "min", where),
        maximum=_number(table, "max", where),
        unit=str(table.get("unit", "")),
        choices=tuple(choices),
        choices_from=str(table.get("choices_from", "")),
        not_after=_names(table, "not_after", where),
        not_before=_names(table, "not_before", where),
        required_when={
            str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
            for k, v in required_when.items()
        },
        ordered=bool(table.get("ordered", False)),
        flag=str(table.get("flag", "")),
        warn_above=_number(table, "warn_above", where),
        warn_below=_number(table, "warn_below", where),
        streak=_streak(table.get("streak"), choices, where),
        tally=bool(table.get("tally", False)),
        sum=None if "sum" not in table else bool(table["sum"]),
    )


def _streak(value: object, choices: list[str], where: str) -> tuple[str, int] | None:
    """``streak = { value = "不达标", periods = 2 }``."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("value") not in choices:
        raise ConfigError(
            f'{where}：streak 应为 {{ value = "<选项之一>", periods = 2 }} / streak needs a choice'
        )
    periods = value.get("periods", 2)
    if not isinstance(periods, int) or periods < 2:
        raise ConfigError(f"{where}：streak periods 应为不小于2的整数 / periods must be >= 2")
    return str(value["value"]), periods


def _number(table: dict[str, Any], key: str, where: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}：{key} 须为数字（不加引号），现为 {shown(value)}")
    return float(value)


def _names(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}：{key} 须为字段的 key 或它们的列表，现为 {shown(value)}")
    return tuple(value)


@dataclass(frozen=True)
class Read:
    """A field's cell as read: the text kept on record ("" for blank), the typed value
    the checks see, and what happened on the way (a rule code for a finding)."""

    text: str
    value: object = None  # str | float | datetime.date | None
    rule: str = ""  # "" | "N-NORMALISED" | "V-PARSE" | "V-DATE" | "V-DATE-AMBIGUOUS" | "V-INST"
    shown: str = ""  # for N-NORMALISED: how it was read


def read_field(
    f: Field, raw: object, year: int, institutions: Mapping[str, str] | None = None
) -> Read:
    """``raw`` (a cell as the reader gives it) read as ``f``'s type.

    ``year`` completes a date typed as month and day; ``institutions`` maps every roster
    code and name to its code, for an institution field."""
    if f.type in NUMERIC:
        norm = normalise_number(raw, rate=f.type == "percent", units=(f.unit,) if f.unit else ())
        if norm.error:
            return Read(normalise_text(raw), None, "V-PARSE")
        if norm.value is None:
            return Read("")
        text = as_text(norm.value)
        return Read(text, norm.value, "N-NORMALISED" if norm.changed else "", text)
    if f.type == "date":
        parsed = parse_date(raw, year)
        if parsed.error:
            rule = "V-DATE-AMBIGUOUS" if parsed.error == "ambiguous" else "V-DATE"
            return Read(normalise_text(raw), None, rule)
        if parsed.value is None:
            return Read("")
        text = parsed.value.isoformat()
        return Read(text, parsed.value, "N-NORMALISED" if parsed.changed else "", text)
    text = normalise_text(raw)
    if not text:
        return Read("")
    if f.type == "choice":
        folded = _fold(text)
        for choice in f.choices:
            if _fold(choice) == folded:
                return Read(choice, choice)
        return Read(text, text)  # not one of the choices: the schema says so
    if f.type == "institution" and institutions is not None:
        code = institutions.get(text) or institutions.get(_fold(text))
        if code is None:
            return Read(text, None, "V-INST")
        return Read(code, code)
    return Read(text, text)


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())
