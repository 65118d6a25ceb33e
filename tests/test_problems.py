"""The problem catalogue: codes, texts, templates, reports and their JSON shape."""

from __future__ import annotations

import json
import re

import pytest

from cchc_xl import problems as P
from cchc_xl.problems import (
    CATALOGUE,
    Problem,
    ValidationReport,
    catalogue_markdown,
    flatten,
    make_problem,
)

# The codes the validator, reader and docs rely on: stable, never renamed.
REQUIRED_CODES = """
file.not_spreadsheet file.corrupt file.encrypted file.too_large file.hostile file.unsupported file.unreadable
identity.metadata_missing identity.metadata_invalid identity.unit_unknown identity.province_mismatch
identity.period_mismatch identity.period_unknown identity.blueprint_unknown identity.blueprint_outdated
identity.tag_invalid identity.duplicate_submission identity.salvaged
structure.sheet_missing structure.sheet_renamed structure.sheet_extra structure.label_changed
structure.header_changed structure.rows_inserted structure.rows_deleted structure.columns_changed
structure.formula_overwritten structure.formula_altered structure.data_outside_input
structure.protection_removed structure.merged_broken
value.text_repaired value.not_a_number value.negative value.out_of_range value.not_integer
value.percent_as_fraction value.percent_out_of_range value.yesno_invalid value.date_invalid
value.date_outside_window value.month_range_invalid value.choice_unknown value.required_blank
value.multiple_lead_agencies
rule.failed outline.section_empty outline.nfd_normalised outline.legacy_encoding
plausibility.cumulative_drop plausibility.outlier
""".split()  # noqa: SIM905 - a readable block of codes

WARNINGS = {
    "identity.salvaged", "structure.sheet_extra", "structure.data_outside_input",
    "structure.protection_removed", "structure.merged_broken", "value.text_repaired",
    "value.percent_as_fraction", "outline.nfd_normalised", "file.legacy_format", "table.nil_with_figures",
    "plausibility.cumulative_drop", "plausibility.outlier", "identity.blueprint_programme",
}

# The parameters each code's templates (message and hint, both languages) use. This table is the
# documentation for callers: pass exactly these (where-fields included) and nothing is missing.
CELL = {"cell", "row_label", "column_label"}
PARAMS: dict[str, set[str]] = {
    "file.not_spreadsheet": {"file", "detail"},
    "file.corrupt": {"file", "detail"},
    "file.encrypted": {"file", "detail"},
    "file.too_large": {"file", "detail"},
    "file.hostile": {"file", "detail"},
    "file.unsupported": {"file", "detail"},
    "file.unreadable": {"file", "detail"},
    "file.legacy_format": {"file", "value"},
    "identity.metadata_missing": {"file"},
    "identity.metadata_invalid": {"file"},
    "identity.unit_unknown": {"file", "unit"},
    "identity.province_mismatch": {"file", "value", "expected"},
    "identity.period_mismatch": {"file", "value", "expected"},
    "identity.period_unknown": {"file", "value"},
    "identity.blueprint_unknown": {"file", "table", "value"},
    "identity.blueprint_outdated": {"file", "table", "value", "expected"},
    "identity.blueprint_programme": {"file", "table", "value", "expected"},
    "identity.tag_invalid": {"file", "unit", "period"},
    "identity.tag_public_key": {"file", "unit", "period"},
    "identity.metadata_conflict": {"file", "value", "expected"},
    "identity.format_unknown": {"file", "value", "expected"},
    "identity.transplanted": {"file", "sheet", "cell", "value", "expected"},
    "identity.duplicate_submission": {"file", "unit", "value"},
    "identity.salvaged": {"file", "unit", "period", "value"},
    "structure.sheet_missing": {"file", "sheet", "table"},
    "structure.sheet_renamed": {"sheet", "table", "expected"},
    "structure.sheet_extra": {"file", "sheet"},
    "structure.label_changed": {"sheet", "cell", "value", "expected"},
    "structure.header_changed": {"sheet", "cell", "value", "expected"},
    "structure.rows_inserted": {"sheet", "table", "value"},
    "structure.rows_deleted": {"sheet", "table", "value"},
    "structure.columns_changed": {"sheet", "table", "value"},
    "structure.formula_overwritten": CELL | {"value", "expected"},
    "structure.formula_altered": CELL | {"value", "expected"},
    "structure.data_outside_input": {"sheet", "cell", "value"},
    "structure.protection_removed": {"sheet", "table"},
    "structure.merged_broken": {"sheet", "cell"},
    "value.text_repaired": CELL | {"value", "repaired"},
    "value.not_a_number": CELL | {"value"},
    "value.date_in_number_cell": CELL | {"value"},
    "value.error_value": CELL | {"value"},
    "table.blank": {"table", "sheet"},
    "table.nil_with_figures": {"table", "sheet", "value"},
    "value.negative": CELL | {"value"},
    "value.out_of_range": CELL | {"value", "expected"},
    "value.not_integer": CELL | {"value"},
    "value.percent_as_fraction": CELL | {"value", "expected"},
    "value.percent_out_of_range": CELL | {"value"},
    "value.yesno_invalid": CELL | {"value"},
    "value.date_invalid": CELL | {"value"},
    "value.date_outside_window": CELL | {"value", "expected"},
    "value.month_range_invalid": CELL | {"value", "expected"},
    "value.choice_unknown": CELL | {"value", "expected"},
    "value.required_blank": CELL,
    "value.multiple_lead_agencies": {"cell", "row_label", "value"},
    "rule.failed": {"cell", "rule", "table"},
    "outline.section_empty": {"cell", "row_label"},
    "outline.nfd_normalised": CELL,
    "outline.legacy_encoding": CELL | {"encoding"},
    "plausibility.cumulative_drop": CELL | {"value", "expected", "period"},
    "plausibility.outlier": CELL | {"value", "expected"},
}

