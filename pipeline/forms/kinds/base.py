"""The protocol of a form kind, and what the pipeline hands a kind at each stage.

A *kind* is the shape of a form: a grid of numbers (附件2), a list of pre-filled rows
with typed fields (附件1), a register of items that live across periods (两个清单). The
pipeline's stages never ask which kind a form is: they call its kind through this
protocol, and the kind answers from the form's definition —

    definition → layout → template sheet → extraction → checks → aggregation → outputs

A kind reads and writes nothing itself: the stages hand it the sheet's cells, the
ledger's records (through :class:`Records`), the worksheet to write; it returns tidy
records, findings, totals and tables. A fourth kind is a module of its own and a line in
the registry (:mod:`pipeline.forms.kinds`).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.config.anomalies import AnomalyConfig
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Reporter, Roster
from pipeline.findings import Finding
from pipeline.forms.layout import Layout
from pipeline.forms.printing import PrintColumns
from pipeline.forms.records import Extracted
from pipeline.forms.rows import Row
from pipeline.forms.sheet import RawSheet
from pipeline.forms.spec import FormSpec

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


class Records(Protocol):
    """What a kind may ask of the store of record (the ledger implements it)."""

    def accepted_values(
        self, form: str, first: str, last: str
    ) -> Iterable[tuple[str, str, str, str, float | None, str, str, str]]:
        """(institution, period, row key, measure, value, cell, file, sha256) of the
        current returns of the periods ``first``..``last``."""
        ...

    def accepted_texts(
        self, form: str, first: str, last: str
    ) -> Iterable[tuple[str, str, str, str, str, str, str, str]]:
        """(institution, period, row key, field, text, cell, file, sha256) likewise."""
        ...

    def baselines(self, form: str) -> list[tuple[str, str, str, str, float, str, str]]:
        """(institution, through, row key, measure, value, source, cell)."""
        ...

    def item_states(
        self, form: str, through: str
    ) -> list[tuple[str, str, str, str, str, str, str, str, str]]:
        """(institution, period, first period, item, field, text, cell, file, sha256):
        each register item's latest state up to ``through``."""
        ...

    def decisions(self, form: str) -> dict[tuple[str, str], tuple[str, str, str]]:
        """(institution, item ID) -> (field, value, decided at) of the bureau's decisions."""
        ...

    def item_ids(self, form: str) -> dict[str, set[str]]:
        """Institution -> every item ID it was given (or brought, one level up)."""
        ...

    def returned(self, first: str, last: str) -> set[tuple[str, str]]:
        """(institution, period) whose returns were all refused: rejected, not resent."""
        ...


@dataclass(frozen=True)
class ReadContext:
    """What extraction knows of the return being read."""

    institution: Institution
    period: Period
    where: Mapping[str, Any]  # file, sha256, institution, institution_name, period
    institutions: Mapping[str, str] = field(default_factory=dict)  # code or name -> code


@dataclass(frozen=True)
class Returned:
    """One return of the batch being validated, and where its findings point."""

    extracted: Extracted
    where: Mapping[str, Any]
    received: str = ""  # when it came in (ISO 8601), for the rules between returns


@dataclass(frozen=True)
class CheckContext:
    """What the checks of a batch of returns may consult."""

    period: Period
    start: Period  # the campaign's first period
    records: Records
    forms: Mapping[str, FormSpec]  # every form of the campaign, by id (cross-form checks)
    rows: Mapping[str, tuple[Row, ...]]  # every form's rows, by id


@dataclass(frozen=True)
class PrefillContext:
    """What the templates of a period are pre-filled from."""

    period: Period
    start: Period
    records: Records | None  # None: no ledger yet (blank templates)


@dataclass(frozen=True)
class AggregateContext:
    """What aggregating a period may consult."""

    period: Period
    start: Period
    due: dt.date
    records: Records
    roster: Roster
    anomalies: AnomalyConfig
    # institution -> (file name, sha256) of its current return of the period
    current: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Totals:
    """A form's aggregation for a period; each kind extends it with its figures."""

    spec: FormSpec
    period: Period
    anomalies: list[Finding] = field(default_factory=list)  # over the ledger


