"""The provincial roll-up workbook: what the secretariat and the analysts open in Excel.

``write_rollup(data, path)`` writes, atomically, one workbook from a :class:`RollupData`:

* ``Tình hình nộp báo cáo`` — COUNTIF summaries, the breakdown by unit type, two charts and the units
  to chase (what prints, one or two A4 pages), above one row per expected submission (screen only);
* one sheet per table template — a "Tổng hợp" block (province totals as SUMIFS over the detail
  table, computed columns recompiled from the blueprint's own expressions so that rates come from
  totals; codes marked ``sums_into_province: false`` left out of them; subtotals by unit type and,
  for commune tables, by district) above the detail table (one row per unit and table row, with the
  file and cells each figure came from; screen only, outside the print area);
* ``Tổng hợp toàn tỉnh`` — province totals grouped by reform area;
* ``Lĩnh vực <unit type>`` — what each lead agency synthesises for its field;
* ``Nội dung báo cáo`` — the units' outline texts by section (``narratives.read_narratives``);
* ``So sánh`` — this period against the previous period and the same period last year;
* ``Lỗi`` — every problem found in the files.

Every sheet prints on A4 landscape fitted to the width, header rows repeated, its name in the page
header; a note on each sheet says what its print area holds.

Every formula carries the value Python computed with the same expressions as its cached value,
so a reader that does not recalculate (pandas, a previewer) sees the right numbers. Every text a
unit typed is written with ``write_string``: nothing a unit sends becomes a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_range

from ..atomic import replacing
from ..blueprint.expr import ColumnRange, Expr, Ref, Scope
from ..blueprint.model import CellType
from ..config.period import CUMULATIVE, parse_period
from ..labels import FINDINGS_SHEET, RECEIPT_SOURCES, SEVERITY_LABELS, STATUS_LABELS, VERDICT_LABELS
from ..layout import LayoutCol, TableLayout, a1
from ..problems import display
from ..xlsx.styles import FONT
from ..xlsx.worksheet import FastWorksheet
from .areas import Areas, LeadField, area_key, programme_areas
from .formats import SUMMABLE, WORKBOOK_OPTIONS, Formats, is_number, row_height, text_lines, text_width
from .model import ProblemRow, RollupData, TemplateData
from .pieces import (
    C_LABEL,
    C_NAME,
    C_PARENT,
    C_ROW,
    C_TYPE,
    C_UNIT,
    DATA_HEADERS,
    TRAIL_HEADERS,
    VALUE_COL0,
    Piece,
    fold,
    group_sums,
    render_pieces,
    unit_type_label,
)
from .splice import Detail, write_package

__all__ = [
    "COMPARE_SHEET",
    "NARRATIVES_SHEET",
    "DATA_HEADERS",
    "PROBLEMS_SHEET",
    "PROVINCE_SCOPE",
    "PROVINCE_SHEET",
    "STATUS_SHEET",
    "SUMMARY_KEY_HEADER",
    "column_header",
    "ProvinceLine",
    "ProvinceTable",
    "field_sheet_name",
    "province_tables",
    "write_field_workbooks",
    "write_rollup",
]

STATUS_SHEET = "Tình hình nộp báo cáo"
PROVINCE_SHEET = "Tổng hợp toàn tỉnh"
COMPARE_SHEET = "So sánh"
PROBLEMS_SHEET = "Lỗi"
NARRATIVES_SHEET = "Nội dung báo cáo"
PROVINCE_SCOPE = "Toàn tỉnh"

QUARTER_ONLY = {"6M": "Quý II", "9M": "Quý III", "Y": "Quý IV"}

STATUS_HEADERS = (
    "STT", "Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Phần báo cáo (bộ phận phụ trách)", "Trạng thái",
    "Số ngày trễ", "Biểu còn thiếu", "Kết luận kiểm tra", "Số lỗi", "Số cảnh báo", "Số lần gửi", "Tệp",
    "Thời điểm nhận", "Tạm giữ, quyết định của cơ quan thường trực", "Nguồn thời điểm nhận",
    "Biểu đơn vị khai «Không phát sinh»",
)
# the status sheet's printed columns A–K (its list's columns share them)
STATUS_WIDTHS = {0: 5, 1: 12, 2: 36, 3: 20, 4: 38, 5: 12, 6: 10, 7: 16, 8: 14, 9: 10, 10: 12}
STATUS_NAMES_WIDTH = sum(STATUS_WIDTHS[c] for c in range(4, 11))
CHART_ROWS = 16
TOTALS_PRINT_WIDTH = 14 + 55 + 45 + 16     # the printed columns A–D of the area and field sheets
NARRATIVE_WIDTH = 90        # the "Nội dung" column of the narratives sheet
TEMPLATE_KEY_WIDTH = 14     # the detail table's "Mã dòng" (technical) column; summaries merge it with the label

SUMMARY_KEY_HEADER = "Mã dòng (kỹ thuật, không in)"   # summaries: the row key their SUMIFS match
# the summary blocks' leading columns (the label spans the detail table's "Mã dòng" and "Nội dung")
BLOCK_HEADERS = ("Phạm vi tổng hợp", "Tên đơn vị, nhóm", "STT", "Số đơn vị", "Nội dung", "")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def field_sheet_name(unit_type: str) -> str:
    return f"Lĩnh vực {unit_type}"[:31]


def column_header(lc: LayoutCol) -> str:
    """The header of a value column: the blueprint's header groups and label, joined by " › "."""
    return " › ".join([*lc.header, lc.label])


def template_codes(td: TemplateData) -> list[str]:
    """The appendix codes of a template in the blueprint's order (the first one names its sheet)."""
    listed = td.layout.blueprint.code_list
    present = list(dict.fromkeys(td.codes))
    return (
        [c for c in listed if c in present] + [c for c in present if c not in listed]
        or listed
        or [td.blueprint_id]
    )


# =============================================================================================
# Public API
# =============================================================================================


def write_rollup(
    data: RollupData, path: Path, *, only_field: str | None = None, areas: Areas | None = None
) -> Path:
    """Write the roll-up workbook to ``path`` (atomically) and return the path.

    With ``only_field`` (a lead unit type, e.g. ``"STP"``) the workbook holds only the submission
    status and that field's sheet, with values in place of cross-sheet formulas."""
    path = Path(path)
    areas = areas or programme_areas(data.programme)
    fields = _lead_fields(data, areas)
    if only_field is not None and only_field not in fields:
        raise ValueError(
            f"không có lĩnh vực của cơ quan chủ trì {only_field!r}; "
            f"các lĩnh vực: {', '.join(fields) or '(không có)'}"
        )
    package = io.BytesIO()
    wb = xlsxwriter.Workbook(package, {**WORKBOOK_OPTIONS, "in_memory": True})
    writer = _Writer(wb, data, areas, fields, only_field)
    try:
        writer.write()
    finally:
        wb.close()
    with replacing(path) as tmp:
        write_package(package, tmp, writer.details, data.piece_rows)
    return path


def write_field_workbooks(data: RollupData, out_dir: Path, *, areas: Areas | None = None) -> list[Path]:
    """One workbook per lead agency's field (``--split-by-field``): status sheet + the field sheet."""
    out_dir = Path(out_dir)
    areas = areas or programme_areas(data.programme)
    out = []
    for key in _lead_fields(data, areas):
        name = _safe_file_part(f"tong-hop-{data.province_id}-{data.period}-linh-vuc-{key}") + ".xlsx"
        out.append(write_rollup(data, out_dir / name, only_field=key, areas=areas))
    return out


@dataclass(frozen=True)
class ProvinceLine:
    """A line of a template's "Toàn tỉnh" block."""

    key: str
    row_key: str            # Mã dòng on the sheet ("" for a line over every row)
    stt: str
    label: str
    kind: str               # heading | data | total | pooled


@dataclass
class ProvinceTable:
    """One table template's province totals as the roll-up computes them (its "Toàn tỉnh" block,
    the lines the "Tổng hợp toàn tỉnh" sheet shows), for outputs other than the workbook."""

    codes: list[str]
    title: str
    area: str | None
    sheet: str                                   # the template's sheet in the roll-up
    units: list[str]                             # codes of the units with figures
    columns: list[LayoutCol]                     # value columns with at least one total
    lines: list[ProvinceLine]
    values: dict[tuple[str, str], object]        # (line key, column key) -> value (None: not totalled)
    types: dict[tuple[str, str], CellType]
    # the same keys in the previous period and the same period last year (empty: no figures then)
    previous: dict[tuple[str, str], object] = field(default_factory=dict)
    last_year: dict[tuple[str, str], object] = field(default_factory=dict)
    continued: list[str] = field(default_factory=list)    # earlier codes the comparison took (02-H for 02-X)


