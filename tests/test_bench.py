"""``make bench`` runs: every step once on a few units (``--smoke``), and every command it times
exits 0. Nothing here is timed (speed is the bench's figures, never a test's assertion)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("cchc_xl merge (CLI), cold", "cchc_xl merge (CLI), nothing new", "cchc_xl merge (CLI), nothing new, no record",
            "cchc_xl merge (CLI), one new file", "cchc_xl status (CLI), one new file",
            "cchc_xl validate ONE_FILE (CLI)", "cchc_xl validate ONE_FILE (CLI), 500 units")


def test_the_bench_runs_every_step_on_a_few_units(tmp_path):
    out = tmp_path / "bench"
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "bench" / "run.py"), "--units", "20", "--naive", "2",
                          "--smoke", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [c for c in COMMANDS if results[c]["exit_code"] != 0] == []
    sent = [p for p in (out / "inbox").glob("*.xlsx") if p.name != "gui-lai.xlsx"]     # that one: the new file
    assert results["merge cold: whole round incl. validation"]["files_validated"] == len(sent) > 0
    assert results["merge warm: one new file"]["files_validated"] == 1
    assert results["ledger KB per file"] > 0 and results["ratio cold merge (CLI) / raw calamine read"] > 0
