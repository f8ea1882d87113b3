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
        raise InputError(
            f"{campaign.name}（{campaign.code}）没有附件2这类按专题填数的报表（grid），"
            "无需导入基线；请用 --campaign 选择要导入基线的工作"
        )
    spec = grids[0]
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{path}：文件是空的")
    header = [h.strip() for h in rows[0]]
    for required in ("机构代码", "截至月份", "专题专项"):
        if required not in header:
            raise InputError(
                f"{path}：第1行（表头）缺少列 {required}；应有机构代码、截至月份、专题专项和各项数字列"
            )
    names = {}
    for m in spec.measures:
        if m.kind == "rate":
            continue
        for alias in (m.label, m.key, m.short_label, "".join(m.header)):
            names[alias] = m.key
    measure_cols = {i: names[h] for i, h in enumerate(header) if h in names}
    if not measure_cols:
        raise InputError(
            f"{path}：第1行（表头）中没有{spec.annex}的数字列；列名应为完整的表头，"
            "如 排查整治隐患/一般隐患/排查"
        )
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
            raise InputError(f"{path}：第{line}行：机构代码“{code}”不在名册中")
        fills = {m.key for m in spec.inputs_for(inst.role)}
        try:
            through = Period.parse(cells[col["截至月份"]])
        except ConfigError as exc:
            raise InputError(f"{path}：第{line}行：截至月份 {exc}") from exc
        first = through_of.setdefault(code, (str(through), line))
        if first[0] != str(through):
            raise InputError(
                f"{path}：第{line}行：截至月份 {through} 与第{first[1]}行的 {first[0]} 不同；"
                "同一单位的基线须截至同一个月"
            )
        topic = topics.get(cells[col["专题专项"]].strip())
        if topic is None:
            raise InputError(
                f"{path}：第{line}行：专题专项“{cells[col['专题专项']]}”不是本工作的专题"
                f"（{'、'.join(t.label for t in topic_rows)}）"
            )
        for i, key in measure_cols.items():
            norm = normalise_number(cells[i])
            if norm.error or (norm.value is not None and (norm.value < 0 or norm.value % 1)):
                raise InputError(f"{path}：第{line}行：{header[i]}“{cells[i]}”不是非负整数")
            if norm.value is None:
                continue
            m = spec.measure(key)
            if norm.value and not (key in fills or (m.terms and set(m.terms) <= fills)):
                raise InputError(
                    f"{path}：第{line}行：{header[i]}：{inst.name}不填报这一列，请留空"
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
