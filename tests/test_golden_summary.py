"""The aggregated workbook's layout, frozen in tests/golden/summary_layout.json.

Not the numbers (tests/test_end_to_end.py checks those) but everything a reader of the
annex sees around them: sheet names, order and visibility; for 附件1 and 附件2 the merged
ranges, every text cell (title, 填报单位, 报告期, headers, units, row labels, footer,
notes), column widths, the number format of rate cells, freeze panes, print titles, and
the font and fill of a few cells. The texts institutions typed into 附件1 are replaced by
a placeholder: they are data.

The golden file was checked by hand against the annex of seed 002 (titles, header texts,
units, row labels, footer, notes). After an intended layout change, rewrite it with
``UPDATE_GOLDEN=1 pytest tests/test_golden_summary.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from e2e_support import campaign_in, due_moment, run_cli, set_received
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return, random_month
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.tasklist.shape import UNIT
from pipeline.forms.layout import Declared

GOLDEN = Path(__file__).resolve().parent / "golden" / "summary_layout.json"
PERIOD = Period(2026, 7)
DATA = "<填报内容>"
STYLED = {  # cells whose font and fill are part of the look of the annex
    "附件1": ("A1", "A2", "A3", "G3", "B4", "G4"),
    "附件2": ("A1", "A2", "A3", "B3", "F4", "B6", "A7", "A12", "A13", "G7", "I7", "I12"),
}


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, set[str]]]:
    """A deterministic run (fixed seed, texts, mtimes) and the data cells of 附件1."""
    base = tmp_path_factory.mktemp("golden")
    campaign = campaign_in(base)
    inbox = base / "inbox"
    rng = random.Random(20210701)
    received = due_moment(campaign, PERIOD, days=-1)
    for inst in campaign.roster():
        grid = random_month(campaign, inst, PERIOD, rng).grid
        texts = {
            spec.id: {
                t.key: {"progress": f"{inst.code}第{n}项进展", "outcome": "工作记录"}
                for n, t in enumerate(campaign.rows_for(campaign.form("fujian1")), start=1)
            }
            for spec in [campaign.form("fujian1")]
        }
        path = fill_return(campaign, inst, PERIOD, inbox, MonthData(grid=grid, texts=texts))
        set_received(path, received)
    run_cli(str(PERIOD), inbox=inbox, outbox=base / "outbox", ledger=base / "ledger.sqlite")
    path = base / "outbox" / str(PERIOD) / f"汇总表_{PERIOD}.xlsx"
    data_cells: dict[str, set[str]] = {}
    for spec in [campaign.form("fujian1")]:
        # The aggregated list as its metadata declares it: a row per task and institution.
        wb = load_workbook(path)
        meta = {k.value: v.value for k, v in wb["_meta"].iter_rows(min_col=1, max_col=2)}
        wb.close()
        variant = Declared(meta[f"form.{spec.id}.variant"])
        lay = build_layout(spec, campaign.rows_for(spec), variant)
        data_cells[spec.sheet] = {
            f"{get_column_letter(lay.col_of[key])}{r}"
            for key in [*(f.key for f in spec.inputs), UNIT]
            for r in range(lay.first_data_row, lay.last_data_row + 1)
        }
    return path, data_cells


def _widths(ws: Worksheet) -> dict[str, float]:
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.customWidth and dim.min and dim.max:
            for c in range(dim.min, dim.max + 1):
                out[get_column_letter(c)] = dim.width
    return dict(sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0])))


def _look(ws: Worksheet, coord: str) -> dict[str, object]:
    cell = ws[coord]
    fill = cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type == "solid" else None
    return {
        "bold": bool(cell.font.bold),
        "size": cell.font.sz,
        "font": cell.font.name,
        "fill": fill,
        "wrap": bool(cell.alignment.wrap_text),
        "horizontal": cell.alignment.horizontal,
    }


def layout_of(path: Path, data_cells: dict[str, set[str]]) -> dict[str, object]:
    wb = load_workbook(path)
    try:
        out: dict[str, object] = {
            "sheets": [[ws.title, ws.sheet_state] for ws in wb.worksheets],
            "active": wb.active.title,
        }
        for name in ("附件1", "附件2"):
            ws = wb[name]
            texts = {}
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value:
                        texts[c.coordinate] = (
                            DATA if c.coordinate in data_cells.get(name, ()) else c.value
                        )
            sheet: dict[str, object] = {
                "merged": sorted(str(r) for r in ws.merged_cells.ranges),
                "texts": texts,
                "column_widths": _widths(ws),
                "freeze_panes": ws.freeze_panes,
                "print_title_rows": ws.print_title_rows,
                "orientation": ws.page_setup.orientation,
                "styles": {coord: _look(ws, coord) for coord in STYLED[name]},
            }
            if name == "附件2":
                rate_cols = [
                    c
                    for c in range(1, ws.max_column + 1)
                    if any(str(ws.cell(r, c).value or "").startswith("（%") for r in range(3, 7))
                ]
                sheet["rate_number_formats"] = {
                    ws.cell(r, c).coordinate: ws.cell(r, c).number_format
                    for c in rate_cols
                    for r in range(7, 14)
                }
            out[name] = sheet
        return out
    finally:
        wb.close()


def _diff(a: object, b: object, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{where}/{k}: {'missing' if k not in a else 'unexpected'}")
            else:
                out.extend(_diff(a[k], b[k], f"{where}/{k}"))
        return out
    return [] if a == b else [f"{where}: expected {b!r}, got {a!r}"]


def test_summary_layout_matches_golden(summary: tuple[Path, dict[str, set[str]]]) -> None:
    actual = json.loads(json.dumps(layout_of(*summary), ensure_ascii=False))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert GOLDEN.exists(), f"{GOLDEN} missing: run with UPDATE_GOLDEN=1 to create it"
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    differences = _diff(actual, golden)
    assert not differences, "layout differs from the golden file:\n" + "\n".join(differences[:40])


def test_golden_holds_the_annex() -> None:
    """A few facts of seed 002's 附件2 stated outright, so a careless rewrite shows."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    annex = golden["附件2"]
    texts = annex["texts"]
    assert texts["A1"] == "安全生产专项整治三年行动工作进展情况"
    assert texts["A2"] == "填报单位：示例区卫生健康局"
    assert texts["A3"] == "专题专项"
    assert texts["B3"] == "发现突出问题（卫生健康行政部门层面）"
    assert [texts[c] for c in ("F3", "M3", "Q3")] == ["排查整治隐患", "开展督导检查", "约谈警示"]
    assert [texts[f"{c}6"] for c in "BCDEFGHIJKLMNOPQ"] == [
        *["（项）"] * 4,
        *["（处）"] * 3,
        "（%）",
        *["（处）"] * 2,
        "（%）",
        "（个）",
        "（次）",
        "（家）",
        "（个）",
        "（家）",
    ]
    assert [texts[f"A{r}"] for r in range(7, 14)] == [
        "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题",
        "2.落实企业安全生产主体责任专题",
        "3.危险化学品安全整治",
        "4.治安消防安全整治",
        "5.后勤安全整治",
        "当月累计",
        "累计总计",
    ]
    assert "审核人：" in texts.values() and "填表人：" in texts.values()
    assert set(annex["rate_number_formats"].values()) == {"0.0"}
    assert [s for s, _ in golden["sheets"]] == ["填报说明", "附件1", "附件2", "_meta"]
