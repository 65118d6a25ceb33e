"""Any reader reads the roll-up: every detail cell the splice wrote, at its address, read alike by
exceljs (node, tests/readers/), openpyxl, python-calamine and LibreOffice (headless conversion).

exceljs places a row by its ``r`` attribute and refuses rows without one ("Invalid row number in
model"), so this is also the test that the spliced rows and cells carry their references.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils.cell import range_boundaries
from python_calamine import CalamineWorkbook

from cchc_xl.cli import main
from cchc_xl.merge.pieces import DATA_HEADERS, TRAIL_HEADERS
from tests.helpers import workspace
from tests.libreoffice import convert, require_libreoffice
from tests.test_validate import filled

READERS = Path(__file__).parent / "readers"
UNITS = ["S-XD", "H-TPLS", "TTPVHCC", "STP"]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: exceljs (tests/readers/) cannot read the roll-up")
    if not (READERS / "node_modules" / "exceljs").is_dir():
        pytest.fail("exceljs is not installed: run `npm ci` in tests/readers (.ci/run and make test do)",
                    pytrace=False)
    return node


@pytest.fixture(scope="module")
def rollup(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("rollup")
    ws = workspace(tmp)
    for i, unit in enumerate(UNITS):
        shutil.copyfile(filled(tmp / "src", unit=unit, ws=ws, seed=20 + i), ws.inbox / f"{i}.xlsx")
    res = CliRunner().invoke(main, ["merge", str(ws.inbox), "--workspace", str(ws.root), "--period", "2024-Y"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    (path,) = ws.rollup.glob("tong-hop_*.xlsx")
    return path


@pytest.fixture(scope="module")
def details(rollup) -> dict[str, list[tuple[int, int, int, int]]]:
    """sheet -> (min_col, header_row, max_col, last_row) of its detail tables, from the table parts."""
    wb = openpyxl.load_workbook(rollup)
    out: dict[str, list] = {}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(table.ref)
            names = [col.name for col in table.tableColumns]
            if names[: len(DATA_HEADERS)] == list(DATA_HEADERS) and names[-len(TRAIL_HEADERS):] == list(TRAIL_HEADERS):
                out.setdefault(ws.title, []).append((c0, r0, c1, r1))
    assert out, "no detail table in the roll-up"
    return out


def _addresses(details):
    from openpyxl.utils.cell import get_column_letter

    for sheet, tables in details.items():
        for c0, r0, c1, r1 in tables:
            for r in range(r0 + 1, r1 + 1):
                yield sheet, r, [f"{get_column_letter(c)}{r}" for c in range(c0, c1 + 1)]


def _plain(v):
    return None if v is None or v == "" else v


def _openpyxl_cells(path: Path) -> dict[str, dict[str, object]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {ws.title: {c.coordinate: _plain(c.value) for row in ws.iter_rows() for c in row} for ws in wb}


@pytest.fixture(scope="module")
def exceljs(rollup) -> dict[str, dict[str, object]]:
    node = _node()
    proc = subprocess.run([node, str(READERS / "read_cells.js"), str(rollup)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NODE_PATH": str(READERS / "node_modules")})
    assert proc.returncode == 0, proc.stderr
    return {sheet: {a: _plain(v) for a, v in cells} for sheet, cells in json.loads(proc.stdout).items()}


def test_exceljs_reads_every_detail_cell_where_openpyxl_and_calamine_do(rollup, details, exceljs):
    opx = _openpyxl_cells(rollup)
    cal_wb = CalamineWorkbook.from_path(str(rollup))
    cal = {s: cal_wb.get_sheet_by_name(s).to_python(skip_empty_area=False) for s in details}
    sent = set(UNITS)
    rows = numbers = 0
    for sheet, r, addrs in _addresses(details):
        got_x = [exceljs[sheet].get(a) for a in addrs]
        got_o = [opx[sheet].get(a) for a in addrs]
        grid = cal[sheet]
        c0 = details[sheet][0][0]
        got_c = [_plain(grid[r - 1][c0 - 1 + i]) if r - 1 < len(grid) and c0 - 1 + i < len(grid[r - 1]) else None
                 for i in range(len(addrs))]
        assert got_x == got_o == got_c, (sheet, r)
        # the row is a submission's row at its intended place: unit code, row key and source file
        assert got_x[0] in sent and got_x[4] and str(got_x[-3]).endswith(".xlsx"), (sheet, r, got_x)
        rows += 1
        numbers += sum(isinstance(v, (int, float)) for v in got_x)
    assert rows and numbers
    # and nothing beyond the last detail row (no row was placed past its table)
    for sheet, tables in details.items():
        last = max(t[3] for t in tables)
        assert not [a for a in exceljs[sheet] if int("".join(ch for ch in a if ch.isdigit())) > last], sheet


@pytest.mark.libreoffice
def test_libreoffice_reads_every_detail_cell_where_exceljs_does(rollup, details, exceljs, tmp_path):
    require_libreoffice()
    (converted,) = convert([rollup], "xlsx", tmp_path / "lo", recalc=False)
    lo = _openpyxl_cells(converted)
    for sheet, r, addrs in _addresses(details):
        got, want = [lo[sheet].get(a) for a in addrs], [exceljs[sheet].get(a) for a in addrs]
        # LibreOffice saves numbers with 15 significant digits: 78.57142857142857 comes back 78.5714285714286
        # (sometimes 14: 68.42105263157895 comes back 68.421052631579), so floats agree within 1e-13
        assert len(got) == len(want) and all(
            math.isclose(a, b, rel_tol=1e-13) if isinstance(a, float) and isinstance(b, float) else a == b
            for a, b in zip([_15(v) if isinstance(v, float) else v for v in got], [_15(v) for v in want])), \
            (sheet, r, got, want)
        assert [type(v) for v in got] == [type(v) for v in want] or all(
            isinstance(a, (int, float)) == isinstance(b, (int, float)) for a, b in zip(got, want)), (sheet, r)


def _15(v):
    """A value as LibreOffice gives it back. Numbers: saved with 15 significant digits. Texts: its
    reader decodes ``_x`` + one to three hex digits + ``_`` as a character (ECMA-376 ST_Xstring
    escapes have exactly four), so the row key "bao_tro_xa_hoi" reads as "bao_tro\\nhoi". It does
    the same to XlsxWriter's shared strings, and mangles the ``_x005F_`` escape of such a text too:
    a LibreOffice bug no escaping on our side avoids."""
    if isinstance(v, float):
        return float(f"{v:.15g}")
    if isinstance(v, str):
        return _LENIENT.sub(lambda m: chr(int(m.group(1), 16)), v)
    return v


_LENIENT = re.compile(r"_x([0-9A-Fa-f]{1,3})_")
