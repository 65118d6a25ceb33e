"""The roll-up in stages: the plan is data (asserted on here without a workbook), the xlsx module
renders exactly the plan, and a roll-up is a function of its inputs whatever the process did before."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_rowcol_to_cell

from cchc_xl.layout import TableLayout
from cchc_xl.merge.rollup import PROVINCE_SCOPE, STATUS_SHEET, build_plan, write_rollup
from cchc_xl.merge.rollup.names import DETAIL_BLOCK
from tests.test_rollup import _layout, build_data, close, province_sums

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1735725600"


@pytest.fixture(scope="module")
def data():
    return build_data()


@pytest.fixture(scope="module")
def plan(data):
    return build_plan(data)


@pytest.fixture(scope="module")
def book(tmp_path_factory, data) -> Path:
    return write_rollup(data, tmp_path_factory.mktemp("plan") / "tong-hop.xlsx")


def test_the_workbook_holds_exactly_the_plan(plan, book):
    """Every cell of the plan is in the written workbook at its place: texts, numbers, formulas (with
    their cached values as a non-recalculating reader sees them), merges, tables, frozen panes."""
    wb = openpyxl.load_workbook(book)
    cached = CalamineWorkbook.from_path(str(book))
    assert wb.sheetnames == plan.sheet_names
    checked = 0
    for sp in plan.sheets:
        ws = wb[sp.name]
        values = cached.get_sheet_by_name(sp.name).to_python(skip_empty_area=False)
        for (r, c), cell in sp.cells.items():
            got = ws.cell(r + 1, c + 1).value
            if cell.kind == "formula":
                assert got == "=" + cell.formula.lstrip("="), (sp.name, r, c)
                seen = values[r][c] if r < len(values) and c < len(values[r]) else ""
                want = "" if cell.value is None else cell.value
                assert close(seen, want) or seen == want, (sp.name, xl_rowcol_to_cell(r, c), seen, want)
            elif cell.kind == "blank":
                assert got is None
            elif cell.kind == "datetime":
                assert got == cell.value.replace(tzinfo=None)
            elif cell.kind == "number":     # XlsxWriter writes 16 significant digits (%.16g)
                assert close(got, cell.value), (sp.name, r, c)
            else:
                assert got == cell.value, (sp.name, r, c)
            checked += 1
        merged = {str(m) for m in ws.merged_cells.ranges}
        assert merged == {f"{xl_rowcol_to_cell(m.first_row, m.first_col)}:{xl_rowcol_to_cell(m.last_row, m.last_col)}"
                          for m in sp.merges}
        assert sorted(ws.tables) == sorted(t.name for t in sp.tables)
        for t in sp.tables:
            assert ws.tables[t.name].ref == (f"{xl_rowcol_to_cell(t.first_row, t.first_col)}:"
                                             f"{xl_rowcol_to_cell(t.last_row, t.last_col)}")
        if sp.freeze:
            assert ws.freeze_panes == xl_rowcol_to_cell(*sp.freeze)
    assert checked > 5000


def test_a_template_sheet_is_blocks_of_formulas_with_their_values(plan, data):
    """The province block of 02-H, read from the plan: SUMIFS over the detail block, each cached value
    the sum of the units' typed inputs (counted independently from the data)."""
    sheet = plan.sheet("02-H")
    lay: TableLayout = _layout("02-H")
    province = next(b for b in sheet.blocks if b.name.endswith(f"› {PROVINCE_SCOPE}"))
    detail = sheet.block(DETAIL_BLOCK)
    assert province.last_row < detail.first_row
    sums = province_sums(data, ["02-H"])
    header = {sheet.cells[(province.first_row - 1, c)].value: c
              for c in range(province.first_col, province.last_col + 1) if (province.first_row - 1, c) in sheet.cells}
    key_col = province.last_col     # the technical "Mã dòng" column the SUMIFS match
    checked = 0
    for r in range(province.first_row, province.last_row + 1):
        row_key = sheet.cells[(r, key_col)].value
        for spec in (s for s in lay.input_cells if s.ref.row == row_key):
            col = header[" › ".join([*lay.col(spec.ref.col).header, lay.col(spec.ref.col).label])]
            cell = sheet.cells[(r, col)]
            assert cell.kind == "formula" and cell.formula.startswith("=SUMIFS(")
            assert f"${chr(ord('A') + col)}${detail.first_row + 2}" in cell.formula      # over the detail rows
            assert close(cell.value, sums[(row_key, spec.ref.col)]), (row_key, spec.ref.col)
            checked += 1
    assert checked > 50
    flat = [c for c in plan.flatten() if c.sheet == "02-H"]
    assert {c.ref for c in flat} == {xl_rowcol_to_cell(r, c) for r, c in sheet.cells}


def test_the_status_sheet_counts_are_formulas_over_its_list(plan, data):
    sheet = plan.sheet(STATUS_SHEET)
    counts, listing = sheet.block("counts"), sheet.block("list")
    first, last = listing.first_row + 1, listing.last_row
    due = next(sheet.cells[(r, 3)] for r in range(counts.first_row, counts.last_row + 1)
               if sheet.cells[(r, 1)].value == "Số báo cáo phải nộp")
    assert due.formula == f"=COUNTA($F${first + 1}:$F${last + 1})"
    assert due.value == len(data.submissions) == last - first + 1
    on_time = next(sheet.cells[(r, 3)] for r in range(counts.first_row, counts.last_row + 1)
                   if sheet.cells[(r, 1)].value == "Đúng hạn")
    assert on_time.value == sum(1 for s in data.submissions if s.status == "on_time")
    assert sheet.print_area[2] < listing.first_row        # the list is for the screen


