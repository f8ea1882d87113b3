"""E-mail addresses as a clerk types them into the roster's 电子邮箱 column.

Several addresses may share one cell, separated by ；，; , 、 or spaces, and a Chinese
input method types full-width ＠ and ．. An address must be a plain ASCII
``local@domain.tld``; anything else is refused with the reason, never guessed. The mail
commands address messages with these; the intake compares a return's sender with them.
"""

from __future__ import annotations

import re
import unicodedata
from email.errors import HeaderDefect, HeaderParseError
from email.headerregistry import Address

SEPARATORS = re.compile(r"[;,；，、\s]+")


def parse_address(text: str) -> Address:
    """One address as typed; ValueError with the reason in Chinese when it is not one."""
    typed = text.strip()
    plain = unicodedata.normalize("NFKC", typed).strip()
    if not plain.isascii():
        raise ValueError(f"“{typed}”含有中文或全角字符")
    try:
        address = Address(addr_spec=plain)
    except (ValueError, HeaderParseError, HeaderDefect, IndexError) as exc:
        raise ValueError(f"“{typed}”不是有效的邮箱地址") from exc
    if not address.username or "." not in address.domain or address.domain.endswith("."):
        raise ValueError(f"“{typed}”不是有效的邮箱地址")
    return address


def split_addresses(cell: str) -> list[Address]:
    """Every address of one cell, once each (ValueError at the first that is not one)."""
    found: list[Address] = []
    for part in SEPARATORS.split(cell.strip()):
        if part:
            plain = parse_address(part)
            if plain.addr_spec.lower() not in {a.addr_spec.lower() for a in found}:
                found.append(plain)
    return found


def known_addresses(cell: str) -> set[str]:
    """The cell's valid addresses, lower-cased, for comparing a sender with (a part that
    is not an address is left out: the mail commands report it)."""
    out = set()
    for part in SEPARATORS.split(cell.strip()):
        try:
            out.add(parse_address(part).addr_spec.lower())
        except ValueError:
            continue
    return out
