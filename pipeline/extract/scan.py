"""A fast path through a sheet's cells, for the plain XML that office suites write.

Reading a sheet element by element in Python (:mod:`pipeline.extract.reader`) costs a
few microseconds per element, and a return holds more than a thousand: most of a run.
Here a sheet part, once inflated whole within its budget, is first proved well-formed by
expat in C (no handlers, namespaces checked as the exact reader checks them), then its
``<sheetData>`` is cut into rows and cells by regular expressions, a token at a time,
each token starting exactly where the previous one ended.

It is a fast path, never a second opinion: whatever it does not know for certain to
mean what the exact reader would make of it, it declines (returns None), and the exact
reader reads the whole workbook instead, refusals and all. It declines a DTD, comments,
CDATA, processing instructions or namespace prefixes among the cells, an encoding other
than UTF-8, an attribute it reads holding anything but plain letters and digits, a
cell or row without a reference, any child of a cell but ``<v>``, ``<f>`` and an
``<is>`` of one plain ``<t>``, and every case the exact reader refuses (a cell or row
met twice, too many cells, a text too long). So a file is read alike by both paths or
by the exact one alone.
"""

from __future__ import annotations

import re
from pyexpat import ExpatError, ParserCreate
from xml.etree.ElementTree import ParseError, fromstring

Scanned = tuple[int, int, str, int, str | None, str | None]
"""row, column, type (the ``t`` attribute), style, value, formula (see reader._Cell)."""

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_SHEET_DATA = re.compile(r"<sheetData(?:\s[^<>]*)?(/?)>")
_A = r"""(?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*"""  # attributes, whole
MAX_BODY = 2 << 20  # characters of <sheetData>; a larger one is read by the exact reader
_TOKENS = re.compile(
    # 1: the whole token, white space before it included
    r"(\s*(?:"
    # a cell in the usual form (attributes r, s, t in this order; children f, v or is):
    # 2 column, 3 row, 4 style, 5 type; 6-7 formula; 8-9 value; 10-11 inline text
    r'<c\s+r="([A-Z]{1,3})([0-9]{1,7})"(?:\s+s="([0-9]{1,9})")?(?:\s+t="([A-Za-z]{1,12})")?\s*'
    r"(?:/>|>\s*"
    r"(?:(<f)" + _A + r"(?:/>|>([^<]*)</f\s*>)\s*)?"
    r"(?:(<v)(?:/>|>([^<]*)</v\s*>)\s*"
    r"|(<is)>\s*<t" + _A + r">([^<]*)</t\s*>\s*</is\s*>\s*)?"
    r"</c\s*>)"
    # 12-13 any other cell: its attributes and what it holds
    r"|<c(\s[^<>]*?)?(?:/>|>(.*?)</c\s*>)"
    # 14-16 a row's start in the usual form (r first): row, other attributes, "/"
    r'|<row\s+r="([0-9]{1,7})"((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"<&\t\n\r]*")*)\s*(/?)>'
    # 17-18 any other row start
    r"|<row(\s[^<>]*?)?(/?)>"
    # 19 a row's end
    r"|(</row\s*>)"
    r"|\s+\Z"
    r"))",
    re.S,
)
_COLUMN_OF = {
    a + b: i
    for i, (a, b) in enumerate(
        [("", chr(65 + k)) for k in range(26)]
        + [(chr(65 + j), chr(65 + k)) for j in range(26) for k in range(26)],
        start=1,
    )
}
_CHILD = re.compile(
    r"\s*<(?P<tag>v|f|is)" + _A + r"(?:/>|>(?P<body>.*?)</(?P=tag)\s*>)",
    re.S,
)
_ATTRS = re.compile(r"(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*\s*")
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_PLAIN_T = re.compile(r"\s*<t" + _A + r"(?:/>|>([^<]*)</t\s*>)\s*")
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")  # ST_Xstring: a character Excel escaped
_MAX_COLUMN = 16_384
_COLUMNS = 16_385
_HIDDEN = {"1": True, "true": True, "0": False, "false": False}


class _Decline(Exception):
    """Not plain enough for the fast path."""


