"""A table template of the roll-up: its detail pieces, the summary blocks over them (province, unit
type, district, unit), what each summary cell is, its value as Python computes it, and the Excel
formula that computes the same on the sheet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from xlsxwriter.utility import quote_sheetname  # a pure A1 helper

from ...blueprint.expr import ColumnRange, Expr, Ref, Scope
from ...blueprint.model import CellType
from ...labels import FINDINGS_SHEET
from ...layout import TableLayout, a1
from ..areas import Areas, LeadField, area_key
from ..formats import SUMMABLE
from ..model import RollupData, TemplateData
from ..pieces import (
    C_ROW,
    C_TYPE,
    C_UNIT,
    VALUE_COL0,
    Piece,
    fold,
    group_sums,
    render_pieces,
    unit_type_label,
)
from .names import (
    COMPARE_SHEET,
    NARRATIVES_SHEET,
    PROBLEMS_SHEET,
    PROVINCE_SCOPE,
    PROVINCE_SHEET,
    STATUS_SHEET,
    SheetNames,
    column_header,
    field_sheet_name,
)


def template_codes(td: TemplateData) -> list[str]:
    """The appendix codes of a template in the blueprint's order (the first one names its sheet)."""
    listed = td.layout.blueprint.code_list
    present = list(dict.fromkeys(td.codes))
    return (
        [c for c in listed if c in present] + [c for c in present if c not in listed]
        or listed
        or [td.blueprint_id]
    )



def template_title(tpl: Template) -> str:
    """A template's title: its code's own title when it holds one code (02-X: "… tại UBND cấp xã");
    with several, the shared title followed by each code whose title the seed prints otherwise
    (01-H: "Tổng hợp số thủ tục hành chính … tại UBND cấp huyện, cấp xã")."""
    if len(tpl.codes) == 1:
        return tpl.bp.title_for(tpl.codes[0])
    own = [(c, tpl.bp.title_for(c)) for c in tpl.codes if c in tpl.bp.code_list]
    others = [f"{c}: {t}" for c, t in own if t != tpl.bp.title]
    return "; ".join([tpl.bp.title, *others]) if others else tpl.bp.title


def type_order(labels: Mapping[str, str]) -> Callable[[str], tuple[int, str]]:
    """Sort key of unit types: the regime's order, then any type it no longer has."""
    order = {t: i for i, t in enumerate(labels)}
    return lambda t: (order.get(t, len(order)), t)


def lead_fields(data: RollupData, areas: Areas) -> dict[str, LeadField]:
    """The fields to synthesise: the data's own list (areas per lead type) or ``areas.yaml``."""
    if not data.lead_fields:
        return dict(areas.lead_fields)
    out = {}
    for key, keys in data.lead_fields.items():
        known = areas.lead_fields.get(key)
        label = known.label if known else unit_type_label(key, data.unit_types)
        out[key] = LeadField(
            label, tuple(area_key(a) for a in keys if area_key(a)), known.row_filter if known else None
        )
    return out


# =============================================================================================
# Formats and small writing helpers
# =============================================================================================


@dataclass
class Line:
    """One line of a summary block."""

    key: str  # unique within its block
    row_key: str  # the row criterion (Mã dòng); "" for a line over every row
    label: str
    stt: str = ""
    kind: str = "data"  # heading | data | total | pooled
    level: int = 0


@dataclass
class SummaryBlock:
    lines: list[Line]
    group: str | None = None  # None (province) | "type" | "unit"
    value: str = PROVINCE_SCOPE  # criterion in column A
    name: str = ""  # column B
    units: int = 0  # column D
    key: str | None = None  # the unit type or unit code the block sums (group "type" / "unit")
    rows: dict[str, int] = field(default_factory=dict)  # line key -> sheet row
    values: dict[tuple[str, str], object] = field(default_factory=dict)

    _data_lines: list[Line] | None = field(default=None, init=False, repr=False, compare=False)
    _keys: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def data_lines(self) -> list[Line]:
        if self._data_lines is None:        # asked for every cell of the block: its lines are set by then
            self._data_lines = [ln for ln in self.lines if ln.kind == "data"]
        return self._data_lines

    @property
    def keys(self) -> frozenset[str]:
        if self._keys is None:
            self._keys = frozenset(ln.key for ln in self.lines)
        return self._keys


