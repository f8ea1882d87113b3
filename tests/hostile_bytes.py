"""How hostile files are made: bytes of zips, sheet XML and compound files, patched.

Small tools for tests/hostile.py. A return's zip is read into its members, a member's
XML is patched as bytes (a cell retyped, a row hidden, a DOCTYPE put before the root)
and a new zip written; compound files (CFB) are written from scratch, as legacy .xls
and .et files, Word documents, Outlook messages and password-encrypted workbooks are.
Nothing here knows the forms: the caller says which member, sheet and cell.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import struct
import threading
import warnings
import zipfile
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from types import TracebackType

from e2e_support import set_received
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

MB = 1 << 20
Members = dict[str, bytes]
Edit = bytes | Callable[[bytes], bytes] | None


# -- zip members ------------------------------------------------------------------------
def read_members(data: bytes) -> Members:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def rezip(data: bytes, edits: Mapping[str, Edit]) -> bytes:
    """The zip with members replaced (bytes), rewritten (a function of the old bytes),
    removed (None) or added (a new name)."""
    members = read_members(data)
    for name, edit in edits.items():
        if edit is None:
            members.pop(name, None)
        elif callable(edit):
            members[name] = edit(members[name])
        else:
            members[name] = edit
    return zip_bytes(members)


def with_member_twice(data: bytes, name: str, second: bytes) -> bytes:
    """The zip with a second member named ``name``, holding ``second``, after the others
    (a reader that looks names up in a dict, as Python's zipfile does, finds this one;
    Excel finds the first)."""
    buf = io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, second)
    out = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(out)) as zf:
        assert [i.filename for i in zf.infolist()].count(name) == 2
    return out


def sheet_part(data: bytes, sheet: str) -> str:
    """The member holding ``sheet``: workbook.xml's r:id resolved through its rels."""
    members = read_members(data)
    book = members["xl/workbook.xml"].decode("utf-8")
    found = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', book)
    assert found, f"no sheet {sheet!r}"
    rels = members["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rel = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{found.group(1)}"', rels)
    assert rel, f"no relationship {found.group(1)}"
    return rel.group(1).lstrip("/")


def before(xml: bytes, marker: bytes, text: bytes) -> bytes:
    assert marker in xml, marker
    return xml.replace(marker, text + marker, 1)


def with_doctype(xml: bytes, doctype: bytes) -> bytes:
    """``doctype`` placed before the root element, after any XML declaration."""
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        return xml[:end] + doctype + xml[end:]
    return b'<?xml version="1.0" encoding="UTF-8"?>' + doctype + xml


# -- cells in sheet XML -----------------------------------------------------------------
def _cell_pattern(ref: str) -> re.Pattern[bytes]:
    return re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.DOTALL)


def _style_of(xml: bytes, ref: str) -> str:
    match = _cell_pattern(ref).search(xml)
    assert match, f"no cell {ref}"
    style = re.search(rb' s="(\d+)"', match.group(0))
    return style.group(1).decode() if style else "0"


def cell_xml(ref: str, value: object, style: str = "0") -> str:
    """A ``<c>`` element as Excel writes it: numbers in <v>, text inline, #errors t="e"."""
    if isinstance(value, str) and value.startswith("#"):
        return f'<c r="{ref}" s="{style}" t="e"><v>{value}</v></c>'
    if isinstance(value, str):
        text = escape(value, quote=False).replace("\r", "&#13;")
        return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c r="{ref}" s="{style}"><v>{value}</v></c>'


def set_cells(xml: bytes, cells: Mapping[str, object], style: str | None = None) -> bytes:
    """Values typed into existing cells (keeping each cell's own style unless ``style``)."""
    for ref, value in cells.items():
        element = cell_xml(ref, value, style or _style_of(xml, ref)).encode("utf-8")
        xml = _cell_pattern(ref).sub(lambda _m, e=element: e, xml, count=1)  # type: ignore[misc]
    return xml


