"""The validator on a corpus of real-life defects, each made programmatically and asserted by
problem code and cell (the LibreOffice-made ones are in test_validate_libreoffice.py)."""

from __future__ import annotations

import json
import random
import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl.blueprint.expr import Ref
from cchc_xl.cli import main
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder, Job, file_name
from cchc_xl.generate.sample import fill_table
from cchc_xl.generate.workbook import write_workbook
from cchc_xl.identity import META_SHEET
from cchc_xl.problems import flatten
from cchc_xl.validate.engine import ValidationContext, validate_file
from tests.helpers import embedded

PERIOD = "2024-Y"


def filled(tmp_path: Path, unit: str = "H-TPLS", period: str = PERIOD, codes=None, edits=None, overrides=None,
           seed: int = 3, name: str | None = None, ws=None) -> Path:
    """A workbook filled with valid sample data, then ``edits`` {(code, A1): value} typed over it."""
    ws = ws or embedded()
    per = parse_period(period)
    b = Builder(ws, per)
    u = ws.province.unit(unit)
    obl = ws.province.obligations(u, per)[0]
    codes = tuple(codes or obl.codes)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / (name or file_name(unit, obl.part, per))
    spec = b.spec(Job(unit, obl.part, codes, str(path)))
    rng = random.Random(seed)
    spec.inputs = {lay.code: fill_table(lay, rng, b)[0] for lay in spec.layouts}
    for (code, addr), value in (edits or {}).items():
        lay = next(l for l in spec.layouts if l.code == code)
        ref = next(c.ref for c in lay.cells.values() if c.addr == addr)
        if lay.cells[ref].role == "computed":
            spec.overrides[(code, ref)] = value
        else:
            spec.inputs[code][ref] = value
    for (code, addr), value in (overrides or {}).items():
        lay = next(l for l in spec.layouts if l.code == code)
        ref = next(c.ref for c in lay.cells.values() if c.addr == addr)
        spec.overrides[(code, ref)] = value
    write_workbook(spec, path)
    return path


def addr_of(code: str, row: str, col: str, unit: str = "H-TPLS", period: str = PERIOD) -> str:
    ws = embedded()
    b = Builder(ws, parse_period(period))
    return b.layout(code, ws.province.unit(unit)).addr(Ref(row, col))


def check(path: Path, period: str | None = PERIOD, ws=None):
    ws = ws or embedded()
    return validate_file(path, ValidationContext(ws, parse_period(period) if period else None))


def codes_cells(report, code_prefix=""):
    return [pc for pc in report.flatten(["code", "cell"]) if pc[0].startswith(code_prefix)]


# ---------------------------------------------------------------------------------------------


def test_a_valid_filled_file_validates_clean(tmp_path):
    rep = check(filled(tmp_path))
    assert rep.status == "ok", rep.flatten(["code", "sheet", "cell", "message"])
    assert rep.unit == "H-TPLS" and rep.period == PERIOD


@pytest.mark.parametrize("unit, period", [("SNV", "2024-Q1"), ("TTPVHCC", "2024-Y"), ("S-XD", "2024-PLAN"),
                                          ("STTTT", "2024-Y"), ("VP", "2024-6M")])
def test_sample_filled_files_of_every_kind_validate_clean(tmp_path, unit, period):
    rep = check(filled(tmp_path, unit=unit, period=period), period=period)
    assert rep.status == "ok", rep.flatten(["code", "sheet", "cell", "message"])


def test_numbers_typed_as_text_are_repaired_with_a_warning_or_refused(tmp_path):
    c1 = addr_of("02-H", "ho_tich", "truoc_han")
    c2 = addr_of("02-H", "dat_dai", "dung_han")
    c3 = addr_of("02-H", "xay_dung", "qua_han")
    rep = check(filled(tmp_path, edits={("02-H", c1): "12 hồ sơ", ("02-H", c2): "1.234", ("02-H", c3): "mười"}))
    got = codes_cells(rep, "value.")
    assert ["value.text_repaired", c1] in got
    assert ["value.text_repaired", c2] in got
    assert ["value.not_a_number", c3] in got
    assert rep.status == "errors"