def province_tables(data: RollupData, *, areas: Areas | None = None) -> list[ProvinceTable]:
    """The province totals of every table template, in the roll-up's sheet order: the same templates,
    sums and recomputed rates (never averages of rates) as :func:`write_rollup` writes."""
    areas = areas or programme_areas(data.programme)
    out = []
    for tpl in _templates(data, areas, _lead_fields(data, areas), _SheetNames()):
        tpl.province.values = tpl.evaluate(tpl.province)
        headline = tpl.headline_lines(tpl.province)
        lines = [ln for ln in tpl.province.lines if ln in headline or (ln.kind == "heading" and tpl.bp.kind != "list")]
        totalled = {(ln.key, c) for ln in headline for c in tpl.col_keys
                    if tpl._resolvable(tpl.province, tpl.cell_kind(ln, c))}
        cols = [lc for lc in tpl.cols if any((ln.key, lc.key) in totalled for ln in lines)]
        counted = [a for a in tpl.appendices if a not in tpl.apart]
        others, continued = [], set()
        for totals in (data.previous_totals or {}, data.last_year_totals or {}):
            values, olds = other_period_values(tpl, counted, totals)
            continued |= olds
            others.append({k: values.get(k) for k in totalled} if values else {})
        out.append(ProvinceTable(
            tpl.codes, template_title(tpl), area_key(tpl.td.area or tpl.bp.area), tpl.sheet, tpl.units, cols,
            [ProvinceLine(ln.key, ln.row_key, ln.stt, ln.label, ln.kind) for ln in lines],
            {(ln.key, lc.key): tpl.province.values.get((ln.key, lc.key)) if (ln.key, lc.key) in totalled else None
             for ln in lines for lc in cols},
            {(ln.key, lc.key): tpl.cell_type(ln, lc.key) for ln in lines for lc in cols},
            others[0], others[1], sorted(continued)))
    return out


def other_period_values(tpl: _Template, appendices: list[str], totals: Mapping) -> tuple[dict | None, set[str]]:
    """The province values of ``tpl`` in another period, evaluated by the template's own formulas from
    that period's ledger totals ((appendix, row, column) -> value) of ``appendices``; for a period
    before an appendix existed, from the codes it continues (02-X ← 02-H, 03-H). Returns the values
    (None: no figures) and the continued codes used. Where several codes add up, their computed
    cells are recomputed from the sums, never added (a sum of two rates is no rate)."""
    mine: dict[tuple[str, str], float] = {}
    sources: set[str] = set()
    continued: set[str] = set()
    for appx in appendices:
        own = {(r, c): v for (a, r, c), v in totals.items() if a == appx and is_number(v)}
        if own:
            sources.add(appx)
        else:
            olds = set(tpl.bp.continues(appx))
            for (a, r, c), v in totals.items():
                if a in olds and is_number(v):
                    own[(r, c)] = own.get((r, c), 0) + v
                    sources.add(a)
                    continued.add(a)
        for k, v in own.items():
            mine[k] = mine.get(k, 0) + v
    if len(sources) > 1:
        def computed(r: str, c: str) -> bool:
            spec = tpl.layout.cells.get(Ref(r, c))
            return spec is not None and spec.role == "computed"
        mine = {k: v for k, v in mine.items() if not computed(*k)}
    if not mine:
        return None, continued
    return tpl.evaluate(tpl.province, totals=mine), continued


def _safe_file_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "-", text).strip("-")


def template_title(tpl: _Template) -> str:
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


def quarter_basis(d: RollupData) -> str | None:
    """How the compare sheet's quarter-only figures are made, from the two periods' data windows:
    "difference" (cumulative windows from the same day: 9M − 6M), "as_is" (this period's window
    starts the day after the previous one ends: it is the quarter alone, as Thừa Thiên Huế's 2021
    Quý III) or None (no previous cumulative period, or windows that give no quarter)."""
    if not d.previous_totals or d.previous_period is None or d.period.kind not in CUMULATIVE:
        return None
    if d.period.previous() != d.previous_period or d.previous_window is None:
        return None
    (p0, p1), (w0, w1) = d.previous_window, d.window
    if p0 == w0 and p1 < w1:
        return "difference"
    if p1 + dt.timedelta(days=1) == w0:
        return "as_is"
    return None


def _lead_fields(data: RollupData, areas: Areas) -> dict[str, LeadField]:
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


