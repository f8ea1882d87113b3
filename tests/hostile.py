"""Hostile and broken returns, made at test time from real filled returns.

Each :class:`Case` is one file an inbox may receive — damaged, disguised, malicious or
merely mangled by a clerk — with the outcome the run must give it and every finding it
must carry (rule, sheet, cell). The files start as returns filled by the project's own
filler; they are then changed either by rewriting members of the zip (the XML patched
as bytes and a new zip written, see tests/hostile_bytes.py, for what only a crafted or
broken file holds) or with openpyxl (for what a clerk does in Excel: inserting rows,
copying a sheet). Nothing binary is committed: :func:`build_corpus` writes every case
into an inbox.

The campaign is the shipped example with a roster of many hospitals (H001…), so that
every case expected to be accepted is its own institution's only return and outcomes
do not interact, except in the cases that are about resubmission.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from e2e_support import EXAMPLE, set_received
from hostile_bytes import (
    MB,
    before,
    biff8_workbook,
    cell_twice,
    cell_xml,
    cfb,
    date_style,
    edited,
    encrypted,
    flip_compressed_byte,
    formatted_empty_cells,
    hide_row,
    noise,
    number_at,
    read_members,
    rezip,
    row_twice,
    serial,
    set_cached,
    set_cells,
    shared_strings,
    sheet_attr,
    sheet_part,
    streaming_bomb,
    with_doctype,
    with_member_twice,
    with_zeros,
    zip_bytes,
)
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.demo.filler import MonthData, fill_return
from pipeline.distribute.templates import write_template
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import GridSpec
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import Layout

PERIOD = Period(2026, 8)
GRID_SHEET = "附件2"
LIST_SHEET = "附件1"
ANY = "*"  # a location that must be named, whatever it is
PADDING_MB = 2  # noise after one part's cells: harmless by default, past a 1 MB budget

Counts = dict[str, dict[str, float]]  # topic -> count measure -> value


# -- what a case expects ----------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """One finding the validation log must hold for a file: its rule, where it points
    and its severity (stated here, not looked up in the rules it tests)."""

    rule: str
    sheet: str = ""
    cell: str = ""
    value: str = ""  # a part of the finding's value, where the value is the point
    severity: str = "error"


@dataclass
class Case:
    about: str  # the test id
    name: str  # the file's name in the inbox
    outcome: str  # accepted, rejected, duplicate, superseded or skipped
    findings: tuple[Expect, ...] = ()
    institution: str = ""  # the roster code the file was made for, if any
    counts: Counts | None = None  # what it contributes to 汇总表 when accepted and current


# -- campaign with a long roster --------------------------------------------------------
def hostile_campaign(
    base: Path, institutions: int = 40, limits: Mapping[str, float] | None = None
) -> Campaign:
    """The example campaign with hospitals H001… and its paths under ``base``;
    ``limits`` sets keys of its ``[limits]`` table (``{"max_part_mb": 1}``)."""
    folder = base / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    for key, value in (limits or {}).items():
        text, n = re.subn(rf"^{key}\s*=.*$", f"{key} = {value}", text, flags=re.MULTILINE)
        assert n == 1, f"the example campaign sets no {key}"
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    header, bureau = (EXAMPLE.parent / "roster.csv").read_text(encoding="utf-8").splitlines()[:2]
    rows = [header, bureau] + [
        f"H{n:03d},示例区测试医院{n:03d},二级医院,公立,h{n:03d}@example.org,联系人{n},0432-6351{n:04d}"
        for n in range(1, institutions + 1)
    ]
    (folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    paths = {"inbox": base / "inbox", "outbox": base / "outbox", "ledger": base / "ledger.sqlite"}
    return load_campaign(folder / "campaign.toml", paths)


def layout(campaign: Campaign, sheet: str) -> Layout:
    spec = next(s for s in campaign.forms if s.sheet == sheet)
    return build_layout(spec, campaign.rows_for(spec))


def standard_counts(campaign: Campaign, k: int) -> Counts:
    """Hazard counts of hospital number ``k``: rows differ, nothing is odd (已整改 never
    exceeds 排查, every major hazard is closed), so a clean return has no finding."""
    a = k % 7
    return {
        t.key: {
            "general_found": a + i + 2,
            "general_fixed": a + i + 1,
            "major_found": (k + i) % 2,
            "major_fixed": (k + i) % 2,
        }
        for i, t in enumerate(campaign.rows_for(campaign.form("fujian2")))
    }


def standard_month(campaign: Campaign, k: int) -> MonthData:
    grid = next(s for s in campaign.forms if isinstance(s, GridSpec))
    tasks = next(s for s in campaign.forms if isinstance(s, ListSpec))
    counts = {
        t: {m: int(v) for m, v in row.items()} for t, row in standard_counts(campaign, k).items()
    }
    texts = {
        t.key: {"progress": f"{t.key}：第{k}号单位已按计划推进。", "outcome": "工作台账"}
        for t in campaign.rows_for(campaign.form("fujian1"))
    }
    return MonthData(grid={grid.id: counts}, texts={tasks.id: texts})


def resaved(wb: Workbook) -> None:
    """Opened and saved again by someone else, later: new bytes, the same figures."""
    wb.properties.lastModifiedBy = "办公室"
    wb.properties.modified = dt.datetime(2026, 8, 31, 16, 0)


def shifted_labels(lay: Layout, axis: str, at: int, delta: int, limit: int = 3) -> tuple[str, ...]:
    """Cells whose fixed label no longer matches once ``delta`` rows or columns are
    inserted (> 0) or deleted (< 0) at ``at``: the first ``limit`` in reading order, as
    the layout check reports them. Worked out from the layout, not by the pipeline."""
    moved: dict[tuple[int, int], str] = {}
    for (r, c), text in lay.labels.items():
        pos = r if axis == "row" else c
        if delta < 0 and at <= pos < at - delta:
            continue  # deleted
        if pos >= at:
            pos += delta
        moved[(pos, c) if axis == "row" else (r, pos)] = text
    wrong = [
        f"{get_column_letter(c)}{r}"
        for (r, c), text in sorted(lay.labels.items())
        if "".join(moved.get((r, c), "").split()) != "".join(text.split())
    ]
    return tuple(wrong[:limit])


# -- running the CLI as a clerk would -------------------------------------------------
@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes, of the child process alone


def run_measured(argv: list[str], cwd: Path, timeout: float) -> Measured:
    """Run ``argv`` as a child process and measure its wall time and peak memory
    (``os.wait4``; ``ru_maxrss`` is in KiB on Linux). Killed after ``timeout`` s."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            usage.ru_maxrss * 1024,
        )