def cell_twice(xml: bytes, ref: str, value: object, referenced: bool = True) -> bytes:
    """A second cell at ``ref`` holding ``value``: right after the first, with its
    reference, or right before it without one (its place then follows from the cell
    before it, which must be its left neighbour)."""
    match = _cell_pattern(ref).search(xml)
    assert match, f"no cell {ref}"
    element = cell_xml(ref, value, _style_of(xml, ref)).encode("utf-8")
    if referenced:
        return xml[: match.end()] + element + xml[match.end() :]
    element = element.replace(f' r="{ref}"'.encode(), b"", 1)
    return xml[: match.start()] + element + xml[match.start() :]


def row_twice(xml: bytes, row: int, copy: Callable[[bytes], bytes] | None = None) -> bytes:
    """The element of ``row`` written again right after itself: ``copy`` makes the
    second from the first; without it the second is an empty ``<row r=".."/>``."""
    match = re.search(rb'<row r="%d"[ >].*?</row>' % row, xml, re.DOTALL)
    assert match, f"no row {row}"
    second = copy(match.group(0)) if copy else b'<row r="%d"/>' % row
    return xml[: match.end()] + second + xml[match.end() :]


def set_cached(xml: bytes, ref: str, value: str, kind: str = "") -> bytes:
    """Give the formula cell ``ref`` a cached result, as Excel saves one."""
    match = _cell_pattern(ref).search(xml)
    assert match and b"<f>" in match.group(0), f"{ref} holds no formula"
    old = match.group(0)
    empty = re.compile(rb"<v\s*/>|<v>[^<]*</v>")
    assert empty.search(old), f"{ref}: no <v>"
    new = empty.sub(f"<v>{value}</v>".encode(), old)
    if kind:
        new = new.replace(b"<c ", f'<c t="{kind}" '.encode(), 1)
    return xml.replace(old, new, 1)


def hide_row(xml: bytes, row: int) -> bytes:
    pattern = re.compile(rb'<row r="' + str(row).encode() + rb'"')
    assert pattern.search(xml), f"no row {row}"
    return pattern.sub(lambda m: m.group(0) + b' hidden="1"', xml, count=1)


def sheet_attr(book: bytes, sheet: str, attr: str, value: str) -> bytes:
    """workbook.xml with one attribute of one <sheet> element changed."""
    name = f'name="{sheet}"'.encode()
    start = book.index(name)
    start = book.rindex(b"<sheet ", 0, start)
    end = book.index(b">", start)
    element = book[start:end]
    changed = re.sub(rf'{attr}="[^"]*"'.encode(), f'{attr}="{value}"'.encode(), element)
    return book[:start] + changed + book[end:]


def date_style(styles: bytes) -> tuple[bytes, str]:
    """styles.xml with one more cell format showing a date (built-in format 14)."""
    match = re.search(rb'<cellXfs count="(\d+)"', styles)
    assert match
    n = int(match.group(1))
    xf = b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" xfId="0"/>'
    styles = styles.replace(match.group(0), b'<cellXfs count="%d"' % (n + 1), 1)
    return before(styles, b"</cellXfs>", xf), str(n)


