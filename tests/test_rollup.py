"""The provincial roll-up workbook: province totals, rates from totals, safe texts, status counts.

A realistic :class:`RollupData` is built from real layouts (02-H, 01-S/01-H, 03-H, 01-TTPVHCC,
02-S) with deterministic random values; the workbook is read back with openpyxl (formulas, cell
types) and python-calamine (cached values) and checked against sums computed here, independently
of the writer. A LibreOffice test recalculates everything and compares with the cached values.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.blueprint.expr import Ref
from cchc_xl.blueprint.model import CellType
from cchc_xl.config.period import Period
from cchc_xl.config.province import load_province
from cchc_xl.layout import build_layout
from cchc_xl.merge import rollup as rollup_mod
from cchc_xl.merge.areas import area_key, load_areas
from cchc_xl.merge.formats import is_number
from cchc_xl.merge.model import ProblemRow, RollupData, Submission, TemplateData, ValueRow
from cchc_xl.merge.rollup import (
    COMPARE_SHEET,
    DATA_HEADERS,
    PROBLEMS_SHEET,
    PROVINCE_SCOPE,
    PROVINCE_SHEET,
    STATUS_SHEET,
    SUMMARY_KEY_HEADER,
    column_header,
    field_sheet_name,
    write_field_workbooks,
    write_rollup,
)
from tests.libreoffice import convert, require_libreoffice

# the unit types and their names, as the seed configuration of Lạng Sơn declares them
SEED_TYPES = dict(load_province("lang-son-3-cap-2011-2020").type_labels)
PERIOD = Period(2024, "Y")
PREVIOUS = Period(2024, "9M")
LAST_YEAR = Period(2023, "Y")
EVIL = '=HYPERLINK("http://x","y")'

# code, name, type, status, days late, verdict
UNITS = [
    ("S-KHDT", "Sở Kế hoạch và Đầu tư", "S", "on_time", 0, "ok"),
    ("S-YT", "Sở Y tế", "S", "late", 3, "warnings"),
    ("S-XD", "Sở Xây dựng", "S", "missing", 0, None),
    ("S-GTVT", "Sở Giao thông vận tải", "S", "rejected", 0, "rejected"),
    ("H-TPLS", "UBND thành phố Lạng Sơn", "H", "on_time", 0, "errors"),
    ("H-TRANGDINH", "UBND huyện Tràng Định", "H", "late", 6, "ok"),
    ("TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh", "TTPVHCC", "on_time", 0, "ok"),
]
SENDS = {
    "S-KHDT": ["01-S", "02-S"],
    "S-YT": ["01-S", "02-S"],
    "H-TPLS": ["01-H", "02-H", "03-H", "PL1-TK"],
    "H-TRANGDINH": ["01-H", "02-H", "03-H", "PL1-TK"],
    "TTPVHCC": ["01-TTPVHCC"],
}
COMMUNES = {
    "H-TPLS": [
        ("u_x_tpls_01", "Phường Chi Lăng"),
        ("u_x_tpls_02", "Phường Hoàng Văn Thụ"),
        ("u_x_tpls_06", "Xã Mai Pha"),
    ],
    "H-TRANGDINH": [("u_x_trangdinh_01", "Thị trấn Thất Khê"), ("u_x_trangdinh_02", "Xã Quốc Khánh")],
}
TEMPLATE_CODES = [["02-H"], ["01-S", "01-H"], ["03-H"], ["01-TTPVHCC"], ["02-S"], ["PL1-TK"]]


# ---------------------------------------------------------------------------------------------
# Building the input
# ---------------------------------------------------------------------------------------------


def _layout(code: str, unit: str | None = None):
    cat = default_catalogue()
    bp = cat.for_code(code)
    communes = COMMUNES.get(unit, ()) if bp.row_source and bp.row_source.registry == "communes" else ()
    if bp.row_source and bp.row_source.registry == "communes" and unit is None:
        communes = COMMUNES["H-TPLS"]
    return build_layout(bp, code, cat, communes)


def _inputs(lay, rng: random.Random, unit: str) -> dict:
    out = {}
    bp = lay.blueprint
    capacity = bp.row_source.capacity if bp.row_source else None
    used_rows = {r.key for r in lay.rows[:3]} if capacity else None
    for spec in lay.input_cells:
        if used_rows is not None and spec.ref.row not in used_rows:
            continue
        if rng.random() < 0.08:
            continue  # left blank by the unit
        if spec.type in (CellType.count, CellType.amount):
            out[spec.ref] = rng.randint(0, 60)
        elif spec.type == CellType.yesno:
            out[spec.ref] = rng.randint(0, 1)
        elif spec.type == CellType.percent:
            out[spec.ref] = round(rng.uniform(0, 100), 1)
        elif spec.type == CellType.decimal:
            out[spec.ref] = round(rng.uniform(0, 10), 2)
        elif spec.type == CellType.text:
            out[spec.ref] = f"Kế hoạch {spec.ref.row} của {unit}"
    if capacity and unit == "S-YT":
        out[Ref("r1", "ten_ke_hoach")] = EVIL
    return out


def build_data() -> RollupData:
    rng = random.Random(20240531)
    cat = default_catalogue()
    sent_at = dt.datetime(2024, 11, 28, 9, 30)
    values: dict[str, list[ValueRow]] = defaultdict(list)
    for code, name, utype, *_ in UNITS:
        for appx in SENDS.get(code, []):
            bp = cat.for_code(appx)
            lay = _layout(appx, code)
            inputs = _inputs(lay, rng, code)
            full = lay.evaluate(inputs)
            for spec in lay.cells.values():
                v = full.get(spec.ref)
                if v is None:
                    continue
                lr = lay.row(spec.ref.row)
                lc = lay.col(spec.ref.col)
                values[bp.id].append(
                    ValueRow(
                        period=str(PERIOD),
                        unit_code=code,
                        unit_name=name,
                        unit_type=utype,
                        parent=None,  # the unit's parent, as the merger gives it
                        part="main",
                        appendix=appx,
                        table=bp.id,
                        row_key=spec.ref.row,
                        row_label=lr.label,
                        column_key=spec.ref.col,
                        column_label=lc.label,
                        value=v,
                        role=spec.role,
                        source_file=f"+{code}_{PERIOD}.xlsx",
                        source_sheet=appx,
                        source_cell=spec.addr,
                        submitted_at=sent_at,
                        file_hash=f"h{code}",
                    )
                )
    templates = []
    for codes in TEMPLATE_CODES:
        bp = cat.for_code(codes[0])
        templates.append(TemplateData(bp.id, bp.title, codes, _layout(codes[0]), bp.area, values[bp.id]))
    subs = []
    for code, name, utype, status, late, verdict in UNITS:
        sent = status != "missing"
        subs.append(
            Submission(
                unit_code=code,
                unit_name=name,
                unit_type=utype,
                parent=None,
                part="main",
                owner=name,
                expected_codes=tuple(SENDS.get(code, ["01-S"])),
                status=status,
                days_late=late,
                received_at=sent_at + dt.timedelta(days=late) if sent else None,
                file=f"{code}_{PERIOD}.xlsx" if sent else None,
                verdict=verdict,
                errors=2 if verdict == "errors" else 0,
                warnings=1 if verdict == "warnings" else 0,
                missing_codes=("02-S",) if code == "S-YT" else (),
                versions=2 if code == "H-TPLS" else int(sent),
            )
        )
    problems = [
        ProblemRow(
            "H-TPLS",
            "UBND thành phố Lạng Sơn",
            "H-TPLS_2024-Y.xlsx",
            "02-H",
            "E9",
            "02-H",
            "rule.failed",
            "error",
            "Số hồ sơ nhận giải quyết phải bằng số đã giải quyết cộng số đang giải quyết.",
            "Kiểm tra lại số đã giải quyết.",
        ),
        ProblemRow(
            "S-YT",
            "Sở Y tế",
            "S-YT_2024-Y.xlsx",
            "01-S",
            "D8",
            "01-S",
            "rule.failed",
            "warning",
            '-Số TTHC "4 tại chỗ" lớn hơn số TTHC một cửa.',
            None,
        ),
        ProblemRow(
            "S-GTVT",
            "Sở Giao thông vận tải",
            "S-GTVT.xlsx",
            None,
            None,
            None,
            "file.wrong_period",
            "error",
            "@Tệp là báo cáo của kỳ khác.",
            "Gửi lại đúng tệp của kỳ 2024-Y.",
        ),
    ]
    data = RollupData(
        province_id="lang-son",
        province_name="Tỉnh Lạng Sơn",
        period=PERIOD,
        deadline=dt.date(2024, 11, 30),
        window=(dt.date(2023, 12, 15), dt.date(2024, 12, 14)),
        generated_at=dt.datetime(2024, 12, 2, 8, 0),
        submissions=subs,
        templates=templates,
        problems=problems,
        previous_period=PREVIOUS,
        previous_window=(dt.date(2023, 12, 15), dt.date(2024, 9, 14)),   # cumulative, as the year's
        last_year_period=LAST_YEAR,
        unit_types=SEED_TYPES,
    )
    # as the ledger keeps them: Σ of the units' inputs per (appendix, row, column), nothing computed
    data.previous_totals = {
        **_other_period_totals(data, "02-H", 0.6),
        **_other_period_totals(data, "03-H", 0.5),
    }
    data.last_year_totals = {
        k: v for k, v in _other_period_totals(data, "01-H", 0.8).items() if k[1] == "cong_bo"
    }
    return data


def _other_period_totals(data: RollupData, appendix: str, factor: float) -> dict:
    """Input totals of another period: a fraction of this period's."""
    sums = province_sums(data, [appendix])
    return {(appendix, r, c): math.floor(v * factor) for (r, c), v in sums.items() if r != "*"}


