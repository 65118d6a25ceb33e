"""The expression language: one declaration, an Excel formula and a Python evaluator that agree.

The agreement test writes random expressions over random inputs (blanks, zeros, negatives,
decimals) into a workbook, lets LibreOffice recalculate it, and compares every cell with
the Python evaluator.
"""

from __future__ import annotations

import random

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from cchc_xl.blueprint.catalogue import Catalogue
from cchc_xl.blueprint.expr import FUNCTIONS, ExprError, Ref, Scope, bind
from cchc_xl.blueprint.model import Blueprint
from cchc_xl.layout import build_layout, rule_formula, rule_passes
from tests.libreoffice import convert, require_libreoffice

COLS = ["a", "b", "c", "d", "e"]


def ev(text, values, scope=Scope("row", "r1")):
    e = bind(text, scope, ["r1", "r2"], COLS)
    return e.evaluate(lambda ref: values.get(ref.col))


def test_blank_is_zero_in_arithmetic_and_division_by_zero_is_blank():
    assert ev("a + b", {"a": 2}) == 2
    assert ev("rate(a, b)", {"a": 1, "b": 4}) == 25
    assert ev("rate(a, b)", {"a": 1}) == ""
    assert ev("a / b", {"a": 1, "b": 0}) == ""
    assert ev("a", {}) == 0                      # a formula never shows a blank


def test_text_in_arithmetic_is_an_error_like_excel():
    assert ev("a + 1", {"a": ""}) == ""
    assert ev("sum(a, b)", {"a": "x", "b": 2}) == 2   # SUM ignores text in references


def test_excel_rounding_is_half_away_from_zero():
    assert ev("round(a, 0)", {"a": 2.5}) == 3
    assert ev("round(a, 0)", {"a": -2.5}) == -3


def test_compiles_to_a1_with_iferror():
    e = bind("rate(truoc + dung, gq)", Scope("row", "r1"), ["r1"], ["truoc", "dung", "gq"])
    addr = {"truoc": "C7", "dung": "D7", "gq": "E7"}
    assert e.to_excel(lambda r: addr[r.col]) == 'IFERROR((((C7+D7))/(E7)*100),"")'


@pytest.mark.parametrize("text, reason", [
    ("a +", "cannot parse"),
    ("__import__('os')", "unknown function"),
    ("a[0]", "not allowed"),
    ("f(a)", "unknown function"),
    ("zz + 1", "unknown column"),
    ("a < b < c", "chained"),
    ("total(a + b)", "one column key"),
])
def test_bad_expressions_are_refused_with_a_reason(text, reason):
    with pytest.raises(ExprError, match=reason):
        bind(text, Scope("row", "r1"), ["r1"], COLS)


def test_function_set_has_no_future_functions():
    # generate.workbook.FastWorksheet skips XlsxWriter's _xlfn prefixing: safe only for these.
    assert FUNCTIONS == {"sum", "total", "count", "rate", "div", "present", "min", "max", "abs", "round", "iif"}


# ---------------------------------------------------------------------------------------------
# Random expressions, Excel (LibreOffice) against Python
# ---------------------------------------------------------------------------------------------


def _num_expr(rng: random.Random, depth: int, names: list[str]) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(names + names + ["0", "1", "2.5", "100"])
    kind = rng.randrange(9)
    a = _num_expr(rng, depth - 1, names)
    b = _num_expr(rng, depth - 1, names)
    if kind < 4:
        return f"({a} {rng.choice('+-*/')} {b})"
    if kind == 4:
        return f"{rng.choice(['rate', 'div'])}({a}, {b})"
    if kind == 5:
        return f"sum({a}, {b}, {rng.choice(names)})"
    if kind == 6:
        return f"{rng.choice(['min', 'max'])}({rng.choice(names)}, {rng.choice(names)})"
    if kind == 7:
        return f"round({a}, {rng.choice([0, 1, 2])})" if rng.random() < 0.5 else f"abs({a})"
    return f"iif({_bool_expr(rng, depth - 1, names)}, {a}, {b})"


def _bool_expr(rng: random.Random, depth: int, names: list[str]) -> str:
    kind = rng.randrange(5)
    if kind == 0 and depth > 0:
        return f"({_bool_expr(rng, depth - 1, names)} {rng.choice(['and', 'or'])} {_bool_expr(rng, depth - 1, names)})"
    if kind == 1 and depth > 0:
        return f"not {_bool_expr(rng, depth - 1, names)}"
    if kind == 2:
        return f"present({rng.choice(names)})"
    op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
    return f"{_num_expr(rng, depth, names)} {op} {_num_expr(rng, depth, names)}"


