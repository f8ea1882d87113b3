"""What a return says, as tidy records: the unit extraction produces, validation checks,
the ledger stores and aggregation sums.

A grid's figures are :class:`GridCell` (one number per row and measure); a list's and a
register's fields are :class:`TextCell` (the text kept on record, and its typed value for
the checks). A register row an institution added has no 编号 yet: it is a
:class:`NewItem`, given its ID when the return is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.findings import Finding


@dataclass(frozen=True, slots=True)
class GridCell:
    """One figure of a grid form as the file states it."""

    form: str
    row_key: str
    measure: str
    cell: str
    raw: object
    value: float | None
    typed: bool = True  # False: a formula, ``value`` is its cached result


@dataclass(frozen=True, slots=True)
class TextCell:
    """One field of a list or register row: ``text`` is what the ledger keeps (a date as
    2026-07-03, a number without '.0'), ``value`` what the checks see (None: blank or
    unreadable)."""

    form: str
    row_key: str
    field: str
    cell: str
    text: str
    value: object = None


@dataclass(frozen=True, slots=True)
class NewItem:
    """A register row added by the institution, keyed ``row_key`` until it has an ID."""

    form: str
    row_key: str
    prefix: str  # the register's ID prefix after the institution code
    identity: str  # its description: a superseding return's same item keeps its ID
    # an aggregated return of the level below brings its items' IDs: kept as they are
    given_id: str = ""


@dataclass
class Extracted:
    """Every form of one return, read."""

    institution: Institution
    period: Period
    values: list[GridCell] = field(default_factory=list)  # input counts the reporter fills
    # counts typed into columns the reporter does not fill: not counted, but the file's
    # own formulas include them, so its derived cells are checked against them too
    foreign: list[GridCell] = field(default_factory=list)
    claims: list[GridCell] = field(default_factory=list)  # derived cells and total rows
    texts: list[TextCell] = field(default_factory=list)
    # cells read only to be checked, never taken: a bureau's field on an institution's file
    not_taken: list[TextCell] = field(default_factory=list)
    new_items: list[NewItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    aggregate: bool = False  # an aggregated return of the level below (its IDs are its own)