# ---------------------------------------------------------------------------------------------
# Independent expectations
# ---------------------------------------------------------------------------------------------


def province_sums(data: RollupData, codes: list[str], unit_filter=lambda vr: True) -> dict:
    """(row, col) -> Σ of the units' typed inputs; ("*", col) -> Σ over every row."""
    out: dict = defaultdict(float)
    for td in data.templates:
        for vr in td.values:
            if (
                vr.appendix in codes
                and vr.role == "input"
                and unit_filter(vr)
                and isinstance(vr.value, (int, float))
            ):
                out[(vr.row_key, vr.column_key)] += vr.value
                out[("*", vr.column_key)] += vr.value
    return out


def rate(a, b):
    return a / b * 100 if b else ""


@pytest.fixture(scope="module")
def data() -> RollupData:
    return build_data()


@pytest.fixture(scope="module")
def book(tmp_path_factory, data) -> Path:
    return write_rollup(data, tmp_path_factory.mktemp("rollup") / "tong-hop.xlsx")


@pytest.fixture(scope="module")
def cached(book) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(book))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


@pytest.fixture(scope="module")
def formulas(book):
    return openpyxl.load_workbook(book, data_only=False)


def block_rows(sheet: list[list], scope: str = PROVINCE_SCOPE) -> dict[str, list]:
    """Row key -> cached row of a summary block (column A is the scope; the row key is in the technical
    column after the values, headed SUMMARY_KEY_HEADER)."""
    header = next(row for row in sheet if row and row[0] == "Phạm vi tổng hợp")
    key = header.index(SUMMARY_KEY_HEADER)
    out = {}
    for row in sheet:
        if row and "DỮ LIỆU CHI TIẾT" in str(row[0]):
            break  # the detail table below the blocks
        if row and row[0] == scope and len(row) > key and row[key]:
            out[row[key]] = row
    return out


