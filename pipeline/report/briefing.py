"""情况通报_<period>.docx: the briefing draft, laid out as Chinese official documents are
(GB/T 9704—2012), for the bureau to edit in Word or WPS and send.

- A4, margins 37 mm top, 35 mm bottom, 28 mm left, 26 mm right; 22 lines of 28
  characters: body lines exactly 28.95 pt apart, paragraphs indented two characters.
- Title in 方正小标宋简体 size 2 (22 pt), centred; body in 仿宋_GB2312 size 3 (16 pt);
  level-one headings in 黑体, level-two in 楷体_GB2312, both size 3; the page number
  (— 1 —) in the footer, in 宋体 size 4 (14 pt), as a PAGE field.
- Fonts are named for East-Asian text (``w:eastAsia``), with digits and Latin text in
  Times New Roman; each Chinese font carries alternative names in the document's font
  table (仿宋_GB2312 → 仿宋, 楷体_GB2312 → 楷体, 方正小标宋简体 → 华文中宋, 宋体) so an
  office PC without the GB2312 fonts uses its own.

The words come from :mod:`pipeline.report.text` (templates the bureau may override); the
tables and charts from the digest, the charts painted by :mod:`pipeline.report.raster`.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from pipeline.atomic import write_atomic
from pipeline.forms.kinds.base import Table
from pipeline.report.charts import draw
from pipeline.report.raster import paint
from pipeline.report.text import Block, blocks, form_of, render

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

    from pipeline.report.digest import Digest

LATIN = "Times New Roman"
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
# What an office PC without the first font uses instead (the font table's altName).
ALTERNATIVES = {
    TITLE_FONT: "华文中宋",
    BODY_FONT: "仿宋",
    H2_FONT: "楷体",
    H1_FONT: "SimHei",
    PAGE_FONT: "SimSun",
}
TITLE_PT = 22  # 二号
BODY_PT = 16  # 三号
PAGE_PT = 14  # 四号
TABLE_PT = 10.5  # 五号
CAPTION_PT = 14
LINE_PT = 28.95  # 22 lines in the 225 mm text area
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
PICTURE_MM = 150


def filename(period: object) -> str:
    return f"情况通报_{period}.docx"


def zh_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def set_fonts(target: Any, east_asian: str, size: float | None = None) -> None:
    """Name ``east_asian`` for Chinese text and Times New Roman for the rest."""
    font = target.font
    font.name = LATIN
    if size is not None:
        font.size = Pt(size)
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:hint"), "eastAsia")


def _font_table(doc: DocumentObject) -> None:
    """Each Chinese font in the font table with its alternative (w:altName) and the
    GB2312 character set, so Word and WPS substitute a font the PC has."""
    part = doc.part
    table = next(
        (rel.target_part for rel in part.rels.values() if rel.reltype.endswith("/fontTable")),
        None,
    )
    if table is None:
        return
    from lxml import etree

    root = etree.fromstring(table.blob)
    ns = root.nsmap.get("w") or "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    w = f"{{{ns}}}"
    for name, alt in ALTERNATIVES.items():
        font = etree.SubElement(root, f"{w}font")
        font.set(f"{w}name", name)
        etree.SubElement(font, f"{w}altName").set(f"{w}val", alt)
        etree.SubElement(font, f"{w}charset").set(f"{w}val", "86")
        etree.SubElement(font, f"{w}family").set(f"{w}val", "modern")
        etree.SubElement(font, f"{w}pitch").set(f"{w}val", "fixed")
    table._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _styles(doc: DocumentObject) -> None:
    normal = doc.styles["Normal"]
    set_fonts(normal, BODY_FONT, BODY_PT)
    fmt = normal.paragraph_format  # type: ignore[attr-defined]
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PT)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.first_line_indent = Pt(BODY_PT * 2)
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, font, size in (
        ("公文标题", TITLE_FONT, TITLE_PT),
        ("一级标题", H1_FONT, BODY_PT),
        ("二级标题", H2_FONT, BODY_PT),
        ("图表说明", BODY_FONT, CAPTION_PT),
        ("表格文字", BODY_FONT, TABLE_PT),
    ):
        style = doc.styles.add_style(name, 1)  # a paragraph style
        style.base_style = normal
        set_fonts(style, font, size)
    title = doc.styles["公文标题"].paragraph_format  # type: ignore[attr-defined]
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.first_line_indent = Pt(0)
    title.line_spacing = Pt(35)
    title.space_after = Pt(LINE_PT)
    for name in ("一级标题", "二级标题"):
        doc.styles[name].paragraph_format.keep_with_next = True  # type: ignore[attr-defined]
    for name in ("图表说明", "表格文字"):
        pf = doc.styles[name].paragraph_format  # type: ignore[attr-defined]
        pf.first_line_indent = Pt(0)
        pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    doc.styles["图表说明"].paragraph_format.space_after = Pt(6)  # type: ignore[attr-defined]


def _page(doc: DocumentObject) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin = Mm(MARGINS_MM["top"])
    sec.bottom_margin = Mm(MARGINS_MM["bottom"])
    sec.left_margin = Mm(MARGINS_MM["left"])
    sec.right_margin = Mm(MARGINS_MM["right"])
    sec.footer_distance = Mm(24)
    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.paragraph_format.first_line_indent = Pt(0)
    _run(footer, "— ", PAGE_FONT, PAGE_PT)
    _page_field(footer)
    _run(footer, " —", PAGE_FONT, PAGE_PT)


def _run(p: Paragraph, text: str, font: str, size: float) -> Run:
    run = p.add_run(text)
    set_fonts(run, font, size)
    return run


def _page_field(p: Paragraph) -> None:
    """The page number as a PAGE field (begin, instruction, separator, result, end)."""
    for kind, text in (
        ("begin", ""),
        ("instr", " PAGE "),
        ("separate", ""),
        ("text", "1"),
        ("end", ""),
    ):
        run = _run(p, "", PAGE_FONT, PAGE_PT)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind == "text":
            run.text = text
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)


def _paragraph(doc: DocumentObject, block: Block) -> None:
    if block.style == "title":
        doc.add_paragraph(block.text, style="公文标题")
    elif block.style == "h1":
        doc.add_paragraph(block.text, style="一级标题")
    elif block.style == "h2":
        doc.add_paragraph(block.text, style="二级标题")
    elif block.style == "flush":
        doc.add_paragraph(block.text).paragraph_format.first_line_indent = Pt(0)
    elif block.style == "right":
        p = doc.add_paragraph(block.text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.paragraph_format.first_line_indent = Pt(0)
        p.paragraph_format.right_indent = Pt(BODY_PT * 4)
    else:
        doc.add_paragraph(block.text)


def _table(doc: DocumentObject, table: Table) -> None:
    doc.add_paragraph(table.title, style="图表说明")
    cols = len(table.headers)
    grid = doc.add_table(rows=1 + len(table.rows), cols=cols)
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = grid.rows[0]
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for r, values in enumerate([list(table.headers), *table.rows]):
        for c in range(cols):
            value = values[c] if c < len(values) else ""
            cell = grid.cell(r, c)
            cell.paragraphs[0].style = doc.styles["表格文字"]
            cell.paragraphs[0].text = "" if value is None else _shown(value)
    doc.add_paragraph("", style="表格文字")


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.1f}"
    return str(value)


def _chart(doc: DocumentObject, digest: Digest, key: str, number: int) -> int:
    chart = next((c for c in digest.all_charts() if c.key == key), None)
    if chart is None or not chart.categories:
        return number
    painted = paint(draw(chart))
    doc.add_picture(io.BytesIO(painted.png), width=Mm(PICTURE_MM))
    picture = doc.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.first_line_indent = Pt(0)
    picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    picture.paragraph_format.keep_with_next = True
    note = f"（{chart.note}）" if chart.note else ""
    doc.add_paragraph(f"图{number}　{chart.title}{note}", style="图表说明")
    if painted.keys:  # no Chinese font where it was painted: say what each key stands for
        keys = "；".join(f"{k} {text}" for k, text in painted.keys)
        doc.add_paragraph(f"图中编号：{keys}", style="表格文字")
    return number + 1


def build(digest: Digest, folder: Path | None, today: dt.date) -> DocumentObject:
    doc = Document()
    _page(doc)
    _styles(doc)
    _font_table(doc)
    figure = 1
    parts = blocks(render(digest, folder, zh_date(today)))
    for block in parts:
        if block.style == "table":
            form = form_of(digest, block.text)
            if form is not None and form.table is not None:
                _table(doc, form.table)
        elif block.style == "chart":
            figure = _chart(doc, digest, block.text, figure)
        else:
            _paragraph(doc, block)
    core = doc.core_properties
    core.title = next((b.text for b in parts if b.style == "title"), "")
    core.author = digest.bureau
    return doc


def write(digest: Digest, folder: Path | None, outbox: Path, today: dt.date | None = None) -> Path:
    doc = build(digest, folder, today or dt.date.today())
    return write_atomic(outbox / filename(digest.period), lambda tmp: doc.save(str(tmp)))