class Template:
    def __init__(self, td: TemplateData, sheet: str, unit_order: dict[str, int], data: RollupData):
        self.td = td
        self.type_labels = data.unit_types
        self.by_unit_types = data.by_unit_types
        self.layout: TableLayout = td.layout
        self.bp = self.layout.blueprint
        self.sheet = sheet
        self.cols = self.layout.value_cols
        self.col_keys = [c.key for c in self.cols]
        self.col_index = {c.key: VALUE_COL0 + i for i, c in enumerate(self.cols)}
        self.trail0 = VALUE_COL0 + len(self.cols)
        self._row_index = {r.key: i for i, r in enumerate(self.layout.rows)}
        self._row_kind = {r.key: r.kind for r in self.layout.rows}
        self.total_key = next((r.key for r in self.layout.rows if r.kind == "total"), None)
        src = self.bp.row_source
        self.communes = bool(src and src.registry == "communes")
        # flow or stock per cell (blueprint `measure`): only flows have a quarter-only figure
        self.measure = self.bp.cell_measure
        # Rows that mean the same thing in every unit's table are totalled row by row; rows that
        # do not (a district's communes, a unit's own plans, grouped entries) only in one line.
        self.mode = (
            "rows" if self.bp.kind in ("fixed", "multi_period") or (src and src.vocabulary) else "pooled"
        )
        self._kinds: dict[tuple[str, str, str, str], object] = {}       # see cell_kind
        self._ranges: dict[tuple[int, int, int], str] = {}
        self.parts = self._pieces(td, unit_order)
        self.n_rows = sum(p.n_rows for p in self.parts)
        self.appendices = [
            c
            for c in dict.fromkeys([*td.codes, *(p.appendix for p in self.parts)])
            if any(c == p.appendix and p.n_rows for p in self.parts)
        ]
        self.codes = template_codes(td)
        self.units = list(dict.fromkeys(p.unit_code for p in self.parts if p.n_rows))
        if not td.sums:                 # pieces rendered here, or handed over with their sums
            for p in self.parts:
                fold(td.sums, p, by_unit=self.communes or p.unit_type in self.by_unit_types)
        self.sums = group_sums(td.sums)
        # codes whose figures do not add up into the province total (blueprint: sums_into_province)
        self.apart = [c for c in self.appendices
                      if any(ref.code == c and not ref.sums_into_province for ref in self.bp.codes)]
        self.sums[("province", None)] = self._province_sums(td.sums)
        self.key_col = self.trail0 + 1   # summary rows: the row key SUMIFS matches (technical, not printed)
        self._extra_exprs: dict[tuple[str, str], Expr | None] = {}
        self.province = SummaryBlock(self._province_lines())
        self.groups: list[tuple[str, list[SummaryBlock]]] = []
        self.printed_groups = 0     # the first groups print (by unit type, by district); the rest is screen only
        self.data_first = self.data_last = 0

    def _province_sums(self, folded: dict) -> tuple[dict, dict]:
        """The sums of the groups (unit type, appendix) whose appendix adds into the province total."""
        if not self.apart:
            return self.sums.get(("all", None), ({}, {}))
        rows: dict = {}
        cols: dict = {}
        for (g, key), (r, c) in folded.items():
            if g != "type+appendix" or key[1] in self.apart:
                continue
            for k, v in r.items():
                rows[k] = rows.get(k, 0) + v
            for k, v in c.items():
                cols[k] = cols.get(k, 0) + v
        return rows, cols

    def apart_types(self) -> list[str]:
        """Unit types every piece of which is of a code kept out of the province total."""
        types: dict[str, bool] = {}
        for p in self.parts:
            if p.n_rows:
                types[p.unit_type] = types.get(p.unit_type, True) and p.appendix in self.apart
        return [t for t, apart in types.items() if apart]

    def apart_note(self) -> str:
        """What the province total leaves out, in words ("" when it adds every code)."""
        if not self.apart:
            return ""
        kept = [c for c in self.appendices if c not in self.apart]
        return (f"Toàn tỉnh cộng {', '.join(kept) or '(không có biểu nào)'}; không cộng "
                f"{', '.join(self.apart)} vì các đơn vị này đếm lại cùng những thủ tục đã tính ở cấp tỉnh "
                "(cộng vào sẽ tính trùng): số của chúng ở phần tổng hợp theo loại đơn vị, bên cạnh số toàn tỉnh.")

    # -- detail table ---------------------------------------------------------------------------

    def _pieces(self, td: TemplateData, unit_order: dict[str, int]) -> list[Piece]:
        """The submissions' pieces in unit order (rendered here from ``td.values`` when given so)."""
        parts = list(td.pieces)
        if not parts and td.values:
            by_file: dict[tuple[str, str, str], list] = {}
            for v in td.values:
                by_file.setdefault((v.unit_code, v.part, v.file_hash), []).append(v)
            for vals in by_file.values():
                parts += render_pieces(vals, lambda table, appendix: self.layout, self.type_labels)
        n = len(unit_order)
        return sorted(parts, key=lambda p: (unit_order.get(p.unit_code, n), p.unit_code, p.part))

    # -- summary lines --------------------------------------------------------------------------

    def _pooled_line(self) -> Line:
        if self.total_key:
            return Line(self.total_key, self.total_key, self.layout.row(self.total_key).label, kind="pooled")
        label = self.bp.total.label if self.bp.total else "Cộng"
        return Line("_cong", "", label, kind="pooled")

    def _province_lines(self) -> list[Line]:
        if self.mode == "pooled":
            return [self._pooled_line()]
        lines = []
        for r in self.layout.rows:
            if r.kind == "total":
                continue
            kind = "heading" if r.kind in ("heading", "group") else "data"
            lines.append(Line(r.key, r.key, r.label, r.stt, kind, r.level))
        known = set(self._row_index)
        for p in self.parts:  # rows a unit sent that this layout does not know (another version)
            for row_key, label in p.extra_rows:
                if row_key not in known:
                    known.add(row_key)
                    lines.append(Line(row_key, row_key, label, "", "data"))
        if self.total_key:
            lines.append(
                Line(self.total_key, self.total_key, self.layout.row(self.total_key).label, kind="total")
            )
        return lines

    def group_lines(self) -> list[Line]:
        """The lines of a subtotal block: every row of a fixed table, else the total line."""
        if self.mode == "rows" and self.bp.kind in ("fixed", "multi_period"):
            return [replace(ln) for ln in self.province.lines]
        return [self._pooled_line()]

    def headline_lines(self, block: SummaryBlock) -> list[Line]:
        """The lines a province summary shows: data and totals of a fixed table, else the total."""
        lines = [ln for ln in block.lines if ln.kind != "heading"]
        if self.bp.kind == "list":
            totals = [ln for ln in lines if ln.kind in ("total", "pooled")]
            return totals or lines
        return lines

    def build_groups(self) -> None:
        types = sorted(
            {p.unit_type for p in self.parts if p.n_rows},
            key=type_order(self.type_labels),
        )
        apart = set(self.apart_types())
        blocks = []
        for t in types:
            n = len({p.unit_code for p in self.parts if p.n_rows and p.unit_type == t})
            blocks.append(
                SummaryBlock(
                    self.group_lines(),
                    "type",
                    unit_type_label(t, self.type_labels),
                    f"{n} đơn vị" + (" (không cộng vào toàn tỉnh)" if t in apart else ""),
                    n,
                    key=t,
                )
            )
        self.groups.append(("TỔNG HỢP THEO LOẠI ĐƠN VỊ", blocks))
        if self.communes:
            blocks = []
            for u in self.units:
                name = next(p.unit_name for p in self.parts if p.unit_code == u)
                blocks.append(
                    SummaryBlock(self.group_lines(), "unit", u, name, 1, key=u)
                )
            self.groups.append(
                ("TỔNG HỢP THEO HUYỆN (ĐƠN VỊ CẤP HUYỆN, TỪ CÁC XÃ, PHƯỜNG, THỊ TRẤN)", blocks)
            )
        self.printed_groups = len(self.groups)
        for t in types:
            if t not in self.by_unit_types:
                continue
            names = {p.unit_code: p.unit_name for p in self.parts if p.n_rows and p.unit_type == t}
            blocks = [SummaryBlock(self.group_lines(), "unit", u, names[u], 1, key=u) for u in self.units if u in names]
            self.groups.append((f"TỔNG HỢP THEO TỪNG ĐƠN VỊ: {unit_type_label(t, self.type_labels).upper()}", blocks))
        self.province.units = len({p.unit_code for p in self.parts if p.n_rows and p.appendix not in self.apart})

    # -- what a summary cell is -------------------------------------------------------------------

    def _extra_expr(self, row_key: str, col: str) -> Expr | None:
        key = (row_key, col)
        if key not in self._extra_exprs:
            spec = self.layout.col(col).spec
            self._extra_exprs[key] = (
                Expr(spec.compute, Scope("row", row_key), [row_key], self.col_keys)
                if spec and spec.compute
                else None
            )
        return self._extra_exprs[key]

    def cell_type(self, line: Line, col: str) -> CellType:
        spec = self.layout.cells.get(Ref(line.row_key, col)) if line.row_key else None
        if spec is not None:
            return spec.type
        return self.layout.col(col).spec.type or CellType.count

    def cell_kind(self, line: Line, col: str):
        """("sum_row",) | ("sum_all",) | ("expr", expr, mapper) | None for a summary cell.

        The same for every block with this line (it depends on the line's kind, row and key only):
        asked twice for every cell of every block, some 130,000 times for a province's per-commune
        blocks, it is worked out once per line and column."""
        memo = (line.kind, line.row_key, line.key, col)
        if memo not in self._kinds:
            self._kinds[memo] = self._cell_kind(line, col)
        return self._kinds[memo]

    def _cell_kind(self, line: Line, col: str):
        lc = self.layout.col(col)
        base = lc.spec.type or CellType.count
        if line.kind == "heading":
            return None
        if line.kind == "pooled":
            tpl = self.total_key or next((r.key for r in self.layout.rows if r.kind == "data"), None)
            spec = self.layout.cells.get(Ref(tpl, col)) if tpl else None
            if spec is not None and spec.role == "computed":
                e = spec.expr
                if e.refs and not e.ranges:
                    return ("expr", e, lambda ref, k=line.key: k)
                if e.ranges and not e.refs:
                    return ("sum_all",) if spec.type in SUMMABLE else None
                return None
            ctype = spec.type if spec is not None else base
            return ("sum_all",) if ctype in SUMMABLE and not lc.spec.compute else None
        if line.row_key not in self._row_index:  # a row this layout does not know
            e = self._extra_expr(line.row_key, col)
            if e is not None:
                return ("expr", e, lambda ref, k=line.key: k)
            return ("sum_row",) if base in SUMMABLE else None
        spec = self.layout.cells.get(Ref(line.row_key, col))
        if spec is None:
            return None
        if spec.role == "input":
            return ("sum_row",) if spec.type in SUMMABLE else None
        if spec.expr.ranges and not spec.expr.refs and spec.type not in SUMMABLE:
            return None
        if spec.expr.refs and not spec.expr.ranges and all(
                (c := self.layout.cells.get(ref)) is not None and c.role == "input" and c.type not in SUMMABLE
                for ref in spec.expr.refs):
            return None     # reads only figures never added up (an entered rate: PL1-TK's repeated row)
        return ("expr", spec.expr, lambda ref: ref.row)

    def resolvable(self, block: SummaryBlock, kind) -> bool:
        if kind is None or kind[0] != "expr":
            return kind is not None
        keys = block.keys
        if any(kind[2](ref) not in keys for ref in kind[1].refs):
            return False
        return not kind[1].ranges or bool(block.data_lines)

    # -- Python evaluation (the cached values) ---------------------------------------------------

    def evaluate(
        self,
        block: SummaryBlock,
        group: tuple[str, str | None] | None = None,
        *,
        totals: dict[tuple[str, str], float] | None = None,
    ) -> dict:
        """Every cell of a block, as its formulas compute it.

        Inputs are the sums of the pieces of ``group`` (a key of ``pieces.fold``; default: the
        block's own group);
        with ``totals`` ((row, column) -> province total of another period, as the ledger keeps
        them) those are the inputs instead, and a computed cell the ledger also has is taken as is.
        """
        sums_row: dict[tuple[str, str], float] = {}
        sums_all: dict[str, float] = {}
        given: dict[tuple[str, str], float] = {}
        if totals is None:
            sums_row, sums_all = self.sums.get(group or (block.group or "province", block.key), ({}, {}))
        else:
            given = totals
            sums_row = dict(totals)
            for (row, col), v in totals.items():
                if self._row_kind.get(row) not in ("total", "heading", "group") and row != "tong":
                    sums_all[col] = sums_all.get(col, 0) + v
            for col in self.col_keys:
                if self.total_key and (self.total_key, col) in totals:
                    sums_all[col] = totals[(self.total_key, col)]
        by_key = {ln.key: ln for ln in block.lines}
        memo: dict[tuple[str, str], object] = {}
        pending = object()

        def val(lk: str, col: str):
            k = (lk, col)
            if k in memo:
                if memo[k] is pending:
                    raise ValueError(f"{self.layout.code}: circular computed cells through {k}")
                return memo[k]
            line = by_key.get(lk)
            kind = self.cell_kind(line, col) if line else None
            if not self.resolvable(block, kind):
                v = None
            elif kind[0] == "sum_row":
                v = sums_row.get((line.row_key, col), 0)
            elif kind[0] == "sum_all":
                v = sums_all.get(col, 0)
            elif (line.row_key, col) in given:
                v = given[(line.row_key, col)]
            else:
                memo[k] = pending
                _, expr, mapper = kind
                v = expr.evaluate(
                    lambda ref: val(mapper(ref), ref.col),
                    lambda rng: [val(ln.key, rng.col) for ln in block.data_lines],
                )
            memo[k] = v
            return v

        return {(ln.key, c): val(ln.key, c) for ln in block.lines for c in self.col_keys}

    # -- Excel ------------------------------------------------------------------------------------

    def data_range(self, col: int) -> str:
        key = (col, self.data_first, self.data_last)
        if key not in self._ranges:
            self._ranges[key] = (f"{a1(self.data_first, col, abs_row=True, abs_col=True)}:"
                                 f"{a1(self.data_last, col, abs_row=True, abs_col=True)}")
        return self._ranges[key]

    def formula(self, block: SummaryBlock, line: Line, col: str) -> str | None:
        kind = self.cell_kind(line, col)
        if not self.resolvable(block, kind):
            return None
        r = block.rows[line.key]
        values = self.data_range(self.col_index[col])
        crit_col = {"type": C_TYPE, "unit": C_UNIT}.get(block.group)
        group = f",{self.data_range(crit_col)},{a1(r, 0, abs_col=True)}" if crit_col is not None else ""
        if block.group is None and self.apart:        # the codes that do not add into the province
            appx = self.data_range(self.trail0 + 1)
            group = "".join(f',{appx},"<>{c}"' for c in self.apart)
        if kind[0] == "sum_row":
            return f"SUMIFS({values},{self.data_range(C_ROW)},{a1(r, self.key_col, abs_col=True)}{group})"
        if kind[0] == "sum_all":
            return f"SUMIFS({values}{group})" if group else f"SUM({values})"
        _, expr, mapper = kind
        data_lines = block.data_lines

        def rng(cr: ColumnRange) -> str:
            c = self.col_index[cr.col]
            return f"{a1(block.rows[data_lines[0].key], c)}:{a1(block.rows[data_lines[-1].key], c)}"

        return expr.to_excel(lambda ref: a1(block.rows[mapper(ref)], self.col_index[ref.col]), rng)

    def address(self, block: SummaryBlock, line: Line, col: str) -> str:
        return (
            f"{quote_sheetname(self.sheet)}!"
            f"{a1(block.rows[line.key], self.col_index[col], abs_row=True, abs_col=True)}"
        )