def test_negative_and_non_integer_counts(tmp_path):
    c1 = addr_of("02-H", "ho_tich", "ky_truoc")
    c2 = addr_of("02-H", "y_te", "ky_truoc")
    rep = check(filled(tmp_path, edits={("02-H", c1): -7, ("02-H", c2): 2.5}))
    got = codes_cells(rep, "value.")
    assert ["value.negative", c1] in got and ["value.not_integer", c2] in got


def test_identity_rule_received_equals_resolved_plus_pending(tmp_path):
    c = addr_of("02-H", "chung_thuc", "truc_tuyen")
    ws = embedded()
    b = Builder(ws, parse_period(PERIOD))
    lay = b.layout("02-H", ws.province.unit("H-TPLS"))
    rep = check(filled(tmp_path, edits={("02-H", c): 10_000}))
    fails = [p for p in rep.problems if p.code == "rule.failed" and p.row == "chung_thuc"]
    assert fails and fails[0].severity == "error"
    rule = next(r for r in lay.blueprint.rules if r.id == "nhan_bang_gq_cong_dang")
    # the rule's message, then the numbers behind the failure: received ≠ resolved + pending
    assert fails[0].message.startswith(rule.message + " (Số liệu: ")
    shown = fails[0].message[len(rule.message) + len(" (Số liệu: "):-2]
    left, right = shown.split(" ≠ ")
    assert int(left) >= 10_000 and int(left) != sum(int(x) for x in right.split(" + "))


def test_formula_overwritten_by_a_typed_number(tmp_path):
    c = addr_of("02-H", "ho_tich", "nhan_tong")
    rep = check(filled(tmp_path, overrides={("02-H", c): 999}))
    assert ["structure.formula_overwritten", c] in codes_cells(rep, "structure.")


def test_percent_typed_as_fraction_is_flagged(tmp_path):
    ws = embedded()
    b = Builder(ws, parse_period(PERIOD))
    lay = b.layout("PL1-TK", ws.province.unit("H-TPLS"))
    pct = next(c for c in lay.input_cells if c.type.value == "percent")
    rep = check(filled(tmp_path, codes=["PL1-TK"], edits={("PL1-TK", pct.addr): 0.85}))
    assert ["value.percent_as_fraction", pct.addr] in codes_cells(rep, "value.")


def test_outline_required_section_empty_nfd_and_legacy_text(tmp_path):
    ws = embedded()
    b = Builder(ws, parse_period(PERIOD))
    lay = b.layout("DC-H", ws.province.unit("H-TPLS"))
    req = [c for c in lay.input_cells if c.required]
    other = [c for c in lay.input_cells if not c.required]
    nfd = unicodedata.normalize("NFD", "Những khó khăn, vướng mắc")
    tcvn3 = "Nh÷ng khã kh¨n, v­íng m¾c trong c«ng t¸c c¶i c¸ch hµnh chÝnh"
    rep = check(filled(tmp_path, codes=["DC-H"], edits={("DC-H", req[0].addr): None, ("DC-H", other[0].addr): nfd,
                                                       ("DC-H", other[1].addr): tcvn3}))
    got = codes_cells(rep, "outline.")
    assert ["outline.section_empty", req[0].addr] in got
    assert ["outline.nfd_normalised", other[0].addr] in got
    assert ["outline.legacy_encoding", other[1].addr] in got


def test_plan_with_several_lead_agencies_for_one_task(tmp_path):
    ws = embedded()
    b = Builder(ws, parse_period("2024-PLAN"))
    lay = b.layout("KH-CCHC", ws.province.unit("S-XD"))
    lead = next(c for c in lay.input_cells if "chu_tri" in c.ref.col)
    path = filled(tmp_path, unit="S-XD", period="2024-PLAN",
                  edits={("KH-CCHC", lead.addr): "Sở Nội vụ, Sở Tư pháp và Văn phòng UBND tỉnh"})
    rep = check(path, period="2024-PLAN")
    assert ["value.multiple_lead_agencies", lead.addr] in codes_cells(rep, "value.")


def test_wrong_period_is_reported(tmp_path):
    rep = check(filled(tmp_path), period="2024-9M")
    assert ["identity.period_mismatch", None] in codes_cells(rep, "identity.")


