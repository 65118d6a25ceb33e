"""Where every blueprint key lands on a sheet: the one place that turns keys into A1 addresses.

The generator writes a workbook from a :class:`TableLayout`; the validator reads a returned
workbook back through the same layout; the Python evaluator and the Excel formulas are both
compiled from the layout's bound expressions. Nothing else does arithmetic on cell addresses.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from .blueprint.catalogue import Catalogue
from .blueprint.expr import ColumnRange, Expr, Ref, Scope, XLError
from .blueprint.model import NUMERIC_TYPES, Blueprint, CellType, Column, Missing, Rule
from .problems import make_problem

OUTLINE_SHEET = "Đề cương"
OUTLINE_COL = "noi_dung"
STT_COL = "_stt"
LABEL_COL = "_label"
OFFICE_COL = "_office"
UNIT_COL = "_unit"

TITLE_ROWS = 4
REQUIRED_MARK = " (bắt buộc)"  # code line, title, unit/period line, unit-of-measure line


@lru_cache(maxsize=1 << 16)
def a1(row: int, col: int, *, abs_row: bool = False, abs_col: bool = False) -> str:
    """0-based (row, col) to an A1 address; the only converter in the code base (XlsxWriter's
    ``xl_rowcol_to_cell``, written out so that reading a file needs no XlsxWriter; a test compares)."""
    if row < 0 or col < 0:          # as XlsxWriter: a warning and no address
        warnings.warn(f"Row number '{row}' must be >= 0" if row < 0 else f"Col number '{col}' must be >= 0",
                      stacklevel=2)
        return ""
    return f"{'$' if abs_col else ''}{col_letter(col)}{'$' if abs_row else ''}{row + 1}"


@lru_cache(maxsize=1 << 12)
def col_letter(col: int) -> str:
    """0-based column to its letters (A, …, Z, AA, …)."""
    if col < 0:
        warnings.warn(f"Col number '{col}' must be >= 0", stacklevel=2)
        return ""
    name, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


@dataclass(frozen=True)
class LayoutRow:
    key: str
    label: str
    stt: str
    level: int
    kind: str          # data | heading | total | group
    row: int           # 0-based sheet row
    type: CellType | None = None
    office: str | None = None
    compute: str | None = None
    group: str | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    required: bool = False


@dataclass(frozen=True)
class LayoutCol:
    key: str
    label: str
    header: tuple[str, ...]
    col: int           # 0-based sheet column
    spec: Column | None = None   # None for the STT / label / office columns

    @property
    def is_value(self) -> bool:
        return self.spec is not None

    @property
    def text(self) -> str:
        """The leaf header as written on the sheet (with its unit)."""
        unit = self.spec.unit if self.spec is not None else None
        return self.label + (f" ({unit})" if unit else "")


@dataclass(frozen=True)
class CellSpec:
    ref: Ref
    row: int
    col: int
    role: str                     # input | computed
    type: CellType
    expr: Expr | None = None
    vocabulary: str | None = None
    min: float | None = None
    max: float | None = None
    required: bool = False

    @property
    def addr(self) -> str:
        return a1(self.row, self.col)


@dataclass(frozen=True)
class RuleInstance:
    rule: Rule
    expr: Expr
    anchor: str | None        # row key (row scope), column key (column scope), group key, or None

    @property
    def cells(self) -> list[Ref]:
        return list(dict.fromkeys(self.expr.refs))

    @property
    def instance_id(self) -> str:
        return f"{self.rule.id}[{self.anchor}]" if self.anchor else self.rule.id


@dataclass
class TableLayout:
    blueprint: Blueprint
    code: str
    sheet: str
    title: str
    rows: list[LayoutRow]
    cols: list[LayoutCol]
    header_top: int
    header_depth: int
    first_data_row: int
    last_row: int
    cells: dict[Ref, CellSpec] = field(default_factory=dict)
    rules: list[RuleInstance] = field(default_factory=list)
    group_rows: dict[str, list[str]] = field(default_factory=dict)
    # the blueprint's prefilled rows placed on the sheet's empty rows: what a new workbook holds
    prefill: dict[Ref, object] = field(default_factory=dict)
    _formulas: dict = field(default_factory=dict, repr=False)

    # -- addressing ---------------------------------------------------------------------------

    @cached_property
    def _row_by_key(self) -> dict[str, LayoutRow]:
        return {r.key: r for r in self.rows}

    @cached_property
    def _col_by_key(self) -> dict[str, LayoutCol]:
        return {c.key: c for c in self.cols}

    def row(self, key: str) -> LayoutRow:
        return self._row_by_key[key]

    def col(self, key: str) -> LayoutCol:
        return self._col_by_key[key]

    def addr(self, ref: Ref, *, abs_row: bool = False, abs_col: bool = False) -> str:
        return a1(self.row(ref.row).row, self.col(ref.col).col, abs_row=abs_row, abs_col=abs_col)

    def data_rows(self, group: str | None = None) -> list[LayoutRow]:
        if group is not None:
            keys = self.group_rows[group]
            return [self.row(k) for k in keys]
        return [r for r in self.rows if r.kind == "data"]

    def column_range(self, rng: ColumnRange, *, absolute: bool = True) -> str:
        rows = self.data_rows(rng.group)
        c = self.col(rng.col).col
        return f"{a1(rows[0].row, c, abs_row=absolute, abs_col=absolute)}:" \
               f"{a1(rows[-1].row, c, abs_row=absolute, abs_col=absolute)}"

    def formula(self, spec_or_expr, *, wrap_errors: bool = True) -> str:
        """The Excel formula of a computed cell (compiled once per layout, then cached)."""
        expr = spec_or_expr.expr if isinstance(spec_or_expr, CellSpec) else spec_or_expr
        key = (id(expr), wrap_errors)
        cached = self._formulas.get(key)
        if cached is None:
            cached = self._formulas[key] = "=" + expr.to_excel(self.addr, self.column_range,
                                                               wrap_errors=wrap_errors)
        return cached

    def rule_formula(self, ri: RuleInstance, mode: str) -> str:
        """A rule's boolean formula: ``mode`` "sheet" (qualified, for the self-check sheet) or
        "local" (absolute, for conditional formatting on the table's own sheet). Cached."""
        key = (id(ri), mode)
        cached = self._formulas.get(key)
        if cached is None:
            if mode == "sheet":     # cells and column ranges both on the table's sheet
                cell = lambda ref: f"'{self.sheet}'!{self.addr(ref, abs_row=True, abs_col=True)}"  # noqa: E731
                rng = lambda r: f"'{self.sheet}'!{self.column_range(r)}"  # noqa: E731
            else:
                cell = lambda ref: self.addr(ref, abs_row=True, abs_col=True)  # noqa: E731
                rng = self.column_range
            cached = self._formulas[key] = rule_formula(self, ri, cell=cell, rng=rng)
        return cached

    def rule_cell(self, ri: RuleInstance) -> CellSpec | None:
        """The cell a failing rule is reported at: its first input cell, else its first cell. The
        validator's message and the Kiểm tra line's link both name this cell."""
        cells = [self.cells[r] for r in ri.cells if r in self.cells]
        inputs = [c for c in cells if c.role == "input"] or cells
        return inputs[0] if inputs else None

    @cached_property
    def empty_values(self) -> dict[Ref, object]:
        return self.evaluate({})

    @property
    def value_cols(self) -> list[LayoutCol]:
        return [c for c in self.cols if c.is_value]

    @property
    def input_cells(self) -> list[CellSpec]:
        return [c for c in self.cells.values() if c.role == "input"]

    @property
    def computed_cells(self) -> list[CellSpec]:
        return [c for c in self.cells.values() if c.role == "computed"]

    @property
    def last_col(self) -> int:
        return self.cols[-1].col

    # -- evaluation ---------------------------------------------------------------------------

    @cached_property
    def _order(self) -> list[CellSpec]:
        """Computed cells in dependency order."""
        computed = {c.ref: c for c in self.computed_cells}
        done: set[Ref] = set()
        order: list[CellSpec] = []

        def deps(spec: CellSpec) -> list[Ref]:
            out = list(spec.expr.refs)
            for rng in spec.expr.ranges:
                out += [Ref(r.key, rng.col) for r in self.data_rows(rng.group)]
            return out

        def visit(ref: Ref, stack: tuple = ()):
            if ref in done or ref not in computed:
                return
            if ref in stack:
                raise ValueError(f"{self.code}: circular computed cells through {ref}")
            for d in deps(computed[ref]):
                visit(d, stack + (ref,))
            done.add(ref)
            order.append(computed[ref])

        for ref in computed:
            visit(ref)
        return order

    def evaluate(self, inputs: Mapping[Ref, object]) -> dict[Ref, object]:
        """Every computed cell from the typed inputs (blank = None), as Excel would compute it."""
        values: dict[Ref, object] = dict(inputs)

        def col_values(rng: ColumnRange) -> list[object]:
            return [values.get(Ref(r.key, rng.col)) for r in self.data_rows(rng.group)]

        for spec in self._order:
            values[spec.ref] = spec.expr.evaluate(values.get, col_values)
        return values

    def check(self, values: Mapping[Ref, object]) -> list[tuple[RuleInstance, bool]]:
        """Every rule instance with its verdict (True = passes) on fully evaluated values."""

        def col_values(rng: ColumnRange) -> list[object]:
            return [values.get(Ref(r.key, rng.col)) for r in self.data_rows(rng.group)]

        return [(ri, rule_passes(ri, values.get, col_values)) for ri in self.rules]

    # -- identity of the locked layout -----------------------------------------------------------

    def locked_texts(self) -> dict[str, str]:
        """Address -> text of every label the unit must not change (row labels, STT)."""
        out: dict[str, str] = {}
        if LABEL_COL not in self._col_by_key:
            return out
        for r in self.rows:
            if self.blueprint.kind == "list" and r.kind == "data" and self.blueprint.row_source \
                    and self.blueprint.row_source.capacity:
                continue
            out[a1(r.row, self.col(LABEL_COL).col)] = r.label
        return out

    def fingerprint(self) -> str:
        """A hash of what the clerk sees and the formulas: computed once (a layout is not changed
        after :func:`build_layout`), as every generated workbook and every validation asks for it."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        return fingerprint_of(self.fingerprint_text())

    def fingerprint_text(self) -> str:
        """What :meth:`fingerprint` hashes (row keys are not in it: labels, headers, formulas and
        input cells by address)."""
        payload = {
            "sheet": self.sheet,
            "labels": self.locked_texts(),
            "headers": [[c.key, c.label, list(c.header)] for c in self.cols],
            "formulas": {c.addr: self.formula(c) for c in self.computed_cells},
            "inputs": sorted(c.addr for c in self.input_cells),
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True)


def fingerprint_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def json_text(text: str) -> str:
    """A text as it stands inside a JSON string in :meth:`TableLayout.fingerprint_text`."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def rule_passes(ri: RuleInstance, value, col_values) -> bool:
    """Python side of a rule, matching :func:`rule_formula` in Excel."""

    if ri.rule.missing == Missing.skip:
        seen = [value(ref) for ref in ri.expr.refs]
        if any(isinstance(v, XLError) for v in seen):
            return False        # Excel's OR(A1="", …) is itself an error when A1 holds one
        if any(v in (None, "") for v in seen):
            return True
    if ri.rule.missing == Missing.zero:
        value = _zero_blank(value)
    try:
        result = ri.expr.evaluate(value, col_values)
    except XLError:
        return False
    if result == "" or result is None:
        return False
    return bool(result)


def _zero_blank(value):
    """Excel's ``N()``: blank and text are 0, a logical is 1 or 0, an error stays an error."""
    def get(ref):
        v = value(ref)
        if v is None or isinstance(v, str):
            return 0
        if isinstance(v, bool):
            return int(v)
        return v
    return get


def rule_formula(layout: TableLayout, ri: RuleInstance, *, cell=None, rng=None) -> str:
    """Excel side of a rule: a boolean formula body, TRUE when the rule passes. ``cell`` and ``rng``
    give the address of a cell and of a column range (qualified with the sheet when the formula
    lives on another sheet: a column range left unqualified would count the Kiểm tra sheet's own
    cells)."""

    addr = cell or layout.addr
    if ri.rule.missing == Missing.zero:
        base = addr
        addr = lambda ref: f"N({base(ref)})"  # noqa: E731 - a tiny adapter
    body = ri.expr.to_excel(addr, rng or layout.column_range, wrap_errors=False)
    test = f"IFERROR(({body})=TRUE,FALSE)"
    if ri.rule.missing == Missing.skip and ri.expr.refs:
        refs = list(dict.fromkeys(ri.expr.refs))
        blanks = ",".join(f'{(cell or layout.addr)(r)}=""' for r in refs)
        return f"OR({blanks},{test})"
    return test


# ---------------------------------------------------------------------------------------------
# Building a layout
# ---------------------------------------------------------------------------------------------


def header_depth(bp: Blueprint) -> int:
    return max([len(c.header) for c in bp.columns] + [0]) + 1


def build_layout(
    bp: Blueprint,
    code: str,
    catalogue: Catalogue,
    communes: Sequence[tuple[str, str]] = (),
) -> TableLayout:
    """Place a blueprint on a sheet. ``communes`` are (key, name) pairs for registry rows."""
    if bp.kind == "outline":
        return _outline_layout(bp, code)
    depth = header_depth(bp)
    header_top = TITLE_ROWS + 1
    first_data = header_top + depth + 1  # + the "(1) (2) ..." row

    cols: list[LayoutCol] = [LayoutCol(STT_COL, "STT", (), 0)]
    c = 1
    has_label = bp.kind != "list" or (bp.row_source is not None and bp.row_source.capacity is None) \
        or bp.groups is not None
    if has_label:
        cols.append(LayoutCol(LABEL_COL, bp.label_heading, (), c))
        c += 1
    if bp.unit_column:
        cols.append(LayoutCol(UNIT_COL, "Đơn vị tính", (), c))
        c += 1
    if bp.office_column:
        cols.append(LayoutCol(OFFICE_COL, "Đơn vị thống kê, báo cáo", (), c))
        c += 1
    for col in bp.columns:
        cols.append(LayoutCol(col.key, col.label, tuple(col.header), c, col))
        c += 1

    rows, groups = _rows(bp, catalogue, communes, first_data)
    layout = TableLayout(
        blueprint=bp, code=code, sheet=code, title=bp.title_for(code), rows=rows, cols=cols,
        header_top=header_top, header_depth=depth, first_data_row=first_data,
        last_row=rows[-1].row, group_rows=groups,
    )
    _cells(layout)
    _rules(layout)
    _prefill(layout)
    return layout


def _prefill(layout: TableLayout) -> None:
    """The blueprint's prefilled rows on the first empty rows (of their group), input cells only."""
    bp = layout.blueprint
    if not bp.prefill:
        return
    free = {g: list(keys) for g, keys in layout.group_rows.items()} if bp.groups is not None \
        else {None: [r.key for r in layout.data_rows()]}
    for i, p in enumerate(bp.prefill, 1):
        rows = free.get(p.group)
        if rows is None:
            raise ValueError(f"{bp.id}: prefill row {i}: unknown group {p.group!r} "
                             f"(the groups are {', '.join(layout.group_rows)})")
        if not rows:
            raise ValueError(f"{bp.id}: prefill row {i}: more prefilled rows than the table's "
                             f"{'group' if p.group else 'capacity'} holds")
        key = rows.pop(0)
        for col, value in p.values.items():
            spec = layout.cells.get(Ref(key, col))
            if spec is None or spec.role != "input":
                raise ValueError(f"{bp.id}: prefill row {i}: {col!r} is not an input column")
            if (spec.type in NUMERIC_TYPES) != isinstance(value, (int, float)):
                raise ValueError(f"{bp.id}: prefill row {i}: {col!r} is a {spec.type.value} cell, "
                                 f"not {value!r}")
            layout.prefill[Ref(key, col)] = value


def _rows(bp: Blueprint, catalogue: Catalogue, communes, first: int):
    rows: list[LayoutRow] = []
    groups: dict[str, list[str]] = {}
    r = first
    total_top = bp.total is not None and bp.total.position == "top"

    def add(**kw):
        nonlocal r
        rows.append(LayoutRow(row=r, **kw))
        r += 1

    if total_top:
        add(key="tong", label=bp.total.label, stt="", level=0, kind="total")
    if bp.kind in ("fixed", "multi_period"):
        for row in bp.rows:
            add(key=row.key, label=row.label, stt=row.stt or "", level=row.level,
                kind="heading" if row.heading else "data", type=row.type, office=row.office, unit=row.unit,
                compute=row.compute, min=row.min, max=row.max, required=row.required)
    elif bp.groups is not None:
        voc = catalogue.vocabulary(bp.groups.vocabulary)
        for item in voc.items:
            add(key=f"g_{item.key}", label=item.label, stt="", level=0, kind="group")
            keys = []
            for i in range(1, bp.groups.capacity + 1):
                key = f"{item.key}_{i}"
                add(key=key, label="", stt=str(i), level=1, kind="data", group=item.key)
                keys.append(key)
            groups[item.key] = keys
    else:
        src = bp.row_source
        if src.vocabulary:
            items = [(i.key, i.label) for i in catalogue.vocabulary(src.vocabulary).items]
        elif src.registry == "communes":
            items = list(communes) or [("chua_co_xa", "(Chưa có danh sách xã trong cấu hình)")]
        else:
            items = [(f"r{i}", "") for i in range(1, src.capacity + 1)]
        if src.other_row:
            items.append(("khac", src.other_row))
        for i, (key, label) in enumerate(items, 1):
            add(key=key, label=label, stt=str(i), level=0, kind="data")
    if bp.total is not None and not total_top:
        add(key="tong", label=bp.total.label, stt="", level=0, kind="total")
    return rows, groups


def _scope_sets(layout: TableLayout) -> tuple[list[str], list[str]]:
    return [r.key for r in layout.rows], [c.key for c in layout.value_cols]


def _cells(layout: TableLayout) -> None:
    rows, cols = _scope_sets(layout)
    for lr in layout.rows:
        if lr.kind in ("heading", "group"):
            continue
        for lc in layout.value_cols:
            spec = lc.spec
            if spec.rows is not None and lr.key not in spec.rows:
                continue        # a column of some rows only: blank and locked elsewhere
            ctype = lr.type or spec.type or CellType.count
            ref = Ref(lr.key, lc.key)
            expr_text = None
            scope = None
            if spec.compute:
                expr_text, scope = spec.compute, Scope("row", lr.key)
            elif lr.compute and (spec.type or CellType.count) in NUMERIC_TYPES:
                expr_text, scope = lr.compute, Scope("column", lc.key)
            elif lr.kind == "total":
                if ctype in NUMERIC_TYPES and ctype not in (CellType.yesno,):
                    expr_text, scope = f"total({lc.key})", Scope("table")
                else:
                    continue
            if expr_text:
                expr = Expr(expr_text, scope, rows, cols)
                layout.cells[ref] = CellSpec(ref, lr.row, lc.col, "computed", ctype, expr)
            else:
                layout.cells[ref] = CellSpec(
                    ref, lr.row, lc.col, "input", ctype, vocabulary=spec.vocabulary,
                    min=lr.min if lr.min is not None else spec.min,
                    max=lr.max if lr.max is not None else spec.max,
                    required=lr.required or spec.required,
                )


def _rules(layout: TableLayout) -> None:
    bp = layout.blueprint
    rows, cols = _scope_sets(layout)
    for rule in bp.rules:
        if rule.scope == "row":
            targets = rule.rows or [r.key for r in layout.rows if r.kind == "data"]
            for key in targets:
                layout.rules.append(RuleInstance(rule, Expr(rule.check, Scope("row", key), rows, cols), key))
        elif rule.scope == "column":
            targets = rule.columns or [c.key for c in layout.value_cols
                                       if layout.cells.get(Ref(_first_data(layout), c.key))]
            for key in targets:
                layout.rules.append(RuleInstance(rule, Expr(rule.check, Scope("column", key), rows, cols), key))
        elif rule.scope == "group":
            for g in layout.group_rows:
                layout.rules.append(RuleInstance(rule, Expr(rule.check, Scope("table", group=g), rows, cols), g))
        else:
            layout.rules.append(RuleInstance(rule, Expr(rule.check, Scope("table"), rows, cols), None))
    # Required input cells become rules too, so that Excel's self-check and the validator agree.


def _first_data(layout: TableLayout) -> str:
    return next(r.key for r in layout.rows if r.kind == "data")


def _outline_layout(bp: Blueprint, code: str) -> TableLayout:
    header_top = TITLE_ROWS + 1
    first = header_top + 1
    cols = [
        LayoutCol(STT_COL, "Mục", (), 0),
        LayoutCol(LABEL_COL, "Nội dung đề cương", (), 1),
        LayoutCol(OUTLINE_COL, "Nội dung báo cáo của đơn vị", (), 2,
                  Column(key=OUTLINE_COL, label="Nội dung báo cáo của đơn vị", type=CellType.text)),
    ]
    rows = []
    for i, s in enumerate(bp.sections):
        label = s.title + (REQUIRED_MARK if s.required else "")
        rows.append(LayoutRow(key=s.key, label=label, stt=s.number, level=s.level,
                              kind="data" if s.input else "heading", row=first + i,
                              type=CellType.text, required=s.required))
    layout = TableLayout(bp, code, OUTLINE_SHEET, bp.title_for(code), rows, cols, header_top, 1,
                         first, rows[-1].row)
    for r in rows:
        if r.kind == "data":
            ref = Ref(r.key, OUTLINE_COL)
            layout.cells[ref] = CellSpec(ref, r.row, 2, "input", CellType.text, required=r.required)
    rk, ck = _scope_sets(layout)
    for r in rows:
        if r.required and r.kind == "data":
            p = make_problem("outline.section_empty", cell=a1(r.row, 2), row_label=f"{r.stt} {r.label}".strip())
            rule = Rule(id="bat_buoc", check=f"present({OUTLINE_COL})", missing="check",
                        message=p.message, hint=p.hint)
            layout.rules.append(RuleInstance(rule, Expr(rule.check, Scope("row", r.key), rk, ck), r.key))
    return layout