# =============================================================================================
# The writer
# =============================================================================================



def make_templates(data: RollupData, areas: Areas, fields: dict[str, LeadField], names: SheetNames) -> list[Template]:
    """The table templates of a roll-up in sheet order, each with its sheet name and subtotal blocks."""
    order: dict[str, int] = {}
    for s in data.submissions:
        order.setdefault(s.unit_code, len(order))
    reserved = [
        STATUS_SHEET,
        PROVINCE_SHEET,
        COMPARE_SHEET,
        PROBLEMS_SHEET,
        FINDINGS_SHEET,
        NARRATIVES_SHEET,
        *(field_sheet_name(k) for k in fields),
    ]
    for name in reserved:
        names.take(name)
    tds = [td for td in data.templates if td.layout.blueprint.kind != "outline"]  # outlines: no figures
    tds.sort(key=lambda td: (areas.order(td.area or td.layout.blueprint.area), template_codes(td)[0]))
    out = []
    for td in tds:
        tpl = Template(td, names.take(template_codes(td)[0]), order, data)
        tpl.build_groups()
        out.append(tpl)
    return out



@dataclass
class Item:
    """A province total shown on the area, field and comparison sheets."""

    tpl: Template
    line: Line
    col: str
    value: object

    @property
    def address(self) -> str:
        return self.tpl.address(self.tpl.province, self.line, self.col)

    @property
    def col_label(self) -> str:
        return column_header(self.tpl.layout.col(self.col))

    @property
    def row_key(self) -> str:
        return self.line.row_key or "tong"
