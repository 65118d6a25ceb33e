"""The catalogue: every table of the seeds, a format that refuses mistakes by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cchc_xl.blueprint.catalogue import load_catalogue
from cchc_xl.blueprint.check import check_catalogue
from cchc_xl.blueprint.schema import blueprint_schema
from cchc_xl.cli import main
from cchc_xl.config import load_province
from cchc_xl.resources import blueprints_dir

SEED_000_CODES = {
    "01-S", "02-S", "03-S", "01-H", "02-H", "03-H", "04-H", "05-H", "01-STP", "02-STP", "03-STP",
    "01-VP", "02-VP", "03-VP", "04-VP", "01-STC", "02-STC", "03-STC", "01-STTTT", "02-STTTT", "03-STTTT",
    "04-STTTT", "05-STTTT", "06-STTTT", "07-STTTT", "01-SKHCN", "02-SKHCN", "03-SKHCN", "01-SNV", "02-SNV",
    "03-SNV", "04-SNV", "05-SNV", "01-TTPVHCC", "02-TTPVHCC", "03-TTPVHCC",
}


def test_blueprints_list_json_shows_every_table_with_its_source():
    res = CliRunner().invoke(main, ["blueprints", "list", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    codes = set(data["codes"])
    assert len(SEED_000_CODES) == 36 and SEED_000_CODES <= codes
    assert {"KH-CCHC", "PL1-TK", "PL1-KT", "TD-TK", "DC-S", "DC-KT", "DC-TK"} <= codes
    kinds = {b["kind"] for b in data["blueprints"]}
    assert kinds == {"fixed", "list", "multi_period", "outline"}
    for b in data["blueprints"]:
        assert b["source"]["seed"] and b["source"]["section"], b["id"]


def test_titles_are_verbatim_with_seed_typos_corrected():
    cat = load_catalogue()
    seed = (Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_88494d1bc9ec11ad.txt")
    text = seed.read_text(encoding="utf-8").replace("Bru chính", "Bưu chính") if seed.exists() else None
    assert cat.for_code("01-TTPVHCC").title_for("01-TTPVHCC").startswith("Tổng hợp kết quả tiếp nhận")
    for code in ("03-STTTT", "05-STTTT"):
        title = cat.for_code(code).title_for(code)
        assert "Bưu chính" in title and "Bru" not in title
        if text:
            assert title.rstrip(".") in text
    if text:
        for code in ("01-S", "02-H", "03-H", "02-S", "03-S", "02-VP"):
            assert cat.for_code(code).title_for(code) in text, code


def test_multi_year_table_keeps_every_seed_row_with_unique_keys():
    bp = load_catalogue().for_code("PL1-TK")
    labels = [r.label for r in bp.rows]
    assert labels.count("Số lượng TTHC cấp huyện") == 2       # printed twice in seed 004
    assert len({r.key for r in bp.rows}) == len(bp.rows)
    assert not any(r.label.startswith("IV") for r in bp.rows if r.heading)   # seed 004 has no section IV
    assert any("IV" in n for n in bp.notes)
    assert all(r.office for r in bp.rows if not r.heading)


def test_plan_table_has_the_seed_columns_and_rules():
    bp = load_catalogue().for_code("KH-CCHC")
    assert [c.label for c in bp.columns] == [
        "Nhiệm vụ chung", "Nhiệm vụ cụ thể", "Sản phẩm", "Cơ quan chủ trì", "Cơ quan phối hợp",
        "Thời gian thực hiện", "Kinh phí dự kiến (VNĐ)", "Ghi chú"]
    assert bp.total.label == "Tổng kinh phí"
    assert any(r.scope == "group" for r in bp.rules)


def test_outlines_require_difficulties_and_recommendations():
    bp = load_catalogue().for_code("DC-S")
    required = [s.title for s in bp.sections if s.required]
    assert any("khó khăn" in t.lower() for t in required)
    assert any("kiến nghị" in t.lower() for t in required)


def test_catalogue_check_passes_and_covers_both_regimes():
    regimes = [(p.root / "regime.yaml", p.regime) for p in (load_province("lang-son-3-cap-2011-2020"), load_province("thua-thien-hue-3-cap-2021"))]
    res = check_catalogue(None, regimes)
    assert res.ok, res.problems


@pytest.fixture
def broken_copy(tmp_path):
    root = tmp_path / "bp"
    shutil.copytree(blueprints_dir() / "tables", root / "tables")
    shutil.copytree(blueprints_dir() / "vocabularies", root / "vocabularies")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_key_is_named_with_file_and_line(broken_copy):
    f = broken_copy / "tables" / "ket-qua-giai-quyet-linh-vuc.yaml"
    _edit(f, "label_heading:", "lable_heading:")
    res = CliRunner().invoke(main, ["blueprints", "check", str(broken_copy)])
    assert res.exit_code == 1
    assert "ket-qua-giai-quyet-linh-vuc.yaml:" in res.output and "khoá không được phép 'lable_heading'" in res.output
    line = [ln for ln in res.output.splitlines() if "lable_heading" in ln][0]
    lineno = int(line.split(".yaml:")[1].split(":")[0])
    assert "lable_heading" in f.read_text(encoding="utf-8").splitlines()[lineno - 1]


def test_bad_expression_and_unknown_vocabulary_fail_the_check(broken_copy):
    f = broken_copy / "tables" / "ket-qua-giai-quyet-linh-vuc.yaml"
    _edit(f, 'compute: "ky_truoc + truc_tuyen + truc_tiep"', 'compute: "ky_truoc + truc_tuyen + khong_co"')
    _edit(f, "vocabulary: linh_vuc_tthc", "vocabulary: khong_co_danh_muc")
    res = check_catalogue(broken_copy)
    assert not res.ok
    text = "\n".join(res.problems)
    assert "unknown vocabulary 'khong_co_danh_muc'" in text


def test_bad_expression_is_reported(broken_copy):
    f = broken_copy / "tables" / "ket-qua-giai-quyet-linh-vuc.yaml"
    _edit(f, 'compute: "ky_truoc + truc_tuyen + truc_tiep"', 'compute: "ky_truoc + truc_tuyen + khong_co"')
    res = check_catalogue(broken_copy)
    assert any("unknown column 'khong_co'" in p for p in res.problems), res.problems


def test_duplicate_code_is_refused(broken_copy):
    f = broken_copy / "tables" / "ket-qua-giai-quyet-linh-vuc.yaml"
    _edit(f, "  - code: 02-H", "  - code: 01-S")
    res = check_catalogue(broken_copy)
    assert any("01-S" in p and "served by both" in p for p in res.problems), res.problems


def test_published_json_schema_is_current_and_validates_the_catalogue():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = blueprint_schema()
    published = json.loads((Path(__file__).resolve().parents[1] / "docs" / "blueprint.schema.json").read_text())
    assert published == json.loads(json.dumps(schema)), "docs/blueprint.schema.json is stale: make docs"
    for f in sorted((blueprints_dir() / "tables").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(f.read_text(encoding="utf-8")), schema)


def test_sums_into_province_is_checked(broken_copy):
    """`sums_into_province: false` keeps a code out of the province total; `blueprints check` refuses it on
    every code of a template (nothing would add up) and on an outline (no figures)."""
    cat = load_catalogue(blueprints_dir())
    procedures = cat.blueprints["tthc-cong-bo"]
    assert {c.code for c in procedures.codes if not c.sums_into_province} == {"01-H", "01-X"}
    assert all(c.sums_into_province for bp in cat.blueprints.values() if bp.id != "tthc-cong-bo" for c in bp.codes)
    f = broken_copy / "tables" / "ket-qua-giai-quyet-linh-vuc.yaml"
    _edit(f, "  - code: 02-X\n", "  - code: 02-X\n    sums_into_province: false\n")
    _edit(f, "  - code: 02-H\n", "  - code: 02-H\n    sums_into_province: false\n")
    res = CliRunner().invoke(main, ["blueprints", "check", str(broken_copy)])
    assert res.exit_code == 1 and "sums_into_province is false for every code" in res.output, res.output
    shutil.copyfile(blueprints_dir() / "tables" / f.name, f)
    o = broken_copy / "tables" / "de-cuong-dinh-ky.yaml"
    _edit(o, "  - code: DC-S\n", "  - code: DC-S\n    sums_into_province: false\n")
    res = check_catalogue(broken_copy)
    assert any("an outline has no figures to total" in p for p in res.problems), res.problems
