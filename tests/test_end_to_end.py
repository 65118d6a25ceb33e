"""End to end with a real client: generate → LibreOffice types the inputs and saves as xlsx, xls
and ods → a few careless edits → validate finds them where they are → merge → the roll-up,
recalculated by LibreOffice, equals independent sums; every tidy value equals its source cell."""

from __future__ import annotations

import random
import shutil

import pytest
from python_calamine import CalamineWorkbook

from cchc_xl.blueprint.expr import Ref
from cchc_xl.config.period import parse_period
from cchc_xl.generate import generate_round
from cchc_xl.generate.round import Builder
from cchc_xl.generate.sample import fill_table
from cchc_xl.merge.rollup import PROVINCE_SCOPE, SUMMARY_KEY_HEADER
from cchc_xl.merge.run import merge
from cchc_xl.validate.engine import ValidationContext, validate_file
from tests.helpers import read_tidy, workspace
from tests.libreoffice import convert, require_libreoffice, run_jobs

pytestmark = pytest.mark.libreoffice
PERIOD = "2024-Y"
UNITS = {"H-TPLS": "xlsx", "H-CAOLOC": "xls", "H-LOCBINH": "ods", "S-XD": "xlsx", "S-YT": "xls", "STP": "ods"}


def _op(sheet, addr, value):
    if value is None:
        return {"op": "clear", "sheet": sheet, "cell": addr}
    if isinstance(value, (int, float)):
        return {"op": "set", "sheet": sheet, "cell": addr, "value": value}
    return {"op": "set", "sheet": sheet, "cell": addr, "string": str(value)}


def test_a_round_through_libreoffice_end_to_end(tmp_path):
    require_libreoffice()
    ws = workspace(tmp_path)
    per = parse_period(PERIOD)
    gen = generate_round(ws, per, list(UNITS), out=tmp_path / "gen", workers=1)
    b = Builder(ws, per)
    rng = random.Random(42)
    typed: dict[str, dict[str, dict[Ref, object]]] = {}
    jobs = []
    careless = {}
    for f in gen.files:
        unit = ws.province.unit(f["unit"])
        fmt = UNITS[unit.code]
        ops = []
        typed[unit.code] = {}
        for code in f["tables"]:
            lay = b.layout(code, unit)
            inputs, _ = fill_table(lay, rng, b)
            typed[unit.code][code] = inputs
            ops += [_op(lay.sheet, s.addr, inputs.get(s.ref)) for s in lay.input_cells]
        if unit.code == "H-TPLS":            # a careless person: text in a number cell, formula typed over
            lay = b.layout("02-H", unit)
            text_cell = lay.addr(Ref("dat_dai", "truoc_han"))
            formula_cell = lay.addr(Ref("ho_tich", "gq_tong"))
            typed[unit.code]["02-H"][Ref("dat_dai", "truoc_han")] = 15
            ops += [{"op": "set", "sheet": "02-H", "cell": text_cell, "string": "15 hồ sơ"},
                    {"op": "set", "sheet": "02-H", "cell": formula_cell, "value": 9999}]
            careless = {"text": text_cell, "formula": formula_cell}
        dst = ws.inbox / f"{unit.code.lower()} bao cao.{fmt}"
        jobs.append({"src": f["path"], "dst": str(dst), "filter": fmt, "ops": ops})
    results = run_jobs(jobs)
    assert all(r["ok"] for r in results), [r.get("error") for r in results]

    # validate: the careless edits are found exactly where they were made, the rest is clean
    ctx = ValidationContext(ws, per)
    for path in sorted(ws.inbox.iterdir()):
        rep = validate_file(path, ctx)
        got = rep.flatten(["code", "sheet", "cell"])
        if rep.unit == "H-TPLS":
            assert ["value.text_repaired", "02-H", careless["text"]] in got
            assert ["structure.formula_overwritten", "02-H", careless["formula"]] in got
            assert rep.status == "errors"
        else:
            assert rep.status == "ok", (path.name, got)

    res = merge(ws, ws.inbox, period=per)
    assert res.accepted == len(UNITS)

    # independent sums of what was typed, per (row, column) of 02-H
    want: dict[tuple[str, str], float] = {}
    for unit in ("H-TPLS", "H-CAOLOC", "H-LOCBINH"):
        for ref, v in typed[unit]["02-H"].items():
            if isinstance(v, (int, float)):
                want[(ref.row, ref.col)] = want.get((ref.row, ref.col), 0) + v
    recalced = convert([res.rollup], "xlsx", tmp_path / "recalc", recalc=True)[0]
    for source in (res.rollup, recalced):          # cached values, and LibreOffice's recalculation
        grid = CalamineWorkbook.from_path(str(source)).get_sheet_by_name("02-H").to_python()
        lay = b.layout("02-H", ws.province.unit("H-TPLS"))
        header = next(i for i, row in enumerate(grid) if SUMMARY_KEY_HEADER in row and "Phạm vi tổng hợp" in row)
        cols = {c: grid[header].index(c) for c in grid[header] if c}
        key_col = cols[SUMMARY_KEY_HEADER]
        found = 0
        for row in grid[header + 1:]:
            if row[0] != PROVINCE_SCOPE or row[key_col] not in {r.key for r in lay.data_rows()}:
                continue
            for c in lay.value_cols:
                label = next((h for h in cols if h.endswith(c.text)), None)
                if label is None or (row[key_col], c.key) not in want:
                    continue
                assert row[cols[label]] == pytest.approx(want[(row[key_col], c.key)]), (source, row[key_col], c.key)
                found += 1
        assert found > 100, found

    # the tidy export: every value equals its source cell (read with calamine from xlsx, xls, ods)
    books = {}
    rows = read_tidy(res.tidy)
    assert rows
    compared = 0
    for r in rows:
        if r["value"] == "":
            continue
        wb = books.setdefault(r["source_file"], CalamineWorkbook.from_path(r["source_file"]))
        grid = wb.get_sheet_by_name(r["source_sheet"]).to_python(skip_empty_area=False)
        col = 0
        letters = "".join(ch for ch in r["source_cell"] if ch.isalpha())
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        row = int(r["source_cell"][len(letters):]) - 1
        got = grid[row][col - 1]
        if r["source_cell"] == careless.get("text") and r["unit_code"] == "H-TPLS" and r["appendix"] == "02-H":
            assert got == "15 hồ sơ" and r["value"] == "15"      # repaired, and said so
        elif r["source_cell"] == careless.get("formula") and r["unit_code"] == "H-TPLS" and r["appendix"] == "02-H":
            assert got == 9999                                     # the roll-up keeps the recomputed value
        elif r["unit_code"] == "H-TPLS" and r["appendix"] == "02-H" and (r["row_key"] == "tong" or (
                r["row_key"] in ("ho_tich", "dat_dai")
                and r["column_key"] in ("nhan_tong", "gq_tong", "dang_tong", "ty_le_dung_han"))):
            continue     # computed from the careless cells: ours is recomputed from repaired inputs, theirs is not
        else:
            try:
                assert float(r["value"]) == pytest.approx(float(got)), r
            except ValueError:
                assert r["value"] == str(got), (r["appendix"], r["row_key"], r["column_key"], r["source_cell"], r["source_file"])
        compared += 1
    assert compared > 300
    shutil.rmtree(tmp_path / "recalc", ignore_errors=True)