FULL = {
    "file": "inbox/2024-Q1/ubnd-huyen-cao-loc.xlsx", "sheet": "02-H", "cell": "D7", "table": "02-H",
    "row_label": "Hộ tịch", "column_label": "Đã giải quyết — Đúng hạn", "value": "1.234",
    "expected": "=SUM(D7:D9)", "repaired": 1234, "unit": "H-CAOLOC", "period": "2024-Q1",
    "rule": "nhan_bang_giai_quyet", "encoding": "TCVN3", "detail": "not a readable zip archive",
}


@pytest.fixture
def strict(monkeypatch):
    monkeypatch.setattr(P, "STRICT_PARAMS", True)


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.setattr(P, "STRICT_PARAMS", False)


# -- the catalogue -----------------------------------------------------------------------------


def test_required_codes_are_all_there():
    assert set(REQUIRED_CODES) <= set(CATALOGUE)


def test_every_code_is_documented_here():
    assert set(PARAMS) == set(CATALOGUE)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_entry_is_complete(code):
    t = CATALOGUE[code]
    assert t.code == code
    assert re.fullmatch(r"[a-z]+\.[a-z_]+", code)
    assert t.group == code.split(".")[0] and t.group in P.GROUPS
    assert t.severity == ("warning" if code in WARNINGS else "error")
    for text in (t.title_vi, t.title_en, t.template_vi, t.template_en, t.hint_vi, t.hint_en):
        assert text.strip() and text == text.strip()
    # Vietnamese texts are written with full diacritics; English ones are not Vietnamese copies.
    assert not t.hint_vi.isascii() and not t.template_vi.isascii()
    assert t.template_vi != t.template_en and t.hint_vi != t.hint_en


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_placeholders_are_documented(code):
    t = CATALOGUE[code]
    assert t.placeholders == PARAMS[code]
    # both languages say the same thing
    assert P._names(t.template_vi) == P._names(t.template_en)
    assert P._names(t.hint_vi) == P._names(t.hint_en)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_templates_format_with_their_params(code, lang, strict):
    params = {k: FULL[k] for k in PARAMS[code]}
    p = make_problem(code, lang=lang, **params)
    for text in (p.message, p.hint):
        assert "{" not in text and "}" not in text
        assert P.MISSING + " " not in text and "None" not in text
    assert p.message.endswith(".") and p.hint.endswith(".")


