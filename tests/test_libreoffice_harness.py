"""Tests of the LibreOffice harness itself (tests/libreoffice.py, tests/lo/uno_driver.py).

Everything here runs a real LibreOffice: no mocks.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tests.libreoffice import LibreOfficeError, convert, require_libreoffice, run_jobs

pytestmark = pytest.mark.libreoffice

SHEET = "01-S"
# B4 = B1/B2*100 with B1 = 50 and B2 = "7" (text, converted by Calc because unambiguous).
EDITED_RATIO = 50 / 7 * 100


# -- helpers -------------------------------------------------------------------------------


def build_book(path: Path, b1: float = 30, b2: float = 4) -> Path:
    """Two inputs and two formulas; xlsxwriter caches 0 as their value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    ws.write_string("A1", "Số hồ sơ tiếp nhận")
    ws.write_number("B1", b1)
    ws.write_string("A2", "Số hồ sơ giải quyết")
    ws.write_number("B2", b2)
    ws.write_string("A3", "Tổng")
    ws.write_formula("B3", "=B1+B2")
    ws.write_string("A4", "Tỷ lệ (%)")
    ws.write_formula("B4", '=IFERROR(B1/B2*100,"")')
    wb.close()
    return path


def build_list_book(path: Path, protect: str | None = None) -> Path:
    """Sheet "Data": A1:A5 = 1..5 and A6 = SUM(A1:A5); sheet "Summary" refers to Data!A6."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    data = wb.add_worksheet("Data")
    for i in range(5):
        data.write_number(i, 0, i + 1)
    data.write_formula("A6", "=SUM(A1:A5)")
    summary = wb.add_worksheet("Summary")
    summary.write_formula("A1", "=Data!A6")
    if protect is not None:
        data.protect(protect)
    wb.close()
    return path


def cells(path: Path, sheet: str) -> dict[str, object]:
    """All non-empty cells of a sheet read by calamine, keyed by A1 reference."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    out = {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value != "":
                out[f"{chr(ord('A') + c)}{r}"] = value
    return out


def sheet_names(path: Path) -> list[str]:
    return CalamineWorkbook.from_path(str(path)).sheet_names


# -- convert -----------------------------------------------------------------------------


def test_convert_recalculates_stale_formula_values(tmp_path):
    require_libreoffice()
    src = build_book(tmp_path / "src" / "book.xlsx")
    other = build_book(tmp_path / "src" / "other.xlsx", b1=9, b2=0)
    # xlsxwriter wrote 0 as the cached value of both formulas.
    assert cells(src, SHEET)["B3"] == 0

    fresh = convert([src, other], "xlsx", tmp_path / "fresh", recalc=True)
    assert fresh == [tmp_path / "fresh" / "book.xlsx", tmp_path / "fresh" / "other.xlsx"]
    book = cells(fresh[0], SHEET)
    assert book["B1"] == 30 and book["B2"] == 4
    assert book["B3"] == 34
    assert book["B4"] == pytest.approx(750)
    assert book["A1"] == "Số hồ sơ tiếp nhận"
    other_values = cells(fresh[1], SHEET)
    assert other_values["B3"] == 9
    assert "B4" not in other_values  # IFERROR(9/0*100, "") is the empty string
    # The formulas themselves survive the round trip.
    ws = openpyxl.load_workbook(fresh[0])[SHEET]
    assert ws["B3"].value == "=B1+B2"


def test_convert_without_recalc_keeps_stale_values(tmp_path):
    """Proves that the recalc profile is what refreshes the values above."""
    require_libreoffice()
    src = build_book(tmp_path / "book.xlsx")
    (stale,) = convert([src], "xlsx", tmp_path / "stale", recalc=False)
    assert cells(stale, SHEET)["B3"] == 0


def test_convert_to_xls_and_ods(tmp_path):
    require_libreoffice()
    src = build_book(tmp_path / "book.xlsx")
    for fmt in ("xls", "ods"):
        (out,) = convert([src], fmt, tmp_path / fmt)
        assert out.suffix == f".{fmt}"
        values = cells(out, SHEET)
        assert values["B3"] == 34
        assert values["B4"] == pytest.approx(750)


def test_convert_reports_missing_output(tmp_path):
    require_libreoffice()
    bogus = tmp_path / "not-a-workbook.xlsx"
    bogus.write_bytes(b"PK\x03\x04 this is not a zip file")
    with pytest.raises(LibreOfficeError, match="did not produce"):
        convert([bogus], "ods", tmp_path / "out")


# -- run_jobs ------------------------------------------------------------------------------


