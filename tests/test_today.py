"""Today's Vietnam (issue 13): any of the 34 provinces from the official list, two tiers end to end,
unit types as data, registry edits that never lose a submission, comparisons across the reform."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import openpyxl
import pytest
import vietnam_provinces
import yaml
from click.testing import CliRunner

from cchc_xl.cli import main
from cchc_xl.config import official
from cchc_xl.config.period import parse_period
from cchc_xl.config.province import SEED_CONFIGS, load_province
from cchc_xl.config.today import render
from cchc_xl.config.workspace import init_workspace, load_workspace
from cchc_xl.generate.sample import fill_file
from cchc_xl.merge.ledger import Ledger
from cchc_xl.merge.rollup import COMPARE_SHEET, province_tables
from cchc_xl.merge.run import build_rollup_data, ledger_path, merge
from cchc_xl.yamlfile import ConfigError

from .helpers import generate, read_tidy, summary_line

RAW = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
OFFICIAL = {f"{p['code']:02d}": p for p in RAW}
PER_COMMUNE = "TỔNG HỢP THEO TỪNG ĐƠN VỊ"


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def sheet_rows(path, sheet: str, *, data_only: bool = True) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    try:
        return list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()


# -- the official list ------------------------------------------------------------------------------


def test_provinces_lists_the_34_with_their_communes_and_the_data_version():
    res = cli("provinces", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert vietnam_provinces.__version__ in data["data"] and vietnam_provinces.__data_version__ in data["data"]
    rows = data["provinces"]
    assert len(rows) == 34 == len({r["slug"] for r in rows}) == len({r["code"] for r in rows})
    assert sum(r["communes"] for r in rows) == sum(len(p["wards"]) for p in RAW)
    by_slug = {r["slug"]: r for r in rows}
    assert by_slug["tuyen-quang"]["predecessors"] == ["Tỉnh Tuyên Quang", "Tỉnh Hà Giang"]
    assert by_slug["lang-son"]["predecessors"] == ["Tỉnh Lạng Sơn"]
    assert {c["name"] for c in data["configurations"]} == set(SEED_CONFIGS)
    text = cli("provinces").output
    assert "Tỉnh Tuyên Quang" in text and "lang-son-3-cap-2011-2020" in text


def test_the_reform_list_accounts_for_every_former_province_once():
    """Nghị quyết 202/2025/QH15: 63 provinces became 34; each former one continues in exactly one."""
    former = [x["code"] for p in official.provinces() for x in p.predecessors()]
    assert len(former) == 63 == len(set(former))
    # a current code can be a former code of ANOTHER province: the list, not the code, decides
    bac_ninh = official.find_province("24")
    assert bac_ninh.short == "Bắc Ninh"
    assert {"code": "24", "name": "Tỉnh Bắc Giang"} in bac_ninh.predecessors()


@pytest.mark.parametrize("text", ["lang-son", "Lạng Sơn", "Tỉnh Lạng Sơn", "20", "LANG SON", "lang_son", "  lạng  sơn "])
def test_a_province_is_found_by_slug_name_or_code(text):
    assert official.find_province(text).code == "20"


@pytest.mark.parametrize("text, slug", [("Hà Nội", "ha-noi"), ("TP Hồ Chí Minh", "ho-chi-minh"),
                                         ("Thừa Thiên Huế", "hue"), ("1", "ha-noi"), ("đà nẵng", "da-nang")])
def test_cities_and_former_names_of_a_province_are_found(text, slug):
    assert official.find_province(text).slug == slug


@pytest.mark.parametrize("text, words", [
    ("Hà Giang", ["Tỉnh Hà Giang", "Tỉnh Tuyên Quang", "tuyen-quang"]),     # merged away in 2025
    ("Bắc Giang", ["Tỉnh Bắc Ninh"]),
    ("Atlantis", ["không có tỉnh", "cchc_xl provinces"]),
    ("99", ["không có tỉnh"]),
])
def test_a_province_that_is_not_on_the_list_is_a_message_in_words(tmp_path, text, words):
    res = cli("init", str(tmp_path / "ws"), "--province", text)
    assert res.exit_code != 0
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    for w in words:
        assert w in res.output, res.output
    assert not (tmp_path / "ws" / "cchc.yaml").exists()


@pytest.mark.parametrize("ref, code", [("lang-son", "20"), ("Tuyên Quang", "08"), ("46", "46")])
def test_init_writes_todays_registry_from_the_official_list(tmp_path, ref, code):
    root = tmp_path / "ws"
    res = cli("init", str(root), "--province", ref, "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["tiers"] == 2 and info["programme"] == "2021-2030" and info["code"] == code
    assert vietnam_provinces.__data_version__ in info["data"]
    assert stat.S_IMODE((root / "cchc.yaml").stat().st_mode) == 0o600
    units = yaml.safe_load((root / "config" / "units.yaml").read_text(encoding="utf-8"))["units"]
    communes = [u for u in units if u["type"] == "X"]
    want = {f"{w['code']:05d}": w["name"] for w in OFFICIAL[code]["wards"]}
    assert {u["code"]: u["name"] for u in communes} == want
    assert len(communes) == len(want) == info["communes"]
    assert all(u.get("official") and "parent" not in u for u in communes)
    prov = load_workspace(root).province
    assert prov.info.tiers == 2 and "H" not in prov.regime.unit_types
    assert {u.type for u in prov.reporting_units()} >= {"SNV", "STP", "VP", "STC", "SKHCN", "TTPVHCC", "S", "X"}


def test_the_seed_configurations_keep_their_own_regime():
    for name in SEED_CONFIGS:
        prov = load_province(name)
        assert prov.info.tiers == 3
        districts = [u for u in prov.units if u.type == "H"]
        assert districts and all(prov.communes_of(d.code) for d in districts)
        assert prov.regime.unit_types["X"].parent == "H" and not prov.regime.unit_types["X"].parts
    assert load_province("lang-son-3-cap-2011-2020").id == "lang-son"   # the same province, another regime


# -- unit types are data ----------------------------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_unit_type_declared_in_the_regime_reports_like_any_other(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son")
    cfg = ws.root / "config"
    with (cfg / "regime.yaml").open("a", encoding="utf-8") as fh:
        fh.write('  BQL:\n    name: "Ban quản lý khu kinh tế"\n    parts:\n      - key: main\n'
                 '        owner: "Văn phòng Ban"\n        outline: DC-S\n'
                 '        tables: {Q1: [01-S], 6M: [01-S], 9M: [01-S], Y: [01-S]}\n')
    with (cfg / "units.yaml").open("a", encoding="utf-8") as fh:
        fh.write('  - {code: "BQL-KKT", name: "Ban Quản lý Khu kinh tế cửa khẩu Đồng Đăng - Lạng Sơn", type: "BQL"}\n')
    ws = load_workspace(ws.root)
    gen = generate(ws, "2026-Q1", ["BQL-KKT", "S-CT"], out=tmp_path / "gen")
    assert len(gen.files) == 2
    for f in gen.files:
        fill_file(ws, Path(f["path"]), ws.inbox, seed=3)
    res = merge(ws, ws.inbox, period=parse_period("2026-Q1"))
    assert res.accepted == 2
    types = [r[3] for r in sheet_rows(res.rollup, "Tình hình nộp báo cáo")[6:] if r[1] == "BQL-KKT"]
    assert types == ["Ban quản lý khu kinh tế"]


@pytest.mark.parametrize("edit, words", [
    # a unit of a type the regime does not declare
    (("units.yaml", 'type: "S"}', 'type: "SO"}'), ["units.yaml", "S-CT", "SO", "regime.yaml"]),
    # a two-tier province whose communes belong under another tier
    (("regime.yaml", "    by_unit: true", "    by_unit: true\n    parent: S"), ["tiers: 2", "X"]),
])
def test_a_registry_that_breaks_the_regime_is_named_in_words(tmp_path, edit, words):
    ws = init_workspace(tmp_path / "ws", "lang-son")
    name, old, new = edit
    _edit(ws.root / "config" / name, old, new)
    with pytest.raises(ConfigError) as exc:
        load_workspace(ws.root)
    text = str(exc.value)
    for w in words:
        assert w in text, text


def test_a_three_tier_commune_without_its_district_is_named(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son-3-cap-2011-2020")
    _edit(ws.root / "config" / "units.yaml", ", parent: H-TPLS}", "}")
    with pytest.raises(ConfigError) as exc:
        load_workspace(ws.root)
    assert "X-TPLS-01" in str(exc.value) and "parent" in str(exc.value)


# -- two tiers end to end ---------------------------------------------------------------------------


def _round(root: Path, province: str, period: str = "2026-Q1", *, seed: int = 7):
    ws = load_workspace(root) if (root / "cchc.yaml").exists() else init_workspace(root, province)
    gen = generate(ws, period, out=root / "generated" / period)
    for f in gen.files:
        fill_file(ws, Path(f["path"]), ws.inbox / period, seed=seed)
    res = merge(ws, ws.inbox / period, period=parse_period(period))
    return ws, gen, res


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    base = tmp_path_factory.mktemp("today")
    return {slug: _round(base / slug, slug) for slug in ("lang-son", "tuyen-quang")}


def _per_commune_rows(path: str, sheet: str) -> list[tuple]:
    rows, inside = [], False
    for r in sheet_rows(path, sheet):
        if isinstance(r[0], str) and r[0].split(". ", 1)[-1].startswith("TỔNG HỢP"):
            inside = PER_COMMUNE in r[0]
            continue
        if inside and r[0] not in (None, "Phạm vi tổng hợp"):
            rows.append(r)
        elif inside and r[0] is None:
            inside = False
    return rows


@pytest.mark.parametrize("slug, code", [("lang-son", "20"), ("tuyen-quang", "08")])
def test_a_two_tier_round_counts_every_official_commune_once_by_its_name(rounds, slug, code):
    ws, gen, res = rounds[slug]
    prov = ws.province
    assert res.expected == len(prov.expected(parse_period("2026-Q1"))) == len(gen.files)
    assert res.accepted == res.expected and not res.missing and not res.outside
    want = {f"{w['code']:05d}": w["name"] for w in OFFICIAL[code]["wards"]}
    # the status sheet: each commune once, with its official name and the regime's type name
    seen = [(r[1], r[2], r[3]) for r in sheet_rows(res.rollup, "Tình hình nộp báo cáo")[6:] if r[1] in want]
    assert sorted(c for c, _, _ in seen) == sorted(want)
    assert all(want[c] == n and t == "UBND xã, phường, đặc khu" for c, n, t in seen)
    # the province's own per-commune view of 02-X (what a district's 03-H was): one line each
    lines = _per_commune_rows(res.rollup, "02-X")
    assert sorted(r[0] for r in lines) == sorted(want)
    assert all(want[r[0]] == r[1] for r in lines)


@pytest.mark.parametrize("slug", ["lang-son", "tuyen-quang"])
def test_a_two_tier_round_reports_by_the_2021_2030_outlines(rounds, slug):
    """Today's provinces are on the 2021–2030 programme: every unit generated its outline in that
    programme's version, and the roll-up's texts carry its sections (not the 2011–2020 ones)."""
    from cchc_xl.merge.rollup import NARRATIVES_SHEET

    ws, gen, res = rounds[slug]
    assert ws.province.info.programme == "2021-2030"
    texts = {str(c) for r in sheet_rows(res.rollup, NARRATIVES_SHEET) for c in r if c}
    assert {"Việc thực hiện tinh giản biên chế", "Trao đổi văn bản điện tử tại cơ quan, đơn vị, địa phương",
            "Việc thực hiện định kỳ chuyển đổi vị trí công tác"} <= texts
    assert not any("Hiện đại hóa" in t or "đội ngũ cán bộ, công chức, viên chức" in t for t in texts)
    communes = [f for f in gen.files if f["unit"] in {u.code for u in ws.province.units if u.type == "X"}]
    assert communes and len(communes) == sum(1 for u in ws.province.units if u.type == "X")


def test_the_per_commune_view_adds_up_to_the_province_total(rounds):
    ws, _gen, res = rounds["lang-son"]
    rows = sheet_rows(res.rollup, "02-X")
    province = summary_line(rows, "Toàn tỉnh", "tong")
    by_type = [summary_line(rows, "UBND xã, phường, đặc khu", "tong")]
    communes = _per_commune_rows(res.rollup, "02-X")
    col = 6     # Số hồ sơ nhận giải quyết › Tổng số
    assert province[col] > 0
    assert province[col] == by_type[0][col] == sum(r[col] for r in communes)
    assert province[3] == len(communes)


@pytest.mark.parametrize("slug", ["lang-son", "tuyen-quang"])
def test_the_province_total_of_procedures_adds_the_departments_not_the_communes(rounds, slug):
    """01-X counts again, in each commune, the procedures the province published (sums_into_province:
    false): the "Toàn tỉnh" line is the hand sum of the tidy export without 01-X, and the communes stand
    beside it in their own line."""
    ws, _gen, res = rounds[slug]
    tidy = read_tidy(res.tidy)
    rows = sheet_rows(res.rollup, "01-S")
    header = next(r for r in rows if r and r[0] == "Phạm vi tổng hợp")
    col = list(header).index("Chia theo cấp giải quyết › Cấp xã")

    def hand_sum(keep) -> float:
        return sum(float(t["value"]) for t in tidy if t["table"] == "tthc-cong-bo" and t["row_key"] == "cong_bo"
                   and t["column_key"] == "cap_xa" and t["value"] != "" and keep(t["appendix"]))

    departments, communes = hand_sum(lambda a: a != "01-X"), hand_sum(lambda a: a == "01-X")
    assert departments > 0 and communes > 0
    assert summary_line(rows, "Toàn tỉnh", "cong_bo")[col] == departments
    assert summary_line(rows, "UBND xã, phường, đặc khu", "cong_bo")[col] == communes
    assert any("không cộng 01-X" in str(r[0]) for r in rows[:5] if r)
    ledger = Ledger(ledger_path(ws, ws.inbox / "2026-Q1"))
    try:
        data = build_rollup_data(ws, ledger, parse_period("2026-Q1"))
    finally:
        ledger.close()
    province = {(t.sheet, ln.row_key, c.key): t.values[(ln.key, c.key)]
                for t in province_tables(data) for ln in t.lines for c in t.columns}
    assert province[("01-S", "cong_bo", "cap_xa")] == departments     # the report uses the same totals


# -- registry edits never lose a submission -----------------------------------------------------------


def test_registry_edits_between_periods_never_lose_a_stored_submission(rounds, tmp_path):
    ws0, _gen, _res = rounds["lang-son"]
    root = tmp_path / "ws"
    shutil.copytree(ws0.root, root)
    units = root / "config" / "units.yaml"
    communes = [u for u in ws0.province.units if u.type == "X"]
    removed, renamed, merged_into = communes[0], communes[1], communes[2]
    text = units.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if f'"{removed.code}"' not in ln]        # removed (merged away)
    text = "\n".join(lines) + "\n"
    text = text.replace(f'"{renamed.name}"', f'"{renamed.name} (tên mới)"')
    text = text.replace(f'code: "{merged_into.code}", name: "{merged_into.name}", type: "X"',
                        f'code: "{merged_into.code}", name: "{merged_into.name}", type: "X", succeeds: ["{removed.code}"]')
    units.write_text(text, encoding="utf-8")
    ws = load_workspace(root)
    for full in (False, True):
        res = merge(ws, ws.inbox / "2026-Q1", period=parse_period("2026-Q1"), full=full)
        assert res.expected == len(ws.province.expected(parse_period("2026-Q1")))
        assert [o["submission"] for o in res.outside] == [removed.code]
        assert any(removed.code in n and "giữ trong sổ" in n for n in res.notes)
        assert renamed.code in res.late + res.on_time     # a renamed unit's file still counts
    ledger = Ledger(ledger_path(ws, ws.inbox / "2026-Q1"))
    try:
        kept = [c for c in ledger.contents("2026-Q1") if c.unit == removed.code]
    finally:
        ledger.close()
    assert len(kept) == 1
    names = {r[1]: r[2] for r in sheet_rows(res.rollup, "Tình hình nộp báo cáo")[6:] if r[1]}
    assert names[renamed.code] == f"{renamed.name} (tên mới)" and removed.code not in names
    # put it back: the kept file counts again, nothing was lost
    units.write_text(render(official.find_province("lang-son"))["units.yaml"], encoding="utf-8")
    res = merge(load_workspace(root), ws.inbox / "2026-Q1", period=parse_period("2026-Q1"))
    assert not res.outside and removed.code in res.late + res.on_time


# -- history across the reform ------------------------------------------------------------------------


def test_a_comparison_across_the_reform_uses_the_tables_the_new_ones_continue(tmp_path):
    """Lạng Sơn's secretariat reported 2025-Q1 on three tiers, then moved its workspace to two tiers:
    2026-Q1's communes (02-X) are compared with 2025-Q1's districts (02-H), and the roll-up says so."""
    root = tmp_path / "ws"
    ws, _gen, old = _round(root, "lang-son-3-cap-2011-2020", "2025-Q1", seed=11)
    h_total = summary_line(sheet_rows(old.rollup, "02-H"), "Toàn tỉnh", "tong")[6]
    for name, text in render(official.find_province("lang-son")).items():
        (root / "config" / name).write_text(text, encoding="utf-8")
    ws, _gen, new = _round(root, "lang-son", "2026-Q1", seed=12)
    rows = sheet_rows(new.rollup, COMPARE_SHEET)
    notes = " ".join(str(r[0]) for r in rows[:8] if r[0])
    assert "02-X" in notes and "02-H" in notes and "kế tục" in notes
    assert "chỉ có từ 01/07/2025" in notes           # the new communes did not exist in 2025-Q1
    head = next(i for i, r in enumerate(rows) if r[0] == "Biểu")
    col = rows[head].index("Quý I năm 2025")
    line = next(r for r in rows[head + 1:] if r[0] == "02-X" and r[1] == "Tổng cộng"
                and str(r[2]).startswith("Số hồ sơ nhận giải quyết › Tổng số"))
    assert line[col] == h_total
    # the 2025 files stay in the ledger and are reported, not counted, under the new registry
    res = merge(ws, ws.inbox / "2025-Q1", period=parse_period("2025-Q1"), write=False)
    districts = {u.code for u in load_province("lang-son-3-cap-2011-2020").units if u.type == "H"}
    assert districts <= {o["unit"] for o in res.outside}
    assert len(res.outside) + res.accepted == len(old.files)     # each 2025 file reported or counted
    assert not [m for m in res.missing if m.isdigit()]            # today's communes owed nothing in 2025
