"""Generated workbooks: exactly the regime's tables, locked, validated, identified."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.blueprint.expr import Ref
from cchc_xl.config.period import KINDS, parse_period
from cchc_xl.generate.round import Builder, file_name
from cchc_xl.generate.workbook import CHECK_SHEET, COVER_SHEET, VOCAB_SHEET
from cchc_xl.identity import META_SHEET, Metadata, pairs_from_grid
from tests.helpers import embedded, generate

PROVINCES = ["lang-son-3-cap-2011-2020", "thua-thien-hue-3-cap-2021"]


def _one_unit_per_type(prov):
    seen = {}
    for u in prov.reporting_units():
        seen.setdefault(u.type, u)
    return list(seen.values())


@pytest.mark.parametrize("province", PROVINCES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_unit_type_gets_exactly_its_regime_tables(tmp_path, province, kind):
    ws = embedded(province)
    period = parse_period(f"2024-{kind}")
    units = _one_unit_per_type(ws.province)
    res = generate(ws, str(period), [u.code for u in units], out=tmp_path)
    by_path = {f["path"]: f for f in res.files}
    expected = [(u, o) for u in units for o in ws.province.obligations(u, period)]
    assert len(res.files) == len(expected)
    for unit, obl in expected:
        path = tmp_path / file_name(unit.code, obl.part, period)
        assert str(path) in by_path
        wb = openpyxl.load_workbook(path)
        sheets = wb.sheetnames
        cat = default_catalogue()
        want = [("Đề cương" if cat.for_code(c).kind == "outline" else c) for c in obl.codes]
        assert sheets == [COVER_SHEET, *want, CHECK_SHEET, VOCAB_SHEET, META_SHEET]
        assert wb[META_SHEET].sheet_state == "veryHidden"
        assert wb[VOCAB_SHEET].sheet_state == "hidden"
        assert wb.security is not None and wb.security.lockStructure
        for name in sheets:
            assert wb[name].protection.sheet, name
        meta = Metadata.from_pairs(pairs_from_grid([[c.value for c in row] for row in wb[META_SHEET].iter_rows()]))
        assert (meta.unit, meta.part, meta.period, meta.province) == (unit.code, obl.part, str(period), ws.province.id)
        assert [t.code for t in meta.tables] == list(obl.codes)
        assert meta.verify(ws.secret)
        props = {p.name: p.value for p in wb.custom_doc_props.props}
        assert props["cchc_unit"] == unit.code and props["cchc_tag"] == meta.tag


def test_locks_validations_and_formulas_follow_the_layout(tmp_path):
    ws = embedded()
    res = generate(ws, "2024-Y", ["H-TPLS"], out=tmp_path)
    path = res.files[0]["path"]
    wb = openpyxl.load_workbook(path)
    b = Builder(ws, parse_period("2024-Y"))
    unit = ws.province.unit("H-TPLS")
    for code in ("01-H", "02-H", "03-H", "04-H", "05-H"):
        lay = b.layout(code, unit)
        sh = wb[code]
        for spec in lay.input_cells:
            c = sh[spec.addr]
            assert c.protection.locked is False, (code, spec.addr)
            assert c.data_type != "f"
        for spec in lay.computed_cells:
            c = sh[spec.addr]
            assert c.protection.locked is not False
            assert c.value == lay.formula(spec), (code, spec.addr)
        # every input cell is covered by exactly one data validation, by ranges not cells
        covered = {}
        for dv in sh.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for row in sh[rng.coord] if ":" in rng.coord else [[sh[rng.coord]]]:
                    for c in row:
                        covered[c.coordinate] = covered.get(c.coordinate, 0) + 1
        assert all(covered.get(s.addr) == 1 for s in lay.input_cells), code
        assert len(sh.data_validations.dataValidation) < len(lay.input_cells) or len(lay.input_cells) < 4
        # locked labels as the blueprint says
        for addr, text in lay.locked_texts().items():
            assert sh[addr].value == text
        assert sh.print_options is not None and sh.page_setup.orientation == "landscape"
        assert sh.freeze_panes is not None
    # 03-H has a row per commune of the district, pre-filled
    communes = [c.name for c in ws.province.communes_of("H-TPLS")]
    lay = b.layout("03-H", unit)
    assert [r.label for r in lay.data_rows()] == communes


def test_vocabulary_lists_are_ranges_on_the_hidden_sheet(tmp_path):
    ws = embedded()
    res = generate(ws, "2024-PLAN", ["S-XD"], out=tmp_path)
    with zipfile.ZipFile(res.files[0]["path"]) as z:
        sheet_xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert 'type="list"' not in sheet_xml or "_dm" in sheet_xml
    assert '"Có,Không"' not in sheet_xml  # never an inline list


def test_fixed_time_output_is_deterministic(tmp_path):
    ws = embedded()
    a = generate(ws, "2024-Q1", ["SNV"], out=tmp_path / "a", fixed_time=True)
    b = generate(ws, "2024-Q1", ["SNV"], out=tmp_path / "b", fixed_time=True)
    for fa, fb in zip(a.files, b.files):
        with zipfile.ZipFile(fa["path"]) as za, zipfile.ZipFile(fb["path"]) as zb:
            assert za.namelist() == zb.namelist()
            for n in za.namelist():
                assert za.read(n) == zb.read(n), n


def test_self_check_counts_failures_in_cached_values(tmp_path):
    ws = embedded()
    b = Builder(ws, parse_period("2024-Q1"))
    lay = b.layout("02-H", ws.province.unit("H-TPLS"))
    values = lay.evaluate({Ref("ho_tich", "ky_truoc"): 5})   # received 5, nothing resolved
    failing = [ri.instance_id for ri, ok in lay.check(values) if not ok]
    assert failing == ["nhan_bang_gq_cong_dang[ho_tich]"]


def test_wrapped_texts_of_the_check_and_outline_sheets_get_the_height_they_need(tmp_path):
    """Printed, a wrapped message or section title must not run into the next row: each row of the
    Kiểm tra sheet is as tall as its longest wrapped text (the failing result shows the message and its
    numbers), each outline row as tall as its title and at least the room to write in."""
    from cchc_xl.generate.workbook import CHECK_WIDTHS, OUTLINE_LABEL_WIDTH, ROW_LINE_HEIGHT, wrapped_lines

    ws = embedded()
    res = generate(ws, "2025-Y", ["H-TPLS"], out=tmp_path)
    wb = openpyxl.load_workbook(res.files[0]["path"])
    check = wb[CHECK_SHEET]
    header = next(r for r in check.iter_rows(min_row=1, max_row=10) if r[0].value == "STT")[0].row
    rows = 0
    tall = 0
    for row in check.iter_rows(min_row=header + 1):
        if row[0].value is None:
            continue
        rows += 1
        need = max(wrapped_lines(row[2].value, CHECK_WIDTHS[2]), wrapped_lines(row[6].value, CHECK_WIDTHS[6]))
        height = check.row_dimensions[row[0].row].height or 15
        assert height >= min(need * ROW_LINE_HEIGHT, 409), (row[0].row, row[6].value, height)
        tall += need > 1
    assert rows > 50 and tall > 10
    assert check.print_area and "$H$" in check.print_area     # the hidden numbers column is not printed
    outline = wb["Đề cương"]
    inputs = 0
    for row in outline.iter_rows(min_row=1):
        if not isinstance(row[1].value, str) or row[0].row < 4:
            continue
        height = outline.row_dimensions[row[0].row].height or 15
        width = OUTLINE_LABEL_WIDTH - 2 * int(row[1].alignment.indent or 0)
        assert height >= min(wrapped_lines(row[1].value, width) * ROW_LINE_HEIGHT, 409) - 1, \
            (row[0].row, row[1].value, height)
        if row[2].protection.locked is False:
            inputs += 1
            assert height >= 60
    assert inputs >= 5
