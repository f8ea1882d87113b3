"""Typos in a configuration file are errors, not silent defaults.

``zscore_treshold``, ``roll_to_workingday``, ``dya = 5`` or a table ``[anomaly]`` would
otherwise run with the defaults and nobody would know. Every table and key is checked
against the ones the program reads; an unknown one names the file, its line and the
nearest valid name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError


def check(
    table: Mapping[str, Any],
    known: Iterable[str],
    path: Path,
    text: str,
    section: str = "",
) -> None:
    """Refuse a key of ``table`` (the top level when ``section`` is "") not in ``known``."""
    allowed = set(known)
    for key in table:
        if key in allowed:
            continue
        near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
        hint = f"，是不是“{near[0]}”？" if near else f"。可用的有：{'、'.join(sorted(allowed))}"
        what = f"[{section}] 中的“{key}”" if section else f"“{key}”"
        line = line_of(text, key, section)
        at = f"第{line}行" if line else ""
        raise ConfigError(
            f"{path}：{at}{what}不是可用的设置项{hint}"
            f" / {path}: line {line or '?'}: unknown key {key!r}"
            + (f" in [{section}]" if section else "")
            + (f" (did you mean {near[0]!r}?)" if near else "")
        )


def line_of(text: str, key: str, section: str = "") -> int:
    """The line (1-based) where ``key`` is set (or opened as a table), 0 if not found."""
    lines = text.splitlines()
    start = 0
    if section:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}\s*\]\]?\s*(#.*)?$")
        start = next((i + 1 for i, line in enumerate(lines) if header.match(line)), 0)
    quoted = rf'(?:{re.escape(key)}|"{re.escape(key)}")'
    setting = re.compile(rf"^\s*{quoted}\s*=")
    table = re.compile(rf"^\s*\[\[?\s*{quoted}(\s*\]|\.)")
    for i in range(start, len(lines)):
        line = lines[i]
        if section and i > start and re.match(r"^\s*\[", line):
            break
        if setting.match(line) or (not section and table.match(line)):
            return i + 1
    return 0