def test_run_jobs_edits_reads_and_stores_every_format(tmp_path):
    require_libreoffice()
    src = build_book(tmp_path / "book.xlsx")
    ops = [
        {"op": "set", "sheet": SHEET, "cell": "B1", "value": 50},
        {"op": "set", "sheet": SHEET, "cell": "B2", "string": "7"},
        {"op": "read", "sheet": SHEET, "cells": ["A1", "B1", "B2", "B3", "B4", "C9"]},
    ]
    outputs = {fmt: tmp_path / "out" / f"edited.{fmt}" for fmt in ("xlsx", "xls", "ods")}
    jobs = [{"src": str(src), "dst": str(dst), "filter": fmt, "ops": ops} for fmt, dst in outputs.items()]
    jobs.append({"src": str(src), "ops": [{"op": "read", "sheet": SHEET, "cells": ["B3", "B4"]}]})

    results = run_jobs(jobs)

    for result in results:
        assert result["ok"], result["error"]
        assert result["error"] is None
    expected_reads = {
        f"{SHEET}!A1": "Số hồ sơ tiếp nhận",
        f"{SHEET}!B1": 50.0,
        f"{SHEET}!B2": "7",
        f"{SHEET}!B3": 57.0,
        f"{SHEET}!B4": pytest.approx(EDITED_RATIO),
        f"{SHEET}!C9": None,
    }
    for result in results[:3]:
        assert result["reads"] == expected_reads
        assert isinstance(result["reads"][f"{SHEET}!B1"], float)
    # Read-only job: the unedited source, recalculated (its cached values were 0).
    assert results[3]["reads"] == {f"{SHEET}!B3": 34.0, f"{SHEET}!B4": 750.0}
    assert not (tmp_path / "book.ods").exists()

    for fmt, dst in outputs.items():
        assert dst.is_file(), fmt
        values = cells(dst, SHEET)
        assert values["B1"] == 50, fmt
        assert values["B2"] == "7", fmt  # stored as text, as a person typing '7 would
        assert values["B3"] == 57, fmt
        assert values["B4"] == pytest.approx(EDITED_RATIO), fmt
        assert values["A4"] == "Tỷ lệ (%)", fmt
    # The source is untouched.
    assert cells(src, SHEET)["B1"] == 30


def test_run_jobs_rename_sheet_and_insert_rows(tmp_path):
    require_libreoffice()
    src = build_list_book(tmp_path / "list.xlsx")
    dst = tmp_path / "out" / "list.xlsx"
    new_name = "Dữ liệu"
    results = run_jobs(
        [
            {
                "src": src,  # Path objects are accepted
                "dst": dst,
                "filter": "xlsx",
                "ops": [
                    {"op": "rename_sheet", "sheet": "Data", "name": new_name},
                    {"op": "insert_rows", "sheet": new_name, "row": 3, "count": 2},
                    {"op": "set", "sheet": new_name, "cell": "A3", "value": 10},
                    {"op": "set", "sheet": new_name, "cell": "A4", "formula": "=A3*2"},
                    {"op": "read", "sheet": new_name, "cells": ["A2", "A5", "A8"]},
                    {"op": "read", "sheet": "Summary", "cells": ["A1"]},
                    {"op": "delete_rows", "sheet": new_name, "row": 1, "count": 1},
                    {"op": "clear", "sheet": new_name, "cell": "A1"},
                    {"op": "read", "sheet": new_name, "cells": ["A1", "A7"]},
                ],
            }
        ]
    )
    (result,) = results
    assert result["ok"], result["error"]
    # Before the deletion: 1, 2, 10, 20, 3, 4, 5 and SUM moved to A8.
    assert result["reads"][f"{new_name}!A2"] == 2.0
    assert result["reads"][f"{new_name}!A5"] == 3.0
    assert result["reads"]["Summary!A1"] == 45.0
    # After deleting row 1 and clearing the new A1 (which held 2): SUM(A1:A6) = 42.
    assert result["reads"][f"{new_name}!A1"] is None
    assert result["reads"][f"{new_name}!A7"] == 42.0

    assert sheet_names(dst) == [new_name, "Summary"]
    values = cells(dst, new_name)
    assert values["A2"] == 10 and values["A3"] == 20 and values["A7"] == 42
    assert cells(dst, "Summary")["A1"] == 42
    wb = openpyxl.load_workbook(dst)
    assert wb[new_name]["A7"].value == "=SUM(A1:A6)"
    assert wb[new_name]["A3"].value == "=A2*2"
    assert new_name in wb["Summary"]["A1"].value


