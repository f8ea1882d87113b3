"""How much of a returned file the pipeline is willing to read.

A return made from our template is a few tens of kilobytes. Anything far beyond these
limits is refused with a finding before it can exhaust memory or time; the defaults
leave room for an aggregated return one level up (a district's 汇总表) and can be changed
in the campaign file's ``[limits]`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pipeline.errors import ConfigError, shown

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 20  # the file as received
    max_unpacked_mb: float = 100  # all members of the archive, as declared
    max_ratio: float = 100  # declared unpacked size / packed size, whole archive
    max_part_mb: float = 25  # one XML part, as actually inflated while reading
    max_members: int = 1000  # entries in the archive
    max_cells: int = 200_000  # cells in the rows read from one sheet
    max_text_chars: int = 32_767  # one cell's text (Excel's own limit)

    @property
    def file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * MB)

    @property
    def part_bytes(self) -> int:
        return int(self.max_part_mb * MB)

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> Limits:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}：[limits] 中的“{'”“'.join(unknown)}”不是可用的设置项。"
                f"可用的有：{'、'.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{where} [limits]：{key} 须为大于0的数，现为 {shown(value)}")
            values[key] = int(value) if known[key] == "int" else float(value)
        return cls(**values)


DEFAULT_LIMITS = Limits()
LIMIT_KEYS = tuple(f.name for f in fields(Limits))