def key_col(lay) -> int:
    """The technical column of a summary line that holds its row key (after the values and the file)."""
    return len(DATA_HEADERS) + len(lay.value_cols) + 1


def header_index(sheet: list[list], lay) -> dict[str, int]:
    """Column key -> column index, from the summary block's header row."""
    header = next(row for row in sheet if row and row[0] == "Phạm vi tổng hợp")
    return {c.key: header.index(column_header(c)) for c in lay.value_cols}


def close(a, b, tol=1e-9) -> bool:
    if a in (None, "") or b in (None, ""):
        return a in (None, "") and b in (None, "")
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------------------------------------
# areas.yaml
# ---------------------------------------------------------------------------------------------


def test_areas_loaded_from_blueprints():
    areas = load_areas()
    assert areas.areas["II"] == "Cải cách thủ tục hành chính"
    assert areas.lead_fields["SKHCN"].row_filter == "ISO"
    assert areas.lead_fields["SNV"].areas == ("III", "IV")
    assert area_key('\\"II\\"') == "II" and area_key(None) is None


def test_areas_unknown_area_named_with_line(tmp_path):
    from cchc_xl.yamlfile import ConfigError

    p = tmp_path / "areas.yaml"
    p.write_text(
        'areas:\n  I: "Thể chế"\nlead_fields:\n  STP: {label: "x", areas: [I, IX]}\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"areas.yaml:4: lead_fields.STP.areas: unknown area 'IX'"):
        load_areas(p)
    p.write_text('areas:\n  I: "Thể chế"\nlead_fields:\n  STP: {label: "x", areas: [I]}\nprogrammes:\n'
                 '  "2021-2030":\n    areas: {I: "Thể chế"}\n    lead_fields:\n      STPP: "y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"areas.yaml:9: programmes.2021-2030.lead_fields: unknown lead unit type 'STPP'"):
        load_areas(p)
    p.write_text('areas:\n  I: "Thể chế"\ntypo: 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="khoá không được phép 'typo'"):
        load_areas(p)


# ---------------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------------


def test_sheets_and_headers(cached, formulas, data):
    names = list(cached)
    assert names[0] == STATUS_SHEET
    for sheet in (
        "02-H",
        "01-S",
        "03-H",
        "01-TTPVHCC",
        "02-S",
        PROVINCE_SHEET,
        COMPARE_SHEET,
        PROBLEMS_SHEET,
    ):
        assert sheet in names
    for key in load_areas().lead_fields:
        assert field_sheet_name(key) in names
    ws = formulas["02-H"]
    lay = _layout("02-H")
    table = ws.tables[next(iter(ws.tables))]
    headers = [c.name for c in table.tableColumns]
    assert headers[:6] == list(DATA_HEADERS)
    assert headers[6 : 6 + len(lay.value_cols)] == [column_header(c) for c in lay.value_cols]
    assert "Số hồ sơ nhận giải quyết › Trong đó › Số kỳ trước chuyển qua" in headers
    assert headers[6 + len(lay.value_cols)] == "Tệp nguồn"
    assert table.autoFilter is not None
    assert ws.freeze_panes is not None
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows


def test_province_totals_are_sums_of_units(cached, formulas, data):
    for codes in (["02-H"], ["01-TTPVHCC"]):
        sheet = cached[codes[0]]
        lay = _layout(codes[0])
        idx = header_index(sheet, lay)
        rows = block_rows(sheet)
        sums = province_sums(data, codes)
        checked = 0
        for r in lay.data_rows():
            for spec in (s for s in lay.input_cells if s.ref.row == r.key):
                assert close(rows[r.key][idx[spec.ref.col]], sums[(r.key, spec.ref.col)]), (codes, spec.ref)
                checked += 1
        for c in lay.value_cols:  # the total row: Σ over every row (computed sums included)
            if c.spec.type == CellType.count and not c.spec.compute:
                assert close(rows["tong"][idx[c.key]], sums[("*", c.key)])
        assert checked > 100
    # the formulas are SUMIFS over the detail table, criteria on Mã dòng
    ws = formulas["02-H"]
    lay = _layout("02-H")
    row = next(r for r in ws.iter_rows() if r[0].value == PROVINCE_SCOPE and r[key_col(lay)].value == "ho_tich")
    f = row[6 + [c.key for c in lay.value_cols].index("truc_tuyen")].value
    assert f.startswith("=SUMIFS(") and "$E$" in f


def test_rates_from_totals_not_mean_of_rates(cached, formulas, data):
    sheet = cached["02-H"]
    lay = _layout("02-H")
    idx = header_index(sheet, lay)
    rows = block_rows(sheet)
    s = province_sums(data, ["02-H"])
    expected = rate(
        s[("*", "truoc_han")] + s[("*", "dung_han")],
        s[("*", "truoc_han")] + s[("*", "dung_han")] + s[("*", "qua_han")],
    )
    got = rows["tong"][idx["ty_le_dung_han"]]
    assert close(got, expected, 1e-9)
    unit_rates = [
        vr.value
        for td in data.templates
        for vr in td.values
        if vr.appendix == "02-H" and vr.row_key == "tong" and vr.column_key == "ty_le_dung_han"
    ]
    assert len(unit_rates) == 2
    assert abs(sum(unit_rates) / len(unit_rates) - got) > 0.01
    # row rates too, and the formula is the blueprint's expression over the block's own cells
    for r in ("ho_tich", "dat_dai"):
        exp = rate(
            s[(r, "truoc_han")] + s[(r, "dung_han")],
            s[(r, "truoc_han")] + s[(r, "dung_han")] + s[(r, "qua_han")],
        )
        assert close(rows[r][idx["ty_le_dung_han"]], exp)
    ws = formulas["02-H"]
    cell = next(r for r in ws.iter_rows() if r[0].value == PROVINCE_SCOPE and r[key_col(lay)].value == "tong")[
        idx["ty_le_dung_han"]
    ]
    assert cell.value.startswith("=IFERROR(") and "*100" in cell.value and "AVERAGE" not in cell.value
    assert "!" not in cell.value and "$" not in cell.value  # refers to cells of the same block line


def test_subtotals_by_unit_type_and_district(cached, data):
    sheet = cached["01-S"]
    lay = _layout("01-S")
    idx = header_index(sheet, lay)
    by_s = block_rows(sheet, "Sở, ban, ngành")
    by_h = block_rows(sheet, SEED_TYPES["H"])
    s_sums = province_sums(data, ["01-S", "01-H"], lambda vr: vr.unit_type == "S")
    h_sums = province_sums(data, ["01-S", "01-H"], lambda vr: vr.unit_type == "H")
    for key in ("cong_bo", "mot_cua", "bcci"):
        for col in ("cap_tinh", "cap_huyen", "cap_xa"):
            assert close(by_s[key][idx[col]], s_sums[(key, col)])
            assert close(by_h[key][idx[col]], h_sums[(key, col)])
        # the computed "Tổng số" column of a subtotal is recomputed from its own sums
        assert close(
            by_h[key][idx["tong"]], sum(h_sums[(key, c)] for c in ("cap_tinh", "cap_huyen", "cap_xa"))
        )
    # a computed row (II.1 = one-stop + inter-linked) recomputed from the summed rows
    # the province total adds 01-S only: each district (01-H) counts the same published procedures again
    # (sums_into_province: false), so the districts stand beside the total, in their own block
    total = block_rows(sheet)
    both = province_sums(data, ["01-S"])
    assert close(
        total["tong_mot_cua"][idx["cap_xa"]],
        sum(both[(k, "cap_xa")] for k in ("mot_cua", "lien_thong_cung_cap", "lien_thong_cac_cap")),
    )
    for key in ("cong_bo", "mot_cua", "bcci"):
        assert close(total[key][idx["cap_xa"]], s_sums[(key, "cap_xa")])
        assert not close(total[key][idx["cap_xa"]], s_sums[(key, "cap_xa")] + h_sums[(key, "cap_xa")])
    assert any("không cộng vào toàn tỉnh" in str(row[1]) for row in sheet if row and row[0] == SEED_TYPES["H"])
    assert any("không cộng 01-H" in str(row[0]) for row in sheet[:5])

    sheet = cached["03-H"]
    lay = _layout("03-H")
    idx = header_index(sheet, lay)
    for district in COMMUNES:
        rows = block_rows(sheet, district)
        assert list(rows) == ["tong"]
        d = province_sums(data, ["03-H"], lambda vr, u=district: vr.unit_code == u)
        assert close(rows["tong"][idx["truc_tuyen"]], d[("*", "truc_tuyen")])
        assert close(
            rows["tong"][idx["ty_le_dung_han"]],
            rate(
                d[("*", "truoc_han")] + d[("*", "dung_han")],
                d[("*", "truoc_han")] + d[("*", "dung_han")] + d[("*", "qua_han")],
            ),
        )
    # every commune of both districts is in the detail table, once
    detail = [row for row in sheet if row and row[0] in COMMUNES and str(row[4]).startswith("u_x_")]
    assert sorted(r[4] for r in detail) == sorted(k for v in COMMUNES.values() for k, _ in v)
    assert all(r[3] == r[0] for r in detail)  # Đơn vị cấp trên/Huyện: the district


def test_unit_text_stays_text(formulas, cached):
    ws = formulas["02-S"]
    hits = [c for row in ws.iter_rows() for c in row if c.value == EVIL]
    assert len(hits) == 1 and hits[0].data_type == "s"
    assert any(EVIL in row for row in cached["02-S"])
    # file names and messages that start with + - @ are strings too
    files = [c for row in formulas["02-H"].iter_rows() for c in row if str(c.value).startswith("+H-")]
    assert files and all(c.data_type == "s" for c in files)
    msgs = [
        c
        for row in formulas[PROBLEMS_SHEET].iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value[:1] in ("-", "@")
    ]
    assert len(msgs) == 2 and all(c.data_type == "s" for c in msgs)
    assert not any(c.data_type == "f" for row in formulas[PROBLEMS_SHEET].iter_rows() for c in row)


def test_pooled_template_totals(cached, data):
    sheet = cached["02-S"]
    lay = _layout("02-S")
    idx = header_index(sheet, lay)
    rows = block_rows(sheet)
    assert list(rows) == ["tong"]  # a unit's own plans: only the total line is meaningful
    s = province_sums(data, ["02-S"])
    assert close(rows["tong"][idx["so_nhiem_vu"]], s[("*", "so_nhiem_vu")])
    assert rows["tong"][idx["ten_ke_hoach"]] in ("", None)  # texts are not summed


def status_parts(sheet: list[list]):
    """The status sheet's parts: counts (label -> value), by type (label -> row), the list's first row."""
    top = next(i for i, row in enumerate(sheet) if row and row[0] == "Nội dung")
    counts, by_type = {}, {}
    for row in sheet[top + 1 : top + 11]:
        counts[row[1]] = row[3]
        if row[4]:
            by_type[row[4]] = row[5:11]
    head = next(i for i, row in enumerate(sheet) if row and row[:2] == ["STT", "Mã đơn vị"])
    return counts, by_type, head + 1


def test_status_sheet_counts(book, cached, formulas, data):
    sheet = cached[STATUS_SHEET]
    got, by_type, first = status_parts(sheet)
    assert got["Số báo cáo phải nộp"] == len(UNITS)
    assert got["Đúng hạn"] == 3 and got["Trễ hạn"] == 2 and got["Chưa nộp"] == 1 and got["Bị từ chối"] == 1
    assert close(got["Tỷ lệ nộp đúng hạn (%)"], 3 / 7 * 100)
    assert got["Báo cáo có lỗi"] == 1
    ws = formulas[STATUS_SHEET]
    on_time = next(r for r in ws.iter_rows() if r[1].value == "Đúng hạn")
    assert on_time[3].value.startswith("=COUNTIF(") and "Đúng hạn" in on_time[3].value
    statuses = [row[5] for row in sheet[first : first + len(UNITS)]]
    assert statuses == ["Đúng hạn", "Trễ hạn", "Chưa nộp", "Bị từ chối", "Đúng hạn", "Trễ hạn", "Đúng hạn"]
    assert [row[8] for row in sheet[first : first + 3]] == ["Đạt", "Có cảnh báo", ""]
    # by unit type: Sở on time 1 of 4; huyện 1 of 2
    assert by_type["Sở, ban, ngành"][0] == 4 and close(by_type["Sở, ban, ngành"][5], 25.0)
    assert close(by_type[SEED_TYPES["H"]][5], 50.0)
    # the units to chase, by name, in words
    chase = {row[0]: row[4] for row in sheet[: first] if row and row[0] in ("Chưa nộp", "Trễ hạn", "Bị từ chối",
                                                                             "Báo cáo có lỗi")}
    assert chase["Chưa nộp"] == "Sở Xây dựng."
    assert chase["Trễ hạn"] == "Sở Y tế (3 ngày); UBND huyện Tràng Định (6 ngày)."
    assert chase["Báo cáo có lỗi"].startswith("UBND thành phố Lạng Sơn (")
    with zipfile.ZipFile(book) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 2
    assert ws.conditional_formatting
    assert ws.tables


def test_print_setup(book, formulas, cached):
    """Every sheet fits the page width on A4 landscape, with its header rows repeated; the printed part
    is the summaries (the charts and the by-type table of the status sheet inside it, the detail
    tables outside it); wrapped labels get the height they need; no internal key where a user reads."""
    from openpyxl.utils import range_boundaries

    from cchc_xl.merge.formats import text_lines

    for ws in formulas.worksheets:
        ps = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ps.fitToWidth in (None, 1)) and ps.fitToHeight == 0, ws.title
        assert ps.orientation == "landscape" and str(ps.paperSize) == "9", ws.title
        assert ws.print_area, ws.title
        assert "&A" in (ws.oddHeader.left.text or ""), ws.title
    status = formulas[STATUS_SHEET]
    c0, r0, c1, r1 = range_boundaries(status.print_area.split("!")[-1].replace("$", ""))
    anchors = [(ch.anchor._from.col, ch.anchor._from.row) for ch in status._charts] or None
    if anchors is None:      # openpyxl does not read charts back: their anchors are in the drawing XML
        import re
        with zipfile.ZipFile(book) as z:
            xml = z.read("xl/drawings/drawing1.xml").decode()
        anchors = [(int(c), int(r)) for c, r in re.findall(r"<xdr:from><xdr:col>(\d+)</xdr:col><xdr:colOff>-?\d+"
                                                            r"</xdr:colOff><xdr:row>(\d+)</xdr:row>", xml)]
    assert len(anchors) == 2
    for col, row in anchors:                       # 0-based anchors inside the 1-based print area
        assert c0 - 1 <= col <= c1 - 1 and r0 - 1 <= row <= r1 - 1
    by_type = next(r for r in status.iter_rows() if r[4].value == "Loại đơn vị")
    assert r0 <= by_type[4].row <= r1 and by_type[10].column <= c1
    full_list = next(r for r in status.iter_rows() if r[1].value == "Mã đơn vị")
    assert full_list[1].row > r1                   # the full list is for the screen
    from cchc_xl.merge.rollup import STATUS_NAMES_WIDTH

    chase = [r for r in status.iter_rows(min_row=1, max_row=r1) if r[0].value in ("Chưa nộp", "Trễ hạn",
                                                                                  "Báo cáo có lỗi")]
    assert len(chase) == 3
    for r in chase:                                  # the names wrap in the merged cell E:K
        need = text_lines(r[4].value, STATUS_NAMES_WIDTH) * 14.5 if text_lines(r[4].value, STATUS_NAMES_WIDTH) > 1 else 0
        assert (status.row_dimensions[r[0].row].height or 15) >= need
    for name in ("02-H", "01-S"):
        ws = formulas[name]
        _c0, _r0, _c1, r_last = range_boundaries(ws.print_area.split("!")[-1].replace("$", ""))
        detail = next(r for r in ws.iter_rows() if str(r[0].value or "").startswith(("II.", "III.", "IV."))
                      and "DỮ LIỆU CHI TIẾT" in str(r[0].value))
        assert r_last < detail[0].row
        assert ws.print_title_rows
        lay = _layout(name)
        keys = {r.key for r in lay.rows}
        widths = {c: ws.column_dimensions[get_column_letter(c)].width for c in range(1, 8)}
        for row in ws.iter_rows(min_row=1, max_row=r_last):
            for c in row[:6]:                       # the columns a reader reads: no row keys
                assert c.value not in keys, (name, c.coordinate, c.value)
            label = row[4].value
            if isinstance(label, str) and row[0].value:
                need = text_lines(label, widths[5] + widths[6] - 2)
                height = ws.row_dimensions[row[0].row].height or 15
                assert height >= min(need * 14.5, 160), (name, row[0].row, label, height)


def test_province_and_field_sheets(cached, formulas):
    sheet = cached[PROVINCE_SHEET]
    heads = [row[0] for row in sheet if row and str(row[0]).startswith(("II.", "VII."))]
    assert heads == [
        "II. Cải cách thủ tục hành chính",
        "VII. Công tác chỉ đạo, điều hành cải cách hành chính",
    ]
    rows = {(row[0], row[4], row[5]): row[3] for row in sheet if row and row[4]}
    h02 = block_rows(cached["02-H"])
    idx = header_index(cached["02-H"], _layout("02-H"))
    assert close(rows[("02-H", "tong", "ty_le_dung_han")], h02["tong"][idx["ty_le_dung_han"]])
    assert ("02-H", "ho_tich", "truc_tuyen") not in rows  # lists show their total line only
    assert ("01-S", "cong_bo", "cap_xa") in rows  # fixed tables show every row
    ws = formulas[PROVINCE_SHEET]
    refs = [
        c.value
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("='02-H'!")
    ]
    assert refs
    vp = {(row[0], row[4], row[5]): row[3] for row in cached[field_sheet_name("VP")] if row and row[4]}
    assert vp[("02-H", "tong", "truc_tuyen")] == rows[("02-H", "tong", "truc_tuyen")]
    skhcn = [row for row in cached[field_sheet_name("SKHCN")] if row and row[4]][1:]
    assert skhcn and all("ISO" in str(row[1]) for row in skhcn)  # row_filter
    assert {row[4] for row in skhcn} == {"hdh_cong_bo_iso"}
    assert not any(row[0] == "02-S" for row in cached[field_sheet_name("SKHCN")] if row)


def test_multi_period_sums_counts_not_percentages(cached, data):
    sheet = cached["PL1-TK"]
    lay = _layout("PL1-TK")
    idx = header_index(sheet, lay)
    rows = block_rows(sheet)
    s = province_sums(data, ["PL1-TK"])
    seen = set()
    for spec in lay.input_cells:
        got = rows[spec.ref.row][idx[spec.ref.col]]
        if spec.type in (CellType.count, CellType.yesno, CellType.decimal):
            assert close(got, s[(spec.ref.row, spec.ref.col)]), spec.ref
        else:  # an entered percentage or a text is never added up
            assert got in ("", None), spec.ref
        seen.add(spec.type)
    assert {CellType.count, CellType.yesno, CellType.percent, CellType.decimal} <= seen
    for spec in lay.computed_cells:  # computed rows recomputed from the summed rows
        parts = [r.strip() for r in spec.expr.text.split("+")]
        got = rows[spec.ref.row][idx[spec.ref.col]]
        if all(lay.cells[Ref(p, spec.ref.col)].type == CellType.percent for p in parts):
            assert got in ("", None), spec.ref      # a repeated rate row: its entered rate is never added up
        else:
            assert close(got, sum(s[(p, spec.ref.col)] for p in parts))


def test_compare_sheet(cached, data):
    sheet = cached[COMPARE_SHEET]
    header = next(row for row in sheet if row and row[0] == "Biểu")
    assert f"Kỳ này: {PERIOD.label}" in header and PREVIOUS.label in header and LAST_YEAR.label in header
    assert "Riêng kỳ này (Quý IV)" in header
    assert any("Quý III = 9 tháng − 6 tháng" in str(row[0]) for row in sheet[:4])
    col = {h: i for i, h in enumerate(header)}
    lines = {
        (row[0], row[col["Mã dòng"]], row[col["Mã cột"]]): row
        for row in sheet
        if row and row[0] in ("02-H", "01-H", "01-S") and len(row) > col["Mã cột"]
    }
    s = province_sums(data, ["02-H"])
    prev = defaultdict(float)  # the previous period's province totals, Σ over rows here
    for (appx, _r, c), v in data.previous_totals.items():
        if appx == "02-H":
            prev[c] += v
    assert ("02-H", "tong", "truc_tuyen") not in data.previous_totals
    # quarter-only counts: cumulative minus previous (the previous total row derived from its rows)
    cur = lines[("02-H", "tong", "truc_tuyen")]
    assert close(cur[3], s[("*", "truc_tuyen")])
    assert close(cur[col[PREVIOUS.label]], prev["truc_tuyen"])
    assert close(cur[col["Riêng kỳ này (Quý IV)"]], s[("*", "truc_tuyen")] - prev["truc_tuyen"])
    # the previous rate is recomputed from the previous totals
    r = lines[("02-H", "tong", "ty_le_dung_han")]
    prev_rate = rate(
        prev["truoc_han"] + prev["dung_han"], prev["truoc_han"] + prev["dung_han"] + prev["qua_han"]
    )
    assert close(r[col[PREVIOUS.label]], prev_rate)
    assert close(r[col["Thay đổi so với kỳ trước"]], r[3] - prev_rate)
    # quarter-only rate: recomputed from quarter-only counts, not the difference of two rates
    q = {k: s[("*", k)] - prev[k] for k in ("truoc_han", "dung_han", "qua_han")}
    expected = rate(q["truoc_han"] + q["dung_han"], q["truoc_han"] + q["dung_han"] + q["qua_han"])
    assert close(r[col["Riêng kỳ này (Quý IV)"]], expected)
    assert not close(expected, r[3] - prev_rate)
    # stocks (carried over, pending) and a mix of stock and flow (received) are never differenced
    for c in ("ky_truoc", "dang_tong", "trong_han", "nhan_tong"):
        row_ = lines[("02-H", "tong", c)]
        assert is_number(row_[3]) and is_number(row_[col[PREVIOUS.label]]), c
        assert row_[col["Riêng kỳ này (Quý IV)"]] in ("", None), c
    assert close(lines[("02-H", "tong", "gq_tong")][col["Riêng kỳ này (Quý IV)"]], s[("*", "truoc_han")]
                 + s[("*", "dung_han")] + s[("*", "qua_han")] - prev["truoc_han"] - prev["dung_han"] - prev["qua_han"])
    # a row of the list, and the commune table's single total line
    row = lines[("02-H", "dat_dai", "gq_tong")]
    pg = sum(data.previous_totals[("02-H", "dat_dai", k)] for k in ("truoc_han", "dung_han", "qua_han"))
    assert close(row[col[PREVIOUS.label]], pg)
    x = province_sums(data, ["03-H"])
    px = sum(v for (a, _r, c), v in data.previous_totals.items() if a == "03-H" and c == "truc_tuyen")
    t = next(v for k, v in lines_all(sheet, col).items() if k == ("03-H", "tong", "truc_tuyen"))
    assert close(t[3], x[("*", "truc_tuyen")]) and close(t[col[PREVIOUS.label]], px)
    # last year: per appendix (01-H only, from the districts), though 01-S and 01-H share one sheet
    ly = lines[("01-H", "cong_bo", "cap_huyen")]
    h = province_sums(data, ["01-H"])
    assert close(ly[3], h[("cong_bo", "cap_huyen")])
    assert close(
        ly[col["Thay đổi so với cùng kỳ năm trước"]],
        h[("cong_bo", "cap_huyen")] - data.last_year_totals[("01-H", "cong_bo", "cap_huyen")],
    )
    assert not any(k[0] == "01-S" for k in lines)  # no figures of other periods for 01-S


def _compare_rows(tmp_path, data, **changes):
    other = copy.copy(data)
    for k, v in changes.items():
        setattr(other, k, v)
    wb = CalamineWorkbook.from_path(str(write_rollup(other, tmp_path / "r.xlsx")))
    sheet = wb.get_sheet_by_name(COMPARE_SHEET).to_python(skip_empty_area=False)
    header = next(row for row in sheet if row and row[0] == "Biểu")
    col = {h: i for i, h in enumerate(header)}
    return sheet, col, lines_all(sheet, col)


def test_quarter_alone_window_is_used_as_is(tmp_path, data):
    """Thừa Thiên Huế 2021: the 9-month window (15/6–14/9) is Quý III alone, right after the 6-month
    one (15/12–14/6): its figures are the quarter's own, never 9 months − 6 months."""
    sheet, col, lines = _compare_rows(
        tmp_path, data, period=Period(2021, "9M"), previous_period=Period(2021, "6M"),
        window=(dt.date(2021, 6, 15), dt.date(2021, 9, 14)),
        previous_window=(dt.date(2020, 12, 15), dt.date(2021, 6, 14)))
    q = "Riêng kỳ này (Quý III)"
    assert q in col
    assert any("không lũy kế" in str(row[0]) for row in sheet[:4])
    for c in ("truc_tuyen", "gq_tong", "ty_le_dung_han"):
        row = lines[("02-H", "tong", c)]
        assert is_number(row[3]) and close(row[col[q]], row[3]), c
        assert not close(row[col[q]], row[3] - row[col[Period(2021, "6M").label]]), c
    for c in ("ky_truoc", "dang_tong", "nhan_tong"):
        assert lines[("02-H", "tong", c)][col[q]] in ("", None), c


def test_windows_not_cumulative_from_one_day_give_no_quarter(tmp_path, data):
    """Thừa Thiên Huế 2021: the year (15/12–14/12) after a Quý III window (15/6–14/9): neither a
    difference nor the period's own figures are a quarter."""
    sheet, col, lines = _compare_rows(
        tmp_path, data, previous_window=(dt.date(2024, 6, 15), dt.date(2024, 9, 14)))
    assert not any(str(h).startswith("Riêng kỳ này") for h in col)
    assert any("không lũy kế từ cùng một ngày" in str(row[0]) for row in sheet[:4])
    assert is_number(lines[("02-H", "tong", "truc_tuyen")][col[PREVIOUS.label]])


def lines_all(sheet, col) -> dict:
    return {
        (row[0], row[col["Mã dòng"]], row[col["Mã cột"]]): row
        for row in sheet
        if row and len(row) > col["Mã cột"] and row[col["Mã cột"]]
    }


def test_problems_sheet(cached):
    sheet = cached[PROBLEMS_SHEET]
    header = next(row for row in sheet if row and row[0] == "STT")
    assert header[:9] == ["STT", "Mã đơn vị", "Đơn vị", "Tệp", "Trang", "Ô", "Biểu", "Mã lỗi", "Mức độ"]
    body = [row for row in sheet if row and isinstance(row[0], float)]
    assert [row[8] for row in body] == ["Lỗi", "Cảnh báo", "Lỗi"]
    assert body[0][5] == "E9" and body[0][7] == "rule.failed"


def test_written_atomically(tmp_path, data, monkeypatch):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old roll-up")

    def boom(plan):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollup_mod, "render", boom)
    with pytest.raises(RuntimeError):
        write_rollup(data, target)
    assert target.read_bytes() == b"old roll-up"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]
    monkeypatch.undo()
    assert write_rollup(data, target) == target
    assert target.read_bytes()[:2] == b"PK"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_field_workbooks(tmp_path, data, cached):
    paths = write_field_workbooks(data, tmp_path / "fields")
    assert len(paths) == len(load_areas().lead_fields)
    vp = next(p for p in paths if p.name.endswith("-VP.xlsx"))
    wb = CalamineWorkbook.from_path(str(vp))
    assert wb.sheet_names == [STATUS_SHEET, field_sheet_name("VP")]
    rows = {
        (row[0], row[4], row[5]): row[3]
        for row in wb.get_sheet_by_name(field_sheet_name("VP")).to_python()
        if row and row[4]
    }
    full = {(row[0], row[4], row[5]): row[3] for row in cached[field_sheet_name("VP")] if row and row[4]}
    assert rows == full and rows
    ws = openpyxl.load_workbook(vp)[field_sheet_name("VP")]
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)  # values, no broken links
    with pytest.raises(ValueError, match="XYZ"):
        write_rollup(data, tmp_path / "x.xlsx", only_field="XYZ")


