"""The campaign file (TOML) a clerk edits: who, when, which forms, which rows, where.

Relative paths in the file are relative to the file itself, so a campaign folder can be
copied anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import tomlfile
from pipeline.config import keys
from pipeline.config.anomalies import AnomalyConfig
from pipeline.config.calendar import KINDS, DueRule, Kind, Period, default_due
from pipeline.config.coverage import Coverage, load_coverage
from pipeline.config.imap import KEYS as IMAP_KEYS
from pipeline.config.imap import ImapConfig, load_imap
from pipeline.config.limits import DEFAULT_LIMITS, LIMIT_KEYS, Limits
from pipeline.config.mail import MAIL_KEYS, SMTP_KEYS, MailConfig, load_mail
from pipeline.config.report import REPORT_KEYS, ReportConfig, load_report
from pipeline.config.roster import COLUMNS, Roster, load_roster
from pipeline.config.stages import Stage, load_stages, stage_of
from pipeline.config.targets import Targets, load_targets
from pipeline.errors import ConfigError, shown
from pipeline.forms.kinds import load_forms
from pipeline.forms.rows import Row, rows_from
from pipeline.forms.spec import SCHEMAS_DIR, FormSpec


@dataclass(frozen=True)
class Bureau:
    name: str
    code: str
    contact: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Campaign:
    path: Path
    name: str
    code: str
    start: Period
    bureau: Bureau
    due: DueRule
    forms: tuple[FormSpec, ...]
    rows: Mapping[str, tuple[Row, ...]]  # each form's rows, by form id
    roster_path: Path
    ledger_path: Path
    inbox: Path
    outbox: Path
    templates_dir: Path
    anomalies: AnomalyConfig
    limits: Limits = DEFAULT_LIMITS
    mail: MailConfig = field(default_factory=MailConfig)
    report: ReportConfig = field(default_factory=ReportConfig)  # the briefing's templates
    imap: ImapConfig | None = None  # the mailbox ``fetch`` reads returns from
    kind: Kind = "month"  # the campaign's reporting period
    # who reports: roster attribute -> the values in scope (none: everyone)
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    targets: tuple[Targets, ...] = ()  # what groups of institutions must reach, by when
    stages: tuple[Stage, ...] = ()  # the campaign's stages by date (宣传发动, 创建实施…)
    coverage: tuple[Coverage, ...] = ()  # whom the bureau's records must cover, how often

    def stage(self, period: Period) -> str:
        """The stage ``period`` ends in, as forms and reports name it (巩固提高阶段), or ""."""
        name = stage_of(self.stages, period)
        return name if not name or name.endswith("阶段") else f"{name}阶段"

    def period(self, text: str) -> Period:
        """A period of this campaign's kind, from its key or as written on forms."""
        return Period.parse(text, self.kind)

    def roster(self, *, strict_text: bool = True) -> Roster:
        """The institutions that report to this campaign: the roster, within the
        campaign's scope (the bureau too only when its level is in scope: a campaign
        in which the bureau reviews, as seed 000's, has it report nothing);
        ``strict_text=False`` keeps rows with line breaks in a field, for the mail
        commands, which refuse such a row alone."""
        roster = load_roster(self.roster_path, self.bureau.code, strict_text=strict_text)
        if not self.scope:
            return roster
        kept = tuple(
            i
            for i in roster
            if all(getattr(i, attr) in values for attr, values in self.scope.items())
        )
        return Roster(path=roster.path, institutions=kept)

    def forms_for(self, role: str) -> tuple[FormSpec, ...]:
        """The forms a reporter of ``role`` returns (its template's sheets)."""
        return tuple(spec for spec in self.forms if spec.reported_by(role))

    def full_roster(self) -> Roster:
        """Every institution of the roster, in the campaign's scope or not."""
        return load_roster(self.roster_path, self.bureau.code, strict_text=False)

    def rows_for(self, spec: FormSpec) -> tuple[Row, ...]:
        return self.rows[spec.id]

    def form(self, form_id: str) -> FormSpec:
        for spec in self.forms:
            if spec.id == form_id:
                return spec
        raise KeyError(form_id)


def _section(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}：[{name}] 须为一个表（以 [{name}] 开头、下面写 键 = 值）")
    return value


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table or table[key] in ("", None):
        raise ConfigError(f"{where}：缺少必填的键 {key}（或它是空的）")
    return table[key]


