"""Plausibility across periods (issue 12, item 4) and a unit's history through the registry (issue 13,
item 3): warnings with both numbers and the source cell, on the roll-up's "Cần xác minh" sheet; never a
rejection. Files are filled with controlled figures: every typed count of a table set to one number."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.blueprint.model import CellType
from cchc_xl.config.period import parse_period
from cchc_xl.config.workspace import init_workspace, load_workspace
from cchc_xl.generate.sample import fill_file
from cchc_xl.labels import FINDINGS_SHEET
from cchc_xl.merge.run import merge
from cchc_xl.round_layouts import RoundLayouts

from .helpers import generate

COUNTS = (CellType.count, CellType.amount)


def put_round(ws, period: str, units: list[str], value: float, tmp: Path, *, seed: int = 5):
    """Generate, sample-fill, then set every typed count of every table to ``value``; merge."""
    per = parse_period(period)
    layouts = RoundLayouts(ws, per, default_catalogue())
    gen = generate(ws, period, units, out=tmp / "gen" / period)
    inbox = ws.inbox / period
    for f in gen.files:
        out = Path(fill_file(ws, Path(f["path"]), inbox, seed=seed).path)
        unit = ws.province.unit(f["unit"])
        wb = openpyxl.load_workbook(out)
        for code in f["tables"]:
            lay = layouts.layout(code, unit)
            if lay.blueprint.kind == "outline":
                continue
            for spec in lay.cells.values():
                if spec.role == "input" and spec.type in COUNTS:
                    wb[lay.sheet][spec.addr] = value
        wb.save(out)
    res = merge(ws, inbox, period=per)
    counted = res.late + res.on_time
    assert res.rejected == 0 and all(any(k == u or k.startswith(f"{u}-") for k in counted) for u in units), res
    return res


def findings_rows(path: str) -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(wb[FINDINGS_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()
    head = next(i for i, r in enumerate(rows) if r and r[0] == "STT")
    names = rows[head]
    return [dict(zip(names, r, strict=False)) for r in rows[head + 1:] if r and r[0] is not None]


def _units_yaml(ws) -> Path:
    return ws.root / "config" / "units.yaml"


def test_a_cumulative_count_that_falls_is_flagged_with_both_numbers_and_its_cell(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son")
    commune = next(u for u in ws.province.units if u.type == "X")
    put_round(ws, "2026-Q1", [commune.code], 80, tmp_path)
    res = put_round(ws, "2026-6M", [commune.code], 50, tmp_path)
    rows = findings_rows(res.rollup)
    drops = [r for r in rows if r["Loại"] == "Số lũy kế giảm"]
    assert drops and all(r["Mã đơn vị"] == commune.code for r in drops)
    assert all(r["Số kỳ này"] == 50 and r["Số kỳ đó"] == 80 and r["So với"] == parse_period("2026-Q1").label for r in drops)
    assert {r["Biểu"] for r in drops} == {"02-X"}           # 01-X counts a stock: it may fall
    first = drops[0]
    assert first["Ô"] and first["Trang"] and "50" in first["Nội dung"] and "80" in first["Nội dung"]
    # the cell it names holds the figure, in the file it names
    src = openpyxl.load_workbook(ws.inbox / "2026-6M" / first["Tệp nguồn"], read_only=True)
    try:
        assert src[first["Trang"]][first["Ô"]].value == 50
    finally:
        src.close()
    assert res.findings == len(rows) and res.accepted == 1     # a warning, never a rejection
    assert any(FINDINGS_SHEET in n for n in res.notes)


def test_a_rising_cumulative_count_is_not_flagged(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son")
    commune = next(u for u in ws.province.units if u.type == "X")
    put_round(ws, "2026-Q1", [commune.code], 50, tmp_path)
    res = put_round(ws, "2026-6M", [commune.code], 60, tmp_path)
    assert findings_rows(res.rollup) == [] and res.findings == 0


def test_a_window_that_is_not_cumulative_is_never_compared_as_if_it_were(tmp_path):
    """Thừa Thiên Huế's 9-month window is Quý III alone (seed 002): smaller than 6 months is normal;
    its year window starts where the 6-month one does, so the year is compared with 6 months."""
    ws = init_workspace(tmp_path / "ws", "thua-thien-hue-3-cap-2021")
    district = next(u for u in ws.province.units if u.type == "H").code
    put_round(ws, "2021-6M", [district], 80, tmp_path)
    res = put_round(ws, "2021-9M", [district], 30, tmp_path)
    assert not [r for r in findings_rows(res.rollup) if r["Loại"] == "Số lũy kế giảm"]
    res = put_round(ws, "2021-Y", [district], 60, tmp_path)
    drops = [r for r in findings_rows(res.rollup) if r["Loại"] == "Số lũy kế giảm"]
    assert drops and {r["So với"] for r in drops} == {parse_period("2021-6M").label}


def test_history_follows_the_registry_and_never_a_reused_code(tmp_path):
    """A merged department is judged against the sum of the departments it succeeds; a new unit that
    reuses a former unit's code is not judged against that unit; an unchanged one against itself."""
    ws = init_workspace(tmp_path / "ws", "lang-son")
    units = _units_yaml(ws)
    text = units.read_text(encoding="utf-8")
    old = ('  - {code: "S-NNPTNT", name: "Sở Nông nghiệp và Phát triển nông thôn", type: "S"}\n'
           '  - {code: "S-TNMT", name: "Sở Tài nguyên và Môi trường", type: "S"}\n')
    units.write_text(text + old, encoding="utf-8")
    ws = load_workspace(ws.root)
    put_round(ws, "2024-Y", ["S-NNPTNT", "S-TNMT", "S-CT"], 10, tmp_path)
    # 2025: the two merge into Sở Nông nghiệp và Môi trường; the code S-TNMT goes to a new, unrelated unit
    text = text.replace('{code: "S-NNMT", name: "Sở Nông nghiệp và Môi trường", type: "S"}',
                        '{code: "S-NNMT", name: "Sở Nông nghiệp và Môi trường", type: "S", since: 2025-03-01, '
                        'succeeds: ["S-NNPTNT", "S-TNMT"]}')
    text += '  - {code: "S-TNMT", name: "Sở Du lịch", type: "S", since: 2025-03-01}\n'
    units.write_text(text, encoding="utf-8")
    ws = load_workspace(ws.root)
    res = put_round(ws, "2025-Y", ["S-NNMT", "S-TNMT", "S-CT"], 100, tmp_path)
    rows = [r for r in findings_rows(res.rollup) if r["Loại"] == "Khác xa các kỳ trước"]
    by_unit = {}
    for r in rows:
        by_unit.setdefault(r["Mã đơn vị"], []).append(r)
    assert set(by_unit) == {"S-NNMT", "S-CT"}                  # never the new S-TNMT
    assert all(r["Số kỳ đó"] == 20 and r["So với"] == parse_period("2024-Y").label for r in by_unit["S-NNMT"])   # 10 + 10
    assert all(r["Số kỳ đó"] == 10 for r in by_unit["S-CT"])
    assert all(r["Số kỳ này"] == 100 for r in rows)