def serial(day: dt.date, date1904: bool = False) -> int:
    """Excel's day number of ``day`` in the 1900 or the 1904 date system."""
    return (day - (dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30))).days


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', re.DOTALL)
_SST_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_strings(
    data: bytes, count: str | None = None, prepend: tuple[bytes, ...] = (), doctype: bytes = b""
) -> bytes:
    """The return as Excel saves it: every inline string moved into xl/sharedStrings.xml.

    openpyxl writes strings inline, Excel and WPS into a shared-strings table whose
    ``count``/``uniqueCount`` a reader must not trust (``count`` overrides them).
    ``prepend`` puts extra ``<si>`` bodies first; ``doctype`` goes before the root.
    """
    members = read_members(data)
    strings: list[bytes] = list(prepend)
    index: dict[bytes, int] = {}

    def to_shared(m: re.Match[bytes]) -> bytes:
        body = m.group(3)
        if body not in index:
            index[body] = len(strings)
            strings.append(body)
        return b'<c %st="s"%s><v>%d</v></c>' % (m.group(1), m.group(2), index[body])

    for name in [n for n in members if n.startswith("xl/worksheets/sheet")]:
        members[name] = _INLINE.sub(to_shared, members[name])
    declared = (count or str(len(strings))).encode()
    members["xl/sharedStrings.xml"] = with_doctype(
        b'<sst xmlns="%s" count="%s" uniqueCount="%s">%s</sst>'
        % (_SST_NS, declared, declared, b"".join(b"<si>" + s + b"</si>" for s in strings)),
        doctype,
    )
    members["xl/_rels/workbook.xml.rels"] = before(
        members["xl/_rels/workbook.xml.rels"],
        b"</Relationships>",
        b'<Relationship Type="%s" Target="sharedStrings.xml" Id="rIdSst"/>' % _SST_REL,
    )
    members["[Content_Types].xml"] = before(
        members["[Content_Types].xml"],
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>' % _SST_TYPE,
    )
    return zip_bytes(members)


# -- damage and bombs -------------------------------------------------------------------
def flip_compressed_byte(data: bytes, member: str) -> bytes:
    """One byte flipped in the middle of ``member``'s compressed data: its deflate stream
    or its CRC no longer holds, while the zip directory is intact."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    spot = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    out = bytearray(data)
    out[spot] ^= 0x55
    return bytes(out)


def with_zeros(data: bytes, name: str, megabytes: int) -> bytes:
    """The zip with one more member of ``megabytes`` MB of zeros, honestly declared:
    written in chunks, so the test never holds it inflated."""
    buf = io.BytesIO(data)
    block = bytes(MB)
    with (
        zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open(name, "w", force_zip64=True) as fh,
    ):
        for _ in range(megabytes):
            fh.write(block)
    return buf.getvalue()


def noise(chars: int) -> str:
    """Hex digits that deflate cannot shrink much: a huge text that is not also a
    compression-ratio bomb (which the zip directory check would catch first)."""
    return os.urandom(chars // 2 + 1).hex()[:chars]


def formatted_empty_cells(xml: bytes, first_col: int) -> bytes:
    """Every existing row given empty formatted cells out to column XFD, as a clerk's
    "format whole row" leaves them: hundreds of thousands of ``<c r=".." s="1"/>``."""

    def fill(m: re.Match[bytes]) -> bytes:
        r = m.group(1).decode()
        cells = "".join(
            f'<c r="{get_column_letter(c)}{r}" s="1"/>' for c in range(first_col, 16385)
        )
        return m.group(0)[: -len(b"</row>")] + cells.encode() + b"</row>"

    return re.sub(rb'<row r="(\d+)"[^>]*>.*?</row>', fill, xml, flags=re.DOTALL)


# -- compound documents (CFB): .xls, .et, VBA projects ----------------------------------
_FREE, _END, _FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def cfb(streams: Mapping[str, bytes], directory_last: bool = False) -> bytes:
    """A minimal valid compound file (version 3, 512-byte sectors) holding ``streams``.

    Each stream is padded to the 4096-byte mini-stream cutoff so that it lives in
    ordinary sectors and no mini FAT is needed. The directory follows the FAT, or with
    ``directory_last`` comes after every stream (as in a file grown by later saves), so a
    reader must walk the directory rather than look near the start. Enough for the magic,
    the directory and the stream names to be those of a real .xls, .et, .doc or
    encrypted workbook.
    """
    sector, per_fat = 512, 128
    bodies = [(name, data.ljust(4096, b"\0")) for name, data in streams.items()]
    assert 1 <= len(bodies) <= 3, "one directory sector: the root and three streams"
    used = [-(-len(body) // sector) for _, body in bodies]  # the last sector padded
    n_fat = 1
    while n_fat * per_fat < n_fat + 1 + sum(used):
        n_fat += 1
    assert n_fat <= 109, "the FAT sectors are all listed in the header"
    place = n_fat  # sectors in file order: the FAT, then the directory and the streams
    directory_at = n_fat + sum(used) if directory_last else n_fat
    fat = [_FAT] * n_fat + [_FREE] * (n_fat * per_fat - n_fat)
    fat[directory_at] = _END
    starts = []
    for n in used:
        place += place == directory_at  # skip the directory's sector
        starts.append(place)
        fat[place : place + n] = [*range(place + 1, place + n), _END]
        place += n

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, black
            + struct.pack("<III", _FREE, right, child)  # left and right sibling, child
            + bytes(36)  # CLSID, state bits, creation and modification times
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1, _FREE, _END, 0)
    for i, ((name, body), start) in enumerate(zip(bodies, starts, strict=True), start=1):
        right = i + 1 if i < len(bodies) else _FREE  # siblings chained to the right
        directory += entry(name, 2, _FREE, right, start, len(body))
    directory = directory.ljust(sector, b"\0")
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<9I", 0, n_fat, directory_at, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == sector
    data = b"".join(
        body.ljust(n * sector, b"\0") for (_, body), n in zip(bodies, used, strict=True)
    )
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    if directory_last:
        return header + fat_bytes + data + directory
    return header + fat_bytes + directory + data


def biff8_workbook(marker: bytes = b"") -> bytes:
    """The start of a BIFF8 Workbook stream: BOF (workbook globals), a marker, EOF."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0206)
    return bof + marker + struct.pack("<HH", 0x000A, 0)


