"""One verdict: after LibreOffice recalculates a file a clerk filled, its Kiểm tra sheet fails exactly
the checks the validator reports, rule by rule (each rule line against ``rule.failed`` at its cell)
and kind by kind (each cell-check line's count of offending cells against the validator's problems
of that code on that table).

Fillings are drawn by hypothesis: per input cell, a valid sample value or one of the ways clerks
get it wrong (blank, a negative, a fraction in a count, text in a number cell, spaces, a huge number,
2 in a yes/no cell, an error formula). Every table of each workbook is filled; one LibreOffice
session types all fillings of an example.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.blueprint.model import CellType
from cchc_xl.cell_checks import CELL_CHECKS, FIRST_NONE, NUMBER_TYPES, position
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder
from cchc_xl.generate.sample import fill_table
from cchc_xl.generate.workbook import (
    CHECK_FIRST_ROW,
    CHECK_SHEET,
    FIRST_COL,
    FIRST_TEXT,
    OK_TEXT,
    check_lines,
    value_lines,
)
from cchc_xl.layout import a1
from cchc_xl.validate.engine import ValidationContext, validate_file
from tests.helpers import embedded, generate
from tests.libreoffice import require_libreoffice, run_jobs

# (configuration, period, unit, one appendix code or None for the unit's whole obligation): every
# blueprint of the catalogue is in some case (``test_the_cases_cover_every_blueprint``); the tables no
# regime assigns to a period (the 2011–2020 review, the inspection plan) come by ``generate --blueprint``
SEED_2011, SEED_2021 = "lang-son-3-cap-2011-2020", "thua-thien-hue-3-cap-2021"
CASES = [(SEED_2011, "2024-Y", "H-TPLS", None), (SEED_2011, "2024-PLAN", "S-XD", None),
         (SEED_2011, "2024-Q1", "STTTT", None), (SEED_2011, "2024-Y", "SNV", None),
         (SEED_2011, "2024-Q1", "TTPVHCC", None), (SEED_2011, "2024-Q1", "VP", None),
         (SEED_2021, "2024-PLAN", "SNV", None), (SEED_2021, "2024-Y", "S-XD", "DC-S"),
         (SEED_2021, "2024-Y", "STP", "DC-STP"),
         (SEED_2011, "2020-Y", "SNV", "PL1-TK"), (SEED_2011, "2020-Y", "SNV", "DC-TK"),
         (SEED_2011, "2020-Y", "SNV", "TD-TK"), (SEED_2021, "2024-Y", "SNV", "PL1-KT"),
         (SEED_2021, "2024-Y", "SNV", "DC-KT")]
CELL_CODES = {c.code for c in CELL_CHECKS}
SHOWN: dict = {}        # (table, rule, cell) -> the numbers the validator's message shows
FLAGGED: dict = {}      # (table, cell-check code) -> the cells the validator names for it
# validator errors no formula on the Kiểm tra sheet can see (documented in cchc_xl/cell_checks.py)
NOT_MIRRORED = {"structure.formula_altered", "value.date_in_number_cell", "value.choice_unknown",
                "value.date_invalid", "value.date_outside_window", "value.month_range_invalid",
                "value.multiple_lead_agencies"}

MISTAKES = ["blank", "negative", "fraction", "text", "spaces", "huge", "two", "error"]
# one clerk per workbook (a few draws: thousands of cells drawn one by one overrun hypothesis' buffer):
# a seed for the values, how often a cell is typed wrong, and which mistakes this clerk makes
CLERK = st.tuples(st.integers(0, 2**32 - 1), st.sampled_from([0.05, 0.2, 0.5]),
                  st.lists(st.sampled_from(MISTAKES), min_size=1, max_size=len(MISTAKES), unique=True))


def _bad(kind: str, spec, valid, rng: random.Random):
    """The value typed for ``kind`` (None: cleared; ("=", f): a formula); None when it does not apply."""
    numeric = spec.type in NUMBER_TYPES
    if kind == "keep":
        return valid
    if kind == "blank":
        return None
    if kind == "text":
        return rng.choice(["abc", "không rõ", "x"])
    if kind == "spaces":
        return "   "
    if kind == "error":
        return ("=", rng.choice(["1/0", "NA()"]))
    if not numeric:
        return valid
    if kind == "negative":
        return -rng.randint(1, 40)
    if kind == "fraction":
        return rng.randint(0, 30) + 0.5
    if kind == "huge":
        return 10 ** 9
    if kind == "two":
        return 2
    return valid


def _op(sheet: str, addr: str, value) -> dict:
    if value is None:
        return {"op": "clear", "sheet": sheet, "cell": addr}
    if isinstance(value, tuple):
        return {"op": "set", "sheet": sheet, "cell": addr, "formula": "=" + value[1]}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"op": "set", "sheet": sheet, "cell": addr, "value": value}
    if hasattr(value, "toordinal"):
        return {"op": "set", "sheet": sheet, "cell": addr, "value": value.toordinal() - 693594}
    return {"op": "set", "sheet": sheet, "cell": addr, "string": str(value)}


def _case_layouts(config, period, unit_code, code):
    ws = embedded(config)
    b = Builder(ws, parse_period(period))
    unit = ws.province.unit(unit_code)
    codes = [code] if code else [c for o in ws.province.obligations(unit, parse_period(period)) for c in o.codes]
    return ws, b, unit, codes


def test_the_cases_cover_every_blueprint():
    """The agreement below is proven for every blueprint of the catalogue, not a sample of them."""
    seen = set()
    for case in CASES:
        _ws, b, unit, codes = _case_layouts(*case)
        seen |= {b.layout(c, unit).blueprint.id for c in codes}
    assert seen == set(default_catalogue().blueprints), sorted(set(default_catalogue().blueprints) - seen)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    out = []
    base = tmp_path_factory.mktemp("agreement")
    for n, (config, period, unit_code, code) in enumerate(CASES):
        ws, b, unit, _codes = _case_layouts(config, period, unit_code, code)
        res = generate(ws, period, [unit_code], out=base / str(n), blueprint=code)
        for f in res.files:
            out.append((f["path"], period, [b.layout(c, unit) for c in f["tables"]], b, ws))
    return _Books(out)


class _Books(tuple):
    """The generated workbooks; a short repr (hypothesis prints a failing example's arguments)."""

    def __repr__(self) -> str:
        return f"<{len(self)} generated workbooks>"


def _expected_lines(layouts):
    """Kiểm tra rows in order: ("rule", table, rule id, cell) or ("cells", table, code)."""
    lines = []
    for lay, ri, _ in check_lines(layouts):
        cells = [lay.cells[r] for r in ri.cells if r in lay.cells]
        inputs = [c for c in cells if c.role == "input"] or cells
        lines.append(("rule", lay.code, ri.rule.id, inputs[0].addr if inputs else None))
    for lay in layouts:
        if lay.blueprint.kind != "outline" and lay.input_cells:
            lines.append(("cells", lay.code, "table.blank"))
    for lay, check, _ in value_lines(layouts):
        lines.append(("cells", lay.code, check.code))
    return lines


def _row_col(addr: str) -> tuple[int, int]:
    """"C12" -> (11, 2), 0-based."""
    letters, digits = re.match(r"([A-Z]+)(\d+)$", addr).groups()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits) - 1, col - 1


