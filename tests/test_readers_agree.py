"""The fast worksheet path reads every writer's files exactly as the full (defused) parser does:
XlsxWriter (our generator), openpyxl, LibreOffice, and namespace-prefixed .NET-style output."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl.cli import main
from cchc_xl.read.package import LIMITS, _Budget, _feed, _scan_fast, _SheetScan
from tests.test_validate import filled

DATA = Path(__file__).parent / "data"
_TAG = re.compile(rb"<(/?)([A-Za-z][\w]*)(?=[\s>/])")


def prefixed(data: bytes) -> bytes:
    """A worksheet as the Open XML SDK writes it: the main namespace bound to ``x:``."""
    data = _TAG.sub(lambda m: b"<" + m.group(1) + b"x:" + m.group(2), data)
    return data.replace(b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                        b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"', 1)


def full(data: bytes):
    scan = _SheetScan("sheet", _Budget(LIMITS))
    _feed(io.BytesIO(data), scan)
    return scan.protected, scan.formulas, sorted(scan.merged), scan.errors


def sheets(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


@pytest.fixture(scope="module")
def writers(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("writers")
    xw = filled(tmp / "xw", unit="H-TPLS", period="2024-Y")
    op = tmp / "openpyxl.xlsx"
    openpyxl.load_workbook(xw).save(op)
    from tests.test_error_values import ERRORS, _paste_errors, _rewrite, cells
    errors = _rewrite(xw, tmp / "errors.xlsx", lambda d: _paste_errors(d, dict(zip(cells(), ERRORS))))
    return {"xlsxwriter": xw, "openpyxl": op, "errors": errors,
            "libreoffice": DATA / "resaved" / "good-H-TPLS_2024-Y.libreoffice.xlsx"}


@pytest.mark.parametrize("writer", ["xlsxwriter", "openpyxl", "libreoffice", "errors"])
def test_fast_path_equals_full_parser(writers, writer):
    checked = 0
    for name, data in sheets(writers[writer]).items():
        want = full(data)
        fast = _scan_fast(data, _Budget(LIMITS))
        if fast is not None:
            assert (fast[0], fast[1], sorted(fast[2]), fast[3]) == want, name
            checked += 1
        # the same sheet, namespace-prefixed: never misread by the fast path, read alike by the parser
        pre = prefixed(data)
        assert pre != data
        fast_pre = _scan_fast(pre, _Budget(LIMITS))
        assert fast_pre is None or (fast_pre[0], fast_pre[1], sorted(fast_pre[2]), fast_pre[3]) == want, name
        assert full(pre) == want, name
    assert checked or writer == "openpyxl"


def test_validate_reads_a_prefixed_workbook_as_the_original(writers, tmp_path):
    src = writers["xlsxwriter"]
    out = tmp_path / "dotnet.xlsx"
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        for it in zi.infolist():
            data = zi.read(it.filename)
            zo.writestr(it, prefixed(data) if it.filename.startswith("xl/worksheets/sheet") else data)
    runner = CliRunner()
    got = {}
    for p in (src, out):
        res = runner.invoke(main, ["validate", str(p), "--json"])
        rep = json.loads(res.stdout)["files"][0]
        got[p.name] = sorted((q["code"], q.get("cell")) for q in rep["problems"])
    assert got[src.name] == got[out.name]
