"""Atomic outputs and safe file names (pipeline/report/atomic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.atomic import open_atomic, safe_filename, write_atomic, write_text_atomic
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.distribute.templates import template_filename


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        ("a\x00b\x1fc\x7fd\ne\tf", "a_b_c_d_e_f"),
        ("示例区人民医院", "示例区人民医院"),
        ("示例区/人民医院", "示例区_人民医院"),
        ("  示例区人民医院. ", "示例区人民医院"),
        ("../../etc/passwd", "___etc_passwd"),
        ("a..b", "a_b"),
        ("..", "_"),
        (".", "_"),
        ("...", "_"),
        ("", "_"),
        ("CON", "_CON"),
        ("con", "_con"),
        ("PRN", "_PRN"),
        ("NUL", "_NUL"),
        ("COM1", "_COM1"),
        ("LPT9", "_LPT9"),
        ("CONSOLE", "CONSOLE"),
        ("QW001", "QW001"),
    ],
)
def test_safe_filename(text: str, expected: str) -> None:
    assert safe_filename(text) == expected


@pytest.mark.parametrize(
    "text", ["..", "../..", ". .", "..\\..", "a/../b", "....", " .. ", "/", "\\\\server\\share"]
)
def test_safe_filename_is_never_a_path(text: str) -> None:
    name = safe_filename(text)
    assert name not in ("", ".", "..")
    assert ".." not in name
    assert not any(ch in name for ch in '/\\:*?"<>|')
    assert name == name.strip(" .")


def test_safe_filename_limit() -> None:
    assert safe_filename("医" * 200) == "医" * 80
    assert safe_filename("x" * 100, 10) == "x" * 10
    # Cutting must not leave a trailing dot or space (invalid on Windows).
    assert safe_filename("abcdefghi.xyz", 10) == "abcdefghi"
    assert safe_filename("abcdefgh  xyz", 10) == "abcdefgh"


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out" / "汇总.txt"
    write_text_atomic(target, "第一版\r\n")
    assert target.read_bytes() == "第一版\r\n".encode()
    assert write_atomic(target, lambda p: p.write_text("第二版", encoding="utf-8")) == target
    assert target.read_text(encoding="utf-8") == "第二版"
    assert sorted(p.name for p in target.parent.iterdir()) == ["汇总.txt"]


def test_failed_writer_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old complete file")

    def writer(tmp: Path) -> None:
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, writer)
    assert target.read_bytes() == b"old complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_failed_writer_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.csv"

    def writer(tmp: Path) -> None:
        raise ValueError("bad data")

    with pytest.raises(ValueError):
        write_atomic(target, writer)
    assert list(tmp_path.iterdir()) == []


def test_open_atomic(tmp_path: Path) -> None:
    target = tmp_path / "log.csv"
    with open_atomic(target, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write("规则,单元格\n")
        assert not target.exists()  # nothing visible until the block completes
    assert target.read_bytes() == "\ufeff规则,单元格\n".encode()
    target.write_text("old")
    with pytest.raises(KeyError), open_atomic(target) as fh:
        fh.write("partial")
        raise KeyError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=0, max_size=120), code=st.text(min_size=0, max_size=40))
def test_a_template_file_name_from_any_roster_text_stays_in_its_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str, code: str
) -> None:
    folder = tmp_path_factory.getbasetemp() / "forms"
    file_name = template_filename(Period(2026, 7), Institution(code=code, name=name, level=""))
    assert "/" not in file_name and "\\" not in file_name and "\x00" not in file_name
    assert (folder / file_name).resolve().parent == folder.resolve()
    assert file_name.endswith(".xlsx") and not file_name.startswith(".")
