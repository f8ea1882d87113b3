"""``[report]`` of a campaign (or workspace) file: the bureau's own templates for the
briefing (情况通报) and the report page, searched before the shipped ones in
``pipeline/templates/report/`` — as ``[mail] templates`` is for the mail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

REPORT_KEYS = ("templates",)


@dataclass(frozen=True)
class ReportConfig:
    templates: Path | None = None


def load_report(data: dict[str, Any], base: Path, where: str) -> ReportConfig:
    """``[report]`` of a parsed campaign file; the folder relative to ``base``."""
    table = data.get("report", {})
    w = f"{where} [report]"
    if not isinstance(table, dict):
        raise ConfigError(f"{w}：须为一个表（以 [report] 开头、下面写 键 = 值）")
    unknown = sorted(set(table) - set(REPORT_KEYS))
    if unknown:  # the campaign file's key check names the line; this is for a bare table
        raise ConfigError(
            f"{w}：不可用的设置项 {'、'.join(unknown)}（可用的有：{'、'.join(REPORT_KEYS)}）"
        )
    folder = table.get("templates")
    if not folder:
        return ReportConfig()
    if not isinstance(folder, str):
        raise ConfigError(f'{w}：templates 须为文件夹名，例如 templates = "通报模板"')
    path = (base / folder).resolve()
    if not path.is_dir():
        raise ConfigError(f"{w}：找不到 templates 所指的文件夹 {path}")
    return ReportConfig(templates=path)
