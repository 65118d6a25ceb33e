"""``sample-fill``: plausible data that satisfies every rule, and realistic defects on demand.

A filled file is written the way a unit's Excel would save it: the same workbook (same
metadata, same tag) with values in the input cells and correct cached formula results.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..blueprint.expr import Ref, XLError, compile_python
from ..blueprint.model import CellType, Missing
from ..config.period import parse_period
from ..config.workspace import Workspace
from ..identity import META_SHEET, Metadata, pairs_from_grid
from ..layout import TableLayout
from ..read.values import read_grids
from .round import Builder, Job
from .workbook import write_workbook

TEXT_BANK = {
    "ten_ke_hoach": ["Kế hoạch cải cách hành chính năm {y}", "Kế hoạch kiểm tra công tác CCHC năm {y}",
                     "Kế hoạch tuyên truyền CCHC năm {y}", "Kế hoạch rà soát, đánh giá TTHC năm {y}",
                     "Kế hoạch ứng dụng công nghệ thông tin năm {y}"],
    "nhiem_vu": ["Rà soát, đơn giản hóa thủ tục hành chính", "Tổ chức tuyên truyền về CCHC",
                 "Kiểm tra công tác CCHC tại các đơn vị trực thuộc", "Cập nhật, công khai TTHC trên Cổng thông tin",
                 "Triển khai dịch vụ công trực tuyến mức độ 3, 4", "Đào tạo, bồi dưỡng công chức"],
    "san_pham": ["Báo cáo kết quả", "Quyết định công bố", "Kế hoạch được ban hành", "Văn bản hướng dẫn"],
    "ghi_chu": [""],
}
OUTLINE_TEXT = ("Trong kỳ báo cáo, đơn vị đã triển khai đầy đủ các nhiệm vụ theo kế hoạch; "
                "kết quả cụ thể được tổng hợp tại các phụ lục kèm theo. (Nội dung mẫu do cchc_xl tạo.)")
DEFECTS_MANIFEST = ".cchc_defects.json"
DEFECT_KINDS = ("text_unit", "thousands_dot", "negative", "percent_fraction", "formula_overwritten",
                "identity_broken", "outline_empty", "nfd_text", "legacy_text")


@dataclass
class FillResult:
    source: str
    path: str
    unit: str
    period: str
    defects: list[dict] = field(default_factory=list)
    unresolved_rules: int = 0

    def as_dict(self) -> dict:
        return {"source": self.source, "path": self.path, "unit": self.unit, "period": self.period,
                "defects": self.defects, "unresolved_rules": self.unresolved_rules}


# -- values ----------------------------------------------------------------------------------------


def _text_for(key: str, rng: random.Random, year: int, unit_names: list[str]) -> str:
    if "co_quan" in key or "chu_tri" in key or "phoi_hop" in key or "don_vi" in key:
        return rng.choice(unit_names)
    for stem, bank in TEXT_BANK.items():
        if stem in key:
            return rng.choice(bank).format(y=year)
    if "thoi_gian" in key:
        return f"Quý {rng.choice(['I', 'II', 'III', 'IV'])} năm {year}"
    if "so_" in key or "van_ban" in key or "ky_hieu" in key:
        return f"{rng.randint(1, 300)}/KH-UBND"
    return rng.choice(TEXT_BANK["nhiem_vu"])


def _value(spec, rng: random.Random, year: int, b: Builder, scale: int):
    t = spec.type
    lo = spec.min if spec.min is not None else 0
    hi = spec.max
    if t in (CellType.count, CellType.amount):
        top = int(hi) if hi is not None else (scale * (1_000_000 if t == CellType.amount else 1))
        return rng.randint(int(lo), max(int(lo), top))
    if t == CellType.decimal:
        return round(rng.uniform(lo, hi if hi is not None else 100), 2)
    if t == CellType.percent:
        return round(rng.uniform(60, 100), 1)
    if t == CellType.yesno:
        return rng.choice([0, 1, 1])
    if t == CellType.date:
        d = b.dates
        span = max(0, (d.window_end - d.window_start).days)
        return d.window_start + dt.timedelta(days=rng.randint(0, span))
    if t == CellType.month_range:
        a = rng.randint(1, 10)
        return f"{a:02d}/{year} - {rng.randint(a, 12):02d}/{year}"
    if t == CellType.choice:
        labels = b.vocabularies.get(spec.vocabulary or "") or [""]
        return rng.choice(labels)
    if t == CellType.unit_ref:
        return rng.choice(b.unit_names)
    return _text_for(spec.ref.col, rng, year, b.unit_names)


def _active_rows(lay: TableLayout, rng: random.Random) -> set[str]:
    bp = lay.blueprint
    if bp.kind == "list" and ((bp.row_source and bp.row_source.capacity) or bp.groups):
        if bp.groups:
            keep = set()
            for keys in lay.group_rows.values():
                keep.update(keys[: rng.randint(1, min(3, len(keys)))])
            return keep
        rows = [r.key for r in lay.data_rows()]
        return set(rows[: rng.randint(2, min(6, len(rows)))])
    return {r.key for r in lay.rows}


def fill_table(lay: TableLayout, rng: random.Random, b: Builder) -> tuple[dict[Ref, object], int]:
    """Inputs for one table that satisfy its rules (a small repair loop on linear rules)."""
    year = b.period.year
    active = _active_rows(lay, rng)
    scale = rng.choice([20, 50, 200])
    inputs: dict[Ref, object] = {}
    for spec in lay.input_cells:
        if spec.ref.row in active:
            inputs[spec.ref] = _value(spec, rng, year, b, scale)
    if lay.blueprint.kind == "outline":
        for spec in lay.input_cells:
            inputs[spec.ref] = OUTLINE_TEXT
        return inputs, 0
    failing = []
    for _ in range(40):
        values = lay.evaluate(inputs)
        failing = [ri for ri, ok in lay.check(values) if not ok]
        if not failing:
            break
        for ri in failing:
            _repair(lay, ri, inputs, rng)
    return inputs, len(failing)


def _diff(lay: TableLayout, ri, node: ast.Compare, inputs) -> float | None:
    values = lay.evaluate(inputs)
    if ri.rule.missing == Missing.zero:
        get = lambda r: 0 if values.get(r) in (None, "") else values.get(r)  # noqa: E731
    else:
        get = values.get

    def col_values(rng_):
        return [values.get(Ref(r.key, rng_.col)) for r in lay.data_rows(rng_.group)]

    try:
        left = compile_python(node.left)(get, col_values)
        right = compile_python(node.comparators[0])(get, col_values)
        return float(left or 0) - float(right or 0)
    except (XLError, TypeError, ValueError):
        return None


def _inputs_behind(lay: TableLayout, refs) -> list[Ref]:
    out, seen, stack = [], set(), list(refs)
    while stack:
        r = stack.pop()
        if r in seen:
            continue
        seen.add(r)
        spec = lay.cells.get(r)
        if spec is None:
            continue
        if spec.role == "input":
            out.append(r)
        else:
            stack.extend(spec.expr.refs)
            for rng_ in spec.expr.ranges:
                stack.extend(Ref(x.key, rng_.col) for x in lay.data_rows(rng_.group))
    return out


def _repair(lay: TableLayout, ri, inputs, rng: random.Random) -> None:
    node = ri.expr.tree.body
    compares = [node] if isinstance(node, ast.Compare) else \
        [v for v in getattr(node, "values", []) if isinstance(v, ast.Compare)]
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and compares:
        compares = [rng.choice(compares)]
    if not compares:
        for ref in _inputs_behind(lay, ri.expr.refs):   # presence rules: fill the blanks
            spec = lay.cells[ref]
            if inputs.get(ref) in (None, ""):
                inputs[ref] = 1 if spec.type not in (CellType.text, CellType.month_range) else "Có"
        return
    for cmp in compares:
        _repair_compare(lay, ri, cmp, inputs, rng)


def _repair_compare(lay: TableLayout, ri, node: ast.Compare, inputs, rng: random.Random) -> None:
    op = type(node.ops[0])
    target = {ast.Eq: 0.0, ast.NotEq: 1.0, ast.Lt: -1.0, ast.LtE: 0.0, ast.Gt: 1.0, ast.GtE: 0.0}[op]
    d0 = _diff(lay, ri, node, inputs)
    if d0 is None:
        return
    ok = {ast.Eq: abs(d0) < 1e-9, ast.NotEq: abs(d0) > 1e-9, ast.Lt: d0 < 0, ast.LtE: d0 <= 0,
          ast.Gt: d0 > 0, ast.GtE: d0 >= 0}[op]
    if ok:
        return
    refs = [n._cchc_ref for n in ast.walk(node) if hasattr(n, "_cchc_ref")]
    cands = [r for r in _inputs_behind(lay, refs)
             if lay.cells[r].type in (CellType.count, CellType.amount, CellType.decimal, CellType.percent)]
    rng.shuffle(cands)
    for ref in cands:
        had = ref in inputs
        old = inputs.get(ref) or 0
        inputs[ref] = old + 1
        d1 = _diff(lay, ri, node, inputs)
        if had:
            inputs[ref] = old
        else:
            del inputs[ref]
        if d1 is None or d1 == d0:
            continue
        new = old + (target - d0) / (d1 - d0)
        spec = lay.cells[ref]
        if spec.type in (CellType.count, CellType.amount):
            new = round(new)
        lo = spec.min if spec.min is not None else 0
        if new < lo or (spec.max is not None and new > spec.max):
            continue
        inputs[ref] = new
        return


# -- defects ---------------------------------------------------------------------------------------


def _inject(kind: str, layouts: list[TableLayout], inputs: dict, overrides: dict, rng: random.Random):
    """Apply one realistic mistake; return a description, or None when it does not apply."""
    tables = [l for l in layouts if l.blueprint.kind != "outline"]
    outlines = [l for l in layouts if l.blueprint.kind == "outline"]
    numeric = [(l, c) for l in tables for c in l.input_cells
               if c.type in (CellType.count, CellType.amount) and isinstance(inputs[l.code].get(c.ref), int)
               and inputs[l.code][c.ref] >= 0]
    if kind == "identity_broken":     # only a cell that an identity (==) rule really depends on
        numeric = [(l, c) for l, c in numeric if c.ref in _identity_inputs(l)]
    if kind in ("text_unit", "thousands_dot", "negative", "identity_broken") and numeric:
        lay, c = rng.choice(numeric)
        v = inputs[lay.code][c.ref]
        new = {"text_unit": f"{v} hồ sơ", "thousands_dot": f"{v + 1000:,}".replace(",", "."),
               "negative": -(v or 3), "identity_broken": v + 7}[kind]
        inputs[lay.code][c.ref] = new
        return {"kind": kind, "sheet": lay.sheet, "cell": c.addr, "value": new}
    if kind == "percent_fraction":
        pc = [(l, c) for l in tables for c in l.input_cells if c.type == CellType.percent
              and isinstance(inputs[l.code].get(c.ref), (int, float))]
        if pc:
            lay, c = rng.choice(pc)
            inputs[lay.code][c.ref] = round(inputs[lay.code][c.ref] / 100, 3)
            return {"kind": kind, "sheet": lay.sheet, "cell": c.addr, "value": inputs[lay.code][c.ref]}
    if kind == "formula_overwritten":
        comp = [(l, c) for l in tables for c in l.computed_cells]
        if comp:
            lay, c = rng.choice(comp)
            overrides[(lay.code, c.ref)] = rng.randint(1, 99)
            return {"kind": kind, "sheet": lay.sheet, "cell": c.addr, "value": overrides[(lay.code, c.ref)]}
    if outlines:
        lay = outlines[0]
        req = [c for c in lay.input_cells if c.required]
        if kind == "outline_empty" and req:
            c = rng.choice(req)
            inputs[lay.code][c.ref] = None
            return {"kind": kind, "sheet": lay.sheet, "cell": c.addr}
        if kind in ("nfd_text", "legacy_text") and lay.input_cells:
            c = rng.choice(lay.input_cells)
            text = "Những khó khăn, vướng mắc trong công tác cải cách hành chính"
            inputs[lay.code][c.ref] = unicodedata.normalize("NFD", text) if kind == "nfd_text" else \
                "Nh÷ng khã kh¨n, v­íng m¾c trong c«ng t¸c c¶i c¸ch hµnh chÝnh"
            return {"kind": kind, "sheet": lay.sheet, "cell": c.addr}
    return None


def _identity_inputs(lay: TableLayout) -> set[Ref]:
    out: set[Ref] = set()
    for ri in lay.rules:
        node = ri.expr.tree.body
        if ri.rule.severity.value == "error" and isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq):
            out.update(_inputs_behind(lay, ri.expr.refs))
    return out


# -- files -----------------------------------------------------------------------------------------


def read_generated_metadata(path: Path) -> Metadata:
    grids = read_grids(path, [META_SHEET])
    if META_SHEET not in grids:
        raise ValueError(f"{path}: không phải tệp do cchc_xl tạo (thiếu trang {META_SHEET})")
    return Metadata.from_pairs(pairs_from_grid(grids[META_SHEET]))


def fill_file(ws: Workspace, src: Path, out_dir: Path, seed: int, defects: float = 0.0,
              builders: dict | None = None) -> FillResult:
    meta = read_generated_metadata(src)
    period = parse_period(meta.period)
    builders = {} if builders is None else builders
    b = builders.get(str(period)) or builders.setdefault(str(period), Builder(ws, period))
    rng = random.Random(f"{seed}:{meta.unit}:{meta.part}:{meta.period}")
    job = Job(meta.unit, meta.part, tuple(t.code for t in meta.tables), str(out_dir / src.name))
    spec = b.spec(job)
    spec.metadata = meta          # the file's own identity, unchanged
    spec.generated_at = dt.datetime.fromisoformat(meta.generated_at)
    result = FillResult(str(src), job.path, meta.unit, meta.period)
    inputs: dict[str, dict] = {}
    for lay in spec.layouts:
        inputs[lay.code], unresolved = fill_table(lay, rng, b)
        result.unresolved_rules += unresolved
    overrides: dict = {}
    if defects and rng.random() < defects:
        for kind in rng.sample(DEFECT_KINDS, k=rng.randint(1, 2)):
            d = _inject(kind, spec.layouts, inputs, overrides, rng)
            if d:
                result.defects.append(d)
    spec.inputs = inputs
    spec.overrides = overrides
    out_dir.mkdir(parents=True, exist_ok=True)
    if Path(job.path).resolve() == Path(src).resolve():
        raise ValueError(f"{src}: tệp đầu ra trùng tệp gốc; chọn thư mục --out khác")
    write_workbook(spec, Path(job.path))
    return result


def fill_files(ws: Workspace, sources: list[Path], out_dir: Path, seed: int = 1, defects: float = 0.0,
               progress=None) -> list[FillResult]:
    builders: dict = {}
    results = []
    for src in sources:
        results.append(fill_file(ws, src, out_dir, seed, defects, builders))
        if progress:
            progress(1)
    if defects:
        manifest = {Path(r.path).name: r.defects for r in results if r.defects}
        # a dot-file: the manifest sits beside the files without ever being taken for a submission
        (out_dir / DEFECTS_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return results
