"""A real client: LibreOffice types random inputs into generated workbooks through UNO and
recalculates; every computed cell and self-check line must equal the Python evaluator."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from cchc_xl.blueprint.expr import Ref
from cchc_xl.blueprint.model import CellType
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder
from cchc_xl.generate.sample import fill_table
from cchc_xl.generate.workbook import CHECK_FIRST_ROW, CHECK_SHEET, OK_TEXT, check_lines
from cchc_xl.layout import a1, rule_passes
from tests.helpers import embedded, generate
from tests.libreoffice import require_libreoffice, run_jobs

CASES = [("2024-Y", "H-TPLS"), ("2024-Y", "TTPVHCC"), ("2024-PLAN", "S-XD"), ("2024-Q1", "STTTT"),
         ("2024-Y", "SNV")]


def _perturb(inputs: dict, lay, rng: random.Random) -> dict:
    out = dict(inputs)
    for spec in lay.input_cells:
        r = rng.random()
        if r < 0.08:
            out[spec.ref] = None
        elif r < 0.16 and spec.type in (CellType.count, CellType.amount):
            out[spec.ref] = (out.get(spec.ref) or 0) + rng.randint(1, 9)
    return out


def _op(sheet: str, addr: str, value) -> dict:
    if value is None:
        return {"op": "clear", "sheet": sheet, "cell": addr}
    if isinstance(value, dt.date):
        return {"op": "set", "sheet": sheet, "cell": addr, "value": (value - dt.date(1899, 12, 30)).days}
    if isinstance(value, (int, float)):
        return {"op": "set", "sheet": sheet, "cell": addr, "value": value}
    return {"op": "set", "sheet": sheet, "cell": addr, "string": str(value)}


@pytest.mark.libreoffice
def test_libreoffice_computes_what_python_computes(tmp_path):
    require_libreoffice()
    ws = embedded()
    rng = random.Random(7)
    jobs, expectations = [], []
    for period, unit_code in CASES:
        res = generate(ws, period, [unit_code], out=tmp_path / period)
        b = Builder(ws, parse_period(period))
        unit = ws.province.unit(unit_code)
        for f in res.files:
            codes = f["tables"]
            layouts = [b.layout(c, unit) for c in codes]
            ops, want = [], {}
            all_values = {}
            for lay in layouts:
                inputs, _ = fill_table(lay, rng, b)
                inputs = _perturb(inputs, lay, rng)
                for spec in lay.input_cells:
                    ops.append(_op(lay.sheet, spec.addr, inputs.get(spec.ref)))
                values = lay.evaluate(inputs)
                all_values[lay.code] = values
                for spec in lay.computed_cells:
                    want[f"{lay.sheet}!{spec.addr}"] = values[spec.ref]
            for i, (lay, ri, _where) in enumerate(check_lines(layouts)):
                values = all_values[lay.code]

                def col_values(rng_, values=values, lay=lay):
                    return [values.get(Ref(r.key, rng_.col)) for r in lay.data_rows(rng_.group)]

                ok = rule_passes(ri, values.get, col_values)
                want[f"{CHECK_SHEET}!{a1(CHECK_FIRST_ROW + i, 4)}"] = OK_TEXT if ok else "FAIL"
            reads = {}
            for key in want:
                sheet, addr = key.split("!")
                reads.setdefault(sheet, []).append(addr)
            ops += [{"op": "read", "sheet": s, "cells": cells} for s, cells in reads.items()]
            jobs.append({"src": f["path"], "ops": ops})
            expectations.append((f["path"], want))
    results = run_jobs(jobs)
    problems = []
    n = 0
    for (path, want), res in zip(expectations, results):
        assert res["ok"], res.get("error")
        got = res["reads"]
        for key, w in want.items():
            g = got[key]
            n += 1
            if w == "FAIL":
                ok = g != OK_TEXT and isinstance(g, str) and g
            elif w == "" or w is None:
                ok = g in ("", None)
            elif isinstance(w, (int, float)) and isinstance(g, (int, float)):
                ok = abs(w - g) <= 1e-6 * max(1, abs(w))
            else:
                ok = w == g
            if not ok:
                problems.append(f"{path} {key}: python {w!r} libreoffice {g!r}")
    assert n > 500
    assert not problems, "\n".join(problems[:20])
