"""The jinja2 environment of a set of shipped texts that a bureau may override.

The mail, the briefing and the report page are written from templates shipped in
``pipeline/templates/<set>/``; a bureau changes a text by putting a template of the same
name in its own folder (``[mail] templates``, ``[report] templates``), which is searched
first. Undefined names are errors, so a bureau's typo stops the run with its name
instead of printing an empty figure.
"""

from __future__ import annotations

from pathlib import Path

import jinja2


def overridable(shipped: str, folder: Path | None, *, autoescape: bool) -> jinja2.Environment:
    """Templates of ``pipeline/templates/<shipped>``, ``folder``'s first when given;
    ``autoescape`` for HTML, off for plain text and documents."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("pipeline", f"templates/{shipped}")]
    if folder is not None:
        loaders.insert(0, jinja2.FileSystemLoader(folder))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=autoescape,
    )
