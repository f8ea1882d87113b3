"""The aggregated list's own layout: a row for every institution under each task.

A template has one row per task. Merging every institution's progress into that row's
cell cut most of them (51 institutions wrote 2,232 characters into one cell; a row stops
at 409 points). The aggregated list gives each task a *block*: the task's own cells
(序号, 任务事项, 主要内容, …) merged down over one row per institution, each row holding
that institution's 工作进展/成果形式/备注 and its name in an extra last column (the
definition's ``reporter_label``, 填报单位), so the annex's columns keep their letters.
A text too long for one row goes on in the rows below it, its name left blank.

Tasks institutions added go under the task group they name (filling note 4: 归类填写):
after the group's own tasks, before the next group; those naming no group come last.

The block sizes are the aggregated return's *shape*, declared in its metadata
(``form.<id>.variant``), so the level above builds the same layout and checks every
label in place, as for a template: the header row, and each task's 主要内容 at the
first row of its block. The text is ``1.1=3;1.2=3;+=1;2.1=3;…;+=0;*=2``: each task's
rows, the added rows of the group just closed (``+``), the unclaimed added rows (``*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.rows import Row

GROUP_ADDED = "+"
UNCLAIMED = "*"
UNIT = "__unit"  # the field of a row's 填报单位 in records read from an aggregated list
MAX_ROWS = 100_000  # rows an aggregated list may declare (a unit per row and task)


@dataclass(frozen=True)
class Slot:
    """One row of an aggregated list."""

    row: int
    task: str  # the pre-filled row's key; "" for an added task
    group: str  # key of the row that opens the group; "" for an unclaimed added task
    index: int  # 1-based, within the task's block or the group's added rows

    @property
    def key(self) -> str:
        """The row key its records are kept under (unique within a return)."""
        if self.task:
            return f"{self.task}#{self.index}"
        return (
            f"{GROUP_ADDED}{self.group}#{self.index}" if self.group else f"{UNCLAIMED}#{self.index}"
        )


def groups(spec: ListSpec, rows: tuple[Row, ...]) -> list[tuple[Row, list[Row]]]:
    """Each group's opening row and its tasks, in order."""
    out: list[tuple[Row, list[Row]]] = []
    for r in rows:
        if spec.opens_group(r) or not out:
            out.append((r, []))
        out[-1][1].append(r)
    return out


@dataclass(frozen=True)
class Shape:
    """How many rows each part of an aggregated list takes, in sheet order."""

    parts: tuple[tuple[str, int], ...]

    @property
    def text(self) -> str:
        return ";".join(f"{key}={n}" for key, n in self.parts)

    @classmethod
    def parse(cls, text: str, spec: ListSpec, rows: tuple[Row, ...]) -> Shape:
        """The shape a return declares; ValueError unless it is one for these rows."""
        parts = []
        for item in text.split(";"):
            key, sep, count = item.partition("=")
            if not sep or not count.isdigit():
                raise ValueError(item)
            parts.append((key, int(count)))
        shape = cls(tuple(parts))
        want = [k for k, _ in cls.expected(spec, rows)]
        if [k for k, _ in parts] != want or sum(n for _, n in parts) > MAX_ROWS:
            raise ValueError(text)
        if any(n < 1 for k, n in parts if k not in (GROUP_ADDED, UNCLAIMED)):
            raise ValueError(text)
        return shape

    @staticmethod
    def expected(spec: ListSpec, rows: tuple[Row, ...]) -> list[tuple[str, int]]:
        """The parts of the shape, each at its smallest."""
        out = []
        for _, tasks in groups(spec, rows):
            out += [(t.key, 1) for t in tasks]
            out.append((GROUP_ADDED, 0))
        out.append((UNCLAIMED, 0))
        return out

    def slots(self, spec: ListSpec, rows: tuple[Row, ...], first_row: int) -> Iterator[Slot]:
        opener = {t.key: g.key for g, tasks in groups(spec, rows) for t in tasks}
        r, group = first_row, ""
        for key, n in self.parts:
            for i in range(1, n + 1):
                if key == GROUP_ADDED:
                    yield Slot(r, "", group, i)
                elif key == UNCLAIMED:
                    yield Slot(r, "", "", i)
                else:
                    yield Slot(r, key, opener[key], i)
                r += 1
            if key not in (GROUP_ADDED, UNCLAIMED):
                group = opener[key]