def test_missing_param_raises_in_tests(strict):
    with pytest.raises(KeyError, match="row_label"):
        make_problem("value.negative", cell="D7", column_label="x", value=-1)


def test_missing_param_is_shown_as_question_mark_in_production(lenient):
    p = make_problem("value.negative", cell="D7", value=-1)
    assert p.message.startswith("Ô D7 (? — ?) có giá trị âm (-1)")


def test_strict_by_default_under_pytest():
    assert P.STRICT_PARAMS is None and P._strict()


# -- make_problem ------------------------------------------------------------------------------


def test_make_problem_example_from_the_brief():
    p = make_problem("value.negative", file="inbox/a.xlsx", sheet="02-H", cell="D7", table="02-H",
                     row="ho_tich", column="dung_han", row_label="Hộ tịch", column_label="Đúng hạn", value=-5)
    assert p.message == "Ô D7 (Hộ tịch — Đúng hạn) có giá trị âm (-5); số liệu này không được âm."
    assert (p.code, p.severity, p.file, p.sheet, p.cell, p.table, p.row, p.column) == \
        ("value.negative", "error", "inbox/a.xlsx", "02-H", "D7", "02-H", "ho_tich", "dung_han")
    assert p.params == {"row_label": "Hộ tịch", "column_label": "Đúng hạn", "value": -5}
    assert p.location == "a.xlsx › 02-H › D7"


def test_make_problem_english():
    p = make_problem("value.negative", lang="en", cell="D7", row_label="Civil status", column_label="On time",
                     value=-5)
    assert p.message == "Cell D7 (Civil status — On time) is negative (-5); this figure cannot be negative."


def test_explicit_message_hint_and_severity_override_the_catalogue():
    p = make_problem("rule.failed", severity="warning", message="Số hồ sơ đã giải quyết lớn hơn số nhận.",
                     hint=None, cell="E9", rule="r1", table="02-H", sheet="02-H")
    assert p.message == "Số hồ sơ đã giải quyết lớn hơn số nhận."
    assert p.severity == "warning"
    assert p.hint == CATALOGUE["rule.failed"].hint_vi            # no rule hint: the catalogue's
    q = make_problem("rule.failed", message="m {not a placeholder}", hint="h", cell="E9")
    assert (q.message, q.hint) == ("m {not a placeholder}", "h")


def test_unknown_code_severity_or_language():
    with pytest.raises(KeyError, match="no.such"):
        make_problem("no.such")
    with pytest.raises(ValueError):
        make_problem("file.corrupt", severity="fatal", file="a", detail="x")
    with pytest.raises(ValueError):
        make_problem("file.corrupt", lang="fr", file="a", detail="x")


def test_values_are_shown_as_a_clerk_reads_them():
    p = make_problem("value.text_repaired", cell="C5", row_label="r", column_label="c", value="1,5", repaired=1.5)
    assert p.message.endswith("“1,5”; hệ thống đã đọc thành 1,5.")
    p = make_problem("value.text_repaired", lang="en", cell="C5", row_label="r", column_label="c", value="1,5",
                     repaired=1.5)
    assert p.message.endswith("it was read as 1.5.")
    p = make_problem("identity.tag_invalid", file="C:\\hop thu\\bao-cao.xlsx", unit="S-TP", period="2024-6M")
    assert "tệp bao-cao.xlsx " in p.message and "kỳ 6 tháng đầu năm 2024" in p.message
    assert P.display(12.0) == "12" and P.display(None) == "?"
    assert P.bounds_text(0, 100) == "từ 0 đến 100" and P.bounds_text(None, 5, "en") == "at most 5"
    assert P.bounds_text(1, None) == "không nhỏ hơn 1"


# -- reports -----------------------------------------------------------------------------------


def _err(cell="D7"):
    return make_problem("value.negative", cell=cell, row_label="r", column_label="c", value=-1)


def _warn(cell="E7"):
    return make_problem("value.percent_as_fraction", cell=cell, row_label="r", column_label="c", value=0.85,
                        expected=85)