def unescape_excel(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes decoded (a carriage return is saved as ``_x000D_``)."""
    return _ESCAPED.sub(_unescape, text) if "_x" in text else text


def _unescape(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


def well_formed(data: bytes) -> bool:
    """Whether expat parses ``data`` whole, with namespaces, as ElementTree would."""
    parser = ParserCreate(namespace_separator="}")
    try:
        parser.Parse(data, True)
    except (ExpatError, ValueError):
        return False
    return True


def scan_sheet(
    data: bytes, max_row: int, max_col: int, max_cells: int, max_text: int
) -> tuple[list[Scanned], set[int]] | None:
    """Cells with content in rows 1..max_row, columns 1..max_col, and the hidden rows,
    as the exact reader's ``_sheet_cells`` finds them; None to decline (see above)."""
    try:
        text = _decoded(data)
        if text is None or _DTD.search(data) or not well_formed(data):
            return None
        body = _sheet_data(text)
        if body is None:
            return None
        return _cells(body, max_row, max_col, max_cells, max_text)
    except _Decline:
        return None


def _sheet_data(text: str) -> str | None:
    """What ``<sheetData>`` holds ("" when it is empty); None when there is not one."""
    start = text.find("<sheetData")
    if start < 0 or text.find("<sheetData", start + 1) >= 0:
        return None
    tag = _SHEET_DATA.match(text, start)
    if tag is None:
        return None
    if tag.group(1):
        return ""
    end = text.find("</sheetData", tag.end())
    return None if end < 0 else text[tag.end() : end]


def _decoded(data: bytes) -> str | None:
    """The part as text when it is UTF-8 (declared so, or not declared at all)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    declared = _DECLARED.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _cells(
    body: str, max_row: int, max_col: int, max_cells: int, max_text: int
) -> tuple[list[Scanned], set[int]]:
    """The body cut into tokens by one ``findall`` (in C), which must tile it exactly,
    then read token by token as the exact reader reads its elements' ends."""
    if len(body) > MAX_BODY or body.count("<") > 4 * max_cells:
        raise _Decline  # a sheet that large goes to the exact reader, which streams it
    tokens = _TOKENS.findall(body)
    if sum(len(t[0]) for t in tokens) != len(body):
        raise _Decline  # something between the tokens that is not a cell or a row
    cells: list[list] = []
    hidden: set[int] = set()
    rows_ended: set[int] = set()
    met: set[int] = set()
    columns = _COLUMN_OF
    open_row, open_hidden = 0, False  # the row element whose cells are being read
    seen = 0
    for (
        whole, letters, digits, style, kind, f_at, f_text, v_at, v_text, is_at, is_text,
        g_attrs, g_inner, r_digits, r_attrs, r_close, g_rattrs, g_rclose, r_end,
    ) in tokens:  # fmt: skip
        if letters:  # a cell in the usual form
            row, col = int(digits), columns.get(letters) or _column(letters)
            if row > max_row:
                break
            key = row * _COLUMNS + col
            if row < 1 or row in rows_ended or key in met:
                raise _Decline
            met.add(key)
            if col <= max_col and (f_at or v_at or is_at):
                value = (v_text if v_at else None) if not is_at else is_text
                formula = f_text if f_at else None
                cells.append([row, col, kind or "n", int(style or 0), value, formula, bool(is_at)])
        elif r_digits or r_end or g_rattrs or g_rclose or whole.lstrip().startswith("<row"):
            if r_digits or g_rattrs or g_rclose or not r_end:  # a row's start tag
                if r_digits:
                    open_row, open_hidden = int(r_digits), _hidden(r_attrs)
                else:
                    open_row, open_hidden = _row(g_rattrs)
                if not (r_close or g_rclose):
                    continue  # counted at its end, as the exact reader counts it
            if open_row < 1 or open_row > max_row:
                if open_row < 1:
                    raise _Decline
                break
            if open_row in rows_ended:
                raise _Decline  # met twice: the exact reader refuses the file
            rows_ended.add(open_row)
            if open_hidden:
                hidden.add(open_row)
        elif whole.strip() == "":
            continue  # white space at the end
        else:  # a cell in another form: attribute by attribute, child by child
            attrs = _attrs(g_attrs)
            ref = _REF.fullmatch(attrs.get("r", ""))
            if ref is None:
                raise _Decline
            row, col = int(ref.group(2)), _column(ref.group(1))
            if row > max_row:
                break
            key = row * _COLUMNS + col
            if row < 1 or row in rows_ended or key in met:
                raise _Decline
            met.add(key)
            if col <= max_col and g_inner.strip():
                cells.append(_cell(row, col, attrs, g_inner))
        seen += 1
        if seen > max_cells:
            raise _Decline
    return _finish(cells, max_text), hidden


def _hidden(attrs_text: str) -> bool:
    if "hidden" not in attrs_text:
        return False
    flag = _attrs(attrs_text).get("hidden", "0")
    if flag not in _HIDDEN:
        raise _Decline
    return _HIDDEN[flag]


def _row(attrs_text: str | None) -> tuple[int, bool]:
    """A row element's number, and whether it is hidden."""
    attrs = _attrs(attrs_text)
    r = attrs.get("r", "")
    if not (r.isascii() and r.isdigit()) or int(r) < 1:
        raise _Decline
    flag = attrs.get("hidden", "0")
    if flag not in _HIDDEN:
        raise _Decline
    return int(r), _HIDDEN[flag]


def _attrs(text: str | None) -> dict[str, str]:
    """Attributes of a start tag; declines what is not plain ``name="value"`` syntax,
    and any value holding an entity or a character that XML would normalise."""
    if not text:
        return {}
    if _ATTRS.fullmatch(text) is None:
        raise _Decline
    out = {}
    for name, double, single in _ATTR.findall(text):
        value = double or single
        if "&" in value or "\t" in value or "\n" in value or "\r" in value:
            raise _Decline
        out[name] = value
    return out


def _column(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    if index > _MAX_COLUMN:
        raise _Decline
    return index


def _cell(row: int, col: int, attrs: dict[str, str], inner: str) -> list:
    """[row, column, type, style, value, formula, inline]: value and formula as raw
    character data (see :func:`_decode`); ``inline`` when the value is an ``<is>``."""
    value: str | None = None
    formula: str | None = None
    inline = False
    pos = 0
    while pos < len(inner):
        m = _CHILD.match(inner, pos)
        if m is None:
            if inner[pos:].strip():
                raise _Decline
            break
        pos = m.end()
        tag, body = m.group("tag"), m.group("body")
        if tag == "is":
            value, inline = _inline(body), True
        elif body is not None and "<" in body:
            raise _Decline
        elif tag == "v":
            value, inline = body or "", False
        else:
            formula = body or ""
    kind = attrs.get("t", "n")
    style = attrs.get("s", "")
    if style and not (style.isascii() and style.isdigit()):
        raise _Decline
    if not kind.isalpha():
        raise _Decline
    return [row, col, kind, int(style) if style else 0, value, formula, inline]


def _inline(body: str | None) -> str:
    """An ``<is>`` of one plain ``<t>`` (or none), raw; richer inline text declines."""
    if body is None or not body.strip():
        return ""
    m = _PLAIN_T.fullmatch(body)
    if m is None:
        raise _Decline
    return m.group(1) or ""


def _finish(cells: list[list], max_text: int) -> list[Scanned]:
    """Character data decoded as an XML parser hands it over, Excel's escapes in
    inline text decoded; a text over ``max_text`` declines."""
    raw = [
        (i, field)
        for i, c in enumerate(cells)
        for field in (4, 5)
        if c[field] and ("&" in c[field] or "\r" in c[field])
    ]
    if raw:
        for (i, field), text in zip(raw, _decode([cells[i][f] for i, f in raw]), strict=True):
            cells[i][field] = text
    out: list[Scanned] = []
    for row, col, kind, style, value, formula, inline in cells:
        if inline:
            value = unescape_excel(value)
        if value is not None and len(value) > max_text:
            raise _Decline
        out.append((row, col, kind, style, value, formula))
    return out


def _decode(texts: list[str]) -> list[str]:
    """Each raw text decoded by one parse, in C, of all of them side by side: line ends
    normalised, then character and predefined entity references replaced. Only texts
    of a part expat has parsed whole come here; anything it would not take declines."""
    doc = "<x>" + "".join(f"<t>{t}</t>" for t in texts) + "</x>"
    try:
        root = fromstring(doc)
    except ParseError:
        raise _Decline from None
    if len(root) != len(texts):
        raise _Decline
    return [el.text or "" for el in root]
