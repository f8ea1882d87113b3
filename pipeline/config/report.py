"""``[report]`` of a campaign (or workspace) file: the bureau's own templates for the
briefing (情况通报) and the report page, searched before the shipped ones in
``pipeline/templates/report/`` — as ``[mail] templates`` is for the mail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

KEYS = ("templates",)


@dataclass(frozen=True)
class ReportConfig:
    templates: Path | None = None


def load_report(data: dict[str, Any], base: Path, where: str) -> ReportConfig:
    """``[report]`` of a parsed campaign file; the folder relative to ``base``."""
    table = data.get("report", {})
    w = f"{where} [report]"
    if not isinstance(table, dict):
        raise ConfigError(f"{w}: must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{w}: unknown keys {unknown} (known: {', '.join(KEYS)})")
    folder = table.get("templates")
    if not folder:
        return ReportConfig()
    if not isinstance(folder, str):
        raise ConfigError(f'{w}: templates must be a folder name, e.g. templates = "通报模板"')
    path = (base / folder).resolve()
    if not path.is_dir():
        raise ConfigError(f"{w}：找不到通报模板文件夹 {path} / templates folder not found: {path}")
    return ReportConfig(templates=path)
