"""`cchc_xl demo`: a whole round on the embedded default province; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cchc_xl.cli import main


def test_demo_runs_a_whole_round_and_is_idempotent(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--json"])
    assert first.exit_code == 0, first.output
    a = json.loads(first.stdout)
    m = a["merge"]
    assert a["generated"] == m["expected"] > 30
    assert len(m["missing"]) == 3 and len(m["late"]) == 3
    assert m["accepted"] + m["rejected"] + len(m["missing"]) == m["expected"]
    assert m["with_errors"] >= 1 and a["with_defects"]
    assert Path(m["rollup"]).exists() and Path(m["tidy"]).exists()
    assert a["annotated"] and Path(a["annotated"]).exists()
    assert a["resent"]
    second = runner.invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--json"])
    assert second.exit_code == 0, second.output
    b = json.loads(second.stdout)
    for key in ("expected", "accepted", "rejected", "missing", "late", "with_errors"):
        assert b["merge"][key] == m[key], key
    assert b["with_defects"] == a["with_defects"] and b["resent"] == a["resent"]
