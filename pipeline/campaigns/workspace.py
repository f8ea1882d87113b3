"""A workspace: the campaigns a bureau runs at once, sharing one roster, one inbox, one
outbox and one ledger.

Institutions send every return to the same mailbox, whatever campaign it belongs to; a
returned form says its campaign in its hidden metadata, so the run routes each file to
its campaign. Each campaign keeps its own reporting period and due rule; its outputs go
to ``outbox/<campaign code>/<period>/`` and its templates to ``form_templates/<code>/``.

The workspace file names the campaign files and the paths they share, and may hold the
tables every campaign shares ([bureau], [mail], [smtp], [imap], [limits],
[anomalies]); a campaign's own table wins. A campaign file given alone is a workspace of
one campaign, laid out as before (``outbox/<period>/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.campaigns.campaign import (
    SHARED,
    SHARED_KEYS,
    Campaign,
    campaign_from,
    read_toml,
)
from pipeline.config import keys
from pipeline.config.roster import Roster
from pipeline.errors import ConfigError

WORKSPACE_KEYS = ("workspace", "paths", "campaigns", *SHARED)
PATH_KEYS = ("roster", "ledger", "inbox", "outbox", "templates")


@dataclass(frozen=True)
class Workspace:
    path: Path
    name: str
    campaigns: tuple[Campaign, ...]
    roster_path: Path
    ledger_path: Path
    inbox: Path
    outbox: Path
    templates_dir: Path
    single: bool = False  # a campaign file alone: its own layout of folders

    def campaign(self, code: str) -> Campaign:
        for c in self.campaigns:
            if c.code == code:
                return c
        known = "、".join(f"{c.code}（{c.name}）" for c in self.campaigns)
        raise ConfigError(f"工作区中没有代码为“{code}”的工作；有：{known} / no campaign {code!r}")

    def roster(self) -> Roster:
        return self.campaigns[0].roster()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.campaigns)


def load_workspace(path: Path, overrides: dict[str, Path] | None = None) -> Workspace:
    """A workspace file, or a single campaign file as a workspace of one."""
    path = path.resolve()
    data, text = read_toml(path)
    if "workspace" not in data and "campaigns" not in data:
        campaign = campaign_from(path, data, text, overrides)
        return Workspace(
            path=path,
            name=campaign.name,
            campaigns=(campaign,),
            roster_path=campaign.roster_path,
            ledger_path=campaign.ledger_path,
            inbox=campaign.inbox,
            outbox=campaign.outbox,
            templates_dir=campaign.templates_dir,
            single=True,
        )
    keys.check(data, WORKSPACE_KEYS, path, text)
    head = _table(data, "workspace", path)
    keys.check(head, ("name",), path, text, "workspace")
    paths = _table(data, "paths", path)
    keys.check(paths, PATH_KEYS, path, text, "paths")
    base = path.parent
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
    entries = data.get("campaigns", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{path}：[[campaigns]] 中至少列出一个工作文件（file = ...） / no campaigns"
        )
    shared = {name: data[name] for name in SHARED if name in data}
    for name, known in SHARED_KEYS.items():  # here, so that a typo names this file
        keys.check(_table(data, name, path), known, path, text, name)
    campaigns = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ConfigError(
                f'{path}：第{i}个 [[campaigns]] 缺少 file = "工作文件.toml" / campaign {i}: no file'
            )
        keys.check(entry, ("file",), path, text, "campaigns")
        file = (base / entry["file"]).resolve()
        cdata, ctext = read_toml(file)
        code = str(cdata.get("campaign", {}).get("code", ""))
        own = {
            "roster": resolved["roster"],
            "ledger": resolved["ledger"],
            "inbox": resolved["inbox"],
            "outbox": resolved["outbox"] / code,
            "templates": resolved["templates"] / code,
        }
        campaigns.append(campaign_from(file, cdata, ctext, own, shared))
    codes = [c.code for c in campaigns]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{path}：工作代码重复 {codes} / campaign codes repeat")
    forms = [spec.id for c in campaigns for spec in c.forms]
    repeated = sorted({f for f in forms if forms.count(f) > 1})
    if repeated:
        raise ConfigError(
            f"{path}：不同工作使用了同一张表 {repeated}，请为各工作的表定义不同的 id"
            f" / form ids repeat across campaigns: {repeated}"
        )
    return Workspace(
        path=path,
        name=str(head.get("name", path.stem)),
        campaigns=tuple(campaigns),
        roster_path=resolved["roster"],
        ledger_path=resolved["ledger"],
        inbox=resolved["inbox"],
        outbox=resolved["outbox"],
        templates_dir=resolved["templates"],
    )


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}：[{name}] 应为一个表 / [{name}] must be a table")
    return value
