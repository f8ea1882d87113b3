"""Baseline import: a grid's cumulative figures through a month, for a district adopting
the tool mid-campaign, so that 累计总计 is right from the first run.

One row per institution and topic: 机构代码, 截至月份 (YYYY-MM), 专题专项 (the row label
or its key), then one column per count named by its full header (排查整治隐患/一般隐患/排查),
its key (general_found) or its short name (一般隐患排查). Sum columns may be given too and
are checked against their terms in the anomaly list; rates are always recomputed.
Importing again replaces an institution's earlier baseline.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import _rows_from_csv, _rows_from_xlsx
from pipeline.errors import ConfigError, InputError, RosterError
from pipeline.forms.cells import column_letter
from pipeline.forms.kinds.grid.spec import GridSpec
from pipeline.forms.values import normalise_number
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger


def _read_rows(path: Path) -> list[list[str]]:
    try:
        if path.suffix.lower() == ".csv":
            return _rows_from_csv(path)
        return _rows_from_xlsx(path)
    except RosterError as exc:
        raise InputError(str(exc)) from exc


def import_baseline(campaign: Campaign, path: Path) -> tuple[int, int]:
    """Store the file's figures in the ledger; returns (values, institutions)."""
    grids = [s for s in campaign.forms if isinstance(s, GridSpec)]
    if not grids:
        raise InputError("the campaign has no grid form to take a baseline for")
    spec = grids[0]
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    for required in ("机构代码", "截至月份", "专题专项"):
        if required not in header:
            raise InputError(f"{path}: line 1: missing column {required}")
    names = {}
    for m in spec.measures:
        if m.kind == "rate":
            continue
        for alias in (m.label, m.key, m.short_label, "".join(m.header)):
            names[alias] = m.key
    measure_cols = {i: names[h] for i, h in enumerate(header) if h in names}
    if not measure_cols:
        raise InputError(f"{path}: line 1: no column names a count of {spec.annex}")
    roster = campaign.roster()
    topic_rows = campaign.rows_for(spec)
    topics = {t.label: t.key for t in topic_rows} | {t.key: t.key for t in topic_rows}
    for t in topic_rows:
        topics.update({a: t.key for a in t.aliases})
    col = {h: i for i, h in enumerate(header)}
    out = []
    through_of: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        code = cells[col["机构代码"]].strip()
        inst = roster.get(code)
        if inst is None:
            raise InputError(f"{path}: line {line}: 机构代码 {code!r} is not in the roster")
        fills = {m.key for m in spec.inputs_for(inst.role)}
        try:
            through = Period.parse(cells[col["截至月份"]])
        except ConfigError as exc:
            raise InputError(f"{path}: line {line}: 截至月份: {exc}") from exc
        first = through_of.setdefault(code, (str(through), line))
        if first[0] != str(through):
            raise InputError(
                f"{path}: line {line}: 截至月份 {through} differs from {first[0]} on line "
                f"{first[1]}; one institution's baseline must end in one month"
            )
        topic = topics.get(cells[col["专题专项"]].strip())
        if topic is None:
            raise InputError(f"{path}: line {line}: unknown 专题专项 {cells[col['专题专项']]!r}")
        for i, key in measure_cols.items():
            norm = normalise_number(cells[i])
            if norm.error or (norm.value is not None and (norm.value < 0 or norm.value % 1)):
                raise InputError(
                    f"{path}: line {line}: {header[i]}: not a whole number: {cells[i]!r}"
                )
            if norm.value is None:
                continue
            m = spec.measure(key)
            if norm.value and not (key in fills or (m.terms and set(m.terms) <= fills)):
                raise InputError(
                    f"{path}: line {line}: {header[i]}: {inst.name} does not report this column"
                )
            out.append(
                (
                    code,
                    str(through),
                    spec.id,
                    topic,
                    key,
                    norm.value,
                    path.name,
                    f"{column_letter(i + 1)}{line}",
                )
            )
    with run_lock(campaign.ledger_path, wait=60.0):
        ledger = Ledger(campaign.ledger_path, campaign.code)
        try:
            count = ledger.replace_baseline(out)
        finally:
            ledger.close()
    return count, len({r[0] for r in out})
