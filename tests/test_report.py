"""What the leaders read: the briefing draft (情况通报_<period>.docx) and the report page
(报告_<period>.html), checked as a reader would.

One run of two months of the work-safety campaign (a grid, a list and two registers),
shared by the module: the charts and the document's structure are checked directly;
the page is opened in headless Chromium (console, resources, charts and their figures,
a screenshot and a PDF print); the briefing is converted to PDF by LibreOffice and its
text read back; the figures in both are those of 汇总表; a bureau's own template
replaces a paragraph.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Pt
from e2e_support import (
    SHIPPED,
    campaign_in,
    docx_text,
    example_workspace,
    grid_layout,
    set_received,
)
from openpyxl import load_workbook
from support.chromium import Browser, ready, unavailable_reason
from support.libreoffice import convert, writer_path
from support.libreoffice import unavailable_reason as lo_reason

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.distribute.templates import Prefills
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.ledger.store import Ledger
from pipeline.report import briefing, digest, page
from pipeline.report.charts import Chart, Series, draw
from pipeline.report.raster import paint
from pipeline.report.svg import svg
from pipeline.run import run_period

JUL, AUG = Period(2026, 7), Period(2026, 8)
REPORTERS = ("QW001", "QW002", "QW003", "QW004", "QW005", "QW006")  # the rest missing
LATE = "QW006"  # reports August four days late
FIGURE = re.compile(r"(一般隐患排查|重大隐患排查|排查隐患总数)(\d+)处")


@dataclass
class Run:
    campaign: Campaign
    out: Path  # August's folder

    def summary(self, row: str, measure: str) -> object:
        wb = load_workbook(self.out / f"汇总表_{AUG}.xlsx", data_only=True)
        try:
            return wb["附件2"][grid_layout(self.campaign).cell(row, measure)].value
        finally:
            wb.close()


def _put(
    campaign: Campaign, code: str, period: Period, when: dt.datetime, prefills: Prefills
) -> None:
    inst = campaign.roster().get(code)
    assert inst is not None
    scratch = campaign.inbox.parent / "scratch"
    data = random_month(campaign, inst, period, random.Random(f"{code}{period}"))
    made = fill_return(campaign, inst, period, scratch, data, prefills=prefills)
    path = campaign.inbox / f"{period}_{code}.xlsx"
    shutil.move(made, path)
    set_received(path, when)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("report")
    campaign = campaign_in(base, SHIPPED)  # the annexes and the two registers
    campaign.inbox.mkdir(parents=True)
    (campaign.inbox.parent / "scratch").mkdir()
    for period in (JUL, AUG):
        due = campaign.due.due_date(period)[0]
        ledger = Ledger(campaign.ledger_path, campaign.code)
        try:  # each form as the month's template has it: last month's open items in
            prefills = Prefills(campaign, period, ledger)
            for i, code in enumerate(REPORTERS):
                late = 4 if (code == LATE and period == AUG) else -1
                when = dt.datetime.combine(due + dt.timedelta(days=late), dt.time(9, i))
                _put(campaign, code, period, when, prefills)
        finally:
            ledger.close()
        run_period(campaign, period)
    return Run(campaign, campaign.outbox / str(AUG))


# -- the charts ------------------------------------------------------------------------
TREND = Chart(
    "t",
    "一般隐患：各期排查、已整改与整改率",
    "columns",
    ("2026-07", "2026-08"),
    (Series("排查", (12.0, 7.0)), Series("已整改", (9.0, 7.0))),
    line=Series("整改率", (75.0, 100.0)),
)


def test_svg_chart_is_text_and_shapes_only() -> None:
    out = svg(TREND)
    assert out.startswith("<svg") and out.endswith("</svg>")
    assert "<title>一般隐患：各期排查、已整改与整改率</title>" in out
    for words in ("排查", "已整改", "整改率", "2026-07", "2026-08"):
        assert f">{words}</text>" in out
    assert TREND.figures() == ["12", "9", "7", "7", "75.0%", "100.0%"]
    for figure in TREND.figures():
        assert f'class="figure">{figure}</text>' in out
    assert not re.search(r"href|url\(|<image|<script|@import", out)


def test_empty_charts_draw() -> None:
    """A campaign's first day: nothing reported, every chart still draws."""
    for kind in ("columns", "bars", "stacked"):
        chart = Chart("e", "空", kind, (), ())  # type: ignore[arg-type]
        assert svg(chart).endswith("</svg>")
        assert paint(draw(chart), None).png.startswith(b"\x89PNG")


def test_png_without_a_chinese_font_keys_its_labels() -> None:
    painted = paint(draw(TREND), None)
    assert painted.png.startswith(b"\x89PNG")
    assert dict(painted.keys).get("[1]") == "排查"
    assert {"已整改", "整改率"} <= {text for _, text in painted.keys}


# -- the briefing's structure and figures ----------------------------------------------
def _east_asian(run_or_style: object) -> str | None:
    fonts = run_or_style.element.rPr.rFonts  # type: ignore[attr-defined]
    return fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")