@pytest.mark.parametrize("problems, rejected, status, valid", [
    ([], False, "ok", True),
    (["w"], False, "warnings", True),
    (["w", "e"], False, "errors", False),
    (["e"], True, "rejected", False),
    ([], True, "rejected", False),
])
def test_status(problems, rejected, status, valid):
    r = ValidationReport("a.xlsx", rejected=rejected)
    for kind in problems:
        r.add(_err() if kind == "e" else _warn())
    assert r.finish() is r
    assert (r.status, r.valid) == (status, valid)
    assert len(r.errors) == problems.count("e") and len(r.warnings) == problems.count("w")


def test_add_names_the_file():
    r = ValidationReport("inbox/a.xlsx")
    p = r.add(_err())
    assert p.file == "inbox/a.xlsx" and r.problems == [p]
    q = r.add(make_problem("file.corrupt", file="other.xlsx", detail="x"))
    assert q.file == "other.xlsx"


def test_flatten():
    r = ValidationReport("a.xlsx", unit="H01")
    r.add(_err("D7"))
    r.add(_warn("E8"))
    assert r.flatten(["code", "cell"]) == [["value.negative", "D7"], ["value.percent_as_fraction", "E8"]]
    assert r.flatten(["severity", "value", "unit", "nothing"]) == [["error", -1, "H01", None],
                                                                  ["warning", 0.85, "H01", None]]
    s = ValidationReport("b.xlsx")
    s.add(make_problem("file.corrupt", file="b.xlsx", detail="x"))
    assert flatten([r, s], ["path", "code"]) == [["a.xlsx", "value.negative"],
                                                ["a.xlsx", "value.percent_as_fraction"],
                                                ["b.xlsx", "file.corrupt"]]


def test_as_dict_shape():
    r = ValidationReport("inbox/a.xlsx", unit="H01", unit_name="UBND huyện Cao Lộc", period="2024-Q1",
                         part="main")
    r.add(make_problem("value.date_outside_window", sheet="KH", cell="F9", table="KH-CCHC", row="t1",
                       column="han", row_label="r", column_label="c", value=__import__("datetime").date(2024, 5, 1),
                       expected="15/12/2023 – 14/03/2024"))
    r.add(_warn())
    r.values = {"cells": [object()]}      # never serialised
    d = r.finish().as_dict()
    assert list(d) == ["path", "unit", "unit_name", "period", "part", "status", "counts", "held", "problems"]
    assert d["status"] == "errors" and d["counts"] == {"error": 1, "warning": 1}
    p = d["problems"][0]
    assert list(p) == ["code", "severity", "sheet", "cell", "table", "row", "column", "message", "hint",
                       "file", "params"]
    assert {k: p[k] for k in ("code", "severity", "sheet", "cell", "table", "row", "column", "file")} == {
        "code": "value.date_outside_window", "severity": "error", "sheet": "KH", "cell": "F9",
        "table": "KH-CCHC", "row": "t1", "column": "han", "file": "inbox/a.xlsx"}
    assert p["params"]["value"] == "2024-05-01"
    assert "ngày 01/05/2024" in p["message"]
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d


def test_as_dict_status_is_current_even_before_finish():
    r = ValidationReport("a.xlsx")
    r.add(_err())
    assert r.as_dict()["status"] == "errors"


def test_problem_is_a_plain_dataclass():
    p = Problem("file.corrupt", "error", "m")
    assert p.as_dict()["params"] == {} and p.location == ""


# -- documentation ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalogue_markdown_lists_every_code(lang):
    md = catalogue_markdown(lang)
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", line).group(1) for line in rows] == \
        [c for g in P.GROUPS for c in CATALOGUE if CATALOGUE[c].group == g]
    assert all(line.count(" | ") == 3 for line in rows)      # four columns, no stray pipes
    if lang == "vi":
        assert "| Mã | Mức độ | Ý nghĩa | Cách khắc phục |" in md and "| `value.negative` | lỗi |" in md
    else:
        assert "| Code | Severity | Meaning | How to fix |" in md
