"""Who a message goes to, read from a roster row that may be hostile or mistyped.

Roster text goes into headers (the institution's name in To, its address), so a field
with a line break or any other control character is refused, naming the row: it could
inject a header (``Bcc:``). An address is read the way a clerk types them (several
separated by ；，; , or spaces; full-width ＠ and ． as typed by a Chinese input method)
and must be a plain ASCII ``local@domain.tld``; anything else is refused, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address

from pipeline.config.addresses import parse_address, split_addresses
from pipeline.config.mail import CONTROL
from pipeline.config.roster import COLUMNS, Institution

HEADER_OF = {attr: header for header, attr in COLUMNS.items()}
CHECKED = ("code", "name", "email", "contact")  # every field a message shows
__all__ = ["Refusal", "addresses", "parse_address", "recipients_of", "unsafe_field"]


@dataclass(frozen=True)
class Refusal:
    """A roster row no message is written for, and why (in the clerk's words)."""

    institution: Institution
    reason: str

    def __str__(self) -> str:
        inst = self.institution
        row = f"名册第{inst.line}行" if inst.line else "名册"
        return f"{row}（{_shown(inst.code)} {_shown(inst.name)}）：{self.reason}"


def _shown(text: str) -> str:
    """Text with its control characters made visible, for a message about them."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def unsafe_field(inst: Institution) -> str | None:
    """Why the row must not reach a header (a line break or control character), or None."""
    for attr in CHECKED:
        text = getattr(inst, attr)
        if CONTROL.search(text):
            kind = "换行符" if re.search(r"[\r\n\u2028\u2029]", text) else "控制字符"
            return f"“{HEADER_OF[attr]}”含有{kind}（{_shown(text)}），可能被用来伪造邮件头，未生成邮件；请修改名册"
    return None


def addresses(inst: Institution) -> list[Address]:
    """Every address of the row's 电子邮箱 (none when it is blank), named by the institution."""
    return [
        Address(display_name=inst.name, addr_spec=a.addr_spec) for a in split_addresses(inst.email)
    ]


def recipients_of(inst: Institution) -> list[Address] | Refusal:
    """The row's addresses, or why it is refused. An empty list: the row has no address."""
    reason = unsafe_field(inst)
    if reason:
        return Refusal(inst, reason)
    try:
        return addresses(inst)
    except ValueError as exc:
        return Refusal(inst, f"电子邮箱“{inst.email}”中{exc}，未生成邮件；请核对名册")
