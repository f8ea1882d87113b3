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
        ({"max_size": 3}, "c.toml：[limits] 中的“max_size”不是可用的设置项。可用的有：max_cells、"),
        ({"max_ratio": 0}, "[limits]：max_ratio 须为大于0的数，现为 0"),
        ({"max_cells": -5}, "max_cells 须为大于0的数，现为 -5"),
        ({"max_file_mb": "20"}, 'max_file_mb 须为大于0的数，现为 "20"'),
        ({"max_members": True}, "max_members 须为大于0的数，现为 true"),
    ],
)
def test_bad_limits_are_refused_with_the_key_named(table: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Limits.from_table(table, "c.toml")