def encrypted(data: bytes, password: str) -> bytes:
    """The workbook encrypted with a password as Excel does it (ECMA-376 agile
    encryption): a compound file holding EncryptionInfo and EncryptedPackage."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


# -- workbook edits with openpyxl -------------------------------------------------------
def edited(data: bytes, change: Callable[[Workbook], object]) -> bytes:
    """The return opened with openpyxl, changed and saved (as after a clerk's edit in
    Excel: formulas stay, no cached results)."""
    wb = load_workbook(io.BytesIO(data))
    try:
        change(wb)
        out = io.BytesIO()
        wb.save(out)
    finally:
        wb.close()
    return out.getvalue()


# -- a file still being copied ----------------------------------------------------------
class GrowingFile:
    """A workbook still being copied while the run reads it: it starts as the first half
    of ``content`` and a writer thread appends 64 bytes every ``every`` seconds until the
    ``with`` block ends. What is appended does not matter (zeros): what matters is that
    the file grows and, like any copy in progress, does not yet end like a whole zip."""

    def __init__(self, path: Path, content: bytes, every: float = 0.002) -> None:
        self.path = path
        self.content = content
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grow, daemon=True)

    def __enter__(self) -> GrowingFile:
        self.path.write_bytes(self.content[: len(self.content) // 2])
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _grow(self) -> None:
        with open(self.path, "ab") as fh:
            while not self._stop.wait(self.every):
                fh.write(bytes(64))
                fh.flush()

    def finish(self) -> None:
        """The copy completes: the whole content, received a day ago."""
        self.path.write_bytes(self.content)
        set_received(self.path, dt.datetime.now() - dt.timedelta(days=1))


def streaming_bomb(data: bytes, part: str, megabytes: int) -> bytes:
    """``part`` padded after its cells with a comment of ``megabytes`` MB of noise:
    nothing the reader needs, yet it inflates it all (to verify the CRC) against the
    part budget. Noise, so that the zip directory's compression ratio stays ordinary."""
    padding = b"<!--" + noise(megabytes * MB).encode() + b"-->"
    return rezip(data, {part: lambda b: before(b, b"</worksheet>", padding)})


def number_at(xml: bytes, ref: str) -> float:
    """The number typed in ``ref`` (0 for an empty cell)."""
    match = _cell_pattern(ref).search(xml)
    assert match, f"no cell {ref}"
    value = re.search(rb"<v>([^<]*)</v>", match.group(0))
    return float(value.group(1)) if value and value.group(1) else 0.0
