"""The registry of form kinds, and loading a definition through its kind.

Every stage of the pipeline asks a form's kind (``kind_of(spec)``) instead of branching
on it; a new kind is its own module (see :mod:`pipeline.forms.kinds.base`) and one line
in :data:`KINDS`.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ConfigError
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
        raise ConfigError(f"{where}: kind must be one of {', '.join(sorted(KINDS))}, not {kind!r}")
    try:
        return KINDS[kind].load(data, where)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def load_forms(names: list[str], schemas_dir: Path = SCHEMAS_DIR) -> list[FormSpec]:
    return [load_form(schemas_dir / f"{name}.toml") for name in names]


def build_layout(spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
    """The layout of ``spec``'s sheet with ``rows`` (see :meth:`FormKind.layout`)."""
    return kind_of(spec).layout(spec, rows, content)