@pytest.mark.libreoffice
def test_libreoffice_recalculation_matches_cached_values(tmp_path, book, cached):
    require_libreoffice()
    out = convert([book], "xlsx", tmp_path / "lo", recalc=True)[0]
    wb = CalamineWorkbook.from_path(str(out))
    compared = 0
    for name in [n for n in cached if n not in (PROBLEMS_SHEET,)]:
        fresh = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        mine = cached[name]
        for r, row in enumerate(mine):
            for c, v in enumerate(row):
                other = fresh[r][c] if r < len(fresh) and c < len(fresh[r]) else ""
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    assert close(v, other, 1e-9), (name, r, c, v, other)
                    compared += 1
                elif v in ("", None):
                    assert other in ("", None), (name, r, c, v, other)
    assert compared > 1000
    # spot check: the recomputed province rate of 02-H is the cached one
    lay = _layout("02-H")
    idx = header_index(cached["02-H"], lay)
    fresh = block_rows(wb.get_sheet_by_name("02-H").to_python())
    assert close(
        fresh["tong"][idx["ty_le_dung_han"]], block_rows(cached["02-H"])["tong"][idx["ty_le_dung_han"]]
    )


def test_file_mode_follows_umask_not_tempfile(tmp_path, data):
    import os

    old = os.umask(0o022)
    try:
        p = write_rollup(data, tmp_path / "mode.xlsx")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_empty_round_still_writes_a_workbook(tmp_path):
    cat = default_catalogue()
    bp = cat.for_code("02-H")
    data = RollupData(
        province_id="lang-son",
        province_name="Tỉnh Lạng Sơn",
        period=Period(2024, "Q1"),
        deadline=dt.date(2024, 3, 5),
        window=(dt.date(2023, 12, 15), dt.date(2024, 3, 14)),
        generated_at=dt.datetime(2024, 3, 6, 8, 0),
        submissions=[],
        templates=[TemplateData(bp.id, bp.title, ["02-H"], _layout("02-H"), bp.area, [])],
        problems=[],
        unit_types=SEED_TYPES,
    )
    p = write_rollup(data, tmp_path / "empty.xlsx")
    wb = CalamineWorkbook.from_path(str(p))
    assert STATUS_SHEET in wb.sheet_names and "02-H" in wb.sheet_names
    rows = block_rows(wb.get_sheet_by_name("02-H").to_python())
    idx = header_index(wb.get_sheet_by_name("02-H").to_python(), _layout("02-H"))
    assert rows["tong"][idx["truc_tuyen"]] == 0 and rows["tong"][idx["ty_le_dung_han"]] in ("", None)
    compare = wb.get_sheet_by_name(COMPARE_SHEET).to_python()
    assert any("Không có số liệu kỳ trước" in str(r[0]) for r in compare if r)


