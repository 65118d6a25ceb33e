"""Pre-rendered detail rows: rows rendered once, numbered and spliced into the sheet, read back
by openpyxl, calamine and pandas at the right places; packs rendered again when what they depend
on changes; the tidy export assembled from gzip members."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import sqlite3
import zipfile
import zlib

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.config.period import parse_period
from cchc_xl.config.province import load_province
from cchc_xl.config.workspace import load_workspace
from cchc_xl.generate.round import Builder
from cchc_xl.merge.formats import Formats, detail_styles, workbook_options
from cchc_xl.merge.ledger import Ledger, LedgerDamaged
from cchc_xl.merge.model import ValueRow
from cchc_xl.merge.pieces import DATA_HEADERS, TRAIL_HEADERS, VALUE_COL0, Piece, render_pieces
from cchc_xl.merge.run import LEDGER_NAME, merge
from cchc_xl.merge.splice import Detail, write_package
from tests.helpers import read_tidy, workspace
from tests.test_merge import PERIOD, _inbox

SEED_TYPES = dict(load_province("lang-son-3-cap-2011-2020").type_labels)


def test_detail_styles_are_those_every_rollup_gets():
    wb = xlsxwriter.Workbook(io.BytesIO(), workbook_options())
    assert Formats(wb).detail_styles() == detail_styles()


TRICKY = ["=HYPERLINK(\"http://x\",\"y\")", "_x0041_ stays", " leading space", "tab\there", "bell\x07",
          "a < b & c > d", "Nội dung tiếng Việt"]


def _values(unit: str, lay, texts: bool) -> list[ValueRow]:
    out = []
    rng = random.Random(unit)
    when = dt.datetime(2024, 11, 28, 9, 30)
    for spec in lay.input_cells:
        r, c = spec.ref
        v: object = float(rng.randint(0, 50))
        if texts and len(out) < len(TRICKY):
            v = TRICKY[len(out)]
        out.append(ValueRow(PERIOD, unit, f"Đơn vị {unit}", "S", None, "main", lay.code, lay.blueprint.id, r,
                            lay.row(r).label, c, lay.col(c).label, v, "input", f"/hop-thu/{unit}.xlsx",
                            lay.sheet, spec.addr, when, f"hash-{unit}"))
    return out


def test_position_free_rows_land_where_they_belong(tmp_path):
    """Two submissions' pieces after a header row written by XlsxWriter: every reader sees every
    value at its row and column, texts as texts (no formula, no escape leaking)."""
    ws = load_workspace(None, "lang-son-3-cap-2011-2020")
    b = Builder(ws, parse_period(PERIOD), default_catalogue())
    lay = b.layout("02-H", ws.province.unit("H-TPLS"))
    sent = {u: _values(u, lay, texts=(u == "H-A")) for u in ("H-A", "H-B")}
    pieces = [p for u in sent for p in render_pieces(sent[u], lambda t, a: lay, ws.province.type_labels)]
    assert all(p.n_rows for p in pieces)
    package = io.BytesIO()
    wb = xlsxwriter.Workbook(package, workbook_options())
    Formats(wb)
    sheet = wb.add_worksheet("02-H")
    headers = [*DATA_HEADERS, *(c.label for c in lay.value_cols), *TRAIL_HEADERS]
    sheet.write_row(0, 0, ["Bảng chi tiết"])
    sheet.write_row(2, 0, headers)
    sheet.write_string(0, 3, "after")          # a cell to the right of the title: rows keep their cells
    wb.close()
    out = tmp_path / "detail.xlsx"
    write_package(package, out, [Detail(sheet.index, 4, pieces)], None)
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
    expected_rows = [r for u in sent for r in _rows(sent[u], lay)]
    got_opx = [list(r) for r in openpyxl.load_workbook(out)["02-H"].iter_rows(min_row=4, values_only=True)]
    got_cal = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("02-H").to_python()[3:]
    assert len(got_opx) == len(got_cal) == len(expected_rows) == sum(p.n_rows for p in pieces)
    for want, a, c in zip(expected_rows, got_opx, got_cal, strict=True):
        for col, value in want.items():
            assert c[col] == value or (c[col] == "" and value is None), (col, c[col], value)
            if isinstance(value, str) and ("_x" in value or "\x07" in value):
                continue    # openpyxl leaves Excel's _xHHHH_ escapes as they are (as for XlsxWriter's)
            assert a[col] == value or (a[col] is None and value == ""), (col, a[col], value)
    texts = {v for row in got_cal for v in row if isinstance(v, str)}
    assert set(TRICKY) <= texts


def _rows(values: list[ValueRow], lay) -> list[dict[int, object]]:
    by_row: dict[str, dict[int, object]] = {}
    cols = [c.key for c in lay.value_cols]
    for v in values:
        row = by_row.setdefault(v.row_key, {0: v.unit_code, 4: v.row_key})
        row[VALUE_COL0 + cols.index(v.column_key)] = v.value
    order = [r.key for r in lay.rows]
    return [by_row[k] for k in sorted(by_row, key=order.index)]


def test_piece_metadata_round_trips_through_the_ledger(tmp_path):
    ws = load_workspace(None, "lang-son-3-cap-2011-2020")
    lay = Builder(ws, parse_period(PERIOD), default_catalogue()).layout("02-H", ws.province.unit("H-TPLS"))
    (p,) = render_pieces(_values("H-A", lay, texts=False), lambda t, a: lay, ws.province.type_labels)
    back = Piece.loads(p.dumps(), p.deflated)
    assert back == p
    assert zlib.decompressobj(-15).decompress(p.deflated).count(b"<row") == p.n_rows
    assert zlib.crc32(zlib.decompressobj(-15).decompress(p.deflated)) == p.crc


def test_packs_are_rendered_again_when_the_registry_changes(tmp_path):
    ws = workspace(tmp_path)
    inbox = _inbox(ws, tmp_path)
    merge(ws, inbox, period=parse_period(PERIOD))
    units = ws.root / "config" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace("Sở Xây dựng", "Sở Xây dựng (đổi tên)"),
                     encoding="utf-8")
    ws2 = load_workspace(ws.root)
    res = merge(ws2, inbox, period=parse_period(PERIOD))
    assert res.new_files == 0                   # nothing validated again …
    names = {r["unit_name"] for r in read_tidy(res.tidy) if r["unit_code"] == "S-XD"}
    assert names == {"Sở Xây dựng (đổi tên)"}   # … but its rows rendered again with the new name
    wb = CalamineWorkbook.from_path(res.rollup)
    cells = {v for s in wb.sheet_names for row in wb.get_sheet_by_name(s).to_python() for v in row[:2]}
    assert "Sở Xây dựng (đổi tên)" in cells and "Sở Xây dựng" not in cells


def test_derived_tables_of_an_older_layout_are_rebuilt(tmp_path):
    ws = workspace(tmp_path)
    inbox = _inbox(ws, tmp_path)
    first = merge(ws, inbox, period=parse_period(PERIOD))
    db = sqlite3.connect(first.ledger)
    db.execute("DROP TABLE pieces")
    db.execute("CREATE TABLE pieces (hash TEXT, template TEXT, meta BLOB, xml BLOB)")
    db.commit()
    db.close()
    again = merge(ws, inbox, period=parse_period(PERIOD))
    assert again.new_files == 0
    assert read_tidy(again.tidy) == read_tidy(first.tidy)
    led = Ledger(ws.root / LEDGER_NAME)
    try:
        assert led.db.execute("SELECT COUNT(*) FROM pieces").fetchone()[0] > 0
    finally:
        led.close()


def test_tidy_export_in_the_workspace_equals_the_plain_csv(tmp_path):
    ws = workspace(tmp_path)
    inbox = _inbox(ws, tmp_path)
    res = merge(ws, inbox, period=parse_period(PERIOD), tidy=tmp_path / "chi-tiet.csv")
    inside = ws.rollup / f"tidy_{ws.province.id}_{PERIOD}.csv.gz"
    assert inside.exists() and os.path.getsize(inside) < os.path.getsize(res.tidy)
    assert read_tidy(inside) == read_tidy(res.tidy) and len(read_tidy(inside)) > 100
    assert (tmp_path / "chi-tiet.csv").read_bytes().startswith(b"\xef\xbb\xbfperiod,unit_code,")


def test_tidy_rows_are_what_the_csv_module_writes():
    """The fast tidy renderer writes exactly what csv.writer writes for the same rows."""
    import csv
    import gzip

    from cchc_xl.merge.tidy import TIDY_COLUMNS, neutralise, tidy_member

    def tidy_values(v):      # the export's columns, straight from their names
        row = {**v._asdict(), "value": int(v.value) if isinstance(v.value, float) and v.value.is_integer()
               else v.value, "submitted_at": v.submitted_iso}
        return ["" if row[c] is None else neutralise(row[c]) for c in TIDY_COLUMNS]

    when = dt.datetime(2024, 11, 28, 9, 30, 5)
    values = [ValueRow(PERIOD, "S-XD", 'Sở "Xây dựng", tỉnh', "S", None, "main", "02-H", "tbl", f"r{i}",
                       "Nhãn, có dấu phẩy\nvà xuống dòng", "c", "Cột", v, "input", "/hộp thư/a,b.xlsx", "02-H",
                       f"E{i}", when, "abc")
              for i, v in enumerate([1.0, 2.5, None, "", "=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x", -4.0,
                                     'a "quoted" text', "x,y", "line\r\nbreak", 7,
                                     float("1e20"), "  spaced  "])]
    buf = io.StringIO()
    csv.writer(buf).writerows(tidy_values(v) for v in values)
    assert gzip.decompress(tidy_member(values)).decode("utf-8") == buf.getvalue()
    assert tidy_member([]) == gzip.compress(b"", compresslevel=1, mtime=0)


def test_stale_packs_are_rendered_again_on_every_core(tmp_path, monkeypatch):
    """After an upgrade that changes the rendering, the first merge renders every counted file's
    pack again in worker processes, from the ledger's values, to the same roll-up."""
    from cchc_xl.merge import pieces, run

    ws = workspace(tmp_path)
    inbox = _inbox(ws, tmp_path)
    first = merge(ws, inbox, period=parse_period(PERIOD))
    before = read_tidy(first.tidy)
    monkeypatch.setattr(pieces, "PIECES_FORMAT", "next-version")
    monkeypatch.setattr(run, "PARALLEL_REFRESH_MIN", 1)
    led = Ledger(ws.root / LEDGER_NAME)
    try:
        assert run.refresh_packs(ws, led, parse_period(PERIOD), workers=2) == 5
        assert run.refresh_packs(ws, led, parse_period(PERIOD), workers=2) == 0      # all current now
    finally:
        led.close()
    again = merge(ws, inbox, period=parse_period(PERIOD))
    assert again.new_files == 0
    assert read_tidy(again.tidy) == before


