"""Seed data as data: seed 003's report items are typed fields, its inspection list and seed 004's
schedule come prefilled in the generated workbook, seed 004's indicators carry their unit of
measure, and Thừa Thiên Huế's thematic deadline (seed 002) decides who is late."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest

from cchc_xl.blueprint.catalogue import load_catalogue
from cchc_xl.blueprint.expr import Ref
from cchc_xl.blueprint.model import Blueprint, CellType
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder
from cchc_xl.layout import UNIT_COL, build_layout
from cchc_xl.merge.receipts import record_receipt
from cchc_xl.merge.run import merge
from tests.helpers import embedded, generate, workspace
from tests.test_seeds import cover
from tests.test_validate import check, filled

TTH = "thua-thien-hue-3-cap-2021"


def _rule_failures(report, rule: str) -> list[tuple]:
    return [(p.table, p.row) for p in report.problems if p.code == "rule.failed" and p.params.get("rule") == rule]


# -- (a) seed 003's data items are typed fields ----------------------------------------------------


def test_seed_003_report_items_are_typed_fields_of_their_tables():
    cat = load_catalogue()

    def col(code, key):
        return next(c for c in cat.for_code(code).columns if c.key == key)

    def row(code, key):
        return next(r for r in cat.for_code(code).rows if r.key == key)

    results = cat.for_code("02-H")
    assert results.version == 2 and cat.for_code("03-H").version == 2     # structure changed
    for key in ("qua_bcci", "toan_trinh", "xin_loi", "so_hoa_ho_so", "so_hoa_ket_qua", "thanh_toan_truc_tuyen"):
        c = col("02-H", key)
        assert c.type == CellType.count and c.compute is None, key
        assert c.source is not None and c.source.seed.startswith("003_") and c.source.line, key
    # 03-H (per commune) and 02-X (two tiers) share the columns, one source of truth
    lay = build_layout(cat.for_code("03-H"), "03-H", cat, communes=[("x1", "Xã mẫu")])
    assert {"xin_loi", "qua_bcci", "so_hoa_ket_qua"} <= {c.key for c in lay.value_cols}
    # published / one-stop / online services (01-S, 01-H, …): counts of procedures
    assert cat.for_code("01-H").version == 2
    for key in ("nganh_doc_mot_cua", "dvc_toan_trinh", "tt_trien_khai", "tt_phat_sinh"):
        r = row("01-H", key)
        assert r.source.seed.startswith("003_") and r.source.quote and not r.heading, key
    # criteria (03-S, 05-H, …): allowances at the one-stop desk, e-invoices
    assert cat.for_code("03-S").version == 2
    assert {"ho_tro_mot_cua", "hoa_don_dien_tu"} <= {r.key for r in cat.for_code("03-S").rows}
    # commune officials (03-SNV): disciplinary cases in the period, a flow
    c = col("03-SNV", "ky_luat")
    assert c.type == CellType.count and c.measure == "flow" and cat.for_code("03-SNV").version == 2


def _late_row_edits(xin_loi: int | None) -> dict:
    """02-H, first field: 10 received (5 online, 1 of them fully online; 5 direct/post, 2 by post),
    8 resolved (3 late), 2 pending (1 overdue): 4 late files, ``xin_loi`` of them with an apology."""
    ws = embedded()
    lay = Builder(ws, parse_period("2024-Y")).layout("02-H", ws.province.unit("H-TPLS"))
    first = lay.data_rows()[0].key
    values = {"ky_truoc": 0, "truc_tuyen": 5, "truc_tiep": 5, "toan_trinh": 1, "qua_bcci": 2,
              "truoc_han": 2, "dung_han": 3, "qua_han": 3, "trong_han": 1, "dang_qua_han": 1,
              "so_hoa_ho_so": 6, "so_hoa_ket_qua": 4, "thanh_toan_truc_tuyen": 2, "xin_loi": xin_loi}
    return first, {("02-H", lay.addr(Ref(first, k))): v for k, v in values.items()}


@pytest.mark.parametrize("xin_loi, fires", [(None, True), (2, True), (4, False)])
def test_every_late_file_needs_an_apology(tmp_path, xin_loi, fires):
    first, edits = _late_row_edits(xin_loi)
    rep = check(filled(tmp_path, edits=edits))
    failures = _rule_failures(rep, "qua_han_co_xin_loi")
    assert (("02-H", first) in failures) is fires, failures
    p = next((p for p in rep.problems if p.params.get("rule") == "qua_han_co_xin_loi" and p.row == first), None)
    if fires:
        assert p.severity == "warning" and p.sheet == "02-H" and p.cell
    # the rest of the row is consistent: nothing else fails on it
    others = [p.params.get("rule") for p in rep.problems if p.code == "rule.failed" and p.row == first
              and p.table == "02-H" and p.params.get("rule") != "qua_han_co_xin_loi"]
    assert others == []


def test_more_apologies_than_late_files_is_an_error(tmp_path):
    first, edits = _late_row_edits(5)
    rep = check(filled(tmp_path, edits=edits))
    p = next(p for p in rep.problems if p.params.get("rule") == "xin_loi_khong_vuot_tre_hen" and p.row == first)
    assert p.severity == "error"
    assert ("02-H", first) not in _rule_failures(rep, "qua_han_co_xin_loi")


def test_postal_and_fully_online_files_are_parts_of_their_columns(tmp_path):
    first, edits = _late_row_edits(4)
    ws = embedded()
    lay = Builder(ws, parse_period("2024-Y")).layout("02-H", ws.province.unit("H-TPLS"))
    edits[("02-H", lay.addr(Ref(first, "qua_bcci")))] = 6       # more than the 5 direct or by post
    edits[("02-H", lay.addr(Ref(first, "toan_trinh")))] = 7     # more than the 5 online
    rep = check(filled(tmp_path, edits=edits))
    assert ("02-H", first) in _rule_failures(rep, "bcci_trong_truc_tiep")
    assert ("02-H", first) in _rule_failures(rep, "toan_trinh_trong_truc_tuyen")


# -- (b) the inspection list and the review schedule are prefilled ----------------------------------

SEED_003_UNITS = [
    "Sở Giáo dục và Đào tạo", "Sở Giao thông Vận tải", "Sở Lao động, Thương binh và Xã hội", "Sở Tư pháp",
    "Sở Tài nguyên và Môi trường", "Văn phòng UBND tỉnh", "Bảo hiểm xã hội tỉnh", "Cục Quản lý thị trường",
    "Thành phố Thanh Hóa", "Huyện Đông Sơn", "Huyện Vĩnh Lộc", "Huyện Nông Cống", "Huyện Như Xuân",
    "Huyện Ngọc Lặc", "Huyện Lang Chánh", "Huyện Bá Thước", "Huyện Quan Hóa", "Huyện Quan Sơn",
]


def _generated_table(tmp_path, code: str):
    ws = embedded()
    res = generate(ws, "2024-Y", ["SNV"], out=tmp_path, blueprint=code)
    (f,) = res.files
    lay = Builder(ws, parse_period("2024-Y")).layout(code, ws.province.unit("SNV"))
    return f["path"], lay, openpyxl.load_workbook(f["path"])[code]


def test_inspection_list_of_phu_luc_1_is_generated_prefilled(tmp_path):
    path, lay, sheet = _generated_table(tmp_path, "PL1-KT")
    got = {}
    for group, keys in lay.group_rows.items():
        for key in keys:
            name = sheet[lay.addr(Ref(key, "co_quan_don_vi"))].value
            if name:
                got.setdefault(group, []).append((name, sheet[lay.addr(Ref(key, "thoi_gian_du_kien"))].value))
    assert [n for g in ("so_nganh", "co_quan_trung_uong", "ubnd_cap_huyen") for n, _ in got[g]] == SEED_003_UNITS
    assert [len(got[g]) for g in ("so_nganh", "co_quan_trung_uong", "ubnd_cap_huyen")] == [6, 2, 10]
    assert {t for _, t in got["so_nganh"]} == {"Quý II, quý III năm 2023"}
    assert {t for _, t in got["co_quan_trung_uong"] + got["ubnd_cap_huyen"]} == {"Trong năm 2023"}
    # the prefilled cells stay input cells: editable, and the file as generated passes its own rules
    assert not sheet[lay.addr(Ref(lay.group_rows["so_nganh"][0], "co_quan_don_vi"))].protection.locked
    assert not [p for p in check(path).problems if p.code == "rule.failed"]


def test_review_schedule_of_seed_004_is_generated_prefilled_and_its_group_rows_pass(tmp_path):
    path, lay, sheet = _generated_table(tmp_path, "TD-TK")
    rows = []
    for r in lay.data_rows():
        vals = {k: sheet[lay.addr(Ref(r.key, k))].value for k in
                ("so_thu_tu", "nhiem_vu", "thoi_gian_hoan_thanh", "co_quan_chu_tri", "dong_nhom")}
        if vals["nhiem_vu"]:
            rows.append(vals)
    assert [r["so_thu_tu"] for r in rows] == [
        "1", "2", "2.1", "2.2", "3", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4", "5", "6"]
    groups = [r["so_thu_tu"] for r in rows if r["dong_nhom"] == 1]
    assert groups == ["2", "3"]
    assert all(r["co_quan_chu_tri"] for r in rows if r["dong_nhom"] != 1)
    assert not any(r["co_quan_chu_tri"] for r in rows if r["dong_nhom"] == 1)
    deadlines = " ".join(r["thoi_gian_hoan_thanh"] or "" for r in rows)
    for d in ("15/5/2020", "20/5/2020", "25/5/2020"):
        assert d in deadlines
    assert sum("20/5/2020" in (r["thoi_gian_hoan_thanh"] or "") for r in rows) == 10
    owners = {r["so_thu_tu"]: r["co_quan_chu_tri"] for r in rows}
    assert owners["3.1"] == "Phòng Tư pháp" and owners["3.6"] == "Phòng Kinh tế và Hạ tầng"
    assert owners["5"] == "Văn phòng HĐND và UBND huyện"
    # the group rows (no owner, no deadline) are accepted by the lead-agency and deadline rules
    assert not [p for p in check(path).problems if p.code == "rule.failed"]


def test_a_task_without_a_lead_agency_still_fails_when_it_is_not_a_group_row():
    cat = load_catalogue()
    lay = build_layout(cat.for_code("TD-TK"), "TD-TK", cat)
    values = dict(lay.prefill)
    group_row = next(r.key for r in lay.data_rows() if values.get(Ref(r.key, "dong_nhom")) == 1)
    verdicts = lambda v: {(ri.rule.id, ri.anchor) for ri, ok in lay.check(lay.evaluate(v)) if not ok}  # noqa: E731
    assert verdicts(values) == set()
    values[Ref(group_row, "dong_nhom")] = 0
    assert ("nhiem_vu_co_chu_tri", group_row) in verdicts(values)


def test_prefill_is_checked_against_the_table():
    cat = load_catalogue()
    bp = cat.for_code("PL1-KT")
    raw = bp.model_dump(exclude_none=True)
    bad = dict(raw, prefill=[*raw["prefill"], {"group": "khong_co", "values": {"co_quan_don_vi": "X"},
                                               "source": {"seed": "design", "section": "test"}}])
    with pytest.raises(ValueError, match="unknown group"):
        build_layout(Blueprint.model_validate(bad), "PL1-KT", cat)
    bad = dict(raw, prefill=[{"group": "so_nganh", "values": {"khong_co": "X"},
                              "source": {"seed": "design", "section": "test"}}])
    with pytest.raises(ValueError, match="not an input column"):
        build_layout(Blueprint.model_validate(bad), "PL1-KT", cat)
    bad = dict(raw, prefill=[{"group": "so_nganh", "values": {"co_quan_don_vi": "X"},
                              "source": {"seed": "design", "section": "test"}}] * 13)
    with pytest.raises(ValueError, match="more prefilled rows"):
        build_layout(Blueprint.model_validate(bad), "PL1-KT", cat)


# -- (c) indicators carry their unit of measure; repeated indicators are entered once --------------


def test_every_indicator_of_the_multi_year_table_carries_its_unit(tmp_path):
    cat = load_catalogue()
    bp = cat.for_code("PL1-TK")
    assert bp.version == 2 and bp.unit_column
    assert all(r.unit for r in bp.rows if not r.heading), [r.key for r in bp.rows if not r.heading and not r.unit]
    assert {r.unit for r in bp.rows if r.type == CellType.percent} == {"%"}
    assert {r.unit for r in bp.rows if r.type == CellType.yesno} == {"1/0"}
    # criteria table: every row is counted in units, in its columns
    crit = cat.for_code("03-S")
    assert all(c.unit for c in crit.columns if c.type == CellType.count)
    # shown on the sheet, in a "Đơn vị tính" column
    ws = embedded()
    res = generate(ws, "2024-Y", ["H-TPLS"], out=tmp_path, blueprint="PL1-TK")
    lay = Builder(ws, parse_period("2024-Y")).layout("PL1-TK", ws.province.unit("H-TPLS"))
    sheet = openpyxl.load_workbook(res.files[0]["path"])["PL1-TK"]
    c = lay.col(UNIT_COL).col
    assert sheet.cell(lay.header_top + 1, c + 1).value == "Đơn vị tính"
    assert sheet.cell(lay.row("tthc_cap_xa").row + 1, c + 1).value == "TTHC"
    assert sheet.cell(lay.row("hdh_ty_le_hop_thu_dien_tu").row + 1, c + 1).value == "%"


def test_a_repeated_seed_indicator_is_entered_once():
    cat = load_catalogue()
    lay = build_layout(cat.for_code("PL1-TK"), "PL1-TK", cat)
    for first, again in (("tthc_cap_huyen", "tthc_cap_huyen_lap_lai"),
                         ("tthc_ty_le_dung_han_cap_huyen", "tthc_ty_le_dung_han_cap_huyen_lap_lai")):
        assert lay.row(first).label == lay.row(again).label               # printed twice, kept as printed
        for col in ("y2015", "y2020"):
            assert lay.cells[Ref(first, col)].role == "input"
            assert lay.cells[Ref(again, col)].role == "computed"
        values = lay.evaluate({Ref(first, "y2018"): 42})
        assert values[Ref(again, "y2018")] == 42
    # the derived table keeps one district-level row for the same indicator
    labels = [r.label for r in cat.for_code("02-VP").rows]
    assert labels.count("Cấp huyện") == 1


# -- (d) Thừa Thiên Huế: the lead agencies' thematic reports are due before 05/12 --------------------


def test_thematic_deadline_marks_a_lead_agencys_annual_file_late(tmp_path):
    ws = workspace(tmp_path, TTH)
    prov = ws.province
    stp = next(u.code for u in prov.units if u.type == "STP")
    vp = next(u.code for u in prov.units if u.type == "VP")
    dept = next(u.code for u in prov.units if u.type == "S")
    received = {stp: dt.datetime(2021, 12, 5, 9), vp: dt.datetime(2021, 12, 4, 16), dept: dt.datetime(2021, 12, 10, 9)}
    for i, (unit, when) in enumerate(received.items()):
        src = filled(tmp_path / "src", unit=unit, period="2021-Y", ws=ws, seed=i)
        target = ws.inbox / f"nop {i}.xlsx"
        shutil.copyfile(src, target)
        record_receipt(ws.inbox, target, when)
    res = merge(ws, ws.inbox, period=parse_period("2021-Y"), write=False)
    assert res.late == [stp]                       # 05/12: one day after the last on-time day, 04/12
    assert set(res.on_time) == {vp, dept}          # a department is held to the periodic 15/12 only


def test_status_says_the_thematic_deadline_made_the_file_late(tmp_path):
    from cchc_xl.merge.ledger import Ledger
    from cchc_xl.merge.run import build_rollup_data, ledger_path

    ws = workspace(tmp_path, TTH)
    stp = next(u.code for u in ws.province.units if u.type == "STP")
    target = ws.inbox / "stp.xlsx"
    shutil.copyfile(filled(tmp_path / "src", unit=stp, period="2021-Y", ws=ws), target)
    record_receipt(ws.inbox, target, dt.datetime(2021, 12, 8, 10))
    merge(ws, ws.inbox, period=parse_period("2021-Y"), write=False)
    ledger = Ledger(ledger_path(ws, ws.inbox))
    try:
        data = build_rollup_data(ws, ledger, parse_period("2021-Y"), values=False)
    finally:
        ledger.close()
    sub = next(s for s in data.submissions if s.unit_code == stp)
    assert (sub.status, sub.days_late, sub.deadline) == ("late", 4, dt.date(2021, 12, 4))
    assert "báo cáo chuyên đề lĩnh vực" in sub.admission_note and "04/12/2021" in sub.admission_note


def test_cover_of_a_lead_agency_says_a_file_after_the_thematic_deadline_is_late(tmp_path):
    tth = embedded(TTH)
    unit = next(u.code for u in tth.province.units if u.type == "SKHCN")
    res = generate(tth, "2021-Y", [unit], out=tmp_path)
    line = cover(res.files[0]["path"])["Hạn gửi báo cáo chuyên đề lĩnh vực"]
    assert line.startswith("Chậm nhất ngày 04/12/2021: ") and "bị tính là trễ hạn" in line


def test_the_cli_generates_the_prefilled_inspection_list(tmp_path):
    import json

    from click.testing import CliRunner

    from cchc_xl.cli import main

    res = CliRunner().invoke(main, ["generate", "--period", "2024-Y", "--unit", "SNV", "--blueprint", "PL1-KT",
                                    "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    (f,) = json.loads(res.output[res.output.index("{"):])["files"]
    texts = {c.value for row in openpyxl.load_workbook(f["path"])["PL1-KT"].iter_rows() for c in row}
    assert set(SEED_003_UNITS) <= texts


# -- (e) discipline, one-stop allowances and e-invoices are typed figures ----------------------------

CRITERIA = ("03-S", "05-H", "05-X", "03-STP", "04-VP", "03-STC", "07-STTTT", "03-SKHCN", "05-SNV")


def test_discipline_allowances_and_e_invoices_are_typed_fields_quoting_seed_003():
    cat = load_catalogue()
    crit = cat.for_code("03-S")
    assert crit.version == 2 and all(cat.for_code(c) is crit for c in CRITERIA)   # one template, v2

    def col(bp, key):
        return next(c for c in bp.columns if c.key == key)

    def quotes(src, line):
        return src is not None and src.seed.startswith("003_") and src.line == line and src.quote

    # the staff of departments and districts: units inspected for discipline (V.3), officials disciplined (V.5)
    rows = {r.key: r for r in crit.rows}
    assert quotes(rows["kiem_tra_ky_luat"].source, 193) and "số đơn vị được kiểm tra" in rows["kiem_tra_ky_luat"].source.quote
    assert quotes(rows["ky_luat_cbccvc"].source, 193) and not rows["ky_luat_cbccvc"].heading
    c = col(crit, "so_ky_luat")
    assert (c.type, c.unit, c.rows, c.compute) == (CellType.count, "người", ["ky_luat_cbccvc"], None)
    assert quotes(c.source, 193) and "xử lý kỷ luật cán bộ, công chức" in c.source.quote
    # the allowance at the one-stop desk (III.5): staff receiving it, the amount paid, the level per person
    c = col(crit, "so_cbcc_ho_tro")
    assert (c.type, c.unit, c.rows) == (CellType.count, "người", ["ho_tro_mot_cua"]) and quotes(c.source, 165)
    c = col(crit, "kinh_phi_ho_tro")
    assert (c.type, c.unit, c.rows, c.compute) == (CellType.amount, "VNĐ", ["ho_tro_mot_cua"], None)
    assert quotes(c.source, 165) and "mức hỗ trợ bằng tiền" in c.source.quote
    c = col(crit, "muc_ho_tro_binh_quan")
    assert c.type == CellType.amount and c.compute and c.rows == ["ho_tro_mot_cua"] and quotes(c.source, 165)
    # e-invoices: a count of files beside the files paid online (02-H, 02-X, and 03-H per commune)
    results = cat.for_code("02-H")
    assert results.version == 2 and cat.for_code("02-X") is results
    c = col(results, "hoa_don_dien_tu")
    assert (c.type, c.unit, c.compute) == (CellType.count, "hồ sơ", None)
    assert quotes(c.source, 217) and "hóa đơn điện tử" in c.source.quote
    keys = [x.key for x in results.columns]
    assert keys.index("hoa_don_dien_tu") == keys.index("thanh_toan_truc_tuyen") + 1
    lay = build_layout(cat.for_code("03-H"), "03-H", cat, communes=[("x1", "Xã mẫu")])
    assert lay.cells[Ref("x1", "hoa_don_dien_tu")].type == CellType.count
    # the 03-S criterion row for e-invoices stays (departments fill no 02-H)
    assert "hoa_don_dien_tu" in rows


def test_a_column_of_some_rows_has_cells_on_those_rows_only(tmp_path):
    cat = load_catalogue()
    lay = build_layout(cat.for_code("03-S"), "03-S", cat)
    own = {"so_cbcc_ho_tro": "ho_tro_mot_cua", "kinh_phi_ho_tro": "ho_tro_mot_cua",
           "muc_ho_tro_binh_quan": "ho_tro_mot_cua", "so_ky_luat": "ky_luat_cbccvc"}
    for col, row in own.items():
        assert [r.row for r in lay.cells if r.col == col] == [row], col
    assert lay.cells[Ref("ho_tro_mot_cua", "muc_ho_tro_binh_quan")].role == "computed"
    # the level per person is the amount over the staff, rounded to the đồng; blank without staff
    values = lay.evaluate({Ref("ho_tro_mot_cua", "kinh_phi_ho_tro"): 10_000_000,
                           Ref("ho_tro_mot_cua", "so_cbcc_ho_tro"): 3})
    assert values[Ref("ho_tro_mot_cua", "muc_ho_tro_binh_quan")] == 3_333_333
    assert lay.evaluate({Ref("ho_tro_mot_cua", "kinh_phi_ho_tro"): 1})[Ref("ho_tro_mot_cua", "muc_ho_tro_binh_quan")] == ""
    # on the sheet: blank, locked cells elsewhere; input cells on their row
    ws = embedded()
    res = generate(ws, "2024-Y", ["S-XD"], out=tmp_path)
    sheet = openpyxl.load_workbook(res.files[0]["path"])["03-S"]
    b_lay = Builder(ws, parse_period("2024-Y")).layout("03-S", ws.province.unit("S-XD"))
    c = b_lay.col("so_ky_luat").col + 1
    assert sheet.cell(b_lay.row("ky_luat_cbccvc").row + 1, c).protection.locked is False
    other = sheet.cell(b_lay.row("ke_hoach_cchc").row + 1, c)
    assert other.value is None and other.protection.locked is not False
    assert sheet.cell(b_lay.header_top + 1, c).value == "Xử lý kỷ luật (dòng V.5)"
    # a blueprint cannot give a column rows that are not its data rows
    raw = cat.for_code("03-S").model_dump(exclude_none=True)
    raw["columns"] = [dict(c, rows=["h_can_bo"]) if c["key"] == "so_ky_luat" else c for c in raw["columns"]]
    with pytest.raises(ValueError, match="not data rows"):
        Blueprint.model_validate(raw)
    # nor read such a column in a row rule over rows that have no cell in it
    raw = cat.for_code("03-S").model_dump(exclude_none=True)
    raw["rules"] = [dict(r, rows=None) if r["id"] == "ky_luat_du_so_don_vi" else r for r in raw["rules"]]
    with pytest.raises(ValueError, match="only rows ky_luat_cbccvc have"):
        Blueprint.model_validate(raw)


def _criteria_edits(unit: str, values: dict) -> dict:
    ws = embedded()
    lay = Builder(ws, parse_period("2024-Y")).layout("03-S" if unit.startswith("S-") else "05-H", ws.province.unit(unit))
    return {(lay.code, lay.addr(Ref(r, c))): v for (r, c), v in values.items()}


@pytest.mark.parametrize("rule, values", [
    ("ky_luat_du_so_don_vi", {("ky_luat_cbccvc", "tong_so"): 5, ("ky_luat_cbccvc", "dat"): 3,
                              ("ky_luat_cbccvc", "so_ky_luat"): 2}),
    ("ky_luat_co_don_vi", {("ky_luat_cbccvc", "tong_so"): 5, ("ky_luat_cbccvc", "dat"): 0,
                           ("ky_luat_cbccvc", "so_ky_luat"): 2}),
    ("ho_tro_co_so_nguoi", {("ho_tro_mot_cua", "tong_so"): 5, ("ho_tro_mot_cua", "dat"): 0,
                            ("ho_tro_mot_cua", "kinh_phi_ho_tro"): 6_000_000, ("ho_tro_mot_cua", "so_cbcc_ho_tro"): None}),
    ("ho_tro_du_so_don_vi", {("ho_tro_mot_cua", "tong_so"): 5, ("ho_tro_mot_cua", "dat"): 4,
                             ("ho_tro_mot_cua", "kinh_phi_ho_tro"): 6_000_000, ("ho_tro_mot_cua", "so_cbcc_ho_tro"): 2}),
])
def test_discipline_and_allowance_figures_are_checked_against_their_units(tmp_path, rule, values):
    rep = check(filled(tmp_path, unit="S-XD", period="2024-Y", edits=_criteria_edits("S-XD", values)), period="2024-Y")
    failed = {p.params.get("rule"): p for p in rep.problems if p.code == "rule.failed"}
    assert set(failed) == {rule}, sorted(failed)
    assert failed[rule].severity == "error" and failed[rule].sheet == "03-S"


def test_e_invoices_above_the_files_received_are_a_warning(tmp_path):
    first, edits = _late_row_edits(4)                      # 10 files received on the first row
    ws = embedded()
    lay = Builder(ws, parse_period("2024-Y")).layout("02-H", ws.province.unit("H-TPLS"))
    edits[("02-H", lay.addr(Ref(first, "hoa_don_dien_tu")))] = 11
    rep = check(filled(tmp_path, edits=edits))
    p = next(p for p in rep.problems if p.params.get("rule") == "hoa_don_khong_vuot_nhan")
    assert (p.row, p.severity) == (first, "warning")
    edits[("02-H", lay.addr(Ref(first, "hoa_don_dien_tu")))] = 10
    assert ("02-H", first) not in _rule_failures(check(filled(tmp_path / "b", edits=edits)), "hoa_don_khong_vuot_nhan")


def test_discipline_allowance_and_e_invoice_figures_flow_into_the_province_totals(tmp_path):
    """generate → fill (a department, two districts) → validate → merge: the province line adds the units'
    figures, and the level of the allowance is recomputed from the totals (never a mean of levels)."""
    from cchc_xl.merge.ledger import Ledger
    from cchc_xl.merge.rollup import province_tables
    from cchc_xl.merge.run import build_rollup_data, ledger_path

    ws = workspace(tmp_path)
    period = parse_period("2024-Y")
    figures = {
        "S-XD": {("kiem_tra_ky_luat", "tong_so"): 5, ("kiem_tra_ky_luat", "dat"): 3,
                 ("ky_luat_cbccvc", "tong_so"): 5, ("ky_luat_cbccvc", "dat"): 1, ("ky_luat_cbccvc", "so_ky_luat"): 2,
                 ("ho_tro_mot_cua", "tong_so"): 5, ("ho_tro_mot_cua", "dat"): 2,
                 ("ho_tro_mot_cua", "so_cbcc_ho_tro"): 4, ("ho_tro_mot_cua", "kinh_phi_ho_tro"): 24_000_000},
        "H-TPLS": {("kiem_tra_ky_luat", "tong_so"): 20, ("kiem_tra_ky_luat", "dat"): 8,
                   ("ky_luat_cbccvc", "tong_so"): 20, ("ky_luat_cbccvc", "dat"): 2, ("ky_luat_cbccvc", "so_ky_luat"): 3,
                   ("ho_tro_mot_cua", "tong_so"): 20, ("ho_tro_mot_cua", "dat"): 10,
                   ("ho_tro_mot_cua", "so_cbcc_ho_tro"): 16, ("ho_tro_mot_cua", "kinh_phi_ho_tro"): 96_000_000},
        "H-TRANGDINH": {("kiem_tra_ky_luat", "tong_so"): 25, ("kiem_tra_ky_luat", "dat"): 0,
                        ("ky_luat_cbccvc", "tong_so"): 25, ("ky_luat_cbccvc", "dat"): 0, ("ky_luat_cbccvc", "so_ky_luat"): 0,
                        ("ho_tro_mot_cua", "tong_so"): 25, ("ho_tro_mot_cua", "dat"): 25,
                        ("ho_tro_mot_cua", "so_cbcc_ho_tro"): 30, ("ho_tro_mot_cua", "kinh_phi_ho_tro"): 60_000_000},
    }
    invoices = 0
    deadline = dt.datetime.combine(ws.province.dates(period).deadline, dt.time(9))
    for i, (unit, values) in enumerate(figures.items()):
        src = filled(tmp_path / "src", unit=unit, period="2024-Y", ws=ws, seed=i, edits=_criteria_edits(unit, values))
        rep = check(src, period="2024-Y", ws=ws)
        assert rep.status == "ok", rep.flatten(["code", "sheet", "cell", "message"])
        cells = rep.values["cells"]
        got = {(v.row, v.col): v.value for v in cells if v.code in ("03-S", "05-H")}
        assert all(got[k] == v for k, v in values.items()), unit
        invoices += sum(v.value or 0 for v in cells if v.code == "02-H" and v.col == "hoa_don_dien_tu"
                        and v.role == "input")
        target = ws.inbox / src.name
        shutil.copyfile(src, target)
        record_receipt(ws.inbox, target, deadline - dt.timedelta(days=1))
    assert invoices > 0
    merge(ws, ws.inbox, period=period, write=False)
    ledger = Ledger(ledger_path(ws, ws.inbox))
    try:
        data = build_rollup_data(ws, ledger, period)
    finally:
        ledger.close()
    tables = {t.codes[0]: t for t in province_tables(data)}

    def province(code):
        t = tables[code]
        return {(ln.row_key, c.key): t.values[(ln.key, c.key)] for ln in t.lines for c in t.columns}

    crit = province("03-S")
    assert crit[("kiem_tra_ky_luat", "dat")] == 11 and crit[("kiem_tra_ky_luat", "tong_so")] == 50
    assert (crit[("ky_luat_cbccvc", "dat")], crit[("ky_luat_cbccvc", "so_ky_luat")]) == (3, 5)
    assert crit[("ho_tro_mot_cua", "so_cbcc_ho_tro")] == 50
    assert crit[("ho_tro_mot_cua", "kinh_phi_ho_tro")] == 180_000_000
    assert crit[("ho_tro_mot_cua", "muc_ho_tro_binh_quan")] == 3_600_000       # 180 000 000 / 50, not a mean
    assert crit.get(("ke_hoach_cchc", "so_ky_luat")) is None                   # no cell, no total
    results = province("02-H")
    assert results[("tong", "hoa_don_dien_tu")] == invoices
