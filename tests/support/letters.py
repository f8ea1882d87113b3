"""E-mails as institutions really send them, built byte by byte for the fetch tests.

Each builder returns the raw message (or a MIME part of one): the encodings of the
attachment name and of the headers are written out by hand, because the point is to
reproduce what Chinese mail clients send (RFC 2231 and RFC 2047 in GBK, GB18030 and
UTF-8, GBK labelled GB2312, raw 8-bit names, words split mid-character), not what
Python's own e-mail package would produce.
"""

from __future__ import annotations

import base64
import io
import urllib.parse
import uuid
import zipfile

XLSX_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BUREAU = b"anquan@example-qwj.gov.cn"


def xlsx_bytes(tag: str) -> bytes:
    """A small OOXML-looking zip, different for every ``tag`` (not a real return: the
    fetch tests look at bytes and names, the intake judges contents)."""
    return zip_of(
        {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": f"<w t='{tag}'/>".encode()}
    )


def zip_of(files: dict[str, bytes]) -> bytes:
    """A zip of ``files``, the same bytes every time (fixed member dates)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 1, 8, 0, 0)), data)
    return buf.getvalue()


def b64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def encoded_word(text: str, charset: str, label: str = "") -> bytes:
    """An RFC 2047 encoded word; ``label`` names another charset than the one used (GBK
    text labelled GB2312, as many clients do)."""
    return f"=?{label or charset}?B?".encode() + base64.b64encode(text.encode(charset)) + b"?="


# -- parts ----------------------------------------------------------------------------------
def text_part(text: str, subtype: str = "plain") -> bytes:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode()
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(text.encode("utf-8"))
    )


def file_part(
    data: bytes,
    disposition: bytes,
    *,
    ctype: bytes = XLSX_TYPE,
    ctype_params: bytes = b"",
    extra: bytes = b"",
) -> bytes:
    """An attachment; ``disposition`` is the whole Content-Disposition value."""
    return (
        b"Content-Type: " + ctype + ctype_params + b"\r\n"
        b"Content-Disposition: "
        + disposition
        + b"\r\n"
        + extra
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(data)
    )


def rfc2231(name: str, charset: str = "utf-8") -> bytes:
    """``attachment; filename*=charset''%XX...`` (RFC 2231, one section)."""
    quoted = urllib.parse.quote(name.encode(charset), safe="")
    return f"attachment; filename*={charset}''{quoted}".encode()


def rfc2231_sections(name: str, charset: str = "utf-8", size: int = 4) -> bytes:
    """The same name cut into RFC 2231 continuation sections (``filename*0*=...``)."""
    raw = name.encode(charset)
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    out = b"attachment"
    for n, chunk in enumerate(chunks):
        prefix = f"{charset}''" if n == 0 else ""
        out += f";\r\n filename*{n}*={prefix}{urllib.parse.quote(chunk, safe='')}".encode()
    return out


def rfc2047_quoted(name: str, charset: str) -> bytes:
    """``attachment; filename="=?GBK?B?...?="`` as Outlook and Foxmail write it."""
    return b'attachment; filename="' + encoded_word(name, charset) + b'"'


def rfc2047_split(name: str, charset: str = "utf-8", cut: int = 4) -> bytes:
    """The name's bytes cut mid-character into two encoded words (seen from webmail)."""
    raw = name.encode(charset)
    words = [raw[:cut], raw[cut:]]
    encoded = b" ".join(f"=?{charset}?B?".encode() + base64.b64encode(w) + b"?=" for w in words)
    return b'attachment; filename="' + encoded + b'"'


def raw_8bit(name: str, charset: str) -> bytes:
    """The name written as raw bytes, no encoding at all (old clients)."""
    return b'attachment; filename="' + name.encode(charset) + b'"'


def forwarded(raw_message: bytes) -> bytes:
    """A message attached whole (``message/rfc822``), as "forward as attachment" does."""
    return (
        b"Content-Type: message/rfc822\r\n"
        b'Content-Disposition: attachment; filename="forwarded.eml"\r\n\r\n' + raw_message
    )


def multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
        + body
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )


def letter_body(html_logo: bytes | None = None, boundary: str = "alt") -> bytes:
    """The letter itself: plain and HTML alternatives, the HTML with an inline logo."""
    text = text_part("王科长：\r\n附件是我院10月份报表，请查收。\r\n安全科 张三")
    html = text_part('<p>王科长：附件是我院报表。</p><img src="cid:logo@x">', "html")
    if html_logo is not None:
        logo = (
            b'Content-Type: image/png; name="image001.png"\r\n'
            b'Content-Disposition: inline; filename="image001.png"\r\n'
            b"Content-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(html_logo)
        )
        html = multipart("related", [html, logo], boundary + "-rel")
    return multipart("alternative", [text, html], boundary + "-alt")


def message(
    parts: list[bytes],
    *,
    subject: bytes,
    sender: bytes,
    message_id: str | None,
    boundary: str = "",
) -> bytes:
    """A whole message (multipart/mixed) with headers given as raw bytes."""
    boundary = boundary or f"mixed-{uuid.uuid4().hex}"
    head = b"From: " + sender + b"\r\nTo: " + BUREAU + b"\r\nSubject: " + subject + b"\r\n"
    head += b"Date: Mon, 02 Nov 2026 09:13:00 +0800\r\n"
    if message_id is not None:
        head += f"Message-ID: {message_id}\r\n".encode()
    head += b"MIME-Version: 1.0\r\n"
    return head + multipart("mixed", parts, boundary)


def simple(
    mid: str | None,
    subject: str,
    attachments: list[tuple[str, bytes]],
    sender: str = "aqk@h1.example.cn",
) -> bytes:
    """A plain UTF-8 letter with its attachments named per RFC 2231."""
    parts = [text_part("请查收。")] + [file_part(data, rfc2231(name)) for name, data in attachments]
    return message(
        parts,
        subject=encoded_word(subject, "utf-8"),
        sender=b"<" + sender.encode() + b">",
        message_id=mid,
    )
