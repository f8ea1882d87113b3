"""Where the intake's files come from: one interface, with the inbox folder the default.

A source lists *entries*: the name the log shows, where the bytes are (a file, or a
member of a zip of returns in one), when it was received and, for a file that came by
e-mail, where from (:class:`~pipeline.ledger.store.MailOrigin`: sender, subject,
Message-ID). The received time decides on time or late and, of two returns of one
institution, which is the later, so it must be the real one: a file that ``fetch`` saved
takes the time the bureau's mail server received its message (IMAP INTERNALDATE, from
the ledger), never the file's modification time, which is only when it was fetched; a
file the clerk saved by hand keeps its modification time (the README asks to save it on
the day it arrives). Entries come in order of receipt, so that of identical copies the
earliest is the return.

Sources are a registry (:data:`SOURCES`): another one (a shared folder, a web upload)
is its own class and one line there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from pipeline.campaigns.campaign import Campaign
from pipeline.config.limits import Limits
from pipeline.intake.archive import Member, read_member
from pipeline.intake.sniff import display_name, is_regular_file, sha256_of, skip_reason
from pipeline.ledger.store import Ledger, MailOrigin


@dataclass(frozen=True)
class Entry:
    """One thing the intake judges: a file, or one member of a zip of returns."""

    name: str  # as the log shows it: 报表.xlsx, or 各院报表.zip/一院.xlsx
    path: Path  # the file (a member's zip)
    sha256: str = ""
    size: int = 0
    received_at: str = ""  # ISO local time, to the second
    origin: MailOrigin | None = None  # the e-mail it came in, if it came by mail
    member: str = ""  # the member of the zip at ``path``, as zipfile names it
    skip: str = ""  # not judged, and why (office litter, a folder, a dead link)
    unreadable: str = ""  # could not be read now; judged again on the next run
    stamp: float = 0.0  # received, in seconds: the order of receipt
    mtime_ns: int = 0  # the file's modification time when it was hashed (0: not known)

    def read(self, limits: Limits) -> bytes:
        """A member's bytes (a file is read from its path by the reader itself)."""
        return read_member(self.path, self.member, limits)


class Source(Protocol):
    """Lists what there is to judge, in order of receipt (names unique in one listing)."""

    def entries(self, ledger: Ledger) -> list[Entry]: ...


class Origins:
    """Every file that came by mail, by content hash, read from the ledger at once (one
    query per run rather than one per file, which a rerun of thousands would feel)."""

    def __init__(self, ledger: Ledger) -> None:
        self.by_sha: dict[str, list[MailOrigin]] = {}
        for origin in ledger.mail_returns():  # in order of receipt
            self.by_sha.setdefault(origin.sha256, []).append(origin)

    def find(self, sha256: str, name: str) -> MailOrigin | None:
        """As :meth:`Ledger.mail_origin`: the one saved under ``name``, else the first."""
        found = self.by_sha.get(sha256, [])
        return next((o for o in found if o.name == name), found[0] if found else None)


def _mtime(path: Path) -> tuple[str, float]:
    stamp = path.stat().st_mtime
    return dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds"), stamp


class FolderSource:
    """The inbox: every entry of one folder (not its subfolders)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def entries(self, ledger: Ledger) -> list[Entry]:
        if not self.folder.is_dir():
            return []
        origins = Origins(ledger)
        return sorted(
            (self._entry(path, origins) for path in self.folder.iterdir()),
            key=lambda e: (e.stamp, e.name),
        )

    def _entry(self, path: Path, origins: Origins) -> Entry:
        name = display_name(path.name)
        reason = "文件夹，未读取" if path.is_dir() else skip_reason(name)
        if not reason and not is_regular_file(path):
            reason = "不是普通文件（失效的链接、管道或设备），未读取"
        try:
            received, stamp = _mtime(path)
        except OSError:  # a dead link, or removed since the listing
            received, stamp = "", 0.0
        if reason:
            return Entry(name, path, skip=reason, stamp=stamp)
        try:
            changed = path.stat().st_mtime_ns  # before hashing: a later write changes it
            sha, size = sha256_of(path)
        except OSError as exc:  # removed or locked since the listing
            return Entry(name, path, unreadable=type(exc).__name__, stamp=stamp)
        origin = origins.find(sha, name)
        if origin is not None:
            received, stamp = origin.received_at, origin.received.timestamp()
        return Entry(name, path, sha, size, received, origin, stamp=stamp, mtime_ns=changed)


def member_entries(archive: Entry, members: list[Member]) -> list[Entry]:
    """The members of a zip of returns as entries: received when the zip was, from the
    e-mail the zip came in."""
    out = []
    for m in members:
        origin = archive.origin
        if origin is not None:
            origin = replace(origin, sha256=m.sha256, member=m.name)
        out.append(
            replace(
                archive,
                name=f"{archive.name}/{m.name}",
                sha256=m.sha256,
                size=m.size,
                origin=origin,
                member=m.raw,
                skip=m.skip,
            )
        )
    return out


SOURCES: dict[str, Callable[[Campaign], Source]] = {
    "folder": lambda campaign: FolderSource(campaign.inbox),
}


def source_for(campaign: Campaign, kind: str = "folder") -> Source:
    return SOURCES[kind](campaign)
