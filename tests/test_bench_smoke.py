"""`python -m bench` end to end on a tiny corpus: every row, every ratio, the JSON.

N=20 and one repetition, so it checks the harness works, not how fast the pipeline is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.corpus import make_corpus

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"floor", "peer_openpyxl", "peer", "cold", "rerun", "rerun_one", "templates"}
RATIOS = {
    "peer_over_cold",
    "openpyxl_peer_over_cold",
    "cold_over_floor",
    "rerun_over_cold",
    "rerun_one_over_cold",
    "templates_per_second",
}


def test_bench_smoke(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "--n", "20", "--repeat", "1", "--memory-also", "10"]
    argv += ["--no-lock"]  # a long benchmark elsewhere on the machine must not block the tests
    argv += ["--work", str(tmp_path / "work"), "--results", str(tmp_path / "results")]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

    doc = json.loads((tmp_path / "results" / "bench-20.json").read_text(encoding="utf-8"))
    assert doc["n"] == 20 and doc["repeat"] == 1
    assert set(doc["commands"]) == COMMANDS
    for key, row in doc["commands"].items():
        assert row["median_seconds"] > 0, key
        assert row["peak_mib"] > 0, key
        assert len(row["samples"]) == 1, key
        assert row["label"] in done.stdout, key
    assert doc["commands"]["rerun_one"]["files"] == 21
    assert set(doc["ratios"]) == RATIOS
    assert all(v > 0 for v in doc["ratios"].values())
    names = [t["name"] for t in doc["targets"]]
    assert len(names) == 6  # four ratios, memory at N, memory growth 10 → 20
    assert {t["status"] for t in doc["targets"]} <= {"PASS", "MISS", "n/a"}
    assert set(doc["cold_memory_mib_by_n"]) == {"10", "20"}
    assert doc["corpus"]["planted"] == {"habits": 1, "formula": 1, "blank": 1}
    assert doc["warnings"] == []  # the runs accepted and rejected what was planted
    assert doc["machine"]["cpu_count"] >= 1 and doc["code"]["commit"]
    for name in names:
        assert name in done.stdout


def test_corpus_is_made_once_and_reused(tmp_path: Path) -> None:
    first = make_corpus(tmp_path, 5, jobs=1, echo=lambda _: None)
    assert not first.reused
    assert len(list(first.returns.iterdir())) == 5
    assert first.extra_file.name.endswith("（更正）.xlsx")
    again = make_corpus(tmp_path, 5, jobs=1, echo=lambda _: None)
    assert again.reused and again.key == first.key
    next(again.returns.iterdir()).unlink()  # a damaged cache is made again
    assert not make_corpus(tmp_path, 5, jobs=1, echo=lambda _: None).reused


def test_an_interrupted_corpus_resumes(tmp_path: Path) -> None:
    first = make_corpus(tmp_path, 5, jobs=1, echo=lambda _: None)
    files = sorted(first.returns.iterdir())
    (first.root / "corpus.json").rename(first.root / "corpus.partial")  # never finished
    (first.root / "corpus.partial").write_text(first.key)
    files[0].unlink()
    (first.returns / f".{files[1].name}.x.part").write_bytes(b"half")
    kept = files[2].stat().st_ino
    echoed: list[str] = []
    again = make_corpus(tmp_path, 5, jobs=1, echo=echoed.append)
    assert any("resuming, 4 returns kept" in line for line in echoed)
    assert sorted(again.returns.iterdir()) == files  # the missing one made, the cut one gone
    assert files[2].stat().st_ino == kept
    assert make_corpus(tmp_path, 5, jobs=1, echo=lambda _: None).reused