@dataclass(frozen=True)
class Table:
    """One sheet of an output workbook: a title, a header row and rows."""

    sheet: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    widths: Sequence[int] = ()
    fit_rows: bool = True  # rows as tall as their wrapped text (else text does not wrap)
    blank_cells: bool = True  # borders on empty cells too
    printed: PrintColumns | None = None  # the columns that print (default: all)


@dataclass(frozen=True)
class Book:
    """An output workbook of a form: ``<stem>_<period>.xlsx``."""

    stem: str
    tables: Sequence[Table]


class FormKind(ABC):
    """One kind of form; see the module's docstring. Instances are stateless."""

    name: str  # the definition's `kind`

    # -- the definition -----------------------------------------------------------------
    @abstractmethod
    def load(self, data: dict[str, Any], where: str) -> FormSpec:
        """The definition's TOML as this kind's spec; errors name ``where``."""

    # -- the sheet ----------------------------------------------------------------------
    @abstractmethod
    def layout(self, spec: FormSpec, rows: tuple[Row, ...], content: object = None) -> Layout:
        """Geometry of the sheet; ``content`` is a template's pre-fill or an aggregated
        return's content (a register's rows depend on its items)."""

    @abstractmethod
    def read_rows(self, layout: Layout) -> int:
        """How many rows of a returned sheet to read."""

    @abstractmethod
    def write_sheet(
        self,
        ws: Worksheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        reporter: Reporter,
        content: object,
        template: bool,
    ) -> int:
        """Write the table's cells below the labels (a template: inputs unlocked with
        in-cell checks; an aggregate: ``content``'s figures); returns the last row used."""

    def shape(self, content: object) -> object:
        """What of a template's pre-fill fixes its sheet's geometry: templates of equal
        shape (and role) are restamped from one another instead of built afresh."""
        return None

    def restamp(self, ws: Worksheet, spec: FormSpec, lay: Layout, content: object) -> bool:
        """Turn a template built for another reporter of the same role into one with
        ``content``; False when it cannot (the caller builds afresh)."""
        return content is None

    @abstractmethod
    def to_fill(self, spec: FormSpec, role: str) -> tuple[str, ...]:
        """The columns a reporter of ``role`` fills, as headed on the form (for the mail)."""

    def how_to_fill(self, spec: FormSpec) -> str:
        """One sentence on filling a form of this kind (for 填报说明)."""
        return ""

    # -- a return -----------------------------------------------------------------------
    @abstractmethod
    def extract(
        self,
        sheet: RawSheet,
        spec: FormSpec,
        lay: Layout,
        rows: tuple[Row, ...],
        ctx: ReadContext,
        out: Extracted,
    ) -> None:
        """Records of the sheet into ``out``, what was normalised or unreadable into
        ``out.findings``."""

    @abstractmethod
    def validate(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        batch: Sequence[Returned],
        ctx: CheckContext,
    ) -> None:
        """Check every return of the batch at once (one pandera call for the form), then
        the cross-field and cross-period rules; findings go to each return."""

    # -- the period ---------------------------------------------------------------------
    def prefills(
        self,
        spec: FormSpec,
        rows: tuple[Row, ...],
        ctx: PrefillContext,
        institutions: Sequence[Institution],
    ) -> Mapping[str, object]:
        """Institution code -> what its template is pre-filled with (none by default)."""
        return {}

    @abstractmethod
    def aggregate(self, spec: FormSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> Totals:
        """The period's figures from the ledger, with anomalies over it."""

    @abstractmethod
    def aggregated(self, spec: FormSpec, rows: tuple[Row, ...], totals: Totals) -> object:
        """The content of the aggregated return's sheet (a valid return one level up)."""

    def detail(self, totals: Totals, roster: Roster) -> list[Table]:
        """Sheets of 汇总明细: every institution's figures, to check or filter."""
        return []

    def books(self, totals: Totals, roster: Roster) -> list[Book]:
        """Output workbooks of the form's own (a register's 清单汇总)."""
        return []

    def trace(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        """For 数据溯源: every figure of the outputs and each source cell it came from."""
        return iter(())

    def derivations(self, totals: Totals, lay: Layout, output: str) -> Iterator[dict[str, object]]:
        """For 计算方法: how each derived figure is computed."""
        return iter(())