def _edit_meta(path: Path, key: str, value: str) -> None:
    wb = openpyxl.load_workbook(path)
    sh = wb[META_SHEET]
    for row in sh.iter_rows(min_row=2):
        if row[0].value == key:
            row[1].value = value
    wb.save(path)


def test_a_file_edited_to_pose_as_another_unit_fails_authentication(tmp_path):
    path = filled(tmp_path)
    _edit_meta(path, "unit", "H-CAOLOC")
    wb = openpyxl.load_workbook(path)  # the document properties too, as a careful forger would
    for p in wb.custom_doc_props.props:
        if p.name == "cchc_unit":
            p.value = "H-CAOLOC"
    wb.save(path)
    # judged with the embedded public test key, the mismatch is reported as what it is: only a test
    # configuration (tests/test_trust.py: the same through the CLI, and a workspace's own key)
    rep = check(path)
    codes = [c for c, _ in codes_cells(rep, "identity.")]
    assert "identity.tag_public_key" in codes and "identity.tag_invalid" not in codes


def test_unknown_unit_is_rejected(tmp_path):
    path = filled(tmp_path)
    _edit_meta(path, "unit", "KHONG-CO")
    wb = openpyxl.load_workbook(path)
    wb.custom_doc_props = openpyxl.packaging.custom.CustomPropertyList()
    wb.save(path)
    rep = check(path)
    assert rep.status == "rejected" and ["identity.unit_unknown", None] in codes_cells(rep, "identity.")


