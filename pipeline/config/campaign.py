"""The campaign file (TOML) a clerk edits: who, when, which forms, which rows, where.

Relative paths in the file are relative to the file itself, so a campaign folder can be
copied anywhere.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config.calendar import DueRule, Period
from pipeline.config.imap import ImapConfig, load_imap
from pipeline.config.limits import DEFAULT_LIMITS, Limits
from pipeline.config.mail import MailConfig, load_mail
from pipeline.config.roster import Roster, load_roster
from pipeline.errors import ConfigError
from pipeline.forms.spec import (
    SCHEMAS_DIR,
    FormSpec,
    GridSpec,
    ListSpec,
    Task,
    Topic,
    load_forms,
    tasks_from,
    topics_from,
)


@dataclass(frozen=True)
class Bureau:
    name: str
    code: str
    contact: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class AnomalyConfig:
    zscore_threshold: float = 3.5
    zscore_min_months: int = 4


@dataclass(frozen=True)
class Campaign:
    path: Path
    name: str
    code: str
    start: Period
    bureau: Bureau
    due: DueRule
    forms: tuple[FormSpec, ...]
    topics: tuple[Topic, ...]
    tasks: tuple[Task, ...]
    roster_path: Path
    ledger_path: Path
    inbox: Path
    outbox: Path
    templates_dir: Path
    anomalies: AnomalyConfig
    limits: Limits = DEFAULT_LIMITS
    mail: MailConfig = field(default_factory=MailConfig)
    imap: ImapConfig | None = None  # the mailbox ``fetch`` reads returns from

    def roster(self, *, strict_text: bool = True) -> Roster:
        """The roster; ``strict_text=False`` keeps rows with line breaks in a field, for
        the mail commands, which refuse such a row alone (see ``pipeline.mail.recipients``)."""
        return load_roster(self.roster_path, self.bureau.code, strict_text=strict_text)

    @property
    def grid_forms(self) -> tuple[GridSpec, ...]:
        return tuple(f for f in self.forms if isinstance(f, GridSpec))

    @property
    def list_forms(self) -> tuple[ListSpec, ...]:
        return tuple(f for f in self.forms if isinstance(f, ListSpec))

    def rows_for(self, spec: FormSpec) -> tuple[Topic, ...] | tuple[Task, ...]:
        return self.topics if isinstance(spec, GridSpec) else self.tasks


def _section(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table or table[key] in ("", None):
        raise ConfigError(f"{where}: missing required key '{key}'")
    return table[key]


def _dates(values: object, where: str) -> list[dt.date]:
    """TOML dates, or ISO date strings."""
    if not isinstance(values, list):
        raise ConfigError(f"{where}: must be a list of dates")
    out = []
    for v in values:
        if isinstance(v, dt.date):
            out.append(v)
            continue
        try:
            out.append(dt.date.fromisoformat(str(v)))
        except ValueError as exc:
            raise ConfigError(f"{where}: {v!r} is not a date (YYYY-MM-DD)") from exc
    return out


def load_campaign(path: Path, overrides: dict[str, Path] | None = None) -> Campaign:
    """Read the campaign file. ``overrides`` replaces paths (inbox, outbox, ledger...)."""
    path = path.resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"campaign file not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (save it as UTF-8): {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    where = str(path)
    base = path.parent
    camp = _section(data, "campaign", where)
    bureau = _section(data, "bureau", where)
    due = _section(data, "due", where)
    paths = _section(data, "paths", where)
    anomalies = _section(data, "anomalies", where)
    limits = Limits.from_table(_section(data, "limits", where), where)

    schemas_dir = base / paths["schemas"] if "schemas" in paths else SCHEMAS_DIR
    form_names = camp.get("forms", ["fujian1_tasks", "fujian2_progress"])
    if not isinstance(form_names, list) or not all(isinstance(n, str) for n in form_names):
        raise ConfigError(
            f'{where} [campaign]: forms must be a list of names, e.g. ["fujian2_progress"]'
        )
    forms = tuple(load_forms(form_names, schemas_dir))
    grids = [f for f in forms if isinstance(f, GridSpec)]
    lists = [f for f in forms if isinstance(f, ListSpec)]

    if "topics" in data:
        topics = topics_from(data["topics"], f"{where} [[topics]]")
    else:
        topics = grids[0].default_rows if grids else ()
    topics = topics + topics_from(data.get("local_topics", []), f"{where} [[local_topics]]")
    if len({t.key for t in topics}) != len(topics):
        raise ConfigError(f"{where}: local topic keys repeat the default topics' keys")
    if "tasks" in data:
        defaults = lists[0].defaults if lists else {}
        tasks = tasks_from(data["tasks"], defaults, f"{where} [[tasks]]")
    else:
        tasks = lists[0].default_rows if lists else ()

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
    try:
        start = Period.parse(_need(camp, "start", f"{where} [campaign]"))
        due_rule = DueRule(
            day=int(due.get("day", 1)),
            months_after=int(due.get("months_after", 1)),
            roll_to_working_day=bool(due.get("roll_to_working_day", True)),
            holidays=frozenset(_dates(due.get("holidays", []), f"{where} [due] holidays")),
            workdays=frozenset(_dates(due.get("workdays", []), f"{where} [due] workdays")),
        )
        threshold = float(anomalies.get("zscore_threshold", 3.5))
        min_months = int(anomalies.get("zscore_min_months", 4))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not 1 <= due_rule.day <= 31:
        raise ConfigError(f"{where} [due]: day must be 1..31")
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
        topics=topics,
        tasks=tasks,
        roster_path=resolved["roster"],
        ledger_path=resolved["ledger"],
        inbox=resolved["inbox"],
        outbox=resolved["outbox"],
        templates_dir=resolved["templates"],
        anomalies=AnomalyConfig(threshold, min_months),
        limits=limits,
        mail=load_mail(data, base, where),
        imap=load_imap(data, base, where),
    )
