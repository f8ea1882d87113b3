"""Reading a TOML file a person edits (a campaign file, a form definition).

Its failures are the clerk's or the IT helper's to fix, so each is said in Chinese with
the file, the line and the column, and tomllib's own words after them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, os_failure

_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def read(path: Path, what: str = "配置文件") -> tuple[dict[str, Any], str]:
    """The file's tables and its text (for line numbers in later messages); ``what``
    names the kind of file in messages (配置文件, 报表定义文件)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到{what} {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}：不是 UTF-8 文本，请用记事本等另存为 UTF-8 编码（{exc}）"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"无法读取{what} {path}：{os_failure(exc)}") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(syntax_error(path, exc)) from exc


def syntax_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """Where the TOML is broken, and the mistakes people usually make there."""
    at = _AT.search(str(exc))
    place = f"第{at.group(1)}行第{at.group(2)}列" if at else ""
    return (
        f"{path}：{place}格式有误，无法读取（常见原因：文字未用英文双引号括起、"
        f"用了中文引号或标点、[表名] 的方括号不成对、同一个键或表写了两次）（{exc}）"
    )