def test_run_jobs_protected_sheet_and_failure_isolation(tmp_path):
    require_libreoffice()
    src = build_list_book(tmp_path / "prot.xlsx", protect="secret")
    reprotected = tmp_path / "out" / "reprotected.xlsx"
    tampered = tmp_path / "out" / "tampered.xlsx"
    results = run_jobs(
        [
            # 0: Calc refuses to insert rows into a protected sheet.
            {"src": str(src), "ops": [{"op": "insert_rows", "sheet": "Data", "row": 2}]},
            # 1: wrong password.
            {"src": str(src), "ops": [{"op": "unprotect", "sheet": "Data", "password": "x"}]},
            # 2: missing source.
            {"src": str(tmp_path / "missing.xlsx"), "ops": []},
            # 3: unknown sheet.
            {"src": str(src), "ops": [{"op": "read", "sheet": "Nope", "cells": ["A1"]}]},
            # 4: with the password: unprotect, insert, protect again, store.
            {
                "src": str(src),
                "dst": str(reprotected),
                "ops": [
                    {"op": "unprotect", "sheet": "Data", "password": "secret"},
                    {"op": "insert_rows", "sheet": "Data", "row": 2, "count": 1},
                    {"op": "protect", "sheet": "Data", "password": "secret"},
                    {"op": "read", "sheet": "Data", "cells": ["A2", "A7"]},
                ],
            },
            # 5: scripting writes into locked cells of the protected sheet.
            {
                "src": str(src),
                "dst": str(tampered),
                "ops": [{"op": "set", "sheet": "Data", "cell": "A1", "string": "12 hồ sơ"}],
            },
            # 6: a job exceeding its timeout gets the office killed ...
            {"src": str(src), "timeout": 0.001, "ops": []},
            # 7: ... and the next job runs in a restarted office.
            {"src": str(src), "ops": [{"op": "read", "sheet": "Summary", "cells": ["A1"]}]},
        ]
    )
    assert [r["ok"] for r in results] == [False, False, False, False, True, True, False, True]
    assert "timed out" in results[6]["error"]
    assert results[7]["reads"] == {"Summary!A1": 15.0}
    assert "protected" in results[0]["error"]
    assert "insert_rows" in results[0]["error"]
    assert "unprotect" in results[1]["error"]
    assert "not found" in results[2]["error"]
    assert "Nope" in results[3]["error"]
    assert results[4]["reads"] == {"Data!A2": None, "Data!A7": 15.0}

    ws = openpyxl.load_workbook(reprotected)["Data"]
    assert ws.protection.sheet
    assert ws["A7"].value == "=SUM(A1:A6)"
    ws = openpyxl.load_workbook(tampered)["Data"]
    assert ws.protection.sheet
    assert ws["A1"].value == "12 hồ sơ"


def test_runs_with_their_own_profiles_ignore_stale_locks(tmp_path):
    require_libreoffice()
    books = [build_book(tmp_path / f"b{i}.xlsx", b1=10 * (i + 1), b2=2) for i in range(3)]
    # Both editors open the same file, next to a stale lock file of a crashed office:
    # the harness profiles disable document locking, so neither matters.
    (tmp_path / ".~lock.b0.xlsx#").write_text(",someone,host,01.01.2024 00:00,file:///x;")

    def edit(i):
        return run_jobs(
            [
                {
                    "src": str(books[0]),
                    "ops": [
                        {"op": "set", "sheet": SHEET, "cell": "B2", "value": i + 1},
                        {"op": "read", "sheet": SHEET, "cells": ["B3"]},
                    ],
                }
            ]
        )[0]

    # One editor and one conversion at a time: two offices starting at once on a loaded 2-core
    # machine made this flaky in CI; separate profiles and the lock file are what is checked here.
    results = [edit(i) for i in range(2)]
    (ods,) = convert([books[2]], "ods", tmp_path / "conv")
    assert all(r["ok"] for r in results), results
    assert [r["reads"][f"{SHEET}!B3"] for r in results] == [11.0, 12.0]
    assert cells(ods, SHEET)["B3"] == 32


def test_no_soffice_left_behind():
    """Runs after the tests above (file order): none of their offices survived.

    Safe under parallel runs: a harness office whose profile directory is already
    gone is a leftover, since profiles are removed only after the office is dead.
    """
    require_libreoffice()
    proc = subprocess.run(["pgrep", "-a", "soffice"], check=False, capture_output=True, text=True)
    leftovers = []
    for line in proc.stdout.splitlines():
        match = re.search(r"-env:UserInstallation=file://(\S*cchc_lo_(?:uno|convert)_\S*)", line)
        if match and not Path(unquote(match.group(1))).exists():
            leftovers.append(line)
    assert leftovers == []