NUMBERS = re.compile(r"\(Số liệu: (.*)\.\)$")


def _numbers(text) -> str | None:
    m = NUMBERS.search(str(text or ""))
    return m.group(1).replace(",", ".") if m else None


def _validator_view(rep, layouts):
    by_sheet = {lay.sheet: lay for lay in layouts}
    rules, cells, others = set(), Counter(), set()
    FLAGGED.clear()
    for p in rep.problems:
        lay = by_sheet.get(p.sheet)
        if p.code == "rule.failed":
            rules.add((lay.code, p.params.get("rule"), p.cell))
            if _numbers(p.message) and p.cell:
                SHOWN[(lay.code, p.params.get("rule"), p.cell)] = _numbers(p.message)
        elif p.code == "outline.section_empty":
            rules.add((lay.code, "bat_buoc", p.cell))
        elif p.code == "table.blank":
            cells[(lay.code, p.code)] += 1
        elif p.code in CELL_CODES and lay is not None:
            cells[(lay.code, p.code)] += 1
            FLAGGED.setdefault((lay.code, p.code), set()).add(p.cell)
            if p.code == "value.error_value" and lay.blueprint.kind == "outline" and \
                    any(c.addr == p.cell and c.required for c in lay.input_cells):
                # a required section holding an error value: its presence line fails on the error too
                rules.add((lay.code, "bat_buoc", p.cell))
        elif p.severity == "error":
            others.add(p.code)
    return rules, cells, others


