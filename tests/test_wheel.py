"""The built package works installed, away from the source: a wheel into a fresh virtual
environment, run from another folder, finds its form definitions and templates inside
itself (pipeline/schemas, pipeline/templates), not in a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy of the source without its build leftovers, so the wheel is built afresh.
    src = tmp_path_factory.mktemp("src") / "src"
    shutil.copytree(
        ROOT,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "build", "__pycache__", "demo_workspace", "bench"
        ),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = out.glob("*.whl")
    return found


def test_the_wheel_holds_the_definitions_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in ("fujian1_tasks", "fujian2_progress", "hazard_register", "measure_register"):
        assert f"pipeline/schemas/{schema}.toml" in names
    assert "pipeline/templates/instructions.txt.j2" in names
    assert "pipeline/templates/mail/monthly_body.txt.j2" in names


def test_an_installed_wheel_runs_from_anywhere(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # The wheel alone goes into the fresh environment; the libraries it needs are lent
    # from the test environment's site-packages (no network, no second install of pandas).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    lent = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": lent}
    # The example campaign and roster, copied away from the source tree.
    work = tmp_path / "bureau"
    work.mkdir()
    for name in ("campaign.toml", "roster.csv"):
        shutil.copy(ROOT / "examples" / name, work / name)
    (work / "inbox").mkdir()
    where = subprocess.run(
        [str(python), "-c", "import pipeline.forms.spec as s; print(s.SCHEMAS_DIR)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).resolve() == (Path(site) / "pipeline" / "schemas").resolve()
    run = [str(python), "-m", "pipeline", "--campaign", str(work / "campaign.toml")]
    paths = [
        "--inbox",
        str(work / "inbox"),
        "--outbox",
        str(work / "outbox"),
        "--ledger",
        str(work / "l.sqlite"),
    ]
    made = subprocess.run(
        [*run, *paths, "templates", "--period", "2026-08", "--out", str(work / "forms")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert len(list((work / "forms").glob("*.xlsx"))) == 13
    ran = subprocess.run(
        [*run, *paths, "run", "--period", "2026-08"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert (work / "outbox" / "2026-08" / "问题隐患清单汇总_2026-08.xlsx").is_file()