def _dates(values: object, where: str) -> list[dt.date]:
    """TOML dates, or ISO date strings."""
    if not isinstance(values, list):
        raise ConfigError(f"{where}：须为日期的列表，如 [2026-10-01, 2026-10-02]")
    out = []
    for v in values:
        if isinstance(v, dt.date):
            out.append(v)
            continue
        try:
            out.append(dt.date.fromisoformat(str(v)))
        except ValueError as exc:
            raise ConfigError(
                f"{where}：{shown(v)} 不是日期，日期应写作 YYYY-MM-DD（如 2026-10-01）"
            ) from exc
    return out


CAMPAIGN_KEYS = ("name", "code", "start", "forms", "period", "scope")
BUREAU_KEYS = ("name", "code", "contact", "phone", "email")
DUE_KEYS = (
    "day",
    "months_after",
    "roll_to_working_day",
    "weekday",
    "weeks_after",
    "days_after",
    "holidays",
    "workdays",
)
PATH_KEYS = ("roster", "ledger", "inbox", "outbox", "templates", "schemas")
ANOMALY_KEYS = ("zscore_threshold", "zscore_min_months", "schedule_margin")
TABLES = (
    "campaign",
    "bureau",
    "due",
    "paths",
    "anomalies",
    "limits",
    "mail",
    "report",
    "smtp",
    "imap",
    "forms",
    "targets",
    "stages",
    "coverage",
)
# Tables a workspace file shares with its campaigns (a campaign's own table wins), and
# their keys ("password" is known so as to be refused with its own message).
SHARED_KEYS: dict[str, tuple[str, ...]] = {
    "bureau": BUREAU_KEYS,
    "mail": MAIL_KEYS,
    "report": REPORT_KEYS,
    "smtp": SMTP_KEYS,
    "imap": (*IMAP_KEYS, "password"),
    "limits": LIMIT_KEYS,
    "anomalies": ANOMALY_KEYS,
}
SHARED = tuple(SHARED_KEYS)
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
    "星期一": 0, "星期二": 1, "星期三": 2, "星期四": 3, "星期五": 4, "星期六": 5, "星期日": 6,
}  # fmt: skip


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """A configuration file's tables and its text (for line numbers in messages)."""
    return tomlfile.read(path, "配置文件")


def load_campaign(path: Path, overrides: dict[str, Path] | None = None) -> Campaign:
    """Read the campaign file. ``overrides`` replaces paths (inbox, outbox, ledger...)."""
    path = path.resolve()
    data, text = read_toml(path)
    return campaign_from(path, data, text, overrides)


def campaign_from(
    path: Path,
    data: dict[str, Any],
    text: str,
    overrides: dict[str, Path] | None = None,
    shared: dict[str, Any] | None = None,
) -> Campaign:
    """A campaign from its file's tables; ``shared`` are a workspace's tables it lacks."""
    where = str(path)
    base = path.parent
    for name, table in (shared or {}).items():
        data.setdefault(name, table)
    camp = _section(data, "campaign", where)
    bureau = _section(data, "bureau", where)
    due = _section(data, "due", where)
    paths = _section(data, "paths", where)
    anomalies = _section(data, "anomalies", where)
    for name, known in (
        ("campaign", CAMPAIGN_KEYS),
        ("due", DUE_KEYS),
        ("paths", PATH_KEYS),
        *SHARED_KEYS.items(),
    ):
        keys.check(_section(data, name, where), known, path, text, name)
    limits = Limits.from_table(_section(data, "limits", where), where)

    schemas_dir = base / paths["schemas"] if "schemas" in paths else SCHEMAS_DIR
    form_names = camp.get("forms", ["fujian1_tasks", "fujian2_progress"])
    if not isinstance(form_names, list) or not all(isinstance(n, str) for n in form_names):
        raise ConfigError(f'{where} [campaign]：forms 须为报表名称的列表，如 ["fujian2_progress"]')
    forms = tuple(load_forms(form_names, schemas_dir))
    row_sets = {s.row_set for s in forms if s.row_set}
    keys.check(data, (*TABLES, *row_sets, *(f"local_{r}" for r in row_sets)), path, text)
    rows = _rows(data, forms, where)
    forms = tuple(_with_choices(spec, rows, where) for spec in forms)

    resolved = {
        key: (base / paths.get(key, default)).resolve()
        for key, default in (
            ("roster", "roster.csv"),
            ("ledger", "ledger.sqlite"),
            ("inbox", "inbox"),
            ("outbox", "outbox"),
            ("templates", "form_templates"),
        )
    }
    resolved.update(overrides or {})
    kind = camp.get("period", "month")
    if kind not in KINDS:
        raise ConfigError(
            f"{where} [campaign]：period 应为 {'、'.join(KINDS)} 之一，不是 {kind!r}"
            f" / period must be one of {', '.join(KINDS)}"
        )
    start = Period.parse(str(_need(camp, "start", f"{where} [campaign]")), kind)
    try:
        due_rule = _due(due, kind, where)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where} [due]：有键的值应为数字却不是（数字不加引号，如 day = 1）：{exc}"
        ) from exc
    try:
        threshold = float(anomalies.get("zscore_threshold", 3.5))
        min_months = int(anomalies.get("zscore_min_months", 4))
        margin = float(anomalies.get("schedule_margin", 0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where} [anomalies]：有键的值应为数字却不是（数字不加引号，如 zscore_threshold = 3.5）：{exc}"
        ) from exc
    return Campaign(
        path=path,
        name=_need(camp, "name", f"{where} [campaign]"),
        code=_need(camp, "code", f"{where} [campaign]"),
        start=start,
        bureau=Bureau(
            name=_need(bureau, "name", f"{where} [bureau]"),
            code=_need(bureau, "code", f"{where} [bureau]"),
            contact=bureau.get("contact", ""),
            phone=bureau.get("phone", ""),
            email=bureau.get("email", ""),
        ),
        due=due_rule,
        forms=forms,
        rows=rows,
        roster_path=resolved["roster"],
        ledger_path=resolved["ledger"],
        inbox=resolved["inbox"],
        outbox=resolved["outbox"],
        templates_dir=resolved["templates"],
        anomalies=AnomalyConfig(threshold, min_months, margin),
        limits=limits,
        mail=load_mail(data, base, where),
        report=load_report(data, base, where),
        imap=load_imap(data, base, where),
        kind=kind,
        scope=_scope(camp, where),
        targets=_checked_targets(load_targets(data.get("targets"), where), forms, where),
        stages=load_stages(data.get("stages"), where),
        coverage=_checked_coverage(load_coverage(data.get("coverage"), where), forms, where),
    )


