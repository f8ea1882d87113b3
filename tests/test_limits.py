"""The campaign file's [limits] table (pipeline/config/limits.py)."""

from __future__ import annotations

import pytest

from pipeline.config.limits import MB, Limits
from pipeline.errors import ConfigError


def test_defaults_and_overrides() -> None:
    limits = Limits.from_table({"max_part_mb": 1.5, "max_cells": 1000}, "c.toml")
    assert limits.part_bytes == int(1.5 * MB)
    assert limits.max_cells == 1000 and isinstance(limits.max_cells, int)
    assert limits.file_bytes == Limits().file_bytes == 20 * MB


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"max_size": 3}, "unknown keys ['max_size']"),
        ({"max_ratio": 0}, "max_ratio must be a positive number"),
        ({"max_cells": -5}, "max_cells must be a positive number"),
        ({"max_file_mb": "20"}, "max_file_mb must be a positive number"),
        ({"max_members": True}, "max_members must be a positive number"),
    ],
)
def test_bad_limits_are_refused_with_the_key_named(table: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Limits.from_table(table, "c.toml")
