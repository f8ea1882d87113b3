"""What in an e-mail could be a return: every attachment but the body and its decorations.

Returns arrive as attachments, one or several to a message, sometimes zipped, sometimes
inside a forwarded message (``message/rfc822``, forwarded again...). Everything that is
not obviously the letter itself is kept: the text or HTML body, images the body shows
(signature logos: inline, or referenced by Content-ID from a ``multipart/related``
body) and cryptographic signatures are left out; when in doubt a part is kept, since
the intake refuses a file that is not a return with a reason, while a return left in
the mailbox is lost silently. Nesting and the number of parts are bounded, so a hostile
message costs little.
"""

from __future__ import annotations

import email
import email.utils
import io
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from pipeline.intake.headers import (
    clean,
    filename_of,
    header_text,
    raw_header,
    split_header,
)

MAX_DEPTH = 5  # forwarded messages inside forwarded messages
MAX_PARTS = 500  # MIME parts looked at in one message
SIGNATURES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}


@dataclass(frozen=True)
class Envelope:
    """Who sent a message and what it is about, decoded."""

    message_id: str
    sender: str  # the From address
    sender_name: str
    subject: str


@dataclass(frozen=True)
class Part:
    """An attachment that could be a return."""

    name: str  # as the sender named it, decoded ("" when it had no name)
    content_type: str
    data: bytes
    depth: int  # 0: of the message itself; 1: inside a forwarded message; ...


@dataclass
class Letter:
    envelope: Envelope
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not looked at, and why


def parse(raw: bytes) -> Message:
    """The message, undecoded headers kept (``compat32``: raw 8-bit survives)."""
    return email.message_from_bytes(raw, policy=policy.compat32)


def _message_id(value: str) -> str:
    value = clean(value)
    start = value.find("<")
    end = value.find(">", start + 1)
    if start >= 0 and end > start:
        value = value[start : end + 1]
    return value[:998]


def envelope_of(msg: Message) -> Envelope:
    name, address = email.utils.parseaddr(raw_header(msg, "from").replace("\n", " "))
    return Envelope(
        message_id=_message_id(raw_header(msg, "message-id")),
        sender=clean(address),
        sender_name=header_text(name),
        subject=header_text(raw_header(msg, "subject")),
    )


def _is_decoration(part: Message, ctype: str, name: str, related: bool) -> bool:
    """The letter itself: body text, the images it shows, signatures."""
    main = ctype.split("/", 1)[0]
    disposition, _ = split_header(raw_header(part, "content-disposition"))
    if ctype in SIGNATURES:
        return True
    if main == "text":
        return not name
    if main == "image":
        shown = bool(raw_header(part, "content-id")) and related
        return shown or not name or disposition == "inline"
    return False


def _inner_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], Message) else None
    data = part.get_payload(decode=True)  # a forwarded message sent base64-encoded
    return parse(data) if isinstance(data, bytes) and data else None


def _content_type(part: Message) -> str:
    ctype, _ = split_header(raw_header(part, "content-type"))
    return ctype if "/" in ctype else "text/plain"


def read_letter(raw: bytes) -> Letter:
    """The envelope and every part that could be a return, nested messages included."""
    msg = parse(raw)
    letter = Letter(envelope_of(msg))
    # (part, forwarding depth, inside multipart/related), walked without recursion
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    seen = 0
    while stack:
        part, depth, related = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            letter.notes.append(f"邮件分段超过 {MAX_PARTS} 个，其余部分未检查")
            break
        ctype = _content_type(part)
        if ctype == "message/rfc822":
            inner = _inner_message(part)
            if inner is None:
                continue
            if depth + 1 > MAX_DEPTH:
                letter.notes.append(f"转发嵌套超过 {MAX_DEPTH} 层，更深的附件未检查")
                continue
            stack.append((inner, depth + 1, False))
            continue
        if part.is_multipart():
            children = part.get_payload()
            inner_related = related or ctype == "multipart/related"
            if isinstance(children, list):
                stack.extend(
                    (c, depth, inner_related) for c in reversed(children) if isinstance(c, Message)
                )
            continue
        name = filename_of(part)
        if _is_decoration(part, ctype, name, related):
            continue
        data = part.get_payload(decode=True)
        letter.parts.append(Part(name, ctype, data if isinstance(data, bytes) else b"", depth))
    return letter


def archive_kind(data: bytes) -> str:
    """ "zip" for a zip archive that is not itself an xlsx (whose members the intake will
    judge); "rar" or "7z" for those archives; "" otherwise."""
    if data.startswith((b"Rar!\x1a\x07",)):
        return "rar"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"
    office = "[Content_Types].xml" in names or "mimetype" in names  # OOXML or ODF
    return "" if office else "zip"