def _put(ws, row: int, col: int, value: object, fmt=None) -> None:
    """Write a value by its Python type; text always as a string (never a formula or a link)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif is_number(value):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None), fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _text(ws, row: int, col: int, value: object, fmt=None) -> None:
    ws.write_string(row, col, "" if value is None else str(value), fmt)


def _formula(ws, row: int, col: int, formula: str, fmt, value: object) -> None:
    if value is None:
        value = ""
    if isinstance(value, float) and not math.isfinite(value):
        value = ""
    ws.write_formula(row, col, "=" + formula.lstrip("="), fmt, value)


class _Widths:
    """Column widths that fit Vietnamese text, from the longest line written (capped)."""

    def __init__(self):
        self._w: dict[int, float] = {}

    def see(self, col: int, text: object, *, cap: float = 60) -> None:
        if text is None:
            return
        self.see_width(col, text_width(text, cap))

    def see_width(self, col: int, width: float) -> None:
        self._w[col] = max(self._w.get(col, 0), width)

    def apply(self, ws, *, minimum: float = 6, fixed: dict[int, float] | None = None) -> None:
        for col, w in self._w.items():
            ws.set_column(col, col, max(minimum, w))
        for col, w in (fixed or {}).items():
            ws.set_column(col, col, w)


def _fit_row(ws, row: int, pieces: Iterable[tuple[object, float]], *, cap: float = 160) -> None:
    """Give a row the height its wrapped texts need (neither Excel nor LibreOffice does it on load
    for every client, and a printed page must not clip labels)."""
    height = row_height(max((text_lines(t, w) for t, w in pieces), default=1), cap)
    if height:
        ws.set_row(row, height)


def _chunks(text: str, width: float, lines: int = 26) -> list[str]:
    """A long text cut at line ends into pieces that each fit a row (Excel's rows stop at 409 points)."""
    out: list[str] = []
    cur: list[str] = []
    for line in text.split("\n"):
        while text_lines(line, width) > lines:      # a single overlong paragraph: cut at a space
            cut = int(width * 0.95) * lines
            at = line.rfind(" ", 0, cut)
            at = at if at > 0 else cut
            if cur:
                out.append("\n".join(cur))
                cur = []
            out.append(line[:at])
            line = line[at:].lstrip()
        if cur and text_lines("\n".join([*cur, line]), width) > lines:
            out.append("\n".join(cur))
            cur = []
        cur.append(line)
    if cur or not out:
        out.append("\n".join(cur))
    return out


def _print_setup(ws, header_rows: tuple[int, int] | None = None) -> None:
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # fit to width, as many pages tall as needed
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header('&L&"Times New Roman"&A')      # the sheet's name on every printed page
    ws.set_footer('&C&"Times New Roman"Trang &P/&N')
    if header_rows:
        ws.repeat_rows(*header_rows)


class _SheetNames:
    def __init__(self):
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        base = _BAD_SHEET_CHARS.sub("-", wanted).strip("'").strip() or "Biểu"
        base = base[:31]
        name, i = base, 2
        while name.casefold() in self._used or name.casefold() == "history":
            suffix = f" ({i})"
            name = base[: 31 - len(suffix)] + suffix
            i += 1
        self._used.add(name.casefold())
        return name


# =============================================================================================
# Templates: the detail table, the summary lines and their evaluation
# =============================================================================================


@dataclass
class _Line:
    """One line of a summary block."""

    key: str  # unique within its block
    row_key: str  # the row criterion (Mã dòng); "" for a line over every row
    label: str
    stt: str = ""
    kind: str = "data"  # heading | data | total | pooled
    level: int = 0


@dataclass
class _Block:
    lines: list[_Line]
    group: str | None = None  # None (province) | "type" | "unit"
    value: str = PROVINCE_SCOPE  # criterion in column A
    name: str = ""  # column B
    units: int = 0  # column D
    key: str | None = None  # the unit type or unit code the block sums (group "type" / "unit")
    rows: dict[str, int] = field(default_factory=dict)  # line key -> sheet row
    values: dict[tuple[str, str], object] = field(default_factory=dict)

    @property
    def data_lines(self) -> list[_Line]:
        return [ln for ln in self.lines if ln.kind == "data"]


class _Template:
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
        self.province = _Block(self._province_lines())
        self.groups: list[tuple[str, list[_Block]]] = []
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

    def _pooled_line(self) -> _Line:
        if self.total_key:
            return _Line(self.total_key, self.total_key, self.layout.row(self.total_key).label, kind="pooled")
        label = self.bp.total.label if self.bp.total else "Cộng"
        return _Line("_cong", "", label, kind="pooled")

    def _province_lines(self) -> list[_Line]:
        if self.mode == "pooled":
            return [self._pooled_line()]
        lines = []
        for r in self.layout.rows:
            if r.kind == "total":
                continue
            kind = "heading" if r.kind in ("heading", "group") else "data"
            lines.append(_Line(r.key, r.key, r.label, r.stt, kind, r.level))
        known = set(self._row_index)
        for p in self.parts:  # rows a unit sent that this layout does not know (another version)
            for row_key, label in p.extra_rows:
                if row_key not in known:
                    known.add(row_key)
                    lines.append(_Line(row_key, row_key, label, "", "data"))
        if self.total_key:
            lines.append(
                _Line(self.total_key, self.total_key, self.layout.row(self.total_key).label, kind="total")
            )
        return lines

    def group_lines(self) -> list[_Line]:
        """The lines of a subtotal block: every row of a fixed table, else the total line."""
        if self.mode == "rows" and self.bp.kind in ("fixed", "multi_period"):
            return [replace(ln) for ln in self.province.lines]
        return [self._pooled_line()]

    def headline_lines(self, block: _Block) -> list[_Line]:
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
                _Block(
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
                    _Block(self.group_lines(), "unit", u, name, 1, key=u)
                )
            self.groups.append(
                ("TỔNG HỢP THEO HUYỆN (ĐƠN VỊ CẤP HUYỆN, TỪ CÁC XÃ, PHƯỜNG, THỊ TRẤN)", blocks)
            )
        self.printed_groups = len(self.groups)
        for t in types:
            if t not in self.by_unit_types:
                continue
            names = {p.unit_code: p.unit_name for p in self.parts if p.n_rows and p.unit_type == t}
            blocks = [_Block(self.group_lines(), "unit", u, names[u], 1, key=u) for u in self.units if u in names]
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

    def cell_type(self, line: _Line, col: str) -> CellType:
        spec = self.layout.cells.get(Ref(line.row_key, col)) if line.row_key else None
        if spec is not None:
            return spec.type
        return self.layout.col(col).spec.type or CellType.count

    def cell_kind(self, line: _Line, col: str):
        """("sum_row",) | ("sum_all",) | ("expr", expr, mapper) | None for a summary cell."""
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

    def _resolvable(self, block: _Block, kind) -> bool:
        if kind is None or kind[0] != "expr":
            return kind is not None
        keys = {ln.key for ln in block.lines}
        if any(kind[2](ref) not in keys for ref in kind[1].refs):
            return False
        return not kind[1].ranges or bool(block.data_lines)

    # -- Python evaluation (the cached values) ---------------------------------------------------

    def evaluate(
        self,
        block: _Block,
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
            if not self._resolvable(block, kind):
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
        return (
            f"{a1(self.data_first, col, abs_row=True, abs_col=True)}:"
            f"{a1(self.data_last, col, abs_row=True, abs_col=True)}"
        )

    def formula(self, block: _Block, line: _Line, col: str) -> str | None:
        kind = self.cell_kind(line, col)
        if not self._resolvable(block, kind):
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

    def address(self, block: _Block, line: _Line, col: str) -> str:
        return (
            f"{quote_sheetname(self.sheet)}!"
            f"{a1(block.rows[line.key], self.col_index[col], abs_row=True, abs_col=True)}"
        )


# =============================================================================================
# The writer
# =============================================================================================


def _templates(data: RollupData, areas: Areas, fields: dict[str, LeadField], names: _SheetNames) -> list[_Template]:
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
        tpl = _Template(td, names.take(template_codes(td)[0]), order, data)
        tpl.build_groups()
        out.append(tpl)
    return out


@dataclass
class _Item:
    """A province total shown on the area, field and comparison sheets."""

    tpl: _Template
    line: _Line
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


class _Writer:
    def __init__(
        self, wb, data: RollupData, areas: Areas, fields: dict[str, LeadField], only_field: str | None
    ):
        self.wb = wb
        self.data = data
        self.areas = areas
        self.fields = fields
        self.only_field = only_field
        self.f = Formats(wb)
        self.details: list[Detail] = []     # the detail tables to splice in once XlsxWriter is done
        self.names = _SheetNames()
        self._tables: set[str] = set()
        self.templates: list[_Template] = _templates(data, areas, fields, self.names)

    # -- common pieces ----------------------------------------------------------------------------

    def _title(self, ws, title: str, span: tuple[int, float] | None = None) -> None:
        """Title and subtitle; with ``span`` (last printed column, printed width) a long title wraps
        inside the printed width, its row as tall as it needs."""
        d = self.data
        if span and span[0] > 0 and text_lines(title, span[1] / 1.35) > 1:     # 14 pt bold: ~1.35 × wider
            ws.merge_range(0, 0, 0, span[0], title, self.f.title_wrap)
            ws.set_row(0, text_lines(title, span[1] / 1.35) * 19 + 3)
        else:
            ws.write_string(0, 0, title, self.f.title)
            ws.set_row(0, 21)
        w0, w1 = d.window
        sub = (
            f"{d.province_name} — {d.period.label} — hạn nộp {d.deadline:%d/%m/%Y} — "
            f"số liệu từ {w0:%d/%m/%Y} đến {w1:%d/%m/%Y} — lập lúc {d.generated_at:%H:%M %d/%m/%Y}"
        )
        ws.write_string(1, 0, sub, self.f.subtitle)

    def _table_name(self, wanted: str) -> str:
        base = "tbl_" + re.sub(r"[^A-Za-z0-9_]", "_", wanted)
        name, i = base, 2
        while name.casefold() in self._tables:
            name, i = f"{base}_{i}", i + 1
        self._tables.add(name.casefold())
        return name

    @staticmethod
    def _unique_headers(headers: list[str]) -> list[str]:
        seen: set[str] = set()
        out = []
        for h in headers:
            name, i = h, 2
            while name.casefold() in seen:
                name, i = f"{h} ({i})", i + 1
            seen.add(name.casefold())
            out.append(name)
        return out

    def _add_table(
        self, ws, first_row: int, first_col: int, n_rows: int, headers: list[str], wanted_name: str
    ) -> int:
        """An Excel table (with filters) at ``first_row``; returns its last row (>= one data row)."""
        last = first_row + max(1, n_rows)
        last_col = first_col + len(headers) - 1
        # declared over its header and first row, then widened: XlsxWriter checks overlaps cell by
        # cell (a second per million cells), and nothing else is ever written into the table
        ws.add_table(
            first_row,
            first_col,
            first_row + 1,
            last_col,
            {
                "name": self._table_name(wanted_name),
                "style": "Table Style Light 9",
                "columns": [
                    {"header": h, "header_format": self.f.header} for h in self._unique_headers(headers)
                ],
            },
        )
        table = ws.tables[-1]
        table["range"] = table["a_range"] = xl_range(first_row, first_col, last, last_col)
        if table.get("autofilter"):
            table["autofilter"] = table["a_range"]
        return last

    # -- workbook -----------------------------------------------------------------------------------

    def write(self) -> None:
        d = self.data
        created = d.generated_at.replace(tzinfo=None) if isinstance(d.generated_at, dt.datetime) else None
        props = {
            "title": f"Tổng hợp báo cáo cải cách hành chính {d.period.label}",
            "subject": f"{d.province_name} — {d.period.label}",
            "company": d.province_name,
            "comments": "Tạo bởi cchc_xl",
        }
        if created:
            props["created"] = created
        self.wb.set_properties(props)
        self._status_sheet()
        if self.only_field is not None:
            self._field_sheet(self.only_field, self.fields[self.only_field], formulas=False)
            return
        for tpl in self.templates:
            self._template_sheet(tpl)
        self._province_sheet()
        for key, lead in self.fields.items():
            self._field_sheet(key, lead, formulas=True)
        self._narratives_sheet()
        self._compare_sheet()
        self._findings_sheet()
        self._problems_sheet()

    # -- Tình hình nộp báo cáo --------------------------------------------------------------------

    def _status_sheet(self) -> None:
        """What prints (rows 0 to the end of part III, columns A–K, one or two A4 pages): the counts,
        the breakdown by unit type, the two charts and the units to chase; the full list below is
        for the screen (filters) and stays outside the print area."""
        ws = self.wb.add_worksheet(STATUS_SHEET, worksheet_class=FastWorksheet)
        f, subs = self.f, self.data.submissions
        self._title(ws, f"TÌNH HÌNH NỘP BÁO CÁO CẢI CÁCH HÀNH CHÍNH {self.data.period.label.upper()}")
        headers = list(STATUS_HEADERS)
        n = len(subs)
        types = sorted({s.unit_type for s in subs}, key=type_order(self.data.unit_types))
        chase = self._to_chase(subs)

        # -- plan the rows: I. counts (beside: II. by unit type), charts, III. to chase, IV. the list
        top = 5
        n_summary = 10
        charts_row = top + 1 + max(n_summary, len(types) + 1) + 1
        chase_head = charts_row + (CHART_ROWS if n else 0) + 1
        chase_rows = self._chase_rows(chase)
        list_heading = chase_head + 1 + max(1, len(chase_rows)) + 1
        head = list_heading + 1
        first = head + 1
        last = first + max(1, n) - 1
        status_rng = f"{a1(first, 5, abs_row=True, abs_col=True)}:{a1(last, 5, abs_row=True, abs_col=True)}"
        type_rng = f"{a1(first, 3, abs_row=True, abs_col=True)}:{a1(last, 3, abs_row=True, abs_col=True)}"
        verdict_rng = f"{a1(first, 8, abs_row=True, abs_col=True)}:{a1(last, 8, abs_row=True, abs_col=True)}"
        self._note(
            ws, 2,
            "Trang in gồm phần I–III (số liệu tổng hợp, biểu đồ, đơn vị cần đôn đốc); danh sách đầy đủ ở "
            "phần IV để xem và lọc trên màn hình, không in. Số liệu và biểu đồ tính trên toàn bộ danh sách, "
            "không phụ thuộc bộ lọc.",
            10, sum(STATUS_WIDTHS.values()))

        # -- I. counts: a label and a COUNTIF over the list per line (values cached)
        counts = {k: sum(1 for s in subs if s.status == k) for k in STATUS_LABELS}
        with_errors = sum(1 for s in subs if s.verdict == "errors")
        rate = counts["on_time"] / n * 100 if n else ""
        r0 = top + 1
        summary = [
            ("Số báo cáo phải nộp", f"COUNTA({status_rng})", n, f.int),
            ("Đúng hạn", f'COUNTIF({status_rng},"Đúng hạn")', counts["on_time"], f.int),
            ("Trễ hạn", f'COUNTIF({status_rng},"Trễ hạn")', counts["late"], f.int),
            ("Chưa nộp", f'COUNTIF({status_rng},"Chưa nộp")', counts["missing"], f.int),
            ("Bị từ chối", f'COUNTIF({status_rng},"Bị từ chối")', counts["rejected"], f.int),
            ("Tạm giữ (chưa xác thực)", f'COUNTIF({status_rng},"Tạm giữ")', counts["held"], f.int),
            ("Đã rút", f'COUNTIF({status_rng},"Đã rút")', counts["withdrawn"], f.int),
            ("Đã nộp (đúng hạn và trễ hạn)", f"{a1(r0 + 1, 3)}+{a1(r0 + 2, 3)}",
             counts["on_time"] + counts["late"], f.int),
            ("Tỷ lệ nộp đúng hạn (%)", f'IFERROR({a1(r0 + 1, 3)}/{a1(r0, 3)}*100,"")', rate,
             f.sum(CellType.percent)),
            ("Báo cáo có lỗi", f'COUNTIF({verdict_rng},"Có lỗi")', with_errors, f.int),
        ]
        ws.write_string(top - 1, 0, "I. SỐ LIỆU TỔNG HỢP", f.section)
        ws.merge_range(top, 0, top, 2, "Nội dung", f.header)
        ws.write_string(top, 3, "Số báo cáo", f.header)
        for i, (label, formula, value, fmt) in enumerate(summary):
            ws.write_number(r0 + i, 0, i + 1, f.int)
            ws.merge_range(r0 + i, 1, r0 + i, 2, label, f.text)
            _formula(ws, r0 + i, 3, formula, fmt, value)

        # -- II. by unit type (beside the counts)
        bc = 4
        by_type_headers = ["Loại đơn vị", "Phải nộp", "Đúng hạn", "Trễ hạn", "Chưa nộp", "Bị từ chối",
                           "Tỷ lệ nộp đúng hạn (%)"]
        ws.write_string(top - 1, bc, "II. THEO LOẠI ĐƠN VỊ", f.section)
        for i, h in enumerate(by_type_headers):
            ws.write_string(top, bc + i, h, f.header)
        _fit_row(ws, top, [(h, 10) for h in by_type_headers[1:]])
        for j, t in enumerate(types):
            r = r0 + j
            label = unit_type_label(t, self.data.unit_types)
            crit = a1(r, bc, abs_col=True)
            ws.write_string(r, bc, label, f.label[0])
            of_type = [s for s in subs if s.unit_type == t]
            _formula(ws, r, bc + 1, f"COUNTIF({type_rng},{crit})", f.int, len(of_type))
            for k, key in enumerate(("on_time", "late", "missing", "rejected")):
                _formula(ws, r, bc + 2 + k, f'COUNTIFS({type_rng},{crit},{status_rng},"{STATUS_LABELS[key]}")',
                         f.int, sum(1 for s in of_type if s.status == key))
            on_time = sum(1 for s in of_type if s.status == "on_time")
            _formula(ws, r, bc + 6, f'IFERROR({a1(r, bc + 2)}/{a1(r, bc + 1)}*100,"")', f.sum(CellType.percent),
                     on_time / len(of_type) * 100 if of_type else "")
        if not types:
            ws.write_string(r0, bc, "Kỳ này không có đơn vị nào phải nộp báo cáo.", f.note)

        # -- charts (inside the print area, under the counts)
        if n:
            pie = self.wb.add_chart({"type": "pie"})
            pie.add_series({
                "name": "Tình hình nộp báo cáo",
                "categories": [STATUS_SHEET, r0 + 1, 1, r0 + 4, 1],
                "values": [STATUS_SHEET, r0 + 1, 3, r0 + 4, 3],
                "data_labels": {"value": True, "percentage": True},
                "points": [{"fill": {"color": c}} for c in ("#70AD47", "#FFC000", "#FF0000", "#7F0000")],
            })
            pie.set_title({"name": "Tình hình nộp báo cáo", "name_font": {"name": FONT, "size": 12}})
            pie.set_legend({"position": "right", "font": {"name": FONT}})
            pie.set_size({"width": int(sum(STATUS_WIDTHS[c] for c in range(1, 4)) * 7) - 8, "height": CHART_ROWS * 20 - 10})
            pie.show_hidden_data()
            ws.insert_chart(charts_row, 1, pie, {"object_position": 3, "x_offset": 4, "y_offset": 4})
        if types:
            col = self.wb.add_chart({"type": "column"})
            col.add_series({
                "name": "Tỷ lệ nộp đúng hạn (%)",
                "categories": [STATUS_SHEET, r0, bc, r0 + len(types) - 1, bc],
                "values": [STATUS_SHEET, r0, bc + 6, r0 + len(types) - 1, bc + 6],
                "data_labels": {"value": True, "num_format": "0.0"},
                "fill": {"color": "#4472C4"},
            })
            col.set_title({"name": "Tỷ lệ nộp đúng hạn theo loại đơn vị (%)", "name_font": {"name": FONT, "size": 12}})
            col.set_y_axis({"min": 0, "max": 100, "num_font": {"name": FONT}})
            col.set_x_axis({"num_font": {"name": FONT}})
            col.set_legend({"none": True})
            col.set_size({"width": int(STATUS_NAMES_WIDTH * 7) - 8, "height": CHART_ROWS * 20 - 10})
            col.show_hidden_data()
            ws.insert_chart(charts_row, bc, col, {"object_position": 3, "x_offset": 4, "y_offset": 4})

        # -- III. the units to chase, by what is wrong: names in one wrapped cell per line
        ws.write_string(chase_head - 1, 0, "III. ĐƠN VỊ CẦN ĐÔN ĐỐC, XEM LẠI", f.section)
        ws.merge_range(chase_head, 0, chase_head, 2, "Tình hình", f.header)
        ws.write_string(chase_head, 3, "Số báo cáo", f.header)
        ws.merge_range(chase_head, 4, chase_head, 10, "Đơn vị", f.header)
        if not chase_rows:
            ws.merge_range(chase_head + 1, 0, chase_head + 1, 10,
                           "Mọi đơn vị đã nộp đúng hạn, không báo cáo nào có lỗi hay bị tạm giữ.", f.text)
        for i, (label, count, names) in enumerate(chase_rows):
            r = chase_head + 1 + i
            ws.merge_range(r, 0, r, 2, label, f.label_bold)
            if count is None:
                ws.write_blank(r, 3, None, f.int)
            else:
                ws.write_number(r, 3, count, f.int)
            ws.merge_range(r, 4, r, 10, names, f.wrap)
            _fit_row(ws, r, [(names, STATUS_NAMES_WIDTH), (label, 22)], cap=409)

        # -- IV. the full list (screen only)
        ws.write_string(list_heading, 0,
                        "IV. DANH SÁCH ĐẦY ĐỦ (để xem và lọc trên màn hình; không in)", f.section)
        self._add_table(ws, head, 0, n, headers, "NopBaoCao")
        widths = _Widths()
        for i, s in enumerate(subs):
            r = first + i
            row = [
                i + 1, s.unit_code, s.unit_name, unit_type_label(s.unit_type, self.data.unit_types), s.owner,
                STATUS_LABELS.get(s.status, s.status), s.days_late, ", ".join(s.missing_codes),
                VERDICT_LABELS.get(s.verdict or "", s.verdict or ""), s.errors, s.warnings, s.versions,
                s.file or "", s.received_at, s.admission_note, RECEIPT_SOURCES.get(s.receipt_source or "", ""),
                ", ".join(s.nil_codes),
            ]
            ws.write_number(r, 0, i + 1, f.int)
            for c in (1, 2, 3, 4, 5, 7, 8, 12):
                _text(ws, r, c, row[c], f.center if c in (1, 5, 8) else f.text)
            for c in (6, 9, 10, 11):
                ws.write_number(r, c, row[c] or 0, f.int)
            _put(ws, r, 13, s.received_at, f.datetime)
            _text(ws, r, 14, s.admission_note, f.text)
            _text(ws, r, 15, RECEIPT_SOURCES.get(s.receipt_source or "", ""), f.text)
            _text(ws, r, 16, row[16], f.text)
            for c, v in enumerate(row):
                if c not in (2, 3, 4):
                    widths.see(c, v, cap=45)

        # conditional formats by status and verdict
        for label, fmt in (("Đúng hạn", f.ok_cf), ("Trễ hạn", f.warn_cf), ("Chưa nộp", f.error_cf),
                           ("Bị từ chối", f.reject_cf), ("Tạm giữ", f.reject_cf), ("Đã rút", f.warn_cf)):
            ws.conditional_format(first, 5, last, 5,
                                  {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt})
        for label, fmt in (("Đạt", f.ok_cf), ("Có cảnh báo", f.warn_cf), ("Có lỗi", f.error_cf),
                           ("Bị từ chối", f.reject_cf)):
            ws.conditional_format(first, 8, last, 8,
                                  {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt})
        ws.conditional_format(first, 6, last, 6, {"type": "cell", "criteria": ">", "value": 0, "format": f.warn_cf})

        # fixed widths for the columns the printed part spans (A–K, about 185 characters: A4 landscape
        # at about 75 %); the list's own texts widen only the columns after K
        widths.apply(ws, fixed={**STATUS_WIDTHS, 12: 40, 13: 17, 14: 40, 15: 16})
        ws.set_row(head, 32)
        ws.set_row(top, 45)
        ws.freeze_panes(first, 3)
        ws.print_area(0, 0, chase_head + max(1, len(chase_rows)), 10)
        _print_setup(ws, None)

    def _to_chase(self, subs) -> dict[str, list[str]]:
        """Status line -> the units (by name, with the office of a part) it names."""
        def name(s):
            return s.unit_name if s.part == "main" else f"{s.unit_name} ({s.owner})"

        out: dict[str, list[str]] = {}
        for s in subs:
            if s.status == "missing":
                out.setdefault("Chưa nộp", []).append(name(s))
            elif s.status == "late":
                out.setdefault("Trễ hạn", []).append(f"{name(s)} ({s.days_late} ngày)")
            elif s.status in ("rejected", "held", "withdrawn"):
                out.setdefault(STATUS_LABELS[s.status], []).append(name(s))
            if s.status in ("on_time", "late") and s.verdict == "errors":
                out.setdefault("Báo cáo có lỗi", []).append(f"{name(s)} ({s.errors} lỗi)")
        order = ["Chưa nộp", "Trễ hạn", "Báo cáo có lỗi", "Tạm giữ", "Bị từ chối", "Đã rút"]
        return {k: out[k] for k in order if k in out}

    @staticmethod
    def _chase_rows(chase: dict[str, list[str]]) -> list[tuple[str, int | None, str]]:
        """(label, count, names) per line; a long list goes on as many lines as a row can hold."""
        rows = []
        per_row = int(STATUS_NAMES_WIDTH * 0.95) * 26        # about 26 lines in the tallest row Excel has
        for label, names in chase.items():
            chunk: list[str] = []
            first = True
            for nm in names:
                if chunk and len("; ".join([*chunk, nm])) > per_row:
                    rows.append((label if first else f"{label} (tiếp)", len(names) if first else None,
                                 "; ".join(chunk) + ";"))
                    chunk, first = [], False
                chunk.append(nm)
            rows.append((label if first else f"{label} (tiếp)", len(names) if first else None,
                         "; ".join(chunk) + "."))
        return rows

    # -- one sheet per template -------------------------------------------------------------------

    def _template_sheet(self, tpl: _Template) -> None:
        """Summaries first (what prints), then the detail table (screen and filters, not printed)."""
        ws = self.wb.add_worksheet(tpl.sheet, worksheet_class=FastWorksheet)
        f = self.f
        lay = tpl.layout
        codes = ", ".join(tpl.codes)
        subtitle = (lay.blueprint.subtitle or "").rstrip(".")
        headers_block = [*BLOCK_HEADERS, *(column_header(c) for c in tpl.cols)]
        widths = _Widths()
        for p in tpl.parts:
            for c, w in p.widths.items():
                widths.see_width(c, w)
        fixed = {C_TYPE: 16, C_PARENT: 14, C_ROW: TEMPLATE_KEY_WIDTH, C_LABEL: 42,
                 tpl.trail0 + 1: max(14, TEMPLATE_KEY_WIDTH)}
        for lc in tpl.cols:
            c = tpl.col_index[lc.key]
            fixed[c] = (
                14
                if (lc.spec.type or CellType.count) in SUMMABLE | {CellType.percent}
                else max(16, min(40, (lc.spec.width or 24)))
            )
        widths.see(C_NAME, "Tên đơn vị, nhóm", cap=40)
        fixed[C_NAME] = max(24, min(36, widths._w.get(C_NAME, 24)))
        widths.see(0, PROVINCE_SCOPE, cap=30)   # the block's scope column: type names, unit codes
        for _title, blocks in tpl.groups:
            for b in blocks:
                widths.see(0, b.value, cap=30)
        fixed[0] = max(12, widths._w.get(0, 12))
        print_width = sum(fixed.get(c, 8) for c in range(tpl.trail0))
        label_width = fixed[C_ROW] + fixed[C_LABEL]
        self._title(ws, f"Phụ lục {codes}: {template_title(tpl)}", (tpl.trail0 - 1, print_width))

        n_sections = 1 + len(tpl.groups)
        roman = ["I", "II", "III", "IV", "V", "VI"]
        note = (
            f"Số đơn vị có số liệu: {len(tpl.units)}. "
            + (f"{subtitle}. " if subtitle else "")
            + "Số tổng hợp là công thức SUMIFS trên bảng dữ liệu chi tiết ở cuối trang; các cột tính toán "
            "(tổng, tỷ lệ) được tính lại từ số tổng theo đúng công thức của biểu, không lấy trung bình các tỷ lệ."
        )
        n_printed = 1 + tpl.printed_groups
        screen = [f"{roman[i]} (theo từng đơn vị)" for i in range(n_printed, n_sections)]
        screen.append(f"{roman[n_sections]} (dữ liệu chi tiết)")
        printed = (
            f"Trang in gồm phần tổng hợp {roman[0]}" + (f"–{roman[n_printed - 1]}" if n_printed > 1 else "")
            + f"; phần {', '.join(screen)} để xem và lọc trên màn hình, không in."
            + (f" {tpl.apart_note()}" if tpl.apart else "")
        )
        self._note(ws, 2, note, tpl.trail0 - 1, print_width)
        self._note(ws, 3, printed, tpl.trail0 - 1, print_width)

        # -- plan the rows: province block, subtotal blocks, detail table
        r = 5
        sections: list[tuple[int, str, int, list[_Block]]] = []  # (heading row, title, header row, blocks)
        sections.append((r, "I. TỔNG HỢP TOÀN TỈNH", r + 1, [tpl.province]))
        r += 2
        for ln in tpl.province.lines:
            tpl.province.rows[ln.key] = r
            r += 1
        for i, (title, blocks) in enumerate(tpl.groups):
            r += 1
            sections.append((r, f"{roman[i + 1]}. {title}", r + 1, blocks))
            r += 2
            for b in blocks:
                for ln in b.lines:
                    b.rows[ln.key] = r
                    r += 1
        last_summary = r - 1
        r += 1
        printed_last = (sections[n_printed][0] - 2) if n_printed < len(sections) else last_summary
        detail_heading = r
        detail_head = r + 1
        tpl.data_first = detail_head + 1
        tpl.data_last = detail_head + max(1, tpl.n_rows)

        # -- summary blocks
        for heading_row, title, header_row, blocks in sections:
            ws.write_string(heading_row, 0, title, f.section)
            for c, h in enumerate(headers_block):
                if c == C_ROW:
                    ws.merge_range(header_row, C_ROW, header_row, C_LABEL, headers_block[C_ROW], f.header)
                elif c != C_LABEL:
                    ws.write_string(header_row, c, h, f.header)
            ws.write_string(header_row, tpl.key_col, SUMMARY_KEY_HEADER, f.header)
            _fit_row(ws, header_row, [(h, fixed.get(c, 14)) for c, h in enumerate(headers_block)
                                      if c not in (C_ROW, C_LABEL)])
            for b in blocks:
                b.values = tpl.evaluate(b)
                self._write_block(ws, tpl, b, fixed, label_width)
        if not tpl.units:
            ws.write_string(sections[0][2] + 1, C_NAME, "Chưa đơn vị nào gửi số liệu của biểu này.", f.note)

        # -- detail table
        ws.write_string(
            detail_heading,
            0,
            f"{roman[n_sections]}. DỮ LIỆU CHI TIẾT THEO ĐƠN VỊ "
            "(mỗi dòng là một dòng của biểu do một đơn vị gửi; để xem và lọc, không in)",
            f.section,
        )
        data_headers = [*DATA_HEADERS, *(column_header(c) for c in tpl.cols), *TRAIL_HEADERS]
        self._add_table(ws, detail_head, 0, tpl.n_rows, data_headers, tpl.sheet)
        _fit_row(ws, detail_head, [(h, 14) for h in data_headers[VALUE_COL0 : tpl.trail0]])
        # the rows themselves were rendered with each submission (pieces.py): spliced in on closing
        self.details.append(Detail(ws.index, tpl.data_first + 1, tpl.parts, 0, len(data_headers)))
        widths.apply(ws, fixed=fixed)
        ws.freeze_panes(7, 0)
        ws.print_area(0, 0, printed_last, tpl.trail0 - 1)
        _print_setup(ws, (6, 6))

    def _note(self, ws, row: int, text: str, last_col: int, width: float) -> None:
        """A note across the printed columns, wrapped, its row as tall as the text needs."""
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, text, self.f.note_wrap)
        else:
            ws.write_string(row, 0, text, self.f.note_wrap)
        _fit_row(ws, row, [(text, width)], cap=409)

    def _write_block(self, ws, tpl: _Template, block: _Block, fixed: dict[int, float], label_width: float) -> None:
        f = self.f
        for ln in block.lines:
            r = block.rows[ln.key]
            bold = ln.kind in ("total", "pooled")
            _text(ws, r, 0, block.value, f.label[0])
            _text(ws, r, 1, block.name, f.label[0])
            _text(ws, r, 2, ln.stt, f.center)
            if block.units:
                ws.write_number(r, 3, block.units, f.int)
            else:
                ws.write_blank(r, 3, None, f.int)
            _text(ws, r, tpl.key_col, ln.row_key, f.text)       # the SUMIFS criterion (technical)
            label_fmt = (
                f.label_bold if ln.kind in ("heading", "total", "pooled") else f.label[min(ln.level, 3)]
            )
            label = ln.label
            if ln.kind == "pooled" and tpl.mode == "pooled" and tpl.communes:
                label = f"{ln.label} (các xã, phường, thị trấn)"
            ws.merge_range(r, C_ROW, r, C_LABEL, label, label_fmt)
            # the merged label cells less their padding (2), less the indent of the level
            _fit_row(ws, r, [(label, label_width - 2 - 2 * ln.level), (block.value, fixed.get(0, 12)),
                             (block.name, fixed.get(C_NAME, 24))])
            for col in tpl.col_keys:
                c = tpl.col_index[col]
                formula = tpl.formula(block, ln, col) if ln.kind != "heading" else None
                if formula is None:
                    ws.write_blank(r, c, None, f.text if ln.kind != "heading" else f.label_bold)
                    continue
                _formula(
                    ws,
                    r,
                    c,
                    formula,
                    f.sum(tpl.cell_type(ln, col), bold=bold),
                    block.values.get((ln.key, col)),
                )

    # -- province totals by area, and the lead agencies' fields ----------------------------------

    def _items(self, tpl: _Template, row_filter: str | None = None) -> list[_Item]:
        out = []
        for ln in tpl.headline_lines(tpl.province):
            if row_filter and row_filter.casefold() not in ln.label.casefold():
                continue
            for col in tpl.col_keys:
                if tpl._resolvable(tpl.province, tpl.cell_kind(ln, col)):
                    out.append(_Item(tpl, ln, col, tpl.province.values.get((ln.key, col))))
        return out

    def _by_area(self, area_keys: Iterable[str] | None = None) -> list[tuple[str | None, list[_Template]]]:
        wanted = None if area_keys is None else {area_key(a) for a in area_keys}
        groups: dict[str | None, list[_Template]] = {}
        for tpl in self.templates:
            k = area_key(tpl.td.area or tpl.bp.area)
            if wanted is not None and k not in wanted:
                continue
            groups.setdefault(k, []).append(tpl)
        return sorted(groups.items(), key=lambda kv: (self.areas.order(kv[0]), kv[0] or ""))

    def _ensure_evaluated(self) -> None:
        for tpl in self.templates:
            if not tpl.province.values:
                tpl.province.values = tpl.evaluate(tpl.province)

    def _totals_table(self, ws, start: int, groups, *, formulas: bool, row_filter: str | None,
                      empty: str = "") -> int:
        f = self.f
        headers = ["Biểu", "Nội dung", "Cột", "Giá trị", "Mã dòng", "Mã cột"]
        for c, h in enumerate(headers):
            ws.write_string(start, c, h, f.header)
        r = start + 1
        count = 0
        for key, tpls in groups:
            found = [(tpl, self._items(tpl, row_filter)) for tpl in tpls]
            if row_filter:
                found = [(tpl, items) for tpl, items in found if items]
                if not found:
                    continue
            ws.merge_range(r, 0, r, 3, self.areas.heading(key), f.area)
            r += 1
            for tpl, items in found:
                title = f"Phụ lục {', '.join(tpl.codes)}: {template_title(tpl)} ({len(tpl.units)} đơn vị có số liệu)"
                if tpl.apart:
                    title += (f"; số toàn tỉnh không cộng {', '.join(tpl.apart)} (tính trùng), xem trang "
                              f"{tpl.sheet}")
                ws.merge_range(r, 0, r, 3, title, f.subhead)
                _fit_row(ws, r, [(title, 128)])
                r += 1
                if not items:
                    ws.write_string(r, 1, "Không có dòng số liệu phù hợp.", f.note)
                    r += 1
                for it in items:
                    _text(ws, r, 0, tpl.sheet, f.text)      # the sheet it comes from (codes: the line above)
                    _text(ws, r, 1, it.line.label, f.label_bold if it.line.kind != "data" else f.label[0])
                    _text(ws, r, 2, it.col_label, f.wrap)
                    fmt = f.sum(tpl.cell_type(it.line, it.col), bold=it.line.kind != "data")
                    if formulas:
                        _formula(ws, r, 3, it.address, fmt, it.value)
                    else:
                        _put(ws, r, 3, it.value, fmt)
                    _text(ws, r, 4, it.row_key, f.text)
                    _text(ws, r, 5, it.col, f.text)
                    _fit_row(ws, r, [(it.line.label, 55), (it.col_label, 45)])
                    r += 1
                    count += 1
        if count == 0:
            ws.merge_range(r, 0, r, 3, empty or "Chưa có biểu số liệu nào thuộc phạm vi này trong kỳ báo cáo.",
                           f.note_wrap)
            _fit_row(ws, r, [(empty, 128)])
            r += 1
        ws.set_column(0, 0, 14)
        ws.set_column(1, 1, 55)
        ws.set_column(2, 2, 45)
        ws.set_column(3, 3, 16)
        ws.set_column(4, 5, 16)
        return r

    def _province_sheet(self) -> None:
        ws = self.wb.add_worksheet(PROVINCE_SHEET, worksheet_class=FastWorksheet)
        self._ensure_evaluated()
        self._title(ws, "TỔNG HỢP TOÀN TỈNH THEO LĨNH VỰC CẢI CÁCH HÀNH CHÍNH")
        apart = [f"{', '.join(t.apart)} (trang {t.sheet})" for t in self.templates if t.apart]
        self._note(
            ws, 2,
            'Giá trị là công thức tham chiếu tới dòng "Toàn tỉnh" trên trang của từng biểu; '
            "các tỷ lệ được tính lại từ số tổng. Trang in gồm bốn cột đầu; hai cột mã (kỹ thuật) không in."
            + (f" Số toàn tỉnh không cộng các biểu mà đơn vị đếm lại cùng thủ tục của cấp tỉnh: {'; '.join(apart)}."
               if apart else ""),
            3, TOTALS_PRINT_WIDTH)
        last = self._totals_table(ws, 4, self._by_area(), formulas=True, row_filter=None)
        ws.freeze_panes(5, 0)
        ws.print_area(0, 0, max(last - 1, 4), 3)
        _print_setup(ws, (4, 4))

    def _field_sheet(self, key: str, lead: LeadField, *, formulas: bool) -> None:
        ws = self.wb.add_worksheet(field_sheet_name(key), worksheet_class=FastWorksheet)
        self._ensure_evaluated()
        self._title(ws, f"TỔNG HỢP LĨNH VỰC: {lead.label.upper()}")
        own = [s for s in self.data.submissions if s.unit_type == key]
        agency = own[0].unit_name if own else unit_type_label(key, self.data.unit_types)
        status = (
            "; ".join(f"{s.owner or s.unit_name}: {STATUS_LABELS.get(s.status, s.status)}" for s in own)
            or ("loại đơn vị này không còn trong danh mục đơn vị của tỉnh (đã sáp nhập hoặc đổi cấu hình); "
                "trang vẫn tổng hợp số liệu toàn tỉnh của lĩnh vực" if key not in self.data.unit_types
                else "không có trong danh sách phải nộp")
        )
        areas = ", ".join(self.areas.heading(a) for a in lead.areas)
        self._note(
            ws, 2,
            f"Cơ quan chủ trì tổng hợp: {agency} (tình hình nộp: {status}). "
            f"Lĩnh vực cải cách hành chính: {areas}."
            + (f' Chỉ gồm các dòng có "{lead.row_filter}".' if lead.row_filter else "")
            + " Trang in gồm bốn cột đầu; hai cột mã (kỹ thuật) không in.",
            3, TOTALS_PRINT_WIDTH)
        last = self._totals_table(ws, 4, self._by_area(lead.areas), formulas=formulas, row_filter=lead.row_filter,
                                  empty=self._field_empty(key, lead, own))
        ws.freeze_panes(5, 0)
        ws.print_area(0, 0, max(last - 1, 4), 3)
        _print_setup(ws, (4, 4))

    def _field_empty(self, key: str, lead: LeadField, own: list) -> str:
        """Why a field sheet has no figures, in words."""
        areas = ", ".join(self.areas.heading(a) for a in lead.areas)
        why = f"Chưa có biểu số liệu nào thuộc lĩnh vực {areas} trong kỳ báo cáo: không đơn vị nào gửi biểu của lĩnh vực này."
        if key not in self.data.unit_types:
            why += (f" Cơ quan chủ trì của lĩnh vực ({lead.label}, loại đơn vị {key}) không còn trong danh mục "
                    "đơn vị của tỉnh (đã sáp nhập hoặc đổi cấu hình).")
        elif not own:
            why += f" {unit_type_label(key, self.data.unit_types)} không có trong danh sách phải nộp của kỳ này."
        elif not any(s.status in ("on_time", "late") for s in own):
            why += f" {own[0].unit_name} chưa gửi báo cáo được tính ({STATUS_LABELS.get(own[0].status, own[0].status)})."
        return why

    # -- Nội dung báo cáo ---------------------------------------------------------------------------

    def _narratives_sheet(self) -> None:
        """Each unit's outline texts, section by section (merge.narratives reads them, as for the report)."""
        from ..blueprint.catalogue import default_catalogue

        ws = self.wb.add_worksheet(NARRATIVES_SHEET, worksheet_class=FastWorksheet)
        f = self.f
        self._title(ws, "NỘI DUNG BÁO CÁO CỦA CÁC ĐƠN VỊ THEO ĐỀ CƯƠNG")
        widths = {0: 8, 1: 34, 2: 30, 3: NARRATIVE_WIDTH}
        cat = default_catalogue().for_programme(self.data.programme)
        sections: dict[str, tuple[tuple[int, int], str, str]] = {}   # key -> (order, number, title)
        outlines: list[str] = []
        by_section: dict[str, list] = {}
        for n in self.data.narratives:
            bp = cat.by_code.get(n.outline_code)
            if bp is not None and bp.id not in outlines:
                outlines.append(bp.id)
            if n.section not in sections:
                sec = next((x for x in (bp.sections if bp else []) if x.key == n.section), None)
                if sec is None:      # a file made under another programme's version of the outline
                    sec = next((x for v in cat.versions.get(n.outline_code, {}).values() for x in v.sections
                                if x.key == n.section), None)
                idx = next((i for i, x in enumerate(bp.sections) if x.key == n.section), 999) if bp else 999
                order = (outlines.index(bp.id) if bp else len(outlines), idx)
                sections[n.section] = (order, sec.number if sec else "", sec.title if sec else n.section)
            by_section.setdefault(n.section, []).append(n)
        authors = {n.author for n in self.data.narratives}
        self._note(
            ws, 2,
            f"{len(self.data.narratives)} đoạn nội dung của {len(authors)} đơn vị, theo mục của đề cương (trang "
            "Đề cương của từng tệp đã được tính). Văn bản đúng như đơn vị đã viết; dự thảo báo cáo toàn tỉnh "
            "(cchc_xl report) dùng cùng nội dung này.",
            3, sum(widths.values()))
        self._note(
            ws, 3,
            "Trang này để đọc và lọc trên màn hình (lọc theo Mục hoặc Đơn vị); lệnh In chỉ in phần ghi chú "
            "này. Bản in của nội dung là dự thảo báo cáo toàn tỉnh (cchc_xl report), xếp theo mục đề cương; "
            "muốn in một mục: lọc rồi chọn vùng cần in và in vùng chọn.",
            3, sum(widths.values()))
        headers = ["Mục", "Tên mục", "Đơn vị", "Nội dung"]
        head = 5
        for c, h in enumerate(headers):
            ws.write_string(head, c, h, f.header)
        r = head + 1
        if not self.data.narratives:
            ws.merge_range(r, 0, r, 3, "Chưa đơn vị nào gửi nội dung đề cương trong kỳ báo cáo (chưa có tệp được "
                           "tính, hoặc trang Đề cương của các tệp đã nhận còn để trống).", f.note_wrap)
            _fit_row(ws, r, [("Chưa đơn vị nào gửi nội dung đề cương trong kỳ báo cáo (chưa có tệp được tính, "
                              "hoặc trang Đề cương của các tệp đã nhận còn để trống).", sum(widths.values()))])
            r += 1
        for key in sorted(by_section, key=lambda k: sections[k][0]):
            _order, number, title = sections[key]
            ws.write_string(r, 0, number, f.label_bold)
            ws.merge_range(r, 1, r, 3, title, f.label_bold)
            _fit_row(ws, r, [(title, widths[1] + widths[2] + widths[3])])
            r += 1
            for n in by_section[key]:
                for i, chunk in enumerate(_chunks(n.text, widths[3])):
                    ws.write_string(r, 0, number, f.text)
                    ws.write_string(r, 1, title if i == 0 else f"{title} (tiếp)", f.wrap)
                    ws.write_string(r, 2, n.author, f.wrap)
                    ws.write_string(r, 3, chunk, f.wrap)
                    _fit_row(ws, r, [(chunk, widths[3]), (title, widths[1]), (n.author, widths[2])], cap=409)
                    r += 1
        for c, w in widths.items():
            ws.set_column(c, c, w)
        ws.freeze_panes(head + 1, 0)
        ws.autofilter(head, 0, max(r - 1, head + 1), 3)
        ws.print_area(0, 0, 3, 3)             # the texts are for the screen; the report prints them
        _print_setup(ws, None)

    # -- So sánh ------------------------------------------------------------------------------------

    def _compare_sheet(self) -> None:
        ws = self.wb.add_worksheet(COMPARE_SHEET, worksheet_class=FastWorksheet)
        f, d = self.f, self.data
        self._ensure_evaluated()
        self._title(ws, "SO SÁNH VỚI KỲ TRƯỚC VÀ CÙNG KỲ NĂM TRƯỚC")
        prev, ly = d.previous_totals or {}, d.last_year_totals or {}
        prev_label = d.previous_period.label if d.previous_period else "Kỳ trước"
        ly_label = d.last_year_period.label if d.last_year_period else "Cùng kỳ năm trước"
        basis = quarter_basis(d)
        quarter = basis is not None
        q_name = QUARTER_ONLY.get(d.period.kind, "kỳ này")
        w0, w1 = d.window
        if basis == "difference":
            note = (
                f'Cột "Riêng kỳ này" là số liệu riêng {q_name}, suy ra từ hai kỳ lũy kế: {d.period.label} − '
                f"{d.previous_period.label} (ví dụ Quý III = 9 tháng − 6 tháng). Tỷ lệ riêng kỳ được tính "
                "lại từ các số riêng kỳ, không lấy hiệu hai tỷ lệ; số liệu tại thời điểm (số hiện có, kỳ "
                "trước chuyển qua, đang giải quyết) không có số riêng kỳ."
            )
        elif basis == "as_is":
            note = (
                f'Cột "Riêng kỳ này": thời gian chốt số liệu của {d.period.label} ({w0:%d/%m/%Y}–{w1:%d/%m/%Y}) '
                f"chỉ gồm {q_name}, không lũy kế: số riêng kỳ là số của chính kỳ này, không trừ kỳ trước; "
                "số liệu tại thời điểm (số hiện có, kỳ trước chuyển qua, đang giải quyết) không có số riêng kỳ."
            )
        elif prev and d.previous_window is not None and d.period.previous() == d.previous_period:
            pw0, pw1 = d.previous_window
            note = (
                f"Thời gian chốt số liệu của {d.period.label} ({w0:%d/%m/%Y}–{w1:%d/%m/%Y}) và của "
                f"{prev_label} ({pw0:%d/%m/%Y}–{pw1:%d/%m/%Y}) không lũy kế từ cùng một ngày nên không suy ra "
                "số liệu riêng kỳ."
            )
        elif prev:
            note = (
                f"Kỳ so sánh ({prev_label}) không phải kỳ lũy kế liền trước của {d.period.label} nên không "
                "suy ra số liệu riêng kỳ."
            )
        else:
            note = "Chưa có số liệu kỳ trước trong sổ theo dõi."
        if not prev and not ly:
            note += " Không có số liệu kỳ trước hoặc cùng kỳ năm trước để so sánh: trang không có dòng nào."

        # items: (appendix, line, col) of every appendix that the other periods have figures for
        continued: dict[str, set[str]] = {}

        def other(tpl: _Template, appx: str, totals: dict) -> dict | None:
            values, olds = other_period_values(tpl, [appx], totals)
            if olds:
                continued.setdefault(appx, set()).update(olds)
            return values

        rows: list[dict] = []
        for tpl in self.templates:
            # per appendix: several codes, or codes kept out of the province total (compared on their own)
            per_appendix = len(tpl.appendices) > 1 or bool(tpl.apart)
            for appx in tpl.appendices:
                p_vals, l_vals = other(tpl, appx, prev), other(tpl, appx, ly)
                if p_vals is None and l_vals is None:
                    continue
                values = (
                    tpl.evaluate(tpl.province, ("appendix", appx))
                    if per_appendix
                    else tpl.province.values
                )
                for ln in tpl.province.lines:
                    if ln.kind == "heading":
                        continue
                    for col in tpl.col_keys:
                        kind = tpl.cell_kind(ln, col)
                        if not tpl._resolvable(tpl.province, kind):
                            continue
                        rows.append(
                            {
                                "tpl": tpl,
                                "appx": appx,
                                "line": ln,
                                "col": col,
                                "kind": kind,
                                "key": (appx, ln.row_key or "tong", col),
                                "cur": values.get((ln.key, col)),
                                "formula": not per_appendix,
                                "prev": p_vals.get((ln.key, col)) if p_vals is not None else None,
                                "ly": l_vals.get((ln.key, col)) if l_vals is not None else None,
                            }
                        )

        notes = list(d.compare_notes) + [
            f"Biểu {appx}: kỳ so sánh chưa có biểu này; số liệu kỳ so sánh lấy từ biểu {', '.join(sorted(olds))} "
            f"mà {appx} kế tục (bỏ cấp huyện từ 01/7/2025)." for appx, olds in sorted(continued.items())]
        headers = ["Biểu", "Nội dung", "Cột", f"Kỳ này: {d.period.label}"]
        c_prev = c_dprev = c_q = c_ly = c_dly = None
        if prev:
            c_prev, c_dprev = len(headers), len(headers) + 1
            headers += [prev_label, "Thay đổi so với kỳ trước"]
            if quarter:
                c_q = len(headers)
                headers.append(f"Riêng kỳ này ({q_name})")
        if ly:
            c_ly, c_dly = len(headers), len(headers) + 1
            headers += [ly_label, "Thay đổi so với cùng kỳ năm trước"]
        c_rk = len(headers)
        headers += ["Mã dòng", "Mã cột"]
        print_width = 12 + 45 + 40 + 15 * (c_rk - 3)
        notes = [note, *notes, "Trang in gồm các cột số liệu; hai cột mã (kỹ thuật) ở cuối không in."]
        for i, text in enumerate(notes):
            self._note(ws, 2 + i, text, c_rk - 1, print_width)
        head = 3 + len(notes)
        first = head + 1
        self._add_table(ws, head, 0, len(rows), headers, "SoSanh")
        ws.set_row(head, 45)
        where = {(it["appx"], it["line"].key, it["col"]): first + i for i, it in enumerate(rows)}

        def diff(a, b):
            return a - b if is_number(a) and is_number(b) else ""

        # quarter-only values: linear figures are differences; figures with a division are recomputed
        qmemo: dict[tuple, object] = {}
        kmemo: dict[int, object] = {}

        def q_kind(it, depth: int = 0):
            """("diff",) | ("expr", expr, mapper) | None: how this line's quarter-only figure is made."""
            i = id(it)
            if i in kmemo:
                return kmemo[i]
            tpl, kind = it["tpl"], it["kind"]
            out = None
            if depth > 20 or tpl.measure(it["line"].row_key or None, it["col"]) != "flow":
                out = None
            elif basis == "as_is":
                out = ("same",)
            elif kind[0] == "expr" and kind[1].has_division:
                expr, mapper = kind[1], kind[2]
                keys = [(it["appx"], mapper(ref), ref.col) for ref in expr.refs]
                if not expr.ranges and all(
                    k in where and q_kind(rows[where[k] - first], depth + 1) is not None for k in keys
                ):
                    out = ("expr", expr, mapper)
            elif is_number(it["prev"]):
                out = ("diff",)
            kmemo[i] = out
            return out

        def q_value(it):
            k = (it["appx"], it["line"].key, it["col"])
            if k in qmemo:
                return qmemo[k]
            qmemo[k] = ""
            qk = q_kind(it)
            if qk is None:
                v = None
            elif qk[0] == "diff":
                v = diff(it["cur"], it["prev"])
            elif qk[0] == "same":
                v = it["cur"] if is_number(it["cur"]) else ""
            else:
                v = qk[1].evaluate(
                    lambda ref: q_value(rows[where[(it["appx"], qk[2](ref), ref.col)] - first])
                )
            qmemo[k] = v
            return v

        for i, it in enumerate(rows):
            r = first + i
            tpl, ln, col = it["tpl"], it["line"], it["col"]
            fmt = f.sum(tpl.cell_type(ln, col))
            _text(ws, r, 0, it["appx"], f.text)
            _text(ws, r, 1, ln.label, f.label[0])
            _text(ws, r, 2, column_header(tpl.layout.col(col)), f.wrap)
            _fit_row(ws, r, [(ln.label, 45), (column_header(tpl.layout.col(col)), 40)])
            cur = a1(r, 3)
            if it["formula"]:
                _formula(ws, r, 3, tpl.address(tpl.province, ln, col), fmt, it["cur"])
            else:
                _put(ws, r, 3, it["cur"], fmt)
            def other(c_val, c_diff, value, r=r, cur=cur, it=it):
                """A value of another period and the change from it (a formula with its result)."""
                _put(ws, r, c_val, value, f.plain_number)
                if is_number(value):
                    _formula(ws, r, c_diff, f'IFERROR({cur}-{a1(r, c_val)},"")', f.plain_number,
                             diff(it["cur"], value))
                else:
                    ws.write_blank(r, c_diff, None, f.plain_number)

            if c_prev is not None:
                other(c_prev, c_dprev, it["prev"])
            if c_q is not None:
                qk = q_kind(it)
                if qk is None:
                    ws.write_blank(r, c_q, None, fmt)
                elif qk[0] == "diff":
                    _formula(ws, r, c_q, f'IFERROR({cur}-{a1(r, c_prev)},"")', fmt, q_value(it))
                elif qk[0] == "same":
                    _formula(ws, r, c_q, f'IF(ISNUMBER({cur}),{cur},"")', fmt, q_value(it))
                else:
                    appx, mapper = it["appx"], qk[2]
                    body = qk[1].to_excel(lambda ref, a=appx, m=mapper: a1(where[(a, m(ref), ref.col)], c_q))
                    _formula(ws, r, c_q, body, fmt, q_value(it))
            if c_ly is not None:
                other(c_ly, c_dly, it["ly"])
            _text(ws, r, c_rk, it["key"][1], f.text)
            _text(ws, r, c_rk + 1, col, f.text)
        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 45)
        ws.set_column(2, 2, 40)
        ws.set_column(3, c_rk - 1, 15)
        ws.set_column(c_rk, c_rk + 1, 16)
        ws.freeze_panes(first, 3)
        ws.print_area(0, 0, first + max(1, len(rows)) - 1, c_rk - 1)
        _print_setup(ws, (head, head))

    # -- Lỗi ----------------------------------------------------------------------------------------

    def _findings_sheet(self) -> None:
        """Figures that need checking against the unit's own earlier reports (merge/plausibility.py):
        warnings, per unit, with both numbers and the source cell; no file is rejected for them."""
        ws = self.wb.add_worksheet(FINDINGS_SHEET, worksheet_class=FastWorksheet)
        f, items = self.f, self.data.findings
        self._title(ws, "SỐ LIỆU CẦN XÁC MINH SO VỚI CÁC KỲ TRƯỚC CỦA CHÍNH ĐƠN VỊ")
        ws.write_string(
            2, 0,
            f"{len(items)} số liệu cần xác minh: số lũy kế nhỏ hơn kỳ lũy kế trước trong cùng năm, hoặc số liệu "
            "khác xa cùng kỳ các năm trước của đơn vị (gấp hơn 3 lần số lớn nhất, hay dưới một phần ba số nhỏ "
            "nhất). Đây là cảnh báo, không phải lỗi: không tệp nào bị từ chối vì lý do này."
            if items else "Không có số liệu nào cần xác minh (hoặc sổ theo dõi chưa có kỳ trước của các đơn vị).",
            f.note,
        )
        headers = ["STT", "Mã đơn vị", "Đơn vị", "Biểu", "Dòng", "Cột", "Số kỳ này", "So với",
                   "Số kỳ đó", "Loại", "Tệp nguồn", "Trang", "Ô", "Nội dung"]
        head, first = 4, 5
        self._add_table(ws, head, 0, len(items), headers, "CanXacMinh")
        widths = _Widths()
        kinds = {"plausibility.cumulative_drop": "Số lũy kế giảm", "plausibility.outlier": "Khác xa các kỳ trước"}
        for i, it in enumerate(items):
            r = first + i
            ws.write_number(r, 0, i + 1, f.int)
            cols = [it.unit_code, it.unit_name, it.appendix, it.row_label, it.column_label]
            for c, v in enumerate(cols, 1):
                _text(ws, r, c, v, f.wrap if c in (4, 5) else f.text)
                widths.see(c, v, cap=40)
            ws.write_number(r, 6, it.value, f.int)
            periods = "; ".join(parse_period(p).label for p, _ in it.earlier)
            _text(ws, r, 7, periods, f.wrap)
            if len(it.earlier) == 1:
                ws.write_number(r, 8, it.earlier[0][1], f.int)
            else:
                _text(ws, r, 8, "; ".join(display(v) for _, v in it.earlier), f.text)
            for c, v in enumerate([kinds.get(it.code, it.code), Path(it.file).name, it.sheet, it.cell, it.message], 9):
                _text(ws, r, c, v, f.wrap if c == 13 else f.text)
                widths.see(c, v, cap=30)
            _fit_row(ws, r, [(it.message, 60), (it.row_label, 30)])
        widths.apply(ws, fixed={0: 5, 4: 30, 5: 30, 6: 12, 7: 16, 8: 12, 13: 60})
        ws.freeze_panes(first, 3)
        ws.print_area(0, 0, first + max(1, len(items)) - 1, len(headers) - 1)
        _print_setup(ws, (head, head))

    def _problems_sheet(self) -> None:
        ws = self.wb.add_worksheet(PROBLEMS_SHEET, worksheet_class=FastWorksheet)
        f = self.f
        probs: list[ProblemRow] = self.data.problems
        self._title(ws, "DANH SÁCH LỖI VÀ CẢNH BÁO TRONG CÁC TỆP BÁO CÁO")
        n_err = sum(1 for p in probs if p.severity == "error")
        ws.write_string(
            2,
            0,
            (f"{n_err} lỗi, {len(probs) - n_err} cảnh báo/thông tin. Lọc theo đơn vị, biểu "
             "hoặc mã lỗi bằng nút lọc ở dòng tiêu đề.") if probs else
            "Không có lỗi hay cảnh báo nào trong các tệp đã nhận: bảng dưới đây để trống.",
            f.note,
        )
        headers = [
            "STT",
            "Mã đơn vị",
            "Đơn vị",
            "Tệp",
            "Trang",
            "Ô",
            "Biểu",
            "Mã lỗi",
            "Mức độ",
            "Nội dung",
            "Gợi ý khắc phục",
        ]
        head = 4
        first = head + 1
        last = self._add_table(ws, head, 0, len(probs), headers, "Loi")
        widths = _Widths()
        for i, p in enumerate(probs):
            r = first + i
            ws.write_number(r, 0, i + 1, f.int)
            vals = [
                p.unit_code,
                p.unit_name,
                p.file,
                p.sheet,
                p.cell,
                p.table,
                p.code,
                SEVERITY_LABELS.get(p.severity, p.severity),
                p.message,
                p.hint,
            ]
            for c, v in enumerate(vals, 1):
                _text(ws, r, c, v or "", f.wrap if c in (9, 10) else f.text)
                widths.see(c, v, cap=40)
            _fit_row(ws, r, [(p.message, 60), (p.hint, 50)])
        ws.conditional_format(
            first, 8, last, 8, {"type": "cell", "criteria": "==", "value": '"Lỗi"', "format": f.error_cf}
        )
        ws.conditional_format(
            first, 8, last, 8, {"type": "cell", "criteria": "==", "value": '"Cảnh báo"', "format": f.warn_cf}
        )
        widths.apply(ws, fixed={0: 5, 4: 14, 5: 8, 8: 10, 9: 60, 10: 50})
        ws.freeze_panes(first, 3)
        ws.print_area(0, 0, last, len(headers) - 1)     # the list of problems is what an officer acts on
        _print_setup(ws, (head, head))