@pytest.mark.libreoffice
@pytest.mark.slow
# each example is one LibreOffice session over every workbook (tens of seconds): a few examples,
# no shrinking (a failure prints every mismatch of its example instead)
@settings(max_examples=int(os.environ.get("CCHC_XL_AGREEMENT_EXAMPLES", "3")), deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@given(clerks=st.lists(CLERK, min_size=len(CASES), max_size=len(CASES)))
def test_the_kiem_tra_sheet_fails_exactly_what_the_validator_reports(workbooks, tmp_path_factory, clerks):
    require_libreoffice()
    books = workbooks
    out = tmp_path_factory.mktemp("filled")
    jobs, plans = [], []
    for i, (path, period, layouts, b, ws) in enumerate(books):
        seed, wrong, mistakes = clerks[i % len(clerks)]
        rng = random.Random(seed + i)
        ops = []
        for lay in layouts:
            valid, _ = fill_table(lay, rng, b)
            for spec in lay.input_cells:
                kind = rng.choice(mistakes) if rng.random() < wrong and spec.type != CellType.date else "keep"
                ops.append(_op(lay.sheet, spec.addr, _bad(kind, spec, valid.get(spec.ref), rng)))
        lines = _expected_lines(layouts)
        rows = [CHECK_FIRST_ROW + n for n in range(len(lines))]
        ops.append({"op": "read", "sheet": CHECK_SHEET,
                    "cells": [a1(r, c) for r in rows for c in (4, 5, 7, FIRST_COL)]})
        dst = out / f"{i}-{Path(path).name}"
        jobs.append({"src": path, "dst": str(dst), "filter": "xlsx", "ops": ops})
        plans.append((dst, period, layouts, lines, rows, ws))
    results = run_jobs(jobs)
    mismatches, linked, flagged = [], 0, 0
    for (dst, period, layouts, lines, rows, ws), res in zip(plans, results):
        assert res["ok"], res.get("error")
        got = res["reads"]
        rep = validate_file(dst, ValidationContext(ws, parse_period(period)))
        SHOWN.clear()
        v_rules, v_cells, others = _validator_view(rep, layouts)
        flagged += sum(1 for t, code in FLAGGED if code != "table.blank")
        k_rules, k_cells = set(), Counter()
        for line, r in zip(lines, rows):
            verdict = got[f"{CHECK_SHEET}!{a1(r, 4)}"]
            if line[0] == "rule" and verdict != OK_TEXT:
                k_rules.add(line[1:])
                if line[1:] in SHOWN:       # the numbers behind the failure, in both places
                    assert _numbers(verdict) == SHOWN[line[1:]], (dst.name, line, verdict, SHOWN[line[1:]])
            elif line[0] == "cells" and line[2] == "table.blank":
                if verdict != OK_TEXT:
                    k_cells[line[1:]] = 1
            elif line[0] == "cells":
                n = got[f"{CHECK_SHEET}!{a1(r, 7)}"] or 0
                if n:
                    k_cells[line[1:]] = int(n)
                assert (verdict == OK_TEXT) == (not n), (dst.name, line, verdict, n)
                # the line links to an offending cell the validator names, and says which
                pos = got[f"{CHECK_SHEET}!{a1(r, FIRST_COL)}"]
                shown = str(got[f"{CHECK_SHEET}!{a1(r, 5)}"])
                if n:       # the first flagged cell in reading order (row, then column)
                    first = min(FLAGGED.get(line[1:], ()), key=lambda c: _row_col(c))
                    assert pos == position(*_row_col(first)), (dst.name, line, pos)
                    assert shown.startswith(f"{FIRST_TEXT} {first} — "), (dst.name, line, shown, first)
                    linked += 1
                else:
                    assert pos == FIRST_NONE and not shown.startswith(FIRST_TEXT), (dst.name, line, pos, shown)
        if k_rules != v_rules:
            mismatches.append(f"{dst.name} rules: only Kiểm tra {sorted(k_rules - v_rules)[:5]}, "
                              f"only validator {sorted(v_rules - k_rules)[:5]}")
        if k_cells != v_cells:
            mismatches.append(f"{dst.name} cells: Kiểm tra {dict(k_cells)} validator {dict(v_cells)}")
        assert others <= NOT_MIRRORED, (dst.name, others - NOT_MIRRORED)
    assert not mismatches, "\n".join(mismatches)
    assert linked == flagged, (linked, flagged)     # every (table, kind) the validator flags was linked


@pytest.mark.libreoffice
def test_a_blank_plan_list_fails_its_at_least_one_check_after_recalculation(workbooks, tmp_path):
    """``count(col) >= 1`` counted the Kiểm tra sheet's own cells (an unqualified range), so after a
    full recalculation an empty list of plans passed. Every list-count rule of a blank workbook
    fails on the recalculated sheet, as in the validator."""
    require_libreoffice()
    jobs, plans = [], []
    for i, (path, period, layouts, _, ws) in enumerate(workbooks):
        lines = [(n, lay, ri) for n, (lay, ri, _) in enumerate(check_lines(layouts)) if "count(" in ri.rule.check]
        if not lines:
            continue
        dst = tmp_path / f"{i}-{Path(path).name}"
        jobs.append({"src": path, "dst": str(dst), "filter": "xlsx", "ops": [
            {"op": "read", "sheet": CHECK_SHEET, "cells": [a1(CHECK_FIRST_ROW + n, 4) for n, _, _ in lines]}]})
        plans.append((dst, period, lines, ws))
    assert plans, "the cases must include a table with an at-least-one rule"
    for (dst, period, lines, ws), res in zip(plans, run_jobs(jobs)):
        assert res["ok"], res.get("error")
        rep = validate_file(dst, ValidationContext(ws, parse_period(period)))
        failed = {p.params.get("rule") for p in rep.problems if p.code == "rule.failed"}
        for n, _lay, ri in lines:
            assert res["reads"][f"{CHECK_SHEET}!{a1(CHECK_FIRST_ROW + n, 4)}"] != OK_TEXT, (dst.name, ri.rule.id)
            assert ri.rule.id in failed, (dst.name, ri.rule.id)


@pytest.mark.libreoffice
def test_a_blank_table_is_an_error_unless_declared_a_nil_return(workbooks, tmp_path):
    """Blank is not zero: a table with no figures fails its "Cả biểu" line and is ``table.blank``,
    until the clerk chooses "Không phát sinh" beside it on the cover sheet; a declared table that
    has figures after all is a warning."""
    from cchc_xl.cell_checks import NIL_COL, NIL_TEXT
    from cchc_xl.round_layouts import COVER_SHEET

    require_libreoffice()
    path, period, layouts, _, ws = workbooks[0]
    tables = [lay for lay in layouts if lay.blueprint.kind != "outline" and lay.input_cells]
    lines = _expected_lines(layouts)
    rows = {line[1]: CHECK_FIRST_ROW + n for n, line in enumerate(lines) if line[1:][1:] == ("table.blank",)}
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    cover = book[COVER_SHEET]
    cover_rows = {str(r[2]).split(": ")[0]: i for i, r in enumerate(cover.iter_rows(values_only=True))
                  if len(r) > 2 and isinstance(r[2], str) and ": " in r[2]}
    book.close()        # a read-only workbook keeps its file open: a ResourceWarning in a later test
    declared, filled = tables[0], tables[1]
    spec = filled.input_cells[0]
    ops = [{"op": "set", "sheet": COVER_SHEET, "cell": a1(cover_rows[lay.code], NIL_COL), "string": NIL_TEXT}
           for lay in (declared, filled)]
    ops.append({"op": "set", "sheet": filled.sheet, "cell": spec.addr, "value": 3})
    read = {"op": "read", "sheet": CHECK_SHEET, "cells": [a1(r, 4) for r in rows.values()]}
    jobs = [{"src": path, "dst": str(tmp_path / "blank.xlsx"), "filter": "xlsx", "ops": [read]},
            {"src": path, "dst": str(tmp_path / "declared.xlsx"), "filter": "xlsx", "ops": [*ops, read]}]
    blank, decl = run_jobs(jobs)
    assert blank["ok"] and decl["ok"]
    ctx = ValidationContext(ws, parse_period(period))
    rep = validate_file(tmp_path / "blank.xlsx", ctx)
    assert {p.table for p in rep.problems if p.code == "table.blank"} == {lay.code for lay in tables}
    assert all(blank["reads"][f"{CHECK_SHEET}!{a1(r, 4)}"] != OK_TEXT for r in rows.values())
    rep = validate_file(tmp_path / "declared.xlsx", ValidationContext(ws, parse_period(period)))
    blanks = {p.table for p in rep.problems if p.code == "table.blank"}
    assert declared.code not in blanks and filled.code not in blanks
    assert [p.table for p in rep.problems if p.code == "table.nil_with_figures"] == [filled.code]
    assert decl["reads"][f"{CHECK_SHEET}!{a1(rows[declared.code], 4)}"] == OK_TEXT
    assert decl["reads"][f"{CHECK_SHEET}!{a1(rows[filled.code], 4)}"] == OK_TEXT


EXCEL_FORMULA_CHARS = 8192      # Excel's limit: a longer formula is dropped when the file opens


def test_no_formula_of_any_blueprint_is_longer_than_excel_takes(workbooks):
    """LibreOffice computes longer formulas; Excel repairs the file and removes them. Checked on the
    saved XML of one workbook per case, so every blueprint's rules, counts and links are measured."""
    import html
    import zipfile

    longest = {}
    for path, *_ in workbooks:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/sheet"):
                    for f in re.findall(rb"<f[^>]*>(.*?)</f>", z.read(name), re.S):
                        text = html.unescape(f.decode())
                        if len(text) > longest.get(Path(path).name, ("", 0))[1]:
                            longest[Path(path).name] = (name, len(text))
    assert longest and all(n <= EXCEL_FORMULA_CHARS for _, n in longest.values()), longest