def _random_blueprint(rng: random.Random, n_computed: int, n_rules: int) -> Blueprint:
    inputs = [{"key": c, "label": c.upper(), "type": "decimal"} for c in COLS]
    computed = []
    names = list(COLS)
    for i in range(n_computed):
        key = f"k{i}"
        computed.append({"key": key, "label": key, "type": "decimal", "compute": _num_expr(rng, 3, names)})
        names.append(key)
    rules = []
    for i in range(n_rules):
        scope = rng.choice(["row", "row", "table"])
        check = _bool_expr(rng, 2, names) if scope == "row" else \
            f"{rng.choice(['total', 'count'])}({rng.choice(names)}) {rng.choice(['>=', '<', '=='])} r2.{rng.choice(COLS)}"
        rules.append({"id": f"q{i}", "check": check, "scope": scope, "message": "sai",
                      "missing": rng.choice(["skip", "zero", "check"])})
    return Blueprint.model_validate({
        "id": "random", "version": 1, "programme": "2021-2030", "kind": "list", "title": "Ngẫu nhiên",
        "source": {"seed": "design", "section": "random"}, "codes": [{"code": "RND", "source": {"seed": "design", "section": "t"}}],
        "row_source": {"capacity": 6}, "total": {"label": "Tổng"}, "columns": inputs + computed, "rules": rules,
    })


def _random_value(rng: random.Random):
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.3:
        return 0
    if r < 0.4:
        return -rng.randint(1, 50)
    if r < 0.7:
        return rng.randint(1, 200)
    return round(rng.uniform(0, 100), 2)


@pytest.mark.libreoffice
def test_excel_and_python_agree_on_random_expressions(tmp_path):
    require_libreoffice()
    rng = random.Random(20261122)
    cases = []
    paths = []
    for n in range(6):
        bp = _random_blueprint(rng, n_computed=10, n_rules=12)
        lay = build_layout(bp, "RND", Catalogue(root=tmp_path))
        inputs = {c.ref: _random_value(rng) for c in lay.input_cells}
        path = tmp_path / f"rnd{n}.xlsx"
        wb = xlsxwriter.Workbook(path)
        ws = wb.add_worksheet("RND")
        for spec in lay.input_cells:
            v = inputs[spec.ref]
            if v is not None:
                ws.write_number(spec.row, spec.col, v)
        for spec in lay.computed_cells:
            ws.write_formula(spec.row, spec.col, lay.formula(spec), None, 0)
        check_col = lay.last_col + 2
        for i, ri in enumerate(lay.rules):
            ws.write_formula(i, check_col, f"=IF({rule_formula(lay, ri)},1,0)", None, -1)
        wb.close()
        cases.append((lay, inputs, check_col))
        paths.append(path)
    out = convert(paths, "xlsx", tmp_path / "recalc", recalc=True)
    compared = mismatches = 0
    report = []
    for (lay, inputs, check_col), path in zip(cases, out):
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("RND").to_python(skip_empty_area=False)

        def cell(r, c):
            return grid[r][c] if r < len(grid) and c < len(grid[r]) else ""

        values = lay.evaluate(inputs)
        for spec in lay.computed_cells:
            want, got = values[spec.ref], cell(spec.row, spec.col)
            compared += 1
            ok = (want == "" and got == "") or (
                isinstance(want, (int, float)) and isinstance(got, (int, float)) and abs(want - got) <= 1e-6 * max(1, abs(want)))
            if not ok:
                mismatches += 1
                report.append(f"{path.name} {spec.addr} {spec.expr.text!r}: python {want!r} excel {got!r}")

        def col_values(rng_):
            return [values.get(Ref(r.key, rng_.col)) for r in lay.data_rows(rng_.group)]

        for i, ri in enumerate(lay.rules):
            want = 1 if rule_passes(ri, values.get, col_values) else 0
            got = cell(i, check_col)
            compared += 1
            if want != got:
                mismatches += 1
                report.append(f"{path.name} rule {ri.instance_id} {ri.expr.text!r} [{ri.rule.missing.value}]: "
                              f"python {want} excel {got!r}")
    assert compared > 500
    assert mismatches == 0, "\n".join(report[:30])