def _scope(camp: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    """``scope = { "机构级别" = ["三级医院", ...] }`` (a quoted key): who reports, by roster columns."""
    table = camp.get("scope", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{where} [campaign]：scope 应为一个表，如 {{ 机构级别 = [...] }} / scope must be a table"
        )
    out = {}
    for column, values in table.items():
        if column not in COLUMNS:
            raise ConfigError(
                f"{where} [campaign] scope：“{column}”不是名册的一列（{'、'.join(COLUMNS)}）"
                f" / unknown roster column {column!r}"
            )
        out[COLUMNS[column]] = tuple(
            str(v) for v in (values if isinstance(values, list) else [values])
        )
    return out


def _checked_targets(
    targets: tuple[Targets, ...], forms: tuple[FormSpec, ...], where: str
) -> tuple[Targets, ...]:
    """Each target names a form of the campaign and an ordered choice field of it."""
    by_id = {f.id: f for f in forms}
    for t in targets:
        spec = by_id.get(t.form)
        field_ = next((f for f in spec.fields if f.key == t.field), None) if spec else None
        if field_ is None or not field_.ordered:
            raise ConfigError(
                f"{where} [[targets]]：{t.form}.{t.field} 应为本工作某张表中有序的选择项（ordered = true）"
                f" / {t.form}.{t.field} is not an ordered choice field of the campaign"
            )
        for d in t.deadlines:
            if d.reach not in field_.choices:
                raise ConfigError(
                    f"{where} [[targets]]：reach “{d.reach}”不是“{field_.header}”的选项"
                    f"（{'、'.join(field_.choices)}） / unknown stage {d.reach!r}"
                )
    return targets


def _checked_coverage(
    found: tuple[Coverage, ...], forms: tuple[FormSpec, ...], where: str
) -> tuple[Coverage, ...]:
    """Each coverage names a form of the campaign, a date field and an institution field."""
    by_id = {f.id: f for f in forms}
    for c in found:
        spec = by_id.get(c.form)
        types = {f.key: f.type for f in spec.fields} if spec else {}
        if types.get(c.date) != "date" or types.get(c.institution) != "institution":
            raise ConfigError(
                f"{where} [[coverage]]：{c.form} 应为本工作的一张表，{c.date} 为其日期栏、"
                f"{c.institution} 为其单位栏 / {c.form}.{c.date}/{c.institution} not found"
            )
    return found


def _due(table: dict[str, Any], kind: Kind, where: str) -> DueRule:
    """``[due]``, over the default rule of the campaign's kind of period."""
    w = f"{where} [due]"
    rule = default_due(kind)
    weekday = table.get("weekday", rule.weekday)
    if isinstance(weekday, str):
        if weekday.lower() not in WEEKDAYS:
            raise ConfigError(
                f'{w}：weekday 应为星期几（如 "星期五" 或 "friday"） / weekday must name a day'
            )
        weekday = WEEKDAYS[weekday.lower()]
    days_after = table.get("days_after", rule.days_after)
    if "day" in table or "months_after" in table:  # the month rule, named: it wins
        weekday = None if "weekday" not in table else weekday
        days_after = None if "days_after" not in table else days_after
    rule = DueRule(
        day=int(table.get("day", rule.day)),
        months_after=int(table.get("months_after", rule.months_after)),
        roll_to_working_day=bool(table.get("roll_to_working_day", rule.roll_to_working_day)),
        weekday=None if weekday is None else int(weekday),
        weeks_after=int(table.get("weeks_after", 0)),
        days_after=None if days_after is None else int(days_after),
        holidays=frozenset(_dates(table.get("holidays", []), f"{w} holidays")),
        workdays=frozenset(_dates(table.get("workdays", []), f"{w} workdays")),
    )
    if not 1 <= rule.day <= 31:
        raise ConfigError(f"{w}：day 应为 1—31 / day must be 1..31")
    if rule.weekday is not None and not 0 <= rule.weekday <= 6:
        raise ConfigError(f"{w}：weekday 应为 0（星期一）—6（星期日） / weekday must be 0..6")
    return rule


def _rows(
    data: dict[str, Any], forms: tuple[FormSpec, ...], where: str
) -> dict[str, tuple[Row, ...]]:
    """Each form's rows: its definition's, unless the campaign replaces them, plus the
    campaign's local ones. ``[[forms.<id>.rows]]`` and ``[[forms.<id>.local_rows]]``
    address one form; ``[[<rows>]]`` and ``[[local_<rows>]]`` (e.g. ``[[topics]]``,
    ``[[local_topics]]``, ``[[tasks]]``) every form whose rows are named so."""
    per_form = _section(data, "forms", where)
    ids = {spec.id for spec in forms}
    unknown = sorted(set(per_form) - ids)
    if unknown:
        raise ConfigError(
            f"{where} [forms]：本工作没有报表 {'、'.join(unknown)}；"
            f"[campaign] forms 中的报表有：{'、'.join(sorted(ids))}"
        )
    out: dict[str, tuple[Row, ...]] = {}
    for spec in forms:
        table = per_form.get(spec.id, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}：[forms.{spec.id}] 须为一个表")
        rows = spec.default_rows
        local: tuple[Row, ...] = ()
        named = spec.row_set
        if named and named in data:
            rows = rows_from(data[named], f"{where} [[{named}]]", spec.defaults)
        if named and f"local_{named}" in data:
            local += rows_from(data[f"local_{named}"], f"{where} [[local_{named}]]", spec.defaults)
        if "rows" in table:
            rows = rows_from(table["rows"], f"{where} [[forms.{spec.id}.rows]]", spec.defaults)
        if "local_rows" in table:
            w = f"{where} [[forms.{spec.id}.local_rows]]"
            local += rows_from(table["local_rows"], w, spec.defaults)
        rows = rows + local
        _check_choices(spec, rows, f"{where} [forms.{spec.id}]")
        if len({r.key for r in rows}) != len(rows):
            repeated = sorted({r.key for r in rows if [x.key for x in rows].count(r.key) > 1})
            raise ConfigError(
                f"{where}：{spec.id} 的本地行（local_rows）与已有的行重复使用了 key "
                f"{'、'.join(repeated)}；请给本地行另起 key"
            )
        out[spec.id] = rows
    return out


def _check_choices(spec: FormSpec, rows: tuple[Row, ...], where: str) -> None:
    """A row's value for a choice field (a seeded project's 项目类别) is one of its choices."""
    for f in spec.fields:
        if not f.choices:
            continue
        for row in rows:
            value = row.values.get(f.key)
            if value and value not in f.choices:
                raise ConfigError(
                    f"{where} {row.key}：“{f.header}”为“{value}”，应为{'、'.join(f.choices)}之一"
                    f" / {f.key} {value!r} is not one of its choices"
                )


def _with_choices(spec: FormSpec, rows: Mapping[str, tuple[Row, ...]], where: str) -> FormSpec:
    """A field whose choices are another form's rows (所属专题: the campaign's topics)
    gets their labels, local rows included."""
    if not any(f.choices_from for f in spec.fields):
        return spec
    fields = []
    for f in spec.fields:
        if f.choices_from:
            if f.choices_from not in rows:
                raise ConfigError(
                    f"{where}：报表 {spec.id} 的字段 {f.key}：choices_from = {shown(f.choices_from)} "
                    f"不是本工作的报表（[campaign] forms）"
                )
            f = replace(f, choices=tuple(r.label for r in rows[f.choices_from]))
        fields.append(f)
    return replace(spec, fields=tuple(fields))