@pytest.mark.parametrize("before, now", [(10, 20), (100, 250), (5, 24)])
def test_a_figure_within_its_history_is_not_an_outlier(tmp_path, before, now):
    ws = init_workspace(tmp_path / "ws", "lang-son")
    put_round(ws, "2025-Q1", ["S-CT"], before, tmp_path)
    res = put_round(ws, "2026-Q1", ["S-CT"], now, tmp_path)
    assert [r for r in findings_rows(res.rollup) if r["Loại"] == "Khác xa các kỳ trước"] == []


# -- blank, zero and nil kept apart (issue 12, item 3) -------------------------------------------------


def test_the_tidy_export_and_the_rollup_keep_blank_zero_and_nil_apart(tmp_path):
    from cchc_xl.cell_checks import NIL_COL, NIL_TEXT
    from cchc_xl.layout import a1
    from cchc_xl.round_layouts import COVER_SHEET

    from .helpers import read_tidy

    ws = init_workspace(tmp_path / "ws", "lang-son")
    commune = next(u for u in ws.province.units if u.type == "X")
    per = parse_period("2026-Y")
    layouts = RoundLayouts(ws, per, default_catalogue())
    (f,) = generate(ws, "2026-Y", [commune.code], out=tmp_path / "gen").files
    out = Path(fill_file(ws, Path(f["path"]), ws.inbox, seed=9).path)
    tables = [layouts.layout(c, commune) for c in f["tables"]]
    tables = [lay for lay in tables if lay.blueprint.kind != "outline" and lay.input_cells]
    nil, mixed = tables[0], tables[1]
    counts = [s for s in mixed.input_cells if s.type in COUNTS]
    zero, blank = counts[0], counts[1]
    wb = openpyxl.load_workbook(out)
    for spec in nil.input_cells:
        wb[nil.sheet][spec.addr] = None
    cover = wb[COVER_SHEET]
    row = next(r[0].row for r in cover.iter_rows() if isinstance(r[2].value, str) and r[2].value.startswith(f"{nil.code}: "))
    cover[a1(row - 1, NIL_COL)] = NIL_TEXT
    wb[mixed.sheet][zero.addr] = 0
    wb[mixed.sheet][blank.addr] = None
    wb.save(out)
    res = merge(ws, ws.inbox, period=per)
    assert res.accepted == 1
    rows = read_tidy(res.tidy)
    states = {(r["appendix"], r["source_cell"]): r["state"] for r in rows if r["unit_code"] == commune.code}
    inputs = {(nil.code, s.addr) for s in nil.input_cells}
    assert {states[k] for k in inputs if k in states} == {"nil"}
    assert states[(mixed.code, zero.addr)] == "zero" and states[(mixed.code, blank.addr)] == "blank"
    assert "value" in {v for (a, _), v in states.items() if a == mixed.code}
    wb = openpyxl.load_workbook(res.rollup, read_only=True)
    try:
        status = list(wb["Tình hình nộp báo cáo"].iter_rows(values_only=True))
    finally:
        wb.close()
    head = next(r for r in status if r and r[0] == "STT")
    col = head.index("Biểu đơn vị khai «Không phát sinh»")
    (line,) = [r for r in status if r and r[1] == commune.code]
    assert line[col] == nil.code and nil.code not in (line[head.index("Biểu còn thiếu")] or "")