def test_a_rollup_is_the_same_bytes_first_or_later_in_a_process(data, tmp_path, monkeypatch):
    """XlsxWriter writes into the options it is given: with shared options every roll-up after the
    first workbook of a process differed from the first (its default font). Each gets its own now."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    fresh = tmp_path / "fresh.xlsx"
    code = ("import sys; from tests.test_rollup import build_data; from cchc_xl.merge.rollup import write_rollup; "
            "write_rollup(build_data(), sys.argv[1])")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": EPOCH}
    subprocess.run([sys.executable, "-c", code, str(fresh)], check=True, env=env, cwd=ROOT)
    later = write_rollup(build_data(), tmp_path / "later.xlsx")       # this process has written many
    with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(later) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


def test_a_plan_is_built_without_a_workbook(data):
    """Building the plan writes nothing and takes the clock from the data (no "now" of its own)."""
    plan = build_plan(data)
    assert plan.properties["created"] == data.generated_at.replace(tzinfo=None)
    assert isinstance(plan.properties["created"], dt.datetime)
    assert all(s.ops for s in plan.sheets)


@given(st.text(alphabet=st.sampled_from("ab ặ\n"), max_size=600), st.sampled_from([4.0, 12.0, 80.0, 120.0]),
       st.integers(1, 6))
def test_a_long_text_is_cut_into_rows_that_each_fit_and_lose_nothing(text, width, lines):
    """``cells.chunks`` (the narratives sheet's rows): every piece fits a row of ``lines`` lines,
    only blanks at the cuts are dropped, and a text that fits stays whole."""
    from cchc_xl.merge.formats import text_lines
    from cchc_xl.merge.rollup.cells import chunks

    out = chunks(text, width, lines)
    if text_lines(text, width) <= lines:
        assert out == [text]
    assert all(text_lines(c, width) <= lines for c in out if "\n" in c or len(c) > width)
    assert "".join("".join(out).split()) == "".join(text.split())


def test_the_narratives_rows_are_spliced_under_their_header(data, tmp_path, monkeypatch):
    """The outline texts are rendered as sheet XML (``pieces.text_rows``) and spliced below the
    header the plan wrote: a reader finds each text whole at its rows (a long one over several), in
    section order, whatever characters it holds."""
    import dataclasses

    from cchc_xl.blueprint.catalogue import default_catalogue
    from cchc_xl.merge.narratives import Narrative
    from cchc_xl.merge.rollup import NARRATIVES_SHEET

    outline = default_catalogue().for_programme(data.programme).by_code["DC-S"]
    first, second = outline.sections[0].key, outline.sections[1].key
    long = "\n".join(f"Đoạn {i}: " + "nội dung cải cách hành chính " * 12 for i in range(40))
    texts = [("S-A", second, "  khoảng trắng đầu & <thẻ> _x0041_ \"trích\""), ("S-A", first, long),
             ("S-B", first, "Một dòng.")]
    shown = dataclasses.replace(data, narratives=[
        Narrative(code, f"Sở {code}", "S", "main", "", "DC-S", key, text) for code, key, text in texts])
    monkeypatch.setattr("cchc_xl.merge.pieces.TEXT_ROWS_PER_PIECE", 4)     # several pieces, spliced in turn
    plan = build_plan(shown)
    sp = plan.sheet(NARRATIVES_SHEET)
    (first_row, pieces, n_cols), = sp.details
    n_rows = sum(p.n_rows for p in pieces)
    assert n_cols is None and n_rows > 5 and len(pieces) == -(-n_rows // 4)    # the long text takes several rows
    book = write_rollup(shown, tmp_path / "tong-hop.xlsx")
    ws = openpyxl.load_workbook(book)[NARRATIVES_SHEET]
    assert ws.max_row == first_row + n_rows - 1
    assert [c.value for c in ws[first_row - 1]] == ["Mục", "Tên mục", "Đơn vị", "Nội dung"]
    assert ws.auto_filter.ref == f"A{first_row - 1}:D{ws.max_row}"
    # calamine, which reads the _xHHHH_ escapes as Excel does (openpyxl leaves them in inline strings)
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(NARRATIVES_SHEET).to_python()[first_row - 1:]
    assert len(rows) == n_rows
    headings = [r[1] for r in rows if r[2] == ""]
    assert headings == [outline.sections[0].title, outline.sections[1].title]
    by_author: dict = {}
    for r in rows:
        if r[2] != "":
            by_author.setdefault((r[2], r[1].removesuffix(" (tiếp)")), []).append(r[3])
    assert "\n".join(by_author[("Sở S-A", outline.sections[0].title)]).split() == long.split()
    assert by_author[("Sở S-A", outline.sections[1].title)] == [texts[0][2]]
    assert by_author[("Sở S-B", outline.sections[0].title)] == ["Một dòng."]
    assert all(ws.row_dimensions[first_row + i].height for i, r in enumerate(rows) if "\n" in r[3])
