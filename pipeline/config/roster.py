"""The roster: every institution that reports, read from CSV or xlsx with Chinese headers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RosterError

BUREAU_LEVEL = "卫生健康行政部门"

COLUMNS = {
    "机构代码": "code",
    "机构名称": "name",
    "机构级别": "level",
    "经济类型": "ownership",
    "电子邮箱": "email",
    "联系人": "contact",
    "联系电话": "phone",
}
REQUIRED = ("机构代码", "机构名称", "机构级别")


@dataclass(frozen=True)
class Institution:
    """A roster row. ``role`` says which counts it fills (see ``GridSpec.inputs_for``):
    the campaign's own bureau fills its own columns ("bureau"); another health
    administration, e.g. a district bureau in a city's roster, fills every column
    ("administration"); every other institution the hazard columns ("institution")."""

    code: str
    name: str
    level: str
    ownership: str = ""
    email: str = ""
    contact: str = ""
    phone: str = ""
    role: str = "institution"
    line: int = field(default=0, compare=False)  # line (row) of the roster file, for messages


@dataclass(frozen=True)
class Reporter:
    """Who a workbook is for: an institution of the roster, or the bureau itself (its
    aggregated return). ``role`` as :class:`Institution`'s."""

    code: str
    name: str
    role: str

    @classmethod
    def of(cls, inst: Institution) -> Reporter:
        return cls(code=inst.code, name=inst.name, role=inst.role)


def role_of(code: str, level: str, bureau_code: str | None) -> str:
    if code == bureau_code:
        return "bureau"
    return "administration" if level == BUREAU_LEVEL else "institution"


@dataclass(frozen=True)
class Roster:
    path: Path
    institutions: tuple[Institution, ...]

    by_code: dict[str, Institution] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_code", {i.code: i for i in self.institutions})

    def get(self, code: str) -> Institution | None:
        return self.by_code.get(code)

    def __iter__(self):
        return iter(self.institutions)

    def __len__(self) -> int:
        return len(self.institutions)


def _rows_from_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise RosterError(f"{path}：不是 UTF-8 或 GB18030 文本 / not UTF-8 or GB18030 text")
    return [row for row in csv.reader(io.StringIO(text))]


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise RosterError(f"{path}：无法作为 xlsx 打开（{exc}） / cannot open as xlsx") from exc
    try:
        ws = wb.worksheets[0]
        return [
            ["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)
        ]
    finally:
        wb.close()


HEADER_SEARCH = 10  # a roster saved from Excel may have a title (and a blank row) above
HEADERS = {attr: header for header, attr in COLUMNS.items()}


def _header_row(rows: list[list[str]]) -> int | None:
    """The first row with at least two of the roster's headers (a title row above is
    common; a header row lacking a required column is then said to lack it)."""
    for i, row in enumerate(rows[:HEADER_SEARCH]):
        if len({c.strip() for c in row} & set(COLUMNS)) >= 2:
            return i
    return None


def load_roster(path: Path, bureau_code: str | None = None, *, strict_text: bool = True) -> Roster:
    """Read and check the roster; problems name the file and line.

    ``bureau_code`` is the campaign's own bureau, which must be a row of the roster. A
    line break in a field refuses the whole roster unless ``strict_text`` is False (the
    mail commands check each row themselves, and refuse that row alone).
    """
    if not path.exists():
        raise RosterError(f"找不到名册：{path} / roster not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows, where = _rows_from_csv(path), "行"
    elif suffix in (".xlsx", ".xlsm"):
        rows, where = _rows_from_xlsx(path), "行（工作表）"
    else:
        raise RosterError(f"{path}：名册应为 .csv 或 .xlsx 文件 / roster must be .csv or .xlsx")
    if not rows:
        raise RosterError(f"{path}：名册是空的 / empty roster")
    head = _header_row(rows)
    if head is None:
        raise RosterError(
            f"{path}：前{min(len(rows), HEADER_SEARCH)}行中找不到表头（应有{'、'.join(REQUIRED)}等列）"
            f" / no header row with {', '.join(REQUIRED)}"
        )
    header = [h.strip() for h in rows[head]]
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise RosterError(
            f"{path}：第{head + 1}{where}：缺少列 {'、'.join(missing)} / missing column(s)"
        )
    index = {COLUMNS[h]: i for i, h in enumerate(header) if h in COLUMNS}
    institutions: list[Institution] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[head + 1 :], start=head + 2):
        if not any(cell.strip() for cell in row):
            continue
        at = f"{path}：第{line}{where}"
        values = {attr: (row[i].strip() if i < len(row) else "") for attr, i in index.items()}
        for attr, text in values.items():
            if strict_text and ("\n" in text or "\r" in text):
                raise RosterError(f"{at}：“{HEADERS[attr]}”中有换行 / line break in {attr}")
        if not values["code"] or not values["name"]:
            raise RosterError(
                f"{at}：机构代码和机构名称必须填写 / 机构代码 and 机构名称 are required"
            )
        if values["code"] in seen:
            raise RosterError(
                f"{at}：机构代码 {values['code']} 与第{seen[values['code']]}{where}重复"
                f" / 机构代码 {values['code']} repeats"
            )
        seen[values["code"]] = line
        role = role_of(values["code"], values["level"], bureau_code)
        institutions.append(Institution(**values, role=role, line=line))
    if not institutions:
        raise RosterError(f"{path}：名册中没有单位 / no institutions")
    if bureau_code is not None and bureau_code not in seen:
        raise RosterError(
            f"{path}：名册中没有本局（机构代码 {bureau_code}），请添加一行，机构级别填“{BUREAU_LEVEL}”"
            f" / the campaign's bureau {bureau_code} is not in the roster"
        )
    return Roster(path=path, institutions=tuple(institutions))
