"""Mail header text as Chinese mail clients really write it, decoded to what a clerk reads.

Standard mail encodes non-ASCII header text as RFC 2047 encoded words
(``=?GBK?B?...?=``) and attachment names as RFC 2231 parameters
(``filename*=utf-8''%E6%8A%A5...``). Real senders also put encoded words inside a quoted
``filename="..."`` (Outlook, Foxmail), split one GBK character across two encoded words,
label GBK text "GB2312", and write raw 8-bit GBK or UTF-8 bytes straight into a header.
Python's own parsers handle the standard cases and garble the others, so the raw header
(bytes kept as surrogates by the ``compat32`` parser) is decoded here: the declared
charset first, GB2312 and GBK read as their superset GB18030, then UTF-8, then GB18030.
Control characters are replaced by spaces: a decoded name or subject never carries a
line break into a file name, a log or a reply's header.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import urllib.parse
from email.message import Message

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_GB = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "euc-cn", "gb_2312-80", "csgb2312"}
_PARAM = re.compile(r'\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL)
_SECTION = re.compile(r"^(.+?)\*(\d+)(\*?)$")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text in ``charset`` if it reads as such, else UTF-8, else GB18030."""
    tries = []
    if charset:
        name = charset.strip().strip('"').lower().split("*", 1)[0]  # RFC 2231 language
        tries.append("gb18030" if name in _GB else name)
    tries += ["utf-8", "gb18030"]
    for codec in tries:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def raw_bytes(value: str) -> bytes:
    """The bytes a header held (the parser keeps undecodable bytes as surrogates)."""
    return value.encode("utf-8", "surrogateescape")


def _plain(value: str) -> str:
    """Raw 8-bit header text (GBK or UTF-8 written without encoding) as text."""
    if value.isascii():
        return value
    return decode_bytes(raw_bytes(value))


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        text = text.rstrip("=")
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return quopri.decodestring(text.encode("ascii", "replace"), header=True)


def clean(text: str) -> str:
    """Control characters (line breaks included) become one space; ends trimmed."""
    return _CONTROL.sub(" ", text).strip()


def header_text(value: str | None) -> str:
    """A header's text: encoded words decoded (adjacent words of one charset joined
    before decoding, so a character split across two words survives), raw 8-bit read."""
    if not value:
        return ""
    value = _FOLD.sub("", _plain(str(value)))
    out: list[str] = []
    run: tuple[str, bytes] | None = None  # (charset, bytes) of adjacent encoded words
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if run is not None and between.strip():
            out.append(decode_bytes(run[1], run[0]))
            run = None
        if run is None:
            out.append(between)
        charset, data = m.group(1).lower(), _word_bytes(m.group(2), m.group(3))
        if run is not None and run[0] != charset:
            out.append(decode_bytes(run[1], run[0]))
            run = None
        run = (charset, (run[1] if run else b"") + data)
        pos = m.end()
    if run is not None:
        out.append(decode_bytes(run[1], run[0]))
    out.append(value[pos:])
    return clean("".join(out))


def raw_header(msg: Message, name: str) -> str:
    """The first ``name`` header as received (undecoded), "" when absent."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def split_header(value: str) -> tuple[str, dict[str, str]]:
    """``type/sub; a=1; b="x y"`` → ("type/sub", {"a": "1", "b": "x y"}); names lowercased."""
    value = _FOLD.sub("", value)
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None:
            nxt = rest.find(";", pos)
            pos = len(rest) if nxt < 0 else nxt + 1
            continue
        raw = m.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(
                r"\\(.)", r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
            )
        params.setdefault(m.group(1).lower(), raw)
        nxt = rest.find(";", m.end())
        pos = len(rest) if nxt < 0 else nxt + 1
    return head.strip().lower(), params


def _extended(params: dict[str, str], key: str) -> str | None:
    """An RFC 2231 parameter (``key*`` or its sections ``key*0*``, ``key*1``...)."""
    sections: list[tuple[int, bool, str]] = []
    if f"{key}*" in params:
        sections.append((0, True, params[f"{key}*"]))
    for name, value in params.items():
        m = _SECTION.match(name)
        if m and m.group(1) == key:
            sections.append((int(m.group(2)), bool(m.group(3)), value))
    if not sections:
        return None
    sections.sort(key=lambda s: s[0])
    charset = None
    data = b""
    for i, (_, encoded, value) in enumerate(sections):
        if not encoded:
            data += raw_bytes(value)
            continue
        if i == 0 and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        data += urllib.parse.unquote_to_bytes(raw_bytes(value))
    return header_text(decode_bytes(data, charset or None))


def param_text(params: dict[str, str], key: str) -> str:
    """A parameter's text, RFC 2231 or not (encoded words and raw 8-bit decoded)."""
    extended = _extended(params, key)
    if extended is not None:
        return extended
    return header_text(params.get(key, ""))


def filename_of(part: Message) -> str:
    """An attachment's name: Content-Disposition ``filename``, else Content-Type ``name``."""
    _, disposition = split_header(raw_header(part, "content-disposition"))
    name = param_text(disposition, "filename")
    if not name:
        _, ctype = split_header(raw_header(part, "content-type"))
        name = param_text(ctype, "name")
    return name
