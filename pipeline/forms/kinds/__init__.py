"""The registry of form kinds, and loading a definition through its kind.

Every stage of the pipeline asks a form's kind (``kind_of(spec)``) instead of branching
on it; a new kind is its own module (see :mod:`pipeline.forms.kinds.base`) and one line
in :data:`KINDS`.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ConfigError, shown
from pipeline.forms.kinds.base import FormKind
from pipeline.forms.kinds.grid import GridKind
from pipeline.forms.kinds.register import RegisterKind
from pipeline.forms.kinds.tasklist import ListKind
from pipeline.forms.layout import Layout
from pipeline.forms.rows import Row
from pipeline.forms.spec import SCHEMAS_DIR, FormSpec, read_definition

KINDS: dict[str, FormKind] = {kind.name: kind for kind in (GridKind(), ListKind(), RegisterKind())}


def kind_of(spec: FormSpec) -> FormKind:
    return KINDS[spec.kind]


def load_form(path: Path) -> FormSpec:
    """Read one form definition; errors name the file and what was expected."""
    data = read_definition(path)
    where = str(path)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}：kind 须为 {'、'.join(sorted(KINDS))} 之一，现为 {shown(kind)}")
    try:
        return KINDS[kind].load(data, where)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}：有键的值类型不对（如应为数字处写了文字，数字不加引号）：{exc}"
        ) from exc


def load_forms(names: list[str], schemas_dir: Path = SCHEMAS_DIR) -> list[FormSpec]:
    """The forms a campaign names (``[campaign] forms``), each from its definition file."""
    for name in names:
        path = schemas_dir / f"{name}.toml"
        if not path.is_file():
            known = "、".join(sorted(p.stem for p in schemas_dir.glob("*.toml"))) or "无"
            raise ConfigError(
                f"找不到报表定义文件 {path}：[campaign] forms 中的“{name}”不是 {schemas_dir} "
                f"中的报表；可用的有：{known}"
            )
    return [load_form(schemas_dir / f"{name}.toml") for name in names]


def build_layout(spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
    """The layout of ``spec``'s sheet with ``rows`` (see :meth:`FormKind.layout`)."""
    return kind_of(spec).layout(spec, rows, content)