def test_briefing_is_laid_out_as_an_official_document(run: Run) -> None:
    doc = Document(str(run.out / briefing.filename(AUG)))
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    margins = (sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin)
    assert [round(m.mm, 1) for m in margins] == [37, 35, 28, 26]  # stored in twips
    styles = {
        "Normal": ("仿宋_GB2312", Pt(16)),
        "公文标题": ("方正小标宋简体", Pt(22)),
        "一级标题": ("黑体", Pt(16)),
        "二级标题": ("楷体_GB2312", Pt(16)),
    }
    for name, (font, size) in styles.items():
        style = doc.styles[name]
        assert (_east_asian(style), style.font.size) == (font, size), name
    paragraphs = doc.paragraphs
    assert paragraphs[0].style.name == "公文标题"
    assert paragraphs[0].text == "关于2026年8月安全生产专项整治三年行动工作进展情况的通报"
    headings = [p.text for p in paragraphs if p.style.name == "一级标题"]
    assert headings == ["一、报送情况", "二、工作进展", "三、存在的问题", "四、下一步工作"]
    footer = sec.footer.paragraphs[0]._p.xml
    assert 'fldCharType="begin"' in footer and " PAGE " in footer
    fonts = doc.part.rels
    table = next(r.target_part for r in fonts.values() if r.reltype.endswith("/fontTable"))
    assert 'w:name="仿宋_GB2312"' in table.blob.decode() and 'w:val="仿宋"' in table.blob.decode()
    assert len(doc.inline_shapes) >= 5  # the charts, as pictures
    assert doc.tables, "the aggregated 附件2"


def test_briefing_figures_are_those_of_the_summary(run: Run) -> None:
    text = "\n".join(docx_text(run.out / briefing.filename(AUG)))
    keys = {
        "一般隐患排查": "general_found",
        "重大隐患排查": "major_found",
        "排查隐患总数": "hazards_total",
    }
    found = FIGURE.findall(text)
    seen = {}
    for label, figure in found:
        seen.setdefault(label, []).append(int(figure))
    for label, key in keys.items():
        month, cumulative = seen[label][:2]  # the period's sentence, then the cumulative one
        assert month == run.summary(MONTH_ROW, key), label
        assert cumulative == run.summary(CUMULATIVE_ROW, key), label
    rate = run.summary(CUMULATIVE_ROW, "general_rate")
    assert f"整改率{rate:.1f}%" in text
    assert "应报送单位13家，已报送6家" in text
    assert "逾期报送1家（示例区" in text and "逾期4天" in text
    assert "共7家单位尚未报送" in text


# -- the page in a browser -------------------------------------------------------------
CHARTS_JS = """
[...document.querySelectorAll('figure[data-chart]')].map(f => ({
  key: f.dataset.chart,
  caption: f.querySelector('figcaption').textContent,
  figures: [...f.querySelectorAll('svg text.figure')].map(t => t.textContent),
  height: f.getBoundingClientRect().height,
})).concat([{cards: Object.fromEntries(
  [...document.querySelectorAll('.card[data-key]')].map(c =>
    [c.dataset.key, c.querySelector('.value').firstChild.textContent.trim()]))}])
"""


def test_page_is_self_contained_and_shows_every_chart(run: Run, tmp_path: Path) -> None:
    html = (run.out / page.filename(AUG)).read_text(encoding="utf-8")
    assert not re.search(
        r"<script|<link|<img|src=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", html
    )
    if not ready():
        pytest.skip(f"CHROMIUM NOT AVAILABLE: {unavailable_reason()}")
    browser = Browser()
    try:
        visit = browser.visit(run.out / page.filename(AUG), CHARTS_JS)
    finally:
        browser.close()
    assert visit.problems == []
    *charts, cards = visit.value
    keys = [c["key"] for c in charts]
    assert keys[0] == "reporting"
    for want in ("fujian2-trend-general_rate", "fujian2-topics", "fujian2-institutions",
                 "hazards-trend", "hazards-status", "hazards-institutions"):  # fmt: skip
        assert want in keys
    drawn = {c.key: c.figures() for c in digest.build(_period_data(run)).all_charts()}
    assert keys == [k for k in drawn if drawn[k] or k == "reporting"]
    for c in charts:
        assert c["height"] > 50, c["key"]
        assert c["figures"] and c["figures"] == drawn[c["key"]], c["key"]
    # The cards on the page are 汇总表's figures.
    for key, shown in cards["cards"].items():
        _form, row, measure = key.split(":")
        value = run.summary(row, measure)
        want = "—" if value is None else (f"{value:.1f}%" if "rate" in measure else f"{value:g}")
        assert shown == want, key
    assert visit.screenshot.startswith(b"\x89PNG") and len(visit.screenshot) > 10_000
    assert visit.pdf.startswith(b"%PDF")
    (tmp_path / "page.png").write_bytes(visit.screenshot)
    (tmp_path / "page.pdf").write_bytes(visit.pdf)
    from pdfminer.high_level import extract_text

    printed = "".join(extract_text(str(tmp_path / "page.pdf")).split())
    assert "安全生产专项整治三年行动" in printed and "报送情况" in printed


