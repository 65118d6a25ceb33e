"""Defects made by a real client: LibreOffice edits and re-saves our files through UNO, as a
careless person would; the validator must find each problem exactly where it was made."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from cchc_xl.validate.annotate import annotate
from tests.libreoffice import convert, require_libreoffice, run_jobs
from tests.test_validate import PERIOD, addr_of, check, filled

pytestmark = pytest.mark.libreoffice
PASSWORD = "cchc"   # the embedded default workspace's sheet password (public, like its key)


@pytest.fixture(scope="module")
def lo_dir(tmp_path_factory):
    require_libreoffice()
    return tmp_path_factory.mktemp("lo")


def test_valid_files_resaved_by_libreoffice_validate_clean(lo_dir):
    src = filled(lo_dir, name="H-TPLS_goc.xlsx")
    outs = []
    for fmt in ("xlsx", "xls", "ods"):
        outs += convert([src], fmt, lo_dir / f"resaved-{fmt}", recalc=True)
    for out in outs:
        rep = check(out)
        assert rep.status == "ok", (out.suffix, rep.flatten(["code", "sheet", "cell", "message"]))
        assert rep.unit == "H-TPLS" and rep.period == PERIOD


def test_a_2021_2030_outline_resaved_by_libreoffice_validates_clean(lo_dir):
    """Thừa Thiên Huế's district file (outline de-cuong-dinh-ky-2021) through LibreOffice, as xlsx and ods."""
    from cchc_xl.config.period import parse_period
    from cchc_xl.generate.sample import fill_file
    from cchc_xl.validate.engine import ValidationContext, validate_file
    from tests.helpers import embedded, generate

    ws = embedded("thua-thien-hue-3-cap-2021")
    unit = next(u for u in ws.province.reporting_units() if u.type == "H")
    made = generate(ws, "2021-Q1", [unit.code], out=lo_dir / "tth").files[0]["path"]
    src = fill_file(ws, Path(made), lo_dir / "tth-filled", seed=2).path
    for fmt in ("xlsx", "ods"):
        (out,) = convert([Path(src)], fmt, lo_dir / f"tth-{fmt}", recalc=True)
        rep = validate_file(out, ValidationContext(ws, parse_period("2021-Q1")))
        assert rep.status == "ok", (fmt, rep.flatten(["code", "sheet", "cell", "message"]))
        rows = {c.row for c in rep.values["cells"] if c.code == "DC-H" and c.value}
        assert {"cbccvc_tinh_gian_bien_che", "cpdt_van_ban_dien_tu", "kho_khan_vuong_mac"} <= rows, fmt


def test_careless_edits_through_uno_are_found_where_they_were_made(lo_dir):
    src = filled(lo_dir, name="H-TPLS_sua.xlsx", seed=5)
    text_cell = addr_of("02-H", "ho_tich", "truoc_han")
    formula_cell = addr_of("02-H", "dat_dai", "nhan_tong")
    neg_cell = addr_of("03-H", next(iter(_commune_rows())), "ky_truoc")
    jobs = []
    for fmt in ("xlsx", "xls", "ods"):
        jobs.append({"src": str(src), "dst": str(lo_dir / f"sua.{fmt}"), "filter": fmt, "ops": [
            {"op": "set", "sheet": "02-H", "cell": text_cell, "string": "12 hồ sơ"},
            {"op": "set", "sheet": "02-H", "cell": formula_cell, "value": 4321},   # protected, still lands
            {"op": "set", "sheet": "03-H", "cell": neg_cell, "value": -7},
        ]})
    results = run_jobs(jobs)
    assert all(r["ok"] for r in results), results
    for fmt in ("xlsx", "xls", "ods"):
        rep = check(lo_dir / f"sua.{fmt}")
        got = rep.flatten(["code", "sheet", "cell"])
        assert ["value.text_repaired", "02-H", text_cell] in got, (fmt, got)
        assert ["structure.formula_overwritten", "02-H", formula_cell] in got, (fmt, got)
        assert ["value.negative", "03-H", neg_cell] in got, (fmt, got)


def _commune_rows():
    from cchc_xl.config.period import parse_period
    from cchc_xl.generate.round import Builder
    from tests.helpers import embedded

    ws = embedded()
    lay = Builder(ws, parse_period(PERIOD)).layout("03-H", ws.province.unit("H-TPLS"))
    return [r.key for r in lay.data_rows()]


def test_row_inserted_and_sheet_renamed_in_libreoffice(lo_dir):
    src = filled(lo_dir, name="H-TPLS_cau-truc.xlsx", seed=8)
    before = {(v.code, v.row, v.col): v.value for v in check(src).values["cells"] if v.role == "input"}
    res = run_jobs([{"src": str(src), "dst": str(lo_dir / "cau-truc.xlsx"), "filter": "xlsx", "ops": [
        {"op": "unprotect", "sheet": "02-H", "password": PASSWORD},
        {"op": "insert_rows", "sheet": "02-H", "row": 14, "count": 1},
        {"op": "protect", "sheet": "02-H", "password": PASSWORD},
        {"op": "rename_sheet", "sheet": "03-H", "name": "Xa phuong"},
    ]}])
    assert res[0]["ok"], res
    rep = check(lo_dir / "cau-truc.xlsx")
    codes = [p.code for p in rep.problems]
    assert "structure.rows_inserted" in codes
    assert any(p.code == "structure.sheet_renamed" and p.sheet == "Xa phuong" for p in rep.problems)
    after = {(v.code, v.row, v.col): v.value for v in rep.values["cells"] if v.role == "input"}
    assert after == before            # every value still read from its own row


def test_annotated_copy_opens_in_libreoffice_with_its_notes(lo_dir):
    c = addr_of("02-H", "ho_tich", "ky_truoc")
    bad = filled(lo_dir, name="H-TPLS_loi.xlsx", edits={("02-H", c): -3})
    out = annotate(check(bad), lo_dir / "annotated")
    back = convert([out], "xlsx", lo_dir / "annotated-resaved", recalc=False)[0]
    wb = openpyxl.load_workbook(back)
    assert "Lỗi" in wb.sheetnames
    assert wb["02-H"][c].comment is not None and "âm" in wb["02-H"][c].comment.text
    ods = convert([out], "ods", lo_dir / "annotated-ods", recalc=False)[0]
    assert Path(ods).stat().st_size > 0
