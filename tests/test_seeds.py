"""The seeds, exactly: calendars and what the workbooks tell clerks about them."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl.cli import main
from cchc_xl.config.period import parse_period
from cchc_xl.round_layouts import COVER_SHEET

from .helpers import embedded, generate

LS, TTH = "lang-son-3-cap-2011-2020", "thua-thien-hue-3-cap-2021"


def cover(path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)[COVER_SHEET]
    return {r[1].value: r[2].value for r in ws.iter_rows(min_row=4, max_row=14) if r[1].value and r[2].value}


def test_seed_001_plan_deadline_is_the_earlier_rule_of_the_plan_period():
    prov = embedded(LS).province
    d = prov.dates(parse_period("2015-PLAN"))
    assert d.deadline == dt.date(2014, 12, 31) and d.deadline_assumed      # seed 001: 31/12 of the year before
    assert "31 tháng 12" in d.note and "Giả định" in d.note
    assert prov.dates(parse_period("2017-PLAN")).deadline == dt.date(2016, 12, 31)
    later = prov.dates(parse_period("2018-PLAN"))
    assert later.deadline == dt.date(2018, 1, 29) and not later.deadline_assumed    # seed 000: before 30/01
    # the periodic reports are untouched by the plan's earlier rule
    assert prov.dates(parse_period("2015-Y")).deadline == dt.date(2015, 11, 29)


def test_thua_thien_hue_thematic_field_reports_have_their_own_deadline():
    prov = embedded(TTH).province
    y = parse_period("2021-Y")
    for t in ("STP", "STTTT", "SKHCN", "STC", "VP"):
        fr = prov.field_report(t, y)
        assert fr is not None and fr.deadline == dt.date(2021, 12, 4), t
        assert fr.deadline < prov.dates(y).deadline == dt.date(2021, 12, 15)
    assert prov.field_report("SNV", y) is None and prov.field_report("S", y) is None
    assert prov.field_report("STP", parse_period("2021-6M")) is None
    assert embedded(LS).province.field_report("STP", parse_period("2024-Y")) is None


def test_calendar_command_shows_the_thematic_deadline_and_assumptions():
    res = CliRunner().invoke(main, ["calendar", "2021-Y", "--province", TTH, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):])
    assert data["field_report"]["deadline"] == "2021-12-04"
    assert data["field_report"]["unit_types"] == ["STP", "STTTT", "SKHCN", "STC", "VP"]
    res = CliRunner().invoke(main, ["calendar", "2021-Y", "--province", TTH])
    assert "Hạn báo cáo chuyên đề lĩnh vực (Sở Tư pháp" in res.output and "04/12/2021" in res.output
    res = CliRunner().invoke(main, ["calendar", "2015-PLAN", "--province", LS])
    assert "Hạn nộp: 31/12/2014 (giả định)" in res.output


def test_cover_says_when_a_window_is_assumed_and_never_otherwise(tmp_path):
    ls = embedded(LS)
    res = generate(ls, "2024-Q1", ["S-XD"], out=tmp_path / "ls")
    rows = cover(res.files[0]["path"])
    assert "giả định" in rows["Thời gian chốt số liệu"]
    assert "theo hướng dẫn chung" not in rows["Thời gian chốt số liệu"]
    tth = embedded(TTH)
    unit = next(u.code for u in tth.province.units if u.type == "STP")
    res = generate(tth, "2021-Y", [unit], out=tmp_path / "tth")
    rows = cover(res.files[0]["path"])
    assert rows["Thời gian chốt số liệu"] == "Từ 15/12/2020 đến 14/12/2021"       # printed by seed 002
    assert rows["Hạn gửi báo cáo"] == "Chậm nhất ngày 15/12/2021"
    assert rows["Hạn gửi báo cáo chuyên đề lĩnh vực"].startswith("Chậm nhất ngày 04/12/2021: ")
    other = next(u.code for u in tth.province.units if u.type == "S")
    res = generate(tth, "2021-Y", [other], out=tmp_path / "tth-s")
    assert "Hạn gửi báo cáo chuyên đề lĩnh vực" not in cover(res.files[0]["path"])


@pytest.mark.parametrize("period", ["2015-PLAN"])
def test_plan_cover_marks_the_assumed_deadline(tmp_path, period):
    res = generate(embedded(LS), period, ["S-XD"], out=tmp_path)
    rows = cover(res.files[0]["path"])
    assert rows["Hạn gửi báo cáo"].startswith("Chậm nhất ngày 31/12/2014 (giả định")
    assert "giả định" in rows["Thời gian chốt số liệu"]


def test_home_affairs_writes_its_field_synthesis_like_the_other_five_lead_agencies():
    from cchc_xl.blueprint.catalogue import load_catalogue

    cat = load_catalogue()
    prov = embedded(LS).province
    snv = next(u for u in prov.units if u.type == "SNV")
    leads = {t: next(u for u in prov.units if u.type == t) for t in ("STP", "VP", "STC", "STTTT", "SKHCN")}
    for period in ("2024-Q1", "2024-Y"):
        per = parse_period(period)
        synth = {}
        for unit in [snv, *leads.values()]:
            for o in prov.obligations(unit, per):
                bp = cat.for_code(o.outline)
                sec = next((s for s in bp.sections if s.key == "tong_hop_linh_vuc_toan_tinh"), None)
                synth[(unit.type, o.part)] = sec is not None and sec.required
        assert all(synth[(t, "main")] for t in leads), synth
        # every office of Sở Nội vụ that owns a field synthesises it province-wide; Văn phòng sở
        # reports the department's own CCHC on the common outline
        assert {p: v for (t, p), v in synth.items() if t == "SNV"} == {
            "VPS": False, "TCBC": True, "CCVC": True, "XDCQ": True, "TTS": True}


def test_the_plan_period_sends_the_plan_outline_with_the_plan_table(tmp_path):
    from cchc_xl.blueprint.catalogue import load_catalogue

    ws = embedded(LS)
    unit = ws.province.unit("S-XD")
    (o,) = ws.province.obligations(unit, parse_period("2024-PLAN"))
    assert o.codes == ("DC-KH", "KH-CCHC")
    bp = load_catalogue().for_code("DC-KH")
    assert bp.kind == "outline" and bp.programme == "2011-2020"
    assert [s.number for s in bp.sections if s.level == 0] == ["I", "II", "III", "IV"]
    assert [s.area for s in bp.sections if s.area] == ["I", "II", "III", "IV", "V", "VI", "VII"]
    res = generate(ws, "2024-PLAN", ["S-XD"], out=tmp_path)
    sheets = openpyxl.load_workbook(res.files[0]["path"]).sheetnames
    assert sheets[1:3] == ["Đề cương", "KH-CCHC"]


def test_columns_are_flows_or_stocks_as_the_blueprint_says():
    from cchc_xl.blueprint.catalogue import load_catalogue

    cat = load_catalogue()
    h = cat.for_code("02-H")
    assert {c: h.cell_measure("dat_dai", c) for c in ("truc_tuyen", "gq_tong", "ty_le_dung_han")} == dict.fromkeys(
        ("truc_tuyen", "gq_tong", "ty_le_dung_han"), "flow")
    # carried over and pending are balances; received = carried over + new mixes the two
    assert {c: h.cell_measure("dat_dai", c) for c in ("ky_truoc", "dang_tong", "dang_qua_han", "nhan_tong")} == {
        "ky_truoc": "stock", "dang_tong": "stock", "dang_qua_han": "stock", "nhan_tong": None}
    assert cat.for_code("03-H").cell_measure(None, "ky_truoc") == "stock"      # columns_from keeps measures
    # "Số liệu tại thời điểm báo cáo": stocks by default, derived from the subtitle
    pub = cat.for_code("01-S")
    assert pub.measure == "stock" and pub.cell_measure("cong_bo", "tong") == "stock"
    # staff in post are stocks, recruitment in the period a flow (seed-derived table, explicit)
    x = cat.for_code("03-SNV")
    assert x.cell_measure("tong_cbcc", "co_mat") == "stock" and x.cell_measure("tong_cbcc", "tuyen_dung") == "flow"
    assert x.cell_measure("tong_cbcc", "ty_le_dat_chuan") == "stock"
    # procedures in force at the start and the end of the period: stocks even where computed
    vp = cat.for_code("02-VP")
    assert vp.cell_measure("cap_tinh", "cuoi_ky") == "stock" and vp.cell_measure("cap_tinh", "ban_hanh_moi") == "flow"


def test_default_measure_follows_the_subtitle_when_the_blueprint_says_none():
    from cchc_xl.blueprint.catalogue import load_catalogue

    bp = load_catalogue().for_code("02-S")          # "Số liệu năm báo cáo": counted over the year
    assert bp.measure is None and bp.default_measure == "flow"
    stock = bp.model_copy(update={"subtitle": "Số liệu tại thời điểm báo cáo"})
    assert stock.default_measure == "stock" and stock.cell_measure(None, "so_nhiem_vu") == "stock"


# -- programme: one appendix code, two blueprint versions -------------------------------------------


def test_a_code_may_exist_in_one_version_per_programme():
    from cchc_xl.blueprint.catalogue import load_catalogue

    cat = load_catalogue()
    assert set(cat.versions["KH-CCHC"]) == {"2011-2020", "2021-2030"}
    assert set(cat.versions["DC-KH"]) == {"2011-2020", "2021-2030"}
    assert cat.for_code("KH-CCHC").id == "ke-hoach-cchc"             # no province named: the first
    new = cat.for_programme("2021-2030")
    assert new.for_code("KH-CCHC").id == "ke-hoach-cchc-2021" and new.for_code("DC-KH").id == "de-cuong-ke-hoach-2021"
    assert new.for_code("02-H") is cat.for_code("02-H")              # one version: served to both
    assert new.for_programme("2021-2030") is new and cat.for_programme(None) is cat
    groups = [i.label for i in cat.vocabulary(new.for_code("KH-CCHC").groups.vocabulary).items]
    assert "Cải cách công vụ" in groups and "Xây dựng và phát triển Chính phủ điện tử" in groups


def test_two_versions_of_one_programme_are_refused(tmp_path):
    import shutil

    from cchc_xl.blueprint.check import check_catalogue
    from cchc_xl.resources import blueprints_dir

    root = tmp_path / "bp"
    shutil.copytree(blueprints_dir(), root)
    f = root / "tables" / "ke-hoach-cchc-2021.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace('programme: "2021-2030"', 'programme: "2011-2020"'),
                 encoding="utf-8")
    res = check_catalogue(root)
    assert any("KH-CCHC" in p and "served by both" in p and "2011-2020" in p for p in res.problems), res.problems


@pytest.mark.parametrize("province, programme, area_6", [
    (LS, "2011-2020", "Hiện đại hóa hành chính"),
    (TTH, "2021-2030", "Xây dựng và phát triển Chính phủ điện tử"),
    ("lang-son", "2021-2030", "Xây dựng và phát triển Chính phủ điện tử"),     # today's Lạng Sơn
])
def test_the_programme_decides_which_plan_a_province_sends(tmp_path, province, programme, area_6):
    from cchc_xl.identity import META_SHEET, Metadata, pairs_from_grid
    from cchc_xl.validate.engine import ValidationContext, validate_file

    ws = embedded(province)
    assert ws.province.info.programme == programme
    unit = next(u for u in ws.province.reporting_units() if u.type == "S")
    res = generate(ws, "2024-PLAN", [unit.code], out=tmp_path)
    path = res.files[0]["path"]
    wb = openpyxl.load_workbook(path)
    texts = {str(c.value) for row in wb["KH-CCHC"].iter_rows() for c in row if c.value}
    assert any(area_6 in t for t in texts)
    meta = Metadata.from_pairs(pairs_from_grid([[c.value for c in row] for row in wb[META_SHEET].iter_rows()]))
    ids = {t.code: t.blueprint for t in meta.tables}
    suffix = "-2021" if programme == "2021-2030" else ""
    assert ids == {"DC-KH": "de-cuong-ke-hoach" + suffix, "KH-CCHC": "ke-hoach-cchc" + suffix}
    outline = {str(c.value) for row in wb["Đề cương"].iter_rows() for c in row if c.value}
    new_area = any("Cải cách chế độ công vụ" in t for t in outline)
    old_area = any("Xây dựng và nâng cao chất lượng đội ngũ cán bộ, công chức, viên chức" in t for t in outline)
    assert (new_area, old_area) == ((True, False) if programme == "2021-2030" else (False, True))
    report = validate_file(path, ValidationContext(ws, parse_period("2024-PLAN")))
    codes = {p.code for p in report.problems}
    assert report.status != "rejected" and not any(c.startswith(("identity", "version", "layout")) for c in codes), codes


def test_areas_are_named_as_the_province_programme_names_them():
    from cchc_xl.merge.areas import default_areas

    areas = default_areas()
    new = areas.for_programme("2021-2030")
    assert list(new.areas) == list(areas.areas)                  # the same keys: tables land in one area
    assert new.heading("IV") == "IV. Cải cách chế độ công vụ"
    assert new.heading("VI") == "VI. Xây dựng và phát triển Chính phủ điện tử, Chính phủ số"
    assert areas.heading("VI") == "VI. Hiện đại hóa hành chính" and areas.for_programme("2011-2020") is areas
    assert new.lead_fields["STTTT"].label == "Xây dựng và phát triển Chính phủ điện tử, Chính phủ số"
    assert "chế độ công vụ" in new.lead_fields["SNV"].label and "chế độ công vụ" not in areas.lead_fields["SNV"].label
    assert new.lead_fields["STP"] == areas.lead_fields["STP"]
    assert {k: v.areas for k, v in new.lead_fields.items()} == {k: v.areas for k, v in areas.lead_fields.items()}


# -- programme: the periodic report outline (DC-S, DC-H, DC-X) in both versions ------------------------

NEW_HEADINGS = ("Cải cách chế độ công vụ", "Xây dựng và phát triển Chính phủ điện tử, Chính phủ số")
OLD_HEADINGS = ("Xây dựng và nâng cao chất lượng đội ngũ cán bộ, công chức, viên chức", "Hiện đại hóa nền hành chính")


def _outline_texts(path) -> set[str]:
    wb = openpyxl.load_workbook(path)
    return {str(c.value) for row in wb["Đề cương"].iter_rows() for c in row if c.value}


def test_the_periodic_outline_has_a_2021_2030_version_with_the_same_codes_areas_and_required_parts():
    from cchc_xl.blueprint.catalogue import load_catalogue

    cat = load_catalogue()
    old, new = cat.blueprints["de-cuong-dinh-ky"], cat.blueprints["de-cuong-dinh-ky-2021"]
    assert (old.programme, new.programme) == ("2011-2020", "2021-2030")
    assert old.code_list == new.code_list == ["DC-S", "DC-H", "DC-X"]
    for code in new.code_list:
        assert {p: bp.id for p, bp in cat.versions[code].items()} == {"2011-2020": old.id, "2021-2030": new.id}
        assert cat.for_code(code) is old and cat.for_programme("2021-2030").for_code(code) is new
    # each area once, under the same keys as the 2011–2020 version: reports group both alike
    areas = {s.area: s for s in new.sections if s.area}
    assert sorted(areas) == sorted(s.area for s in old.sections if s.area) == ["I", "II", "III", "IV", "V", "VI", "VII"]
    assert areas["IV"].title == NEW_HEADINGS[0] and areas["VI"].title == NEW_HEADINGS[1]
    titles = {s.title for s in new.sections}
    assert not any(h in t for h in OLD_HEADINGS for t in titles)
    # the four parts of seed 002 §2a; difficulties and proposals required, and nothing else
    assert [s.number for s in new.sections if s.level == 0] == ["I", "II", "III", "IV"]
    assert {s.key for s in new.sections if s.required} == {s.key for s in old.sections if s.required} == {
        "kho_khan_vuong_mac", "kien_nghi_de_xuat"}
    # the keys the ledger and the report match by, where the content is the same
    kept = {s.key for s in new.sections} & {s.key for s in old.sections}
    assert {"chi_dao_dieu_hanh", "kiem_tra", "tuyen_truyen", "the_che_ban_hanh_vbqppl", "tthc_kiem_soat",
            "bo_may_mot_cua", "bo_may_phan_cap", "cbccvc_dao_tao_boi_duong", "cbcc_cap_xa",
            "cbccvc_ky_luat_ky_cuong", "hdh_iso", "hdh_dich_vu_cong_truc_tuyen"} <= kept
    assert {"che_do_cong_vu", "chinh_phu_dien_tu", "sang_kien_giai_phap", "cbccvc_tinh_gian_bien_che",
            "cbccvc_chuyen_doi_vi_tri", "cpdt_van_ban_dien_tu"} <= {s.key for s in new.sections} - kept
    # every section of the new version says where it comes from
    assert all(s.source is not None for s in new.sections)


@pytest.mark.parametrize("province, period, unit_type, programme", [
    (LS, "2024-Q1", "H", "2011-2020"),
    (LS, "2024-Y", "S", "2011-2020"),
    (TTH, "2021-Q1", "H", "2021-2030"),
    (TTH, "2021-Y", "S", "2021-2030"),
    (TTH, "2021-9M", "TW", "2021-2030"),
    ("lang-son", "2026-Q1", "X", "2021-2030"),          # today's two-tier Lạng Sơn: a commune
])
def test_the_programme_decides_which_periodic_outline_a_province_sends(tmp_path, province, period, unit_type,
                                                                      programme):
    from cchc_xl.identity import META_SHEET, Metadata, pairs_from_grid
    from cchc_xl.validate.engine import ValidationContext, validate_file

    ws = embedded(province)
    assert ws.province.info.programme == programme
    unit = next(u for u in ws.province.reporting_units() if u.type == unit_type)
    res = generate(ws, period, [unit.code], out=tmp_path)
    path = res.files[0]["path"]
    wb = openpyxl.load_workbook(path)
    meta = Metadata.from_pairs(pairs_from_grid([[c.value for c in row] for row in wb[META_SHEET].iter_rows()]))
    outline = {t.code: t.blueprint for t in meta.tables if t.code.startswith("DC-")}
    assert outline == {f"DC-{'S' if unit_type == 'TW' else unit_type}":
                       "de-cuong-dinh-ky-2021" if programme == "2021-2030" else "de-cuong-dinh-ky"}
    texts = _outline_texts(path)
    new, old = (all(h in texts for h in hs) for hs in (NEW_HEADINGS, OLD_HEADINGS))
    assert (new, old) == ((True, False) if programme == "2021-2030" else (False, True))
    assert not any("Hiện đại hóa" in t for t in texts) or programme == "2011-2020"
    report = validate_file(path, ValidationContext(ws, parse_period(period)))
    codes = {p.code for p in report.problems}
    assert not any(c.startswith(("identity", "version", "layout")) for c in codes), codes


def test_the_lead_agencies_outline_of_2021_2030_is_the_periodic_one_with_the_field_synthesis():
    from cchc_xl.blueprint.catalogue import load_catalogue

    cat = load_catalogue()
    dk, lv = cat.blueprints["de-cuong-dinh-ky-2021"], cat.blueprints["de-cuong-linh-vuc-2021"]
    assert lv.code_list == cat.blueprints["de-cuong-linh-vuc"].code_list
    assert all(cat.for_programme("2021-2030").for_code(c) is lv for c in lv.code_list)
    same = [(s.key, s.title, s.area, s.level, s.input, s.required, s.guidance) for s in lv.sections
            if s.key != "tong_hop_linh_vuc_toan_tinh"]
    assert same == [(s.key, s.title, s.area, s.level, s.input, s.required, s.guidance) for s in dk.sections]
    synth = next(s for s in lv.sections if s.key == "tong_hop_linh_vuc_toan_tinh")
    assert synth.required and [s.number for s in lv.sections if s.level == 0] == ["I", "II", "III", "IV", "V"]
    prov = embedded(TTH).province
    per = parse_period("2021-Y")
    for unit in prov.reporting_units():
        for o in prov.obligations(unit, per):
            if o.outline:
                want = "de-cuong-linh-vuc-2021" if o.outline in lv.code_list else "de-cuong-dinh-ky-2021"
                assert cat.for_programme("2021-2030").for_code(o.outline).id == want, (unit.code, o.outline)


def test_init_for_today_writes_the_2021_2030_outline_and_the_seed_config_keeps_the_old(tmp_path):
    from cchc_xl.config.workspace import load_workspace

    root = tmp_path / "ws"
    res = CliRunner().invoke(main, ["init", str(root), "--province", "Lạng Sơn"])
    assert res.exit_code == 0, res.output
    commune = next(u for u in load_workspace(root).province.reporting_units() if u.type == "X")
    district = next(u for u in embedded(LS).province.reporting_units() if u.type == "H")
    for where, period, unit, want, gone in (
            (["--workspace", str(root)], "2026-Q1", commune, NEW_HEADINGS, OLD_HEADINGS),
            (["--province", LS], "2024-Q1", district, OLD_HEADINGS, NEW_HEADINGS)):
        out = tmp_path / unit.code
        res = CliRunner().invoke(main, ["generate", "--period", period, "--unit", unit.code, "--out", str(out),
                                        "--workers", "1", *where])
        assert res.exit_code == 0, res.output
        (path,) = out.glob("*.xlsx")
        texts = _outline_texts(path)
        assert all(h in texts for h in want) and not any(h in texts for h in gone), unit.code


def test_a_2021_2030_round_merges_and_reports_by_the_programme_outline(tmp_path):
    """Thừa Thiên Huế 2021-Q1, one unit of each type, sample-filled: every file is accepted, the roll-up's
    texts and the provincial report follow de-cuong-dinh-ky-2021 (its titles, its areas' names)."""
    from pathlib import Path

    from docx import Document

    from cchc_xl.blueprint.catalogue import load_catalogue
    from cchc_xl.config.workspace import init_workspace
    from cchc_xl.generate.sample import fill_file
    from cchc_xl.merge.rollup import NARRATIVES_SHEET
    from cchc_xl.merge.run import merge

    ws = init_workspace(tmp_path / "ws", TTH)
    period = "2021-Q1"
    units, seen = [], set()
    for u in ws.province.reporting_units():
        if u.type not in seen:
            seen.add(u.type)
            units.append(u.code)
    gen = generate(ws, period, units, out=tmp_path / "gen")
    for f in gen.files:
        fill_file(ws, Path(f["path"]), ws.inbox / period, seed=3)
    res = merge(ws, ws.inbox / period, period=parse_period(period))
    assert res.accepted == len(gen.files) and not res.outside
    new = load_catalogue().blueprints["de-cuong-dinh-ky-2021"]
    wb = openpyxl.load_workbook(res.rollup, read_only=True)
    texts = {str(c) for row in wb[NARRATIVES_SHEET].iter_rows(values_only=True) for c in row if c}
    wb.close()
    assert {"Việc thực hiện tinh giản biên chế", "Trao đổi văn bản điện tử tại cơ quan, đơn vị, địa phương",
            "Những khó khăn, vướng mắc"} <= texts
    assert not any("tinh_gian" in t or "Hiện đại hóa" in t for t in texts)
    rep = CliRunner().invoke(main, ["report", "--period", period, "--workspace", str(ws.root), "--json"])
    assert rep.exit_code == 0, rep.output
    paras = [p.text for p in Document(json.loads(rep.stdout)["path"]).paragraphs]
    positions = [paras.index(f"{s.number}. {s.title}") for s in new.sections]
    assert positions == sorted(positions)
    assert not any("Hiện đại hóa" in p for p in paras)
    # the lead agencies fill de-cuong-linh-vuc-2021: their field synthesis is its part III, never a
    # section of the 2011–2020 outline that the report's outline lacks
    old_only = [s.title for s in load_catalogue().blueprints["de-cuong-linh-vuc"].sections
                if s.key not in {x.key for x in new.sections} | {"tong_hop_linh_vuc_toan_tinh"}]
    assert old_only and not any(t in p for t in old_only for p in paras)
    assert sum(p.startswith("III. Tổng hợp kết quả thực hiện trên địa bàn toàn tỉnh") for p in paras) >= 5
    assert any(p.startswith("Tổng hợp lĩnh vực xây dựng và phát triển Chính phủ điện tử, Chính phủ số") for p in paras)


def test_a_file_made_before_the_province_changed_programme_is_read_by_its_own_outline(tmp_path):
    """A workspace moves from 2011–2020 to 2021–2030 (province.yaml): a file it generated before keeps
    counting — read by the outline version it was made with, with a warning — and new files get the
    programme's version."""
    from pathlib import Path

    from cchc_xl.config.workspace import init_workspace, load_workspace
    from cchc_xl.generate.sample import fill_file
    from cchc_xl.validate.engine import ValidationContext, validate_file

    ws = init_workspace(tmp_path / "ws", LS)
    old = generate(ws, "2024-Q1", ["S-XD"], out=tmp_path / "old").files[0]["path"]
    filled = fill_file(ws, Path(old), tmp_path / "filled", seed=5).path
    conf = ws.root / "config" / "province.yaml"
    conf.write_text(conf.read_text(encoding="utf-8").replace('programme: "2011-2020"', 'programme: "2021-2030"'),
                    encoding="utf-8")
    ws = load_workspace(ws.root)
    assert ws.province.info.programme == "2021-2030"
    report = validate_file(Path(filled), ValidationContext(ws, parse_period("2024-Q1")))
    found = {(p.code, p.severity, p.table) for p in report.problems}
    assert ("identity.blueprint_programme", "warning", "DC-S") in found, found
    assert report.status not in ("rejected", "held") and not [p for p in report.problems if p.severity == "error"]
    assert report.values["cells"]                       # the texts were read
    new = generate(ws, "2024-Q1", ["S-XD"], out=tmp_path / "new").files[0]["path"]
    assert all(h in _outline_texts(new) for h in NEW_HEADINGS)