def test_index_lists_every_period(run: Run) -> None:
    index = (run.campaign.outbox / page.INDEX_NAME).read_text(encoding="utf-8")
    for period in (JUL, AUG):
        assert f'href="{period}/报告_{period}.html"' in index
        assert f'href="{period}/情况通报_{period}.docx"' in index
    assert index.index("2026年8月") < index.index("2026年7月")  # the latest first


# -- the briefing through LibreOffice --------------------------------------------------
@pytest.mark.libreoffice
def test_briefing_converts_to_pdf_with_its_figures(run: Run, tmp_path: Path) -> None:
    if writer_path() is None:
        pytest.skip(f"LIBREOFFICE NOT AVAILABLE: {lo_reason('writer')}")
    pdf = convert(run.out / briefing.filename(AUG), "pdf:writer_pdf_Export", tmp_path)
    from pdfminer.high_level import extract_text

    text = "".join(extract_text(str(pdf)).split())  # LibreOffice spaces Latin runs
    assert "关于2026年8月安全生产专项整治三年行动工作进展情况的通报" in text
    month = run.summary(MONTH_ROW, "hazards_total")
    cumulative = run.summary(CUMULATIVE_ROW, "hazards_total")
    assert f"本期全区排查隐患总数{month}处" in text
    assert f"累计总计：排查隐患总数{cumulative}处" in text
    assert "—1—" in text  # the page number field, filled in


# -- the bureau's own words ------------------------------------------------------------
def test_bureau_template_replaces_a_paragraph(run: Run, tmp_path: Path) -> None:
    own = tmp_path / "通报模板"
    own.mkdir()
    (own / "next_steps.txt.j2").write_text(
        "请各单位于{{ d.label }}次月10日前完成{{ r.missing }}家未报送单位的补报。\n",
        encoding="utf-8",
    )
    data = _period_data(run)
    made = digest.build(data)
    path = briefing.write(made, own, tmp_path, dt.date(2026, 9, 9))
    text = docx_text(path)
    assert "请各单位于2026年8月次月10日前完成7家未报送单位的补报。" in text
    assert not any("此处填写下一步工作安排" in line for line in text)
    assert "2026年9月9日" in text
    default = docx_text(run.out / briefing.filename(AUG))
    assert any("此处填写下一步工作安排" in line for line in default)
    (own / "next_steps.txt.j2").write_text("{{ r.missing + '家' }}\n", encoding="utf-8")
    from pipeline.errors import ConfigError
    from pipeline.report import text

    text.environment.cache_clear()  # the folder's templates are read once per process
    with pytest.raises(ConfigError, match="通报模板有误"):
        briefing.write(made, own, tmp_path, dt.date(2026, 9, 9))


def _period_data(run: Run):  # type: ignore[no-untyped-def]
    from pipeline.aggregate.period import collect

    ledger = Ledger(run.campaign.ledger_path, run.campaign.code)
    try:
        return collect(run.campaign, run.campaign.roster(), ledger, AUG, [])
    finally:
        ledger.close()


# -- every campaign of the example, every kind -----------------------------------------
def test_every_campaign_of_the_example_has_its_page_and_briefing(tmp_path: Path) -> None:
    """Grids, lists (numbers, tallies, texts), registers (with and without a status, of
    records, with a plan), on a ledger where nothing was reported yet."""
    from pipeline.aggregate.period import collect
    from pipeline.campaigns.workspace import load_workspace

    ws = load_workspace(example_workspace(tmp_path))
    ledger = Ledger(ws.ledger_path, "")
    try:
        for c in ws.campaigns:
            data = collect(c, c.roster(), ledger.scoped(c.code), c.start, [])
            made = digest.build(data)
            assert [f.form for f in made.forms] == [spec.id for spec in c.forms]
            html = page.write(made, None, tmp_path / c.code).read_text(encoding="utf-8")
            for f in made.forms:
                assert f'data-form="{f.form}"' in html
            text = docx_text(briefing.write(made, None, tmp_path / c.code))
            assert f"关于{c.start.label()}{c.name}工作进展情况的通报" in text
            assert f"{c.start.label()}应报送单位{len(c.roster())}家，已报送0家" in "".join(text)
    finally:
        ledger.close()


def test_report_templates_setting_is_checked(tmp_path: Path) -> None:
    from pipeline.campaigns.campaign import load_campaign
    from pipeline.errors import ConfigError

    folder = tmp_path / "c"
    shutil.copytree(SHIPPED.parent, folder, ignore=shutil.ignore_patterns("*.sqlite"))
    path = folder / "campaign.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + '\n[report]\ntemplates = "通报模板"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="找不到 templates 所指的文件夹"):
        load_campaign(path)
    (folder / "通报模板").mkdir()
    assert load_campaign(path).report.templates == (folder / "通报模板").resolve()
    path.write_text(text + '\n[report]\nfolder = "通报模板"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="“folder”不是可用的设置项"):
        load_campaign(path)