def test_a_missing_piece_stops_the_rollup_instead_of_corrupting_it(tmp_path):
    ws = load_workspace(None, "lang-son-3-cap-2011-2020")
    lay = Builder(ws, parse_period(PERIOD), default_catalogue()).layout("02-H", ws.province.unit("H-TPLS"))
    (p,) = render_pieces(_values("H-A", lay, texts=False), lambda t, a: lay, ws.province.type_labels)
    p.deflated = None
    package = io.BytesIO()
    wb = xlsxwriter.Workbook(package, workbook_options())
    sheet = wb.add_worksheet("02-H")
    sheet.write_string(0, 0, "x")
    wb.close()
    with pytest.raises(LedgerDamaged, match="--full"):
        write_package(package, tmp_path / "x.xlsx", [Detail(sheet.index, 2, [p])], lambda piece: b"")


def test_damaged_ledger_is_reported_in_vietnamese_and_full_repairs_it(tmp_path):
    from click.testing import CliRunner

    from cchc_xl.cli import main

    ws = workspace(tmp_path)
    inbox = _inbox(ws, tmp_path)
    args = ["merge", str(inbox), "--workspace", str(ws.root), "--period", PERIOD]
    assert CliRunner().invoke(main, args).exit_code == 0
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    db.execute("UPDATE pieces SET deflated = x''")        # damaged by hand
    db.commit()
    db.close()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "Lỗi: sổ theo dõi thiếu dữ liệu" in res.output and "--full" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    res = CliRunner().invoke(main, [*args, "--full"])
    assert res.exit_code == 0, res.output