def cli_argv(campaign: Campaign, *args: str) -> list[str]:
    """``python -m pipeline`` with the campaign's paths, then ``args``."""
    return [
        sys.executable,
        "-m",
        "pipeline",
        "--campaign",
        str(campaign.path),
        "--inbox",
        str(campaign.inbox),
        "--outbox",
        str(campaign.outbox),
        "--ledger",
        str(campaign.ledger_path),
        *args,
    ]


# -- the corpus -------------------------------------------------------------------------
@dataclass
class Corpus:
    """Writes cases into the campaign's inbox, each received a second after the last."""

    campaign: Campaign
    scratch: Path
    received: dt.datetime
    cases: list[Case] = field(default_factory=list)
    _next: int = 0

    def __post_init__(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.campaign.inbox.mkdir(parents=True, exist_ok=True)
        self.grid = layout(self.campaign, GRID_SHEET)
        self.tasks = layout(self.campaign, LIST_SHEET)

    def institution(self) -> Institution:
        self._next += 1
        inst = self.campaign.roster().get(f"H{self._next:03d}")
        assert inst is not None, "the roster is too short for the corpus"
        return inst

    def filled(self, inst: Institution, data: MonthData | None = None, **kw: object) -> bytes:
        """A return of ``inst`` filled by the project's filler."""
        k = int(inst.code[1:])
        data = data if data is not None else standard_month(self.campaign, k)
        with tempfile.TemporaryDirectory(dir=self.scratch) as folder:
            path = fill_return(self.campaign, inst, PERIOD, Path(folder), data, **kw)  # type: ignore[arg-type]
            return path.read_bytes()

    def counts(self, inst: Institution) -> Counts:
        raw = standard_counts(self.campaign, int(inst.code[1:]))
        return {t: {m: float(v) for m, v in row.items()} for t, row in raw.items()}

    def put(self, case: Case, content: bytes) -> Case:
        path = self.campaign.inbox / case.name
        path.write_bytes(content)
        self.received += dt.timedelta(seconds=1)
        set_received(path, self.received)
        self.cases.append(case)
        return case

    def rejected(self, about: str, name: str, content: bytes, *findings: Expect) -> Case:
        return self.put(Case(about, name, "rejected", findings), content)

    def accepted(
        self, about: str, name: str, change: Callable[[bytes], bytes] | None, *findings: Expect
    ) -> Case:
        """A new hospital's standard return, changed by ``change``, which must not
        change its figures: accepted with ``findings`` and counted as it was filled."""
        inst = self.institution()
        data = self.filled(inst)
        case = Case(about, name, "accepted", findings, inst.code, self.counts(inst))
        return self.put(case, change(data) if change else data)


def build_corpus(campaign: Campaign, scratch: Path, received: dt.datetime) -> list[Case]:
    """Every case written into the campaign's inbox; the cases in the order received."""
    c = Corpus(campaign, scratch, received)
    for n in range(1, 4):
        c.accepted(f"valid-{n}", f"正常报表{n}.xlsx", None)
    # The rejected cases share one hospital's return: rejected files never interact.
    base = c.filled(c.institution())
    _container_cases(c, base)
    _sheet_part_cases(c, base)
    _content_types_cases(c, base)
    _twice_cases(c, base)
    _size_cases(c, base)
    _layout_cases(c, base)
    _derived_cases(c, base)
    _value_cases(c, base)
    _identity_cases(c, base)
    _text_cases(c)
    return c.cases


def _container_cases(c: Corpus, base: bytes) -> None:
    grid_part = sheet_part(base, GRID_SHEET)
    c.rejected("zero-byte", "空文件.xlsx", b"", Expect("F-EMPTY"))
    c.rejected("truncated", "下载一半.xlsx", base[: len(base) // 2], Expect("F-DAMAGED"))
    damaged = flip_compressed_byte(base, grid_part)
    c.rejected("crc", "校验和错误.xlsx", damaged, Expect("F-DAMAGED", GRID_SHEET))
    owner = b"\x06\x00clerk" + bytes(150)  # what Excel leaves beside an open workbook
    c.put(Case("litter-owner", "~$正常报表1.xlsx", "skipped"), owner)
    lock = b",clerk,PC01,23.08.2026 09:00,file:///home/clerk/.config/libreoffice/4;\n"
    c.put(Case("litter-lock", ".~lock.正常报表1.xlsx#", "skipped"), lock)
    c.put(Case("litter-tmp", "正常报表1.tmp", "skipped"), base)
    c.rejected("encrypted", "加密.xlsx", encrypted(base, "1234"), Expect("F-ENCRYPTED"))
    # Encrypted, and the directory past the first megabyte: found by walking the FAT.
    package = {
        "EncryptionInfo": b"\x04\x00\x04\x00\x40",
        "EncryptedPackage": noise(2 * MB).encode(),
    }
    late = cfb(package, directory_last=True)
    c.rejected("encrypted-directory-last", "大文件加密.xlsx", late, Expect("F-ENCRYPTED"))
    doc = cfb({"WordDocument": b"\xec\xa5", "1Table": b"", "\x05SummaryInformation": b""})
    c.rejected("word-doc", "通知.xlsx", doc, Expect("F-NOT-XLSX", value="Word"))
    msg = cfb({"__properties_version1.0": b"", "__substg1.0_0037001F": "报表".encode("utf-16-le")})
    c.rejected("outlook-msg", "来信.msg", msg, Expect("F-NOT-XLSX", value="邮件"))
    xls = cfb({"Workbook": biff8_workbook(), "\x05SummaryInformation": b"\xfe\xff"})
    c.rejected("legacy-xls", "旧版.xls", xls, Expect("F-LEGACY-XLS"))
    et = cfb({"Workbook": biff8_workbook(), "ETExtData": b"\x01", "\x05SummaryInformation": b""})
    c.rejected("wps-et", "WPS表格.et", et, Expect("F-LEGACY-XLS"))
    c.rejected("html", "网页另存.xlsx", EXCEL_HTML.encode("utf-8"), Expect("F-NOT-XLSX"))
    c.rejected("csv", "逗号分隔.xlsx", CSV_TEXT.encode("gb18030"), Expect("F-NOT-XLSX"))
    vba = cfb({"dir": b"\x01\x00", "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"'})
    c.rejected(
        "vba-project", "含宏.xlsx", rezip(base, {"xl/vbaProject.bin": vba}), Expect("F-MACRO")
    )
    xlsb = zip_bytes(
        {
            "[Content_Types].xml": XLSB_TYPES,
            "_rels/.rels": b"<Relationships/>",
            "xl/workbook.bin": b"\x83\x01\x00",
        }
    )
    c.rejected("xlsb", "二进制.xlsx", xlsb, Expect("F-NOT-XLSX", value=".xlsb"))
    main = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    macro = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    types = {"[Content_Types].xml": lambda b: b.replace(main, macro)}
    c.rejected("macro-enabled-type", "启用宏.xlsx", rezip(base, types), Expect("F-MACRO"))

    def laughs(xml: bytes) -> bytes:
        return with_doctype(xml, BILLION_LAUGHS).replace(b"<t>1.", b"<t>&lol9;1.", 1)

    bomb = rezip(base, {grid_part: laughs})
    c.rejected("billion-laughs", "实体炸弹.xlsx", bomb, Expect("F-XML-DTD", GRID_SHEET))
    xxe = shared_strings(base, prepend=(b"<t>&xxe;</t>",), doctype=EXTERNAL_ENTITY)
    c.rejected("external-entity", "外部实体.xlsx", xxe, Expect("F-XML-DTD"))
    doctype = b'<!DOCTYPE workbook [<!ENTITY x "y">]>'
    book = rezip(base, {"xl/workbook.xml": lambda b: with_doctype(b, doctype)})
    c.rejected("dtd-workbook", "工作簿声明.xlsx", book, Expect("F-XML-DTD"))


def _sheet_part_cases(c: Corpus, base: bytes) -> None:
    """A refusal inside a sheet's part names the sheet (as workbook.xml names it) in the
    finding's sheet, not only the part in its message."""
    list_part = sheet_part(base, LIST_SHEET)
    grid_part = sheet_part(base, GRID_SHEET)

    def mismatched(xml: bytes) -> bytes:
        return xml.replace(b"</c>", b"</x>", 1)  # in row 1, where reading starts

    c.rejected(
        "bad-xml-sheet",
        "附件1结构损坏.xlsx",
        rezip(base, {list_part: mismatched}),
        Expect("F-DAMAGED", LIST_SHEET, value=f"{list_part} 不是正确的 XML"),
    )
    c.rejected(
        "empty-sheet-part",
        "附件2内容为空.xlsx",
        rezip(base, {grid_part: b""}),
        Expect("F-DAMAGED", GRID_SHEET, value="缺少 XML 根元素"),
    )


def _content_types_cases(c: Corpus, base: bytes) -> None:
    """A [Content_Types].xml that Excel needs and we do not, missing or cut short: read,
    with a warning that the file does not open in Excel. A DTD in it is still refused."""
    types = "[Content_Types].xml"
    c.accepted(
        "content-types-cut",
        "类型清单不完整.xlsx",
        lambda b: rezip(b, {types: lambda x: x[: len(x) // 2]}),
        Expect("F-CONTENT-TYPES", value=f"{types} 不是正确的 XML", severity="warning"),
    )
    c.accepted(
        "content-types-missing",
        "缺少类型清单.xlsx",
        lambda b: rezip(b, {types: None}),
        Expect("F-CONTENT-TYPES", value=f"缺少 {types}", severity="warning"),
    )
    doctype = b'<!DOCTYPE Types [<!ENTITY x "y">]>'
    declared = rezip(base, {types: lambda b: with_doctype(b, doctype)})
    c.rejected("dtd-content-types", "类型清单声明.xlsx", declared, Expect("F-XML-DTD"))


def _twice_cases(c: Corpus, base: bytes) -> None:
    """One address held twice, which Excel calls damaged and readers resolve each
    their own way: refused, naming what is held twice. The second holds another number,
    so that a reader taking either would count what the clerk does not see."""
    grid_part = sheet_part(base, GRID_SHEET)
    topic = c.campaign.rows_for(c.campaign.form("fujian2"))[0].key
    found = c.grid.cell(topic, "general_found")
    row = c.grid.row_of[topic]
    members = read_members(base)
    second = set_cells(members[grid_part], {found: 30})
    twice = with_member_twice(base, grid_part, second)
    c.rejected("member-twice", "同名文件.xlsx", twice, Expect("F-DAMAGED", value=grid_part))
    for about, name, edit, where, what in (
        ("cell-twice", "单元格重复.xlsx", lambda x: cell_twice(x, found, 30), found, found),
        (
            "cell-twice-unreferenced",
            "无引用单元格重复.xlsx",
            lambda x: cell_twice(x, found, 30, referenced=False),
            found,
            found,
        ),
        (
            "row-twice",
            "行重复.xlsx",
            lambda x: row_twice(x, row, lambda r: set_cells(r, {found: 30})),
            f"A{row}",
            f"第{row}行",
        ),
        ("row-twice-empty", "空行重复.xlsx", lambda x: row_twice(x, row), f"A{row}", f"第{row}行"),
    ):
        damaged = rezip(base, {grid_part: edit})
        c.rejected(about, name, damaged, Expect("F-DAMAGED", GRID_SHEET, where, what))


def _size_cases(c: Corpus, base: bytes) -> None:
    grid_part = sheet_part(base, GRID_SHEET)
    list_part = sheet_part(base, LIST_SHEET)
    big = with_zeros(base, "xl/media/image1.bin", 101)
    c.rejected("bomb-total", "解压炸弹.xlsx", big, Expect("F-TOO-LARGE", value="解压后共"))
    dense = with_zeros(base, "xl/media/image1.bin", 6)
    c.rejected("bomb-ratio", "压缩比.xlsx", dense, Expect("F-TOO-LARGE", value="压缩比"))

    # Declared sizes are not trusted, and nothing past the form is read.
    def whole_sheet(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)

    def stray(xml: bytes) -> bytes:
        last = b'<row r="1048576"><c r="XFD1048576" t="n"><v>7</v></c></row>'
        return before(whole_sheet(xml), b"</sheetData>", last)

    c.accepted("stray-XFD1048576", "最后一格有值.xlsx", lambda b: rezip(b, {grid_part: stray}))
    c.accepted("lying-dimension", "虚报范围.xlsx", lambda b: rezip(b, {grid_part: whole_sheet}))
    c.accepted("unique-count", "共享字符串计数.xlsx", lambda b: shared_strings(b, "2000000000"))

    def backslashes(data: bytes) -> bytes:
        """Member names as some Windows tools write them: xl\\workbook.xml."""
        return zip_bytes({n.replace("/", "\\"): b for n, b in read_members(data).items()})

    c.accepted("backslash-names", "反斜杠路径.xlsx", backslashes)
    empty = rezip(base, {grid_part: lambda b: formatted_empty_cells(b, c.grid.width + 1)})
    c.rejected(
        "formatted-empty-cells",
        "整行设了格式.xlsx",
        empty,
        Expect("F-TOO-LARGE", GRID_SHEET, ANY, "单元格超过"),
    )
    huge = noise(5 * MB)
    cell = c.tasks.cell(c.campaign.rows_for(c.campaign.form("fujian1"))[0].key, "progress")
    in_form = rezip(base, {list_part: lambda b: set_cells(b, {cell: huge})})
    c.rejected(
        "huge-text-inline", "超长文字.xlsx", in_form, Expect("F-TOO-LARGE", LIST_SHEET, cell)
    )
    c.rejected(
        "huge-text-shared",
        "超长共享文字.xlsx",
        shared_strings(in_form),
        Expect("F-TOO-LARGE", LIST_SHEET, cell),
    )
    c.accepted(
        "padded-part",  # refused under a small part budget: see test_hostile
        "注释填充.xlsx",
        lambda b: streaming_bomb(b, grid_part, PADDING_MB),
    )
    far = c.tasks.last_data_row + 5000
    col = get_column_letter(c.tasks.col_of["progress"])
    row = f'<row r="{far}">{cell_xml(f"{col}{far}", huge)}</row>'.encode()
    c.accepted(
        "huge-text-far-below",
        "远处超长文字.xlsx",
        lambda b: rezip(b, {list_part: lambda x: before(x, b"</sheetData>", row)}),
    )


def _layout_cases(c: Corpus, base: bytes) -> None:
    grid_part = sheet_part(base, GRID_SHEET)
    renamed = rezip(
        base,
        {
            "xl/workbook.xml": lambda b: sheet_attr(b, GRID_SHEET, "name", "进展情况").replace(
                f"'{GRID_SHEET}'!".encode(), "'进展情况'!".encode()
            )
        },
    )
    c.rejected("sheet-renamed", "改了表名.xlsx", renamed, Expect("L-SHEET-MISSING"))
    deleted = edited(base, lambda wb: wb.remove(wb[LIST_SHEET]))
    c.rejected("sheet-deleted", "删了附件1.xlsx", deleted, Expect("L-SHEET-MISSING"))
    c.accepted(
        "sheets-reordered",
        "调换表序.xlsx",
        lambda b: edited(b, lambda wb: wb.move_sheet(GRID_SHEET, offset=-1)),
    )
    c.accepted(
        "sheet-hidden",
        "隐藏附件2.xlsx",
        lambda b: rezip(
            b, {"xl/workbook.xml": lambda x: sheet_attr(x, GRID_SHEET, "state", "hidden")}
        ),
        Expect("L-SHEET-HIDDEN", GRID_SHEET, severity="warning"),
    )
    grid = c.grid
    topics = [grid.row_of[t.key] for t in c.campaign.rows_for(c.campaign.form("fujian2"))]
    found = grid.col_of["general_found"]
    for about, name, axis, at, delta in (
        ("row-inserted", "插入一行.xlsx", "row", topics[0], 1),
        ("row-deleted", "删除一行.xlsx", "row", topics[2], -1),
        ("column-inserted", "插入一列.xlsx", "col", found, 1),
        ("column-deleted", "删除一列.xlsx", "col", found, -1),
    ):

        def shift(wb: Workbook, axis: str = axis, at: int = at, delta: int = delta) -> None:
            ws = wb[GRID_SHEET]
            if axis == "row":
                (ws.insert_rows if delta > 0 else ws.delete_rows)(at, abs(delta))
            else:
                (ws.insert_cols if delta > 0 else ws.delete_cols)(at, abs(delta))

        cells = shifted_labels(grid, axis, at, delta)
        c.rejected(
            about, name, edited(base, shift), *(Expect("L-LABEL", GRID_SHEET, x) for x in cells)
        )

    def stale_row(wb: Workbook) -> None:
        """Last month's figures kept in a hidden row under topic 1."""
        ws = wb[GRID_SHEET]
        ws.insert_rows(topics[1])
        ws.cell(topics[1], 1, ws.cell(topics[0], 1).value)
        ws.cell(topics[1], grid.col_of["general_found"], 30)
        ws.cell(topics[1], grid.col_of["general_fixed"], 30)
        ws.row_dimensions[topics[1]].hidden = True

    stale = shifted_labels(grid, "row", topics[1], 1)
    c.rejected(
        "hidden-stale-row",
        "隐藏旧数据行.xlsx",
        edited(base, stale_row),
        *(Expect("L-LABEL", GRID_SHEET, x) for x in stale),
    )
    c.accepted(
        "template-row-hidden",
        "隐藏第三行.xlsx",
        lambda b: rezip(b, {grid_part: lambda x: hide_row(x, topics[2])}),
        Expect("L-ROW-HIDDEN", GRID_SHEET, f"A{topics[2]}", str(topics[2]), severity="warning"),
    )
    copy_name = f"{GRID_SHEET} Copy"  # what openpyxl, like Excel's "(2)", names a copy
    c.accepted(
        "sheet-copy",
        "附件2副本.xlsx",
        lambda b: edited(b, lambda wb: wb.copy_worksheet(wb[GRID_SHEET])),
        Expect("L-SHEET-COPY", copy_name, severity="warning"),
    )


def _derived_cases(c: Corpus, base: bytes) -> None:
    grid_part = sheet_part(base, GRID_SHEET)
    t2 = c.campaign.rows_for(c.campaign.form("fujian2"))[1].key
    total = c.grid.cell(t2, "hazards_total")
    inst = c.institution()
    counts = c.counts(inst)[t2]
    wrong = counts["general_found"] + counts["major_found"] + 5
    typed_over = c.filled(inst, overwrite_formula={c.grid.spec.id: {(t2, "hazards_total"): wrong}})
    c.put(
        Case(
            "formula-overwritten",
            "公式被改写.xlsx",
            "rejected",
            (Expect("D-OVERWRITTEN", GRID_SHEET, total, f"{wrong:g}"),),
            inst.code,
        ),
        typed_over,
    )

    def uncalculated(data: bytes) -> bytes:
        xml = read_members(data)[grid_part]
        assert re.search(rb"</f><v\s*(/>|></v>)", xml), "the filler leaves no cached results"
        return data

    c.accepted("no-cached-values", "脚本生成无缓存.xlsx", uncalculated)
    right = lambda b: rezip(b, {grid_part: lambda x: cached_as_excel(x, c.grid)})  # noqa: E731
    c.accepted("cached-values-right", "缓存正确.xlsx", right)
    lied = rezip(base, {grid_part: lambda b: set_cached(b, total, "99")})
    c.rejected(
        "cached-value-wrong", "缓存不符.xlsx", lied, Expect("D-CACHED", GRID_SHEET, total, "99")
    )


def cached_as_excel(xml: bytes, grid: Layout) -> bytes:
    """Cached results of the topic rows' sums and rates, computed from the sheet's own
    counts as Excel would (the totals rows stay uncalculated)."""
    for topic in (k for k in grid.row_of if not k.startswith("__")):
        n = {m: number_at(xml, grid.cell(topic, m)) for m in grid.col_of}
        found = n["general_found"] + n["major_found"]
        xml = set_cached(xml, grid.cell(topic, "hazards_total"), f"{found:g}")
        xml = set_cached(xml, grid.cell(topic, "problems_total"), "0")
        for rate, fixed, den in (
            ("general_rate", "general_fixed", "general_found"),
            ("major_rate", "major_fixed", "major_found"),
        ):
            cell = grid.cell(topic, rate)
            if n[den]:
                xml = set_cached(xml, cell, repr(n[fixed] / n[den] * 100))
            else:  # IF(N(..)=0,"",..): an empty text result
                xml = set_cached(xml, cell, "", kind="str")
    return xml


def _value_cases(c: Corpus, base: bytes) -> None:
    grid_part = sheet_part(base, GRID_SHEET)
    list_part = sheet_part(base, LIST_SHEET)
    t1 = c.campaign.rows_for(c.campaign.form("fujian2"))[0].key
    found, fixed = c.grid.cell(t1, "general_found"), c.grid.cell(t1, "general_fixed")
    major, major_fixed = c.grid.cell(t1, "major_found"), c.grid.cell(t1, "major_fixed")

    def typed(cells: Mapping[str, object]) -> bytes:
        return rezip(base, {grid_part: lambda b: set_cells(b, cells)})

    c.rejected(
        "error-value",
        "错误值.xlsx",
        typed({found: "#DIV/0!", fixed: 0}),
        Expect("V-PARSE", GRID_SHEET, found, "#DIV/0!"),
    )
    for about, name, value, rule, shown in (
        ("about-30", "约数.xlsx", "约30", "V-PARSE", "约30"),
        ("percent-in-count", "百分数.xlsx", "30%", "V-PARSE", "30%"),
        ("negative", "负数.xlsx", -3, "V-NEGATIVE", "-3"),
        ("decimal", "小数.xlsx", 2.5, "V-INTEGER", "2.5"),
        ("date-as-text", "日期文字.xlsx", "2026-07-05", "V-PARSE", "2026-07-05"),
    ):
        # 已整改 0 beside it, so no month's 已整改 exceeds its 排查.
        c.rejected(
            about, name, typed({found: value, fixed: 0}), Expect(rule, GRID_SHEET, found, shown)
        )

    def date_typed(data: bytes) -> bytes:
        members = read_members(data)
        styles, style = date_style(members["xl/styles.xml"])
        cells = {found: serial(dt.date(2026, 7, 5))}
        sheet = set_cells(set_cells(members[grid_part], cells, style), {fixed: 0})
        return rezip(data, {"xl/styles.xml": styles, grid_part: sheet})

    c.rejected(
        "date-serial",
        "日期格式.xlsx",
        date_typed(base),
        Expect("V-PARSE", GRID_SHEET, found, "2026-07-05"),
    )

    def normalised(data: bytes) -> bytes:
        cells = {found: "1,200", fixed: "１２", major: "1处", major_fixed: 1}
        return rezip(data, {grid_part: lambda b: set_cells(b, cells)})

    case = c.accepted(
        "normalised",
        "全角和单位.xlsx",
        normalised,
        Expect("N-NORMALISED", GRID_SHEET, found, "1,200", severity="info"),
        Expect("N-NORMALISED", GRID_SHEET, fixed, "１２", severity="info"),
        Expect("N-NORMALISED", GRID_SHEET, major, "1处", severity="info"),
    )
    assert case.counts is not None
    case.counts[t1].update(general_found=1200, general_fixed=12, major_found=1, major_fixed=1)

    progress = c.tasks.cell(c.campaign.rows_for(c.campaign.form("fujian1"))[0].key, "progress")

    def date1904(data: bytes) -> bytes:
        members = read_members(data)
        styles, style = date_style(members["xl/styles.xml"])
        book = re.sub(
            rb"<workbookPr\s*/>", b'<workbookPr date1904="1"/>', members["xl/workbook.xml"]
        )
        assert b"date1904" in book
        cells = {progress: serial(dt.date(2026, 7, 5), date1904=True)}
        sheet = set_cells(members[list_part], cells, style)
        return rezip(data, {"xl/styles.xml": styles, "xl/workbook.xml": book, list_part: sheet})

    c.accepted("date1904-text", "1904日期.xlsx", date1904)


def _identity_cases(c: Corpus, base: bytes) -> None:
    other = c.institution()  # named by the next case's hidden metadata; sends nothing

    def meta(wb: Workbook) -> None:
        ws = wb["_meta"]
        for key, cell in ws.iter_rows(min_col=1, max_col=2):
            if key.value == "institution_code":
                cell.value = other.code
            elif key.value == "institution_name":
                cell.value = other.name

    case = c.rejected(
        "meta-other-institution",
        "别家模板.xlsx",
        edited(base, meta),
        Expect("M-HEADER", LIST_SHEET, "A2"),
        Expect("M-HEADER", GRID_SHEET, "A2"),
    )
    case.institution = other.code
    wb = load_workbook(io.BytesIO(base))
    ws = wb[GRID_SHEET]
    shown = next(x.coordinate for x in ws[2] if str(x.value or "").startswith("报告期"))
    wb.close()
    grid_part = sheet_part(base, GRID_SHEET)
    last_month = f"报告期：{PERIOD.shift(-1).label()}"
    wrong_period = rezip(base, {grid_part: lambda b: set_cells(b, {shown: last_month})})
    c.rejected(
        "header-other-period",
        "报告期不符.xlsx",
        wrong_period,
        Expect("M-HEADER", GRID_SHEET, shown),
    )

    inst = c.institution()
    with tempfile.TemporaryDirectory(dir=c.scratch) as folder:
        blank = write_template(c.campaign, inst, PERIOD, Path(folder)).read_bytes()
    c.put(
        Case(
            "blank",
            "空白报表.xlsx",
            "accepted",
            (Expect("A-BLANK", GRID_SHEET, severity="warning"),),
            inst.code,
            {},
        ),
        blank,
    )

    inst = c.institution()
    first = c.filled(inst)
    again = edited(first, resaved)
    assert again != first
    c.put(Case("resaved-earlier", "首次报送.xlsx", "superseded", (), inst.code), first)
    c.put(Case("resaved-later", "重新保存.xlsx", "accepted", (), inst.code, c.counts(inst)), again)
    c.put(Case("identical-bytes", "首次报送(1).xlsx", "duplicate", (), inst.code), first)


INJECTIONS = ("=1+1", "+1+1", "-1-1", "@SUM(1+1)", "\t制表符开头", "\r回车开头")
NEW_TASK = {
    "item": '=HYPERLINK("http://example.com","点击")',
    "content": "+cmd|' /C calc'!A0",
    "progress": "@SUM(1+1)",
    "remark": "新增任务",
}


def _text_cases(c: Corpus) -> None:
    inst = c.institution()
    data = standard_month(c.campaign, int(inst.code[1:]))
    texts = data.texts[c.tasks.spec.id]
    for task, text in zip(
        c.campaign.rows_for(c.campaign.form("fujian1")), INJECTIONS, strict=False
    ):
        texts[task.key]["progress"] = text
    data.new_tasks[c.tasks.spec.id] = [dict(NEW_TASK)]
    case = Case("formula-like-text", "公式样文字.xlsx", "accepted", (), inst.code, c.counts(inst))
    c.put(case, c.filled(inst, data))

    # Excel writes a carriage return inside text as _x000D_ (XML would turn it into \n).
    def crlf(data: bytes) -> bytes:
        part = sheet_part(data, LIST_SHEET)
        cell = c.tasks.cell(c.campaign.rows_for(c.campaign.form("fujian1"))[0].key, "progress")
        return shared_strings(rezip(data, {part: lambda b: set_cells(b, {cell: CRLF_TEXT})}))

    c.accepted("excel-escaped-cr", "回车换行.xlsx", crlf)

    inst = c.institution()
    grid_part = sheet_part(c.filled(inst), GRID_SHEET)
    topics = c.campaign.rows_for(c.campaign.form("fujian2"))
    cells = {
        c.grid.cell(topics[0].key, "general_found"): "=1+1",
        c.grid.cell(topics[0].key, "general_fixed"): "+1+1",
        c.grid.cell(topics[1].key, "general_found"): "-1-1",
        c.grid.cell(topics[1].key, "general_fixed"): "@1",
        c.grid.cell(topics[2].key, "general_found"): "\t1x",
        c.grid.cell(topics[2].key, "general_fixed"): "\r1x",
    }
    injected = rezip(c.filled(inst), {grid_part: lambda b: set_cells(b, cells)})
    findings = tuple(Expect("V-PARSE", GRID_SHEET, ref, v) for ref, v in cells.items())
    c.put(Case("formula-like-counts", "=注入数字.xlsx", "rejected", findings, inst.code), injected)


CRLF_TEXT = "第一行_x000D_\n第二行"
BILLION_LAUGHS = (
    b'<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)
XLSB_TYPES = (
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
    b"</Types>"
)  # every .xlsb is typed "macroEnabled", with or without macros
EXTERNAL_ENTITY = b'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXCEL_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv=Content-Type content="text/html; charset=utf-8"></head>
<body><table><tr><td>专题专项</td><td>排查隐患总数</td></tr>
<tr><td>1.学习宣传贯彻习近平总书记关于安全生产重要论述专题</td><td>5</td></tr></table></body></html>
"""
CSV_TEXT = "专题专项,一般隐患排查,一般隐患已整改\r\n1.学习宣传贯彻习近平总书记关于安全生产重要论述专题,5,4\r\n"