def test_a_new_commune_is_compared_with_its_predecessors_rows_of_the_former_district_table(tmp_path):
    """Three tiers in 2025 (communes were rows of their district's 03-H), two tiers in 2026: a merged
    commune's 02-X column totals are judged against the sum of its predecessors' 03-H rows; a
    commune that records no predecessors is judged against nothing."""
    from cchc_xl.config import official
    from cchc_xl.config.today import render

    root = tmp_path / "ws"
    ws = init_workspace(root, "lang-son-3-cap-2011-2020")
    put_round(ws, "2025-Q1", ["H-TPLS"], 5, tmp_path)
    for name, text in render(official.find_province("lang-son")).items():
        (root / "config" / name).write_text(text, encoding="utf-8")
    units = _units_yaml(ws)
    merged, other = [u for u in load_workspace(root).province.units if u.type == "X"][:2]
    text = units.read_text(encoding="utf-8")
    old = f'{{code: "{merged.code}", name: "{merged.name}", type: "X", official: true, since: "2025-07-01"}}'
    assert old in text
    units.write_text(text.replace(old, old[:-1] + ', succeeds: ["X-TPLS-01", "X-TPLS-02"]}'), encoding="utf-8")
    ws = load_workspace(root)
    res = put_round(ws, "2026-Q1", [merged.code, other.code], 100, tmp_path)
    rows = [r for r in findings_rows(res.rollup) if r["Loại"] == "Khác xa các kỳ trước"]
    assert {r["Mã đơn vị"] for r in rows} == {merged.code}
    assert rows and all(r["Dòng"] == "Tổng cộng" and r["Số kỳ đó"] == 10 and r["Biểu"] == "02-X" for r in rows)
    assert all(r["So với"] == parse_period("2025-Q1").label for r in rows)