def test_empty_sheets_say_why(cached):
    """A sheet with nothing to show says so in words: no outline texts yet, a field nobody sent tables of."""
    narratives = " ".join(str(c) for row in cached["Nội dung báo cáo"] for c in row if c)
    assert "Chưa đơn vị nào gửi nội dung đề cương trong kỳ báo cáo" in narratives
    stp = " ".join(str(c) for row in cached[field_sheet_name("STP")] for c in row if c)
    assert "Chưa có biểu số liệu nào thuộc lĩnh vực I. Cải cách thể chế" in stp
    assert "không có trong danh sách phải nộp" in stp          # the Sở Tư pháp is not expected here
    problems = " ".join(str(c) for row in cached[PROBLEMS_SHEET][:4] for c in row if c)
    assert "lỗi" in problems


def test_printed_pages(tmp_path, book):
    """LibreOffice prints the status sheet on one page here (at most two in any round), every template
    sheet without its detail table, and each page names its sheet in the header."""
    require_libreoffice()
    import subprocess

    pdf = convert([book], "pdf", tmp_path, recalc=False)[0]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    wb = openpyxl.load_workbook(book, read_only=True)
    sheets = wb.sheetnames
    wb.close()
    per_sheet: dict[str, list[str]] = {}
    for p in pages:
        first = next(line.strip() for line in p.splitlines() if line.strip())
        assert first in sheets, first                # the page header: the sheet's name
        per_sheet.setdefault(first, []).append(p)
    assert 1 <= len(per_sheet[STATUS_SHEET]) <= 2
    status = "\n".join(per_sheet[STATUS_SHEET])
    assert "II. THEO LOẠI ĐƠN VỊ" in status and "III. ĐƠN VỊ CẦN ĐÔN ĐỐC" in status
    assert "IV. DANH SÁCH ĐẦY ĐỦ" not in status
    for name in ("02-H", "01-S", "03-H"):
        body = "\n".join(per_sheet[name])
        assert "I. TỔNG HỢP TOÀN TỈNH" in body and "DỮ LIỆU CHI TIẾT" not in body
        assert "Tệp nguồn" not in body and SUMMARY_KEY_HEADER not in body
    assert len(pages) == sum(len(v) for v in per_sheet.values())
