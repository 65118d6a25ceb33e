"""An error value (#DIV/0!, #N/A, …) in an input cell is a value problem at that cell: never a blank,
never a whole-file rejection. calamine reads such a cell as '' (python-calamine issue #105), so the
package scan finds them; every route (regex fast path, defused parser, OpenDocument, LibreOffice's own
files) must agree."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl.cli import main
from tests.libreoffice import require_libreoffice, run_jobs
from tests.test_readers_agree import prefixed
from tests.test_validate import addr_of, filled

SHEET = "02-H"
ERRORS = ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]


def cells() -> list[str]:
    return [addr_of(SHEET, "ho_tich", "truoc_han"), addr_of(SHEET, "dat_dai", "dung_han")]


def _part_of(path: Path, sheet: str) -> str:
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"


def _rewrite(src: Path, dest: Path, change) -> Path:
    part = _part_of(src, SHEET)
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zo:
        for it in zi.infolist():
            data = zi.read(it.filename)
            zo.writestr(it, change(data) if it.filename == part else data)
    return dest


def _paste_errors(data: bytes, values: dict[str, str]) -> bytes:
    """As a clerk pasting values from a broken workbook: the cells hold t="e" and the error."""
    for ref, err in values.items():
        pat = re.compile(rb'<c r="' + ref.encode() + rb'"( s="\d+")?(?: t="\w+")?(?:/>|>.*?</c>)', re.S)
        data, n = pat.subn(lambda m: b'<c r="' + ref.encode() + b'"' + (m.group(1) or b"")
                           + b' t="e"><v>' + err.encode() + b"</v></c>", data, count=1)
        assert n == 1, ref
    return data


def _validate(path: Path) -> dict:
    res = CliRunner().invoke(main, ["validate", str(path), "--json"], catch_exceptions=False)
    return json.loads(res.stdout)["files"][0]


def _assert_error_cells(rep: dict, want: dict[str, str]) -> None:
    got = {p["cell"]: p["params"]["value"] for p in rep["problems"] if p["code"] == "value.error_value"}
    assert got == want, rep["problems"]
    at = [p for p in rep["problems"] if p.get("cell") in want and p["code"] == "value.required_blank"]
    assert not at, "an error value is not a blank"
    assert rep["status"] == "errors" and not rep["held"]


@pytest.mark.parametrize("route", ["fast", "parser", "openpyxl"])
@pytest.mark.parametrize("errors", [ERRORS[:2], ERRORS[2:4], ERRORS[4:6]])
def test_an_error_value_in_an_input_cell_is_a_problem_at_that_cell(tmp_path, route, errors):
    src = filled(tmp_path / "src", seed=4)
    want = dict(zip(cells(), errors))
    if route == "openpyxl":                        # openpyxl writes a known error text as t="e"
        wb = openpyxl.load_workbook(src)
        for ref, err in want.items():
            wb[SHEET][ref].value = err
        path = tmp_path / "openpyxl.xlsx"
        wb.save(path)
    else:
        change = (lambda d: _paste_errors(d, want)) if route == "fast" else (
            lambda d: prefixed(_paste_errors(d, want)))      # prefixed: the defused parser reads it
        path = _rewrite(src, tmp_path / f"{route}.xlsx", change)
    _assert_error_cells(_validate(path), want)


def test_the_merge_counts_the_file_and_names_the_cell(tmp_path):
    from tests.helpers import workspace
    ws = workspace(tmp_path)
    src = filled(tmp_path / "src", seed=4, ws=ws)
    want = dict(zip(cells(), ERRORS[:2]))
    _rewrite(src, ws.inbox / "H-TPLS.xlsx", lambda d: _paste_errors(d, want))
    res = CliRunner().invoke(main, ["merge", str(ws.inbox), "--workspace", str(ws.root), "--period", "2024-Y",
                                    "--json"], catch_exceptions=False)
    out = json.loads(res.stdout)
    assert "H-TPLS" in out["on_time"] + out["late"] and not out["held"]
    assert out["with_errors"] == 1


@pytest.mark.libreoffice
def test_a_failing_formula_typed_in_libreoffice_is_found_at_its_cell(tmp_path):
    require_libreoffice()
    src = filled(tmp_path / "src", seed=6, name="H-TPLS_loi.xlsx")
    a, b = cells()
    jobs = [{"src": str(src), "dst": str(tmp_path / f"loi.{fmt}"), "filter": fmt, "ops": [
        {"op": "set", "sheet": SHEET, "cell": a, "formula": "=1/0"},
        {"op": "set", "sheet": SHEET, "cell": b, "formula": "=NA()"},
    ]} for fmt in ("xlsx", "ods", "xls")]
    results = run_jobs(jobs)
    assert all(r["ok"] for r in results), results
    for fmt in ("xlsx", "ods", "xls"):
        rep = _validate(tmp_path / f"loi.{fmt}")
        _assert_error_cells(rep, {a: "#DIV/0!", b: "#N/A"})
        if fmt != "xls":        # formulas of a legacy .xls are not read (SheetInfo.formulas is None)
            altered = {p["cell"] for p in rep["problems"] if p["code"] == "structure.formula_altered"}
            assert {a, b} <= altered, (fmt, rep["problems"])