def test_metadata_stripped_table_salvaged_by_labels(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb[META_SHEET]
    wb.custom_doc_props = openpyxl.packaging.custom.CustomPropertyList()
    wb.save(path)
    rep = check(path)
    assert rep.status != "rejected"
    assert rep.unit == "H-TPLS"
    assert "identity.salvaged" in [c for c, _ in codes_cells(rep, "identity.")]
    cells = rep.values["cells"]
    assert any(v.code == "02-H" and v.role == "input" and v.value is not None for v in cells)


def test_table_copied_into_a_new_workbook_is_salvaged(tmp_path):
    src = filled(tmp_path)
    grid_wb = openpyxl.load_workbook(src)
    new = openpyxl.Workbook()
    new.active.title = "Sheet1"
    for row in grid_wb["02-H"].iter_rows(values_only=True):
        new.active.append(list(row))
    out = tmp_path / "copy.xlsx"
    new.save(out)
    rep = check(out)
    assert rep.unit == "H-TPLS"
    assert "identity.salvaged" in [c for c, _ in codes_cells(rep, "identity.")]


def test_sheet_renamed_is_found_by_its_labels(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["02-H"].title = "Bieu 2"
    wb.save(path)
    rep = check(path)
    renamed = [p for p in rep.problems if p.code == "structure.sheet_renamed"]
    assert renamed and renamed[0].sheet == "Bieu 2"
    assert not [p for p in rep.problems if p.code == "structure.sheet_missing"]


def test_row_inserted_is_reported_and_values_still_read_from_the_right_rows(tmp_path):
    path = filled(tmp_path, seed=11)
    before = {(v.code, v.row, v.col): v.value for v in check(path).values["cells"] if v.role == "input"}
    wb = openpyxl.load_workbook(path)
    wb["02-H"].insert_rows(12, 2)
    wb.save(path)
    rep = check(path)
    assert ["structure.rows_inserted", None] in codes_cells(rep, "structure.")
    after = {(v.code, v.row, v.col): v.value for v in rep.values["cells"] if v.role == "input"}
    assert {k: v for k, v in after.items() if k[0] == "02-H"} == {k: v for k, v in before.items() if k[0] == "02-H"}


def test_data_typed_outside_the_table(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["02-H"]["Z80"] = "ghi chú riêng"
    wb.save(path)
    rep = check(path)
    assert ["structure.data_outside_input", "Z80"] in codes_cells(rep, "structure.")


@pytest.mark.parametrize("content, code", [
    (b"", "file.not_spreadsheet"),
    ("Mã đơn vị;Giá trị\nS-XD;12\n".encode(), "file.not_spreadsheet"),
    (b"PK\x03\x04" + b"\x00" * 40, "file.corrupt"),
])
def test_unreadable_files_get_a_clear_problem_not_a_traceback(tmp_path, content, code):
    p = tmp_path / "bao-cao.xlsx"
    p.write_bytes(content)
    rep = check(p)
    assert rep.status == "rejected"
    assert [code, None] in codes_cells(rep, "file.")


def test_truncated_workbook(tmp_path):
    src = filled(tmp_path)
    data = src.read_bytes()
    p = tmp_path / "cut.xlsx"
    p.write_bytes(data[: len(data) // 2])
    rep = check(p)
    assert rep.status == "rejected" and rep.problems[0].code.startswith("file.")


def test_cli_json_is_exactly_the_reports_and_exit_codes(tmp_path):
    good = filled(tmp_path, name="good.xlsx")
    c = addr_of("02-H", "ho_tich", "ky_truoc")
    bad = filled(tmp_path, name="bad.xlsx", edits={("02-H", c): -1})
    runner = CliRunner()
    res = runner.invoke(main, ["validate", str(good), "--json", "--period", PERIOD])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data == {"files": [check(good).as_dict()], "skipped": []}
    res = runner.invoke(main, ["validate", str(good), str(bad), "--json"])
    assert res.exit_code == 1
    files = json.loads(res.stdout)["files"]
    assert [f["status"] for f in files] == ["ok", "errors"]
    p = files[1]["problems"][0]
    assert set(p) >= {"code", "severity", "sheet", "cell", "table", "row", "column", "message", "hint"}
    assert runner.invoke(main, ["validate", str(tmp_path / "nope.xlsx")]).exit_code == 2


def test_annotated_copy_marks_cells_and_lists_problems(tmp_path):
    c = addr_of("02-H", "ho_tich", "ky_truoc")
    bad = filled(tmp_path, edits={("02-H", c): -1})
    before = bad.read_bytes()
    res = CliRunner().invoke(main, ["validate", str(bad), "--annotate", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert bad.read_bytes() == before                       # the original is never modified
    out = tmp_path / "out" / f"{bad.stem}_kiem-tra.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Lỗi"
    assert wb["02-H"][c].comment is not None and "âm" in wb["02-H"][c].comment.text
    links = [r[3].hyperlink.location if r[3].hyperlink else None for r in wb["Lỗi"].iter_rows(min_row=5)]
    assert f"'02-H'!{c}" in links


def test_flatten_across_reports(tmp_path):
    c = addr_of("02-H", "ho_tich", "ky_truoc")
    reps = [check(filled(tmp_path, name="a.xlsx")), check(filled(tmp_path, name="b.xlsx", edits={("02-H", c): -1}))]
    assert ["value.negative", c] in flatten(reps, ["code", "cell"])


def test_xlsx_written_without_cached_values_is_recomputed(tmp_path):
    # openpyxl saves formulas without results (with lxml installed, an empty <v></v> after each):
    # the validator must not depend on cached values
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet3.xml").decode()
    # no cached result after a formula (with lxml, which python-docx brings, openpyxl writes an empty <v></v>)
    assert "<f>" in xml and not re.search(r"</f><v>[^<]", xml)
    rep = check(path)
    assert rep.status == "ok", rep.flatten(["code", "cell", "message"])


def test_header_changed_is_reported_at_its_cell(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = embedded()
    lay = Builder(ws, parse_period(PERIOD)).layout("02-H", ws.province.unit("H-TPLS"))
    col = lay.col("truoc_han")
    from cchc_xl.layout import a1

    addr = a1(lay.header_top + lay.header_depth - 1, col.col)
    wb["02-H"][addr] = "Trước hạn (sửa)"
    wb.save(path)
    rep = check(path)
    assert ["structure.header_changed", addr] in codes_cells(rep, "structure.")


def test_value_types_beyond_counts():
    import datetime as dt

    from cchc_xl.blueprint.model import CellType
    from cchc_xl.cell_values import check_value
    from cchc_xl.layout import CellSpec

    ws = embedded()
    dates = ws.province.dates(parse_period(PERIOD))
    spec = CellSpec(Ref("r", "c"), 9, 3, "input", CellType.date)
    assert check_value(dt.date(2024, 3, 1), spec, dates).problems == []
    assert check_value(dt.date(2023, 3, 1), spec, dates).problems[0][0] == "value.date_outside_window"
    assert check_value("15/03/2024", spec, dates).value == dt.date(2024, 3, 15)
    assert check_value("32/13/2024", spec, dates).problems[0][0] == "value.date_invalid"
    choice = CellSpec(Ref("r", "c"), 9, 3, "input", CellType.choice, vocabulary="v")
    assert check_value("Hộ tịch", choice, dates, ["Hộ tịch", "Đất đai"]).problems == []
    assert check_value("Hộ tich", choice, dates, ["Hộ tịch"]).problems[0][0] == "value.choice_unknown"
    mr = CellSpec(Ref("r", "c"), 9, 3, "input", CellType.month_range)
    assert check_value("01/2024 - 06/2024", mr, dates).value == "01/2024 - 06/2024"
    assert check_value("06/2024 - 01/2024", mr, dates).problems[0][0] == "value.month_range_invalid"
    assert check_value("01/2023 - 06/2023", mr, dates).problems[0][0] == "value.month_range_invalid"
    yn = CellSpec(Ref("r", "c"), 9, 3, "input", CellType.yesno)
    assert check_value(2, yn, dates).problems[0][0] == "value.yesno_invalid"


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).parent / "data" / "resaved").glob("good-*")))
def test_fixtures_resaved_by_libreoffice_validate_clean(name):
    """Files LibreOffice re-saved (kept as fixtures, so this runs without LibreOffice too)."""
    rep = check(Path(__file__).parent / "data" / "resaved" / name)
    assert rep.status == "ok", rep.flatten(["code", "sheet", "cell", "message"])
    assert rep.unit == "H-TPLS" and rep.period == PERIOD


def test_sample_fill_defects_are_found_by_the_validator(tmp_path):
    """sample-fill --defects: every injected mistake is reported at its cell (manifest as a dot-file)."""
    from cchc_xl.generate import generate_round
    from cchc_xl.generate.sample import DEFECTS_MANIFEST, fill_files

    ws = embedded()
    gen = generate_round(ws, parse_period(PERIOD), ["H-TPLS", "S-XD", "SNV", "STP"], out=tmp_path / "g", workers=1)
    results = fill_files(ws, [Path(f["path"]) for f in gen.files], tmp_path / "f", seed=4, defects=1.0)
    manifest = json.loads((tmp_path / "f" / DEFECTS_MANIFEST).read_text(encoding="utf-8"))
    expected_code = {"text_unit": "value.text_repaired", "thousands_dot": "value.text_repaired",
                     "negative": "value.negative", "percent_fraction": "value.percent_as_fraction",
                     "formula_overwritten": "structure.formula_overwritten", "identity_broken": "rule.failed",
                     "outline_empty": "outline.section_empty", "nfd_text": "outline.nfd_normalised",
                     "legacy_text": "outline.legacy_encoding"}
    checked = 0
    for r in results:
        rep = check(Path(r.path))
        got = rep.flatten(["code", "sheet", "cell"])
        for d in manifest.get(Path(r.path).name, []):
            if d["kind"] == "identity_broken":
                assert any(c == "rule.failed" and s == d["sheet"] for c, s, _ in got), (d, got)
            else:
                assert [expected_code[d["kind"]], d["sheet"], d["cell"]] in got, (d, got)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("kind", ["count", "amount", "decimal", "percent", "yesno"])
def test_date_or_time_in_a_number_cell_is_a_problem_not_a_serial(kind):
    import datetime as dt

    from cchc_xl.blueprint.model import CellType
    from cchc_xl.cell_values import check_value
    from cchc_xl.layout import CellSpec

    dates = embedded().province.dates(parse_period(PERIOD))
    spec = CellSpec(Ref("r", "c"), 9, 3, "input", CellType(kind))
    for raw, shown in [(dt.date(2024, 3, 1), "01/03/2024"), (dt.datetime(2024, 3, 1, 8, 5), "01/03/2024 08:05:00"),
                       (dt.time(8, 5), "08:05:00"), (dt.timedelta(hours=30), "1 day, 6:00:00")]:
        got = check_value(raw, spec, dates)
        assert got.value is None and got.problems == [("value.date_in_number_cell", {"value": shown})]