def _one_sheet(write, lay, n_cols=None, first_col=0, table=True):
    """A one-sheet package whose header row is row 3, the pieces of one submission, and the package
    spliced (or the splice's exception)."""
    pieces = render_pieces(_values("H-A", lay, texts=False), lambda t, a: lay, SEED_TYPES)
    headers = [*DATA_HEADERS, *(c.label for c in lay.value_cols), *TRAIL_HEADERS]
    n = sum(p.n_rows for p in pieces)
    package = io.BytesIO()
    wb = xlsxwriter.Workbook(package, workbook_options())
    Formats(wb)
    sheet = wb.add_worksheet("02-H")
    if table:
        sheet.add_table(2, 0, 2 + n, len(headers) - 1, {"columns": [{"header": f"{i} {h}"} for i, h in enumerate(headers)]})
    sheet.write_row(2, 0, headers)
    write(sheet)
    wb.close()
    detail = Detail(sheet.index, 4, pieces, first_col, len(headers) if n_cols is None else n_cols)
    return package, detail, n, headers


def _lay():
    ws = load_workspace(None, "lang-son-3-cap-2011-2020")
    return Builder(ws, parse_period(PERIOD), default_catalogue()).layout("02-H", ws.province.unit("H-TPLS"))


def test_spliced_rows_and_cells_carry_their_references(tmp_path):
    package, detail, n, headers = _one_sheet(lambda s: None, _lay())
    out = tmp_path / "ok.xlsx"
    write_package(package, out, [detail], None)
    with zipfile.ZipFile(out) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    import re
    rows = re.findall(r'<row r="(\d+)"[^>]*>(.*?)</row>', xml)
    assert [int(r) for r, _ in rows] == list(range(3, 4 + n))          # header, then every data row in order
    last_col = xlsxwriter.utility.xl_col_to_name(len(headers) - 1)
    for r, cells in rows[1:]:
        refs = re.findall(r'<c r="([A-Z]+)(\d+)"', cells)
        assert [c for c, _ in refs] == [xlsxwriter.utility.xl_col_to_name(i) for i in range(len(headers))]
        assert {int(x) for _, x in refs} == {int(r)}
    assert f'<dimension ref="A3:{last_col}{3 + n}"/>' in xml
    assert "\x01" not in xml


@pytest.mark.parametrize("case, message", [
    ("below", "nothing may be written below"),
    ("column", "starts in column B"),
    ("width", "no table declared over the detail rows A3:{wide}"),     # one column more than the table
    ("no table", "no table declared over the detail rows"),
])
def test_the_splice_refuses_what_it_cannot_place(tmp_path, case, message):
    from cchc_xl.merge.splice import SpliceError

    lay = _lay()
    write = (lambda s: s.write_string(40, 0, "below the table")) if case == "below" else (lambda s: None)
    n_cols = len([*DATA_HEADERS, *lay.value_cols, *TRAIL_HEADERS]) + 1 if case == "width" else None
    package, detail, _n, _h = _one_sheet(write, lay, n_cols=n_cols, first_col=1 if case == "column" else 0,
                                         table=case != "no table")
    if n_cols:      # the detail rows reach one column past the table (02-H's width decides the letter)
        message = message.format(wide=xlsxwriter.utility.xl_col_to_name(n_cols - 1))
    with pytest.raises(SpliceError, match=message):
        write_package(package, tmp_path / "x.xlsx", [detail], None)
