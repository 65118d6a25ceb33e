"""Write one unit's workbook: cover, tables, self-check, vocabularies, metadata.

Formats and validations are applied per range, never cell by cell where the layout allows.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..atomic import replacing
from ..blueprint.expr import Ref
from ..blueprint.model import CellType
from ..cell_checks import (
    FIRST_NONE,
    NIL_COL,
    NIL_HEADER,
    NIL_TEXT,
    count_formula,
    filled_formula,
    first_address,
    first_formula,
    position,
    runs,
    table_checks,
)
from ..cell_values import check_value, is_blank
from ..config.province import FieldReportDates, PeriodDates
from ..explain import explain, explain_formula, numbers_formula, with_numbers
from ..identity import META_SHEET, PROP_PREFIX, Metadata, unit_line
from ..layout import (
    LABEL_COL,
    OFFICE_COL,
    OUTLINE_COL,
    STT_COL,
    UNIT_COL,
    CellSpec,
    TableLayout,
    a1,
    col_letter,
)
from ..problems import CATALOGUE
from ..round_layouts import CHECK_SHEET, COVER_SHEET, VOCAB_SHEET
from ..xlsx.styles import Styles
from ..xlsx.worksheet import FastWorksheet

CHECK_FIRST_ROW = 6          # 0-based row of the first rule line on the self-check sheet
OK_TEXT = "Đạt"
SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
LABEL_CHARS_PER_LINE = 56     # Times New Roman 12 in the 46-wide label column
ROW_LINE_HEIGHT = 15.75
MAX_ROW_HEIGHT = 409        # Excel's tallest row, in points
OUTLINE_LABEL_WIDTH, OUTLINE_TEXT_WIDTH = 48, 90    # the outline sheet's section and text columns
FIRST_COL = 9                # 0-based hidden column J: the first offending cell of a cell-check line
FIRST_TEXT = "Ô sai đầu tiên:"
CHECK_WIDTHS = {0: 6, 1: 12, 2: 40, 3: 11, 4: 60, 5: 14, 6: 60, 7: 9}   # the Kiểm tra sheet's columns


def wrapped_lines(text: object, width: float) -> int:
    """How many lines a wrapped text takes in a column ``width`` characters wide (Times New Roman 11,
    Vietnamese diacritics: counted generously, so that a printed row never clips or overlaps)."""
    if text is None or text == "":
        return 1
    per = max(1.0, width * 0.95)
    return sum(max(1, -(-len(part) // int(per))) for part in str(text).split("\n"))


def fit_height(pieces, minimum: float = 0) -> float | None:
    """The height a row needs for its wrapped ``(text, column width)`` pieces (None: the default)."""
    lines = max((wrapped_lines(t, w) for t, w in pieces), default=1)
    height = max(minimum, ROW_LINE_HEIGHT * lines + 2 if lines > 1 else 0)
    return min(MAX_ROW_HEIGHT, height) if height else None


class _ProtectedWorkbook(xlsxwriter.Workbook):
    """XlsxWriter has no workbook-structure protection: add the ``workbookProtection`` element."""

    structure_password: str | None = None

    def _write_workbook_pr(self):
        super()._write_workbook_pr()
        if self.structure_password is not None:
            attrs = [("workbookPassword", Worksheet._encode_password(None, self.structure_password)),
                     ("lockStructure", 1)]
            self._xml_empty_tag("workbookProtection", attrs)


@dataclass
class WorkbookSpec:
    unit_code: str
    unit_name: str
    part: str
    owner: str
    dates: PeriodDates
    province_name: str
    contact: str
    layouts: list[TableLayout]
    metadata: Metadata
    password: str
    vocabularies: dict[str, list[str]]    # id -> labels
    unit_names: list[str]
    generated_at: dt.datetime
    field_report: FieldReportDates | None = None   # the unit's thematic field report and its deadline
    inputs: dict[str, dict] = field(default_factory=dict)       # code -> Ref -> value (sample-fill)
    overrides: dict[tuple, object] = field(default_factory=dict)  # (code, Ref) -> value typed over a formula


def write_workbook(spec: WorkbookSpec, target: Path | io.BytesIO) -> None:
    """The workbook of ``spec`` into ``target``: a file is replaced whole (:mod:`cchc_xl.atomic`)."""
    if isinstance(target, io.BytesIO):
        _write(spec, target)
        return
    with replacing(Path(target)) as tmp:
        _write(spec, tmp)


def _write(spec: WorkbookSpec, target: Path | io.BytesIO) -> xlsxwriter.Workbook:
    """Write and close the workbook; the closed workbook is returned (its shared strings are what
    :mod:`cchc_xl.generate.template` reads)."""
    wb = _ProtectedWorkbook(target, {"in_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    wb.structure_password = spec.password
    wb.set_properties({
        "title": f"Báo cáo CCHC — {spec.unit_name} — {spec.dates.period.label}",
        "subject": "Báo cáo cải cách hành chính", "author": "cchc_xl", "company": spec.province_name,
        "created": spec.generated_at, "comments": "Tạo bởi cchc_xl. Không sửa trang tính ẩn _cchc.",
    })
    for key, value in spec.metadata.as_pairs():
        wb.set_custom_property(PROP_PREFIX + key, value, "text")
    st = Styles(wb)
    cover = wb.add_worksheet(COVER_SHEET, worksheet_class=FastWorksheet)
    sheets = [(lay, wb.add_worksheet(lay.sheet, worksheet_class=FastWorksheet)) for lay in spec.layouts]
    check = wb.add_worksheet(CHECK_SHEET, worksheet_class=FastWorksheet)
    vocab = wb.add_worksheet(VOCAB_SHEET, worksheet_class=FastWorksheet)
    meta = wb.add_worksheet(META_SHEET, worksheet_class=FastWorksheet)

    vocab_ranges = _write_vocabularies(vocab, spec, st)
    for lay, ws in sheets:
        _write_table(ws, lay, spec, st, vocab_ranges)
    _write_check(check, spec, st)
    _write_cover(cover, spec, st, vocab_ranges)
    _write_meta(meta, spec, st)
    cover.activate()
    wb.close()
    return wb


# ---------------------------------------------------------------------------------------------


def _protect(ws, spec: WorkbookSpec) -> None:
    ws.protect(spec.password, {
        "format_cells": True, "format_columns": True, "format_rows": True,
        "select_locked_cells": True, "select_unlocked_cells": True,
        "insert_rows": False, "delete_rows": False, "insert_columns": False, "delete_columns": False,
    })


def _write_vocabularies(ws, spec: WorkbookSpec, st: Styles) -> dict[str, str]:
    ranges = {}
    lists = dict(spec.vocabularies)
    lists["_units"] = spec.unit_names
    lists["_yesno"] = ["Có", "Không"]
    lists["_nil"] = [NIL_TEXT]
    for c, (vid, labels) in enumerate(lists.items()):
        ws.write_string(0, c, vid, st.meta)
        for r, label in enumerate(labels, 1):
            ws.write_string(r, c, label, st.meta)
        letter = col_letter(c)
        ranges[vid] = f"='{VOCAB_SHEET}'!${letter}$2:${letter}${len(labels) + 1}"
    ws.hide()
    _protect(ws, spec)
    return ranges


def _title_block(ws, lay: TableLayout, spec: WorkbookSpec, st: Styles, last_col: int) -> None:
    _merge(ws, 0, 0, 0, last_col, f"Phụ lục số: {lay.code}" if lay.blueprint.kind != "outline"
                   else f"Đề cương báo cáo ({lay.code})", st.code)
    _merge(ws, 1, 0, 1, last_col, lay.title.upper() if lay.blueprint.kind != "outline" else lay.title,
                   st.title)
    ws.set_row(1, 36)
    d = spec.dates
    owner = spec.owner if spec.part != "main" and spec.owner else ""
    line = (f"{unit_line(spec.unit_name, owner, d.period.label)} "
            f"(số liệu từ {d.window_start:%d/%m/%Y} đến {d.window_end:%d/%m/%Y})")
    _merge(ws, 2, 0, 2, last_col, line, st.subtitle)
    if lay.blueprint.subtitle:
        _merge(ws, 3, 0, 3, last_col, lay.blueprint.subtitle, st.subtitle)


def _write_table(ws, lay: TableLayout, spec: WorkbookSpec, st: Styles, vocab_ranges) -> None:
    bp = lay.blueprint
    last_col = lay.last_col
    _title_block(ws, lay, spec, st, last_col)
    if bp.kind == "outline":
        _write_outline(ws, lay, spec, st)
        return
    _write_headers(ws, lay, st)
    inputs = spec.inputs.get(lay.code)
    if inputs is None and lay.prefill:      # a new workbook comes with the blueprint's prefilled rows
        inputs = lay.prefill
    empty = lay.evaluate(inputs) if inputs else lay.empty_values
    inputs = inputs or {}
    for r in lay.rows:
        bold = r.kind in ("total", "group", "heading")
        ws.write_string(r.row, lay.col(STT_COL).col, r.stt, st.stt)
        if LABEL_COL in lay._col_by_key:
            label_fmt = st.heading if r.kind in ("heading", "group") else \
                st.total_label if r.kind == "total" else st.label[min(r.level, 3)]
            ws.write_string(r.row, lay.col(LABEL_COL).col, r.label, label_fmt)
            lines = -(-len(r.label) // LABEL_CHARS_PER_LINE)
            if lines > 1:   # wrapped labels need the height: not every client fits rows on load
                ws.set_row(r.row, ROW_LINE_HEIGHT * lines + 2)
        if UNIT_COL in lay._col_by_key:
            ws.write_string(r.row, lay.col(UNIT_COL).col, r.unit or "", st.office)
        if OFFICE_COL in lay._col_by_key:
            ws.write_string(r.row, lay.col(OFFICE_COL).col, r.office or "", st.office)
        if r.kind in ("heading", "group"):
            for c in lay.value_cols:
                ws.write_blank(r.row, c.col, None, st.heading)
            continue
        for c in lay.value_cols:
            spec_cell = lay.cells.get(Ref(r.key, c.key))
            if spec_cell is None:
                ws.write_blank(r.row, c.col, None, st.heading)
            elif spec_cell.role == "computed":
                fmt = st.computed(spec_cell.type, bold=bold)
                typed = spec.overrides.get((lay.code, spec_cell.ref))
                if typed is not None:
                    _write_value(ws, r.row, c.col, typed, fmt)
                    continue
                val = empty.get(spec_cell.ref)
                ws.write_formula(r.row, c.col, lay.formula(spec_cell), fmt, "" if val is None else val)
            else:
                _write_value(ws, r.row, c.col, inputs.get(spec_cell.ref),
                             st.input(spec_cell.type, required=spec_cell.required))
    _validations(ws, lay, spec, vocab_ranges)
    _conditional_formats(ws, lay, st)
    _signature(ws, lay.last_row + 2, last_col, st)
    _page_setup(ws, lay, spec)
    _protect(ws, spec)


def _write_headers(ws, lay: TableLayout, st: Styles) -> None:
    top, depth = lay.header_top, lay.header_depth
    for c in lay.cols:
        path = list(c.header) + [c.text]
        if len(path) < depth:  # a leaf that spans down from its top group
            if not c.header:
                _merge(ws, top, c.col, top + depth - 1, c.col, path[-1], st.header) if depth > 1 \
                    else ws.write_string(top, c.col, path[-1], st.header)
            else:
                _merge(ws, top + len(c.header), c.col, top + depth - 1, c.col, path[-1], st.header)
        else:
            ws.write_string(top + depth - 1, c.col, path[-1], st.header)
        ws.write_string(top + depth, c.col, f"({c.col + 1})", st.colnum)
    # Group labels: merge runs of equal prefixes at each level.
    for level in range(depth - 1):
        run_start, run_label = None, None
        cols = lay.cols + [None]
        for c in cols:
            label = c.header[level] if c is not None and len(c.header) > level else None
            same_parent = c is not None and run_start is not None and \
                tuple(c.header[:level]) == tuple(lay.cols[run_start].header[:level])
            if label == run_label and label is not None and same_parent:
                continue
            if run_label is not None:
                first, last = lay.cols[run_start].col, lay.cols[cols.index(c) - 1].col if c else lay.last_col
                if first == last:
                    ws.write_string(top + level, first, run_label, st.header)
                else:
                    _merge(ws, top + level, first, top + level, last, run_label, st.header)
            run_start = lay.cols.index(c) if c is not None and label is not None else None
            run_label = label
    for c in lay.cols:
        if c.key == STT_COL:
            width = 6
        elif c.key == LABEL_COL:
            width = 46
        elif c.key == OFFICE_COL:
            width = 24
        elif c.key == UNIT_COL:
            width = 12
        else:
            spec = c.spec
            text_like = spec.type in (CellType.text, CellType.month_range, CellType.choice, CellType.unit_ref)
            width = spec.width or (30 if text_like else max(11, min(18, len(c.label) * 0.6)))
        ws.set_column(c.col, c.col, width)
    for level in range(depth):
        ws.set_row(top + level, 48 if level == depth - 1 else 30)


def _merge(ws, r1: int, c1: int, r2: int, c2: int, text: str, fmt) -> None:
    if (r1, c1) == (r2, c2):
        ws.write_string(r1, c1, text, fmt)
    else:
        ws.merge_range(r1, c1, r2, c2, text, fmt)


def _write_value(ws, row: int, col: int, value, fmt) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_number(row, col, int(value), fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, (dt.date, dt.datetime)):
        when = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
        ws.write_datetime(row, col, when, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _runs(cells: list[CellSpec]):
    """Group input cells into vertical runs with identical validation settings."""
    by_col: dict[int, list[CellSpec]] = {}
    for c in cells:
        by_col.setdefault(c.col, []).append(c)
    for items in by_col.values():
        items.sort(key=lambda c: c.row)
        run = [items[0]]
        for c in items[1:]:
            prev = run[-1]
            if c.row == prev.row + 1 and (c.type, c.min, c.max, c.vocabulary) == \
                    (prev.type, prev.min, prev.max, prev.vocabulary):
                run.append(c)
            else:
                yield run
                run = [c]
        yield run


def _validation(cell: CellSpec, spec: WorkbookSpec, vocab_ranges) -> dict | None:
    t = cell.type
    lo = cell.min if cell.min is not None else 0
    d = spec.dates
    if t in (CellType.count, CellType.amount):
        opts = {"validate": "integer", "criteria": ">=", "value": int(lo)} if cell.max is None else \
            {"validate": "integer", "criteria": "between", "minimum": int(lo), "maximum": int(cell.max)}
        what = "số nguyên" + (" (đồng)" if t == CellType.amount else "")
        opts.update(input_title="Nhập số", input_message=f"Nhập {what}, không âm, không ghi chữ.",
                    error_title="Giá trị không hợp lệ",
                    error_message=f"Ô này chỉ nhận {what} từ {int(lo)} trở lên"
                                  + (f" đến {int(cell.max)}" if cell.max is not None else "") + ".")
        return opts
    if t == CellType.decimal:
        lo = cell.min if cell.min is not None else -1e12
        hi = cell.max if cell.max is not None else 1e12
        return {"validate": "decimal", "criteria": "between", "minimum": lo, "maximum": hi,
                "input_title": "Nhập số", "input_message": "Nhập số (dùng dấu phẩy thập phân theo máy).",
                "error_title": "Giá trị không hợp lệ", "error_message": "Ô này chỉ nhận giá trị số."}
    if t == CellType.percent:
        return {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 100,
                "input_title": "Nhập tỷ lệ %", "input_message": "Nhập tỷ lệ phần trăm từ 0 đến 100 (ví dụ 85 cho 85%).",
                "error_title": "Tỷ lệ không hợp lệ",
                "error_message": "Tỷ lệ phải từ 0 đến 100. Nhập 85 cho 85%, không nhập 0,85."}
    if t == CellType.yesno:
        return {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 1,
                "input_title": "Có = 1; Không = 0", "input_message": "Nhập 1 nếu Có, 0 nếu Không.",
                "error_title": "Giá trị không hợp lệ", "error_message": "Chỉ nhập 1 (Có) hoặc 0 (Không)."}
    if t == CellType.date:
        return {"validate": "date", "criteria": "between", "minimum": d.window_start, "maximum": d.window_end,
                "input_title": "Nhập ngày", "input_message":
                    f"Nhập ngày dạng dd/mm/yyyy, từ {d.window_start:%d/%m/%Y} đến {d.window_end:%d/%m/%Y}.",
                "error_title": "Ngày không hợp lệ", "error_message":
                    f"Ngày phải nằm trong kỳ báo cáo ({d.window_start:%d/%m/%Y} – {d.window_end:%d/%m/%Y})."}
    if t in (CellType.choice, CellType.unit_ref):
        src = vocab_ranges["_units"] if t == CellType.unit_ref else vocab_ranges.get(cell.vocabulary or "")
        if not src:
            return None
        return {"validate": "list", "source": src, "input_title": "Chọn trong danh sách",
                "input_message": "Chọn một giá trị trong danh sách thả xuống.",
                "error_title": "Giá trị không có trong danh sách",
                "error_message": "Chỉ chọn giá trị có trong danh sách."}
    if t == CellType.month_range:
        y = d.period.year
        x = cell.addr   # relative to the top-left cell of the validated range
        formula = (f'=IFERROR(AND(LEN({x})=17,MID({x},3,1)="/",MID({x},8,3)=" - ",MID({x},13,1)="/",'
                   f'VALUE(MID({x},4,4))={y},VALUE(MID({x},14,4))={y},VALUE(LEFT({x},2))>=1,'
                   f'VALUE(MID({x},11,2))<=12,VALUE(MID({x},11,2))>=VALUE(LEFT({x},2))),FALSE)')
        return {"validate": "custom", "value": formula,
                "input_title": "Từ tháng/năm tới tháng/năm",
                "input_message": f"Nhập dạng MM/YYYY - MM/YYYY trong năm {y}, ví dụ 01/{y} - 06/{y}.",
                "error_title": "Thời gian không hợp lệ",
                "error_message": f"Nhập dạng MM/YYYY - MM/YYYY, ví dụ 01/{y} - 06/{y}."}
    if t == CellType.text:
        return {"validate": "length", "criteria": "<=", "value": 32000, "input_title": "Nhập nội dung",
                "input_message": "Nhập nội dung bằng tiếng Việt có dấu (Unicode)."}
    return None


def _validations(ws, lay: TableLayout, spec: WorkbookSpec, vocab_ranges) -> None:
    for run in _runs(lay.input_cells):
        opts = _validation(run[0], spec, vocab_ranges)
        if opts:
            ws.data_validation(run[0].row, run[0].col, run[-1].row, run[-1].col, opts)


def _conditional_formats(ws, lay: TableLayout, st: Styles) -> None:
    """Paint the input cells of a failing rule (the same formula as the self-check line), and each
    input cell that a cell check finds at fault (the condition of its Kiểm tra line, cell by cell)."""
    for check, runs_ in table_checks(lay):
        fmt = st.error_cf if CATALOGUE[check.code].severity == "error" else st.warn_cf
        alike: dict[str, list] = {}         # one rule for all runs with the same condition
        for run in runs_:
            alike.setdefault(check.condition(run.first), []).append(run)
        for group in alike.values():
            a = group[0].first
            b = group[0].cells[-1]
            ws.conditional_format(a.row, a.col, b.row, b.col, {
                "type": "formula", "criteria": "=" + check.excel(a, a1(a.row, a.col)), "format": fmt,
                "multi_range": " ".join(r.range().replace("$", "") for r in group)})
    for ri in lay.rules:
        cells = [lay.cells[r] for r in ri.cells if r in lay.cells]
        if not cells:
            continue
        cond = lay.rule_formula(ri, "local")
        ranges = " ".join(c.addr for c in cells)
        first = cells[0]
        ws.conditional_format(first.row, first.col, first.row, first.col, {
            "type": "formula", "criteria": f"=NOT({cond})",
            "format": st.error_cf if ri.rule.severity.value == "error" else st.warn_cf,
            "multi_range": ranges,
        })


def _signature(ws, row: int, last_col: int, st: Styles) -> None:
    mid = max(2, last_col // 2)
    _merge(ws, row, mid, row, last_col, "……, ngày …… tháng …… năm ……", st.sign_note)
    _merge(ws, row + 1, 0, row + 1, mid - 1, "NGƯỜI LẬP BIỂU", st.sign)
    _merge(ws, row + 1, mid, row + 1, last_col, "THỦ TRƯỞNG ĐƠN VỊ", st.sign)
    _merge(ws, row + 2, 0, row + 2, mid - 1, "(Ký, ghi rõ họ tên)", st.sign_note)
    _merge(ws, row + 2, mid, row + 2, last_col, "(Ký tên, đóng dấu)", st.sign_note)


def _page_setup(ws, lay: TableLayout, spec: WorkbookSpec) -> None:
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(lay.header_top, lay.first_data_row - 1)
    ws.set_footer(f"&L&8{spec.unit_name} — {spec.dates.period.label}&R&8Trang &P/&N")
    first_value = lay.value_cols[0].col if lay.value_cols else 2
    ws.freeze_panes(lay.first_data_row, first_value)
    ws.print_area(0, 0, lay.last_row + 4, lay.last_col)


def _write_outline(ws, lay: TableLayout, spec: WorkbookSpec, st: Styles) -> None:
    top = lay.header_top
    for c in lay.cols:
        ws.write_string(top, c.col, c.label, st.header)
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, OUTLINE_LABEL_WIDTH)
    ws.set_column(2, 2, OUTLINE_TEXT_WIDTH)
    for r in lay.rows:
        ws.write_string(r.row, 0, r.stt, st.stt)
        ws.write_string(r.row, 1, r.label, st.heading if r.kind == "heading" else st.label[min(r.level, 3)])
        cell = lay.cells.get(Ref(r.key, OUTLINE_COL))
        if cell is None:
            ws.write_blank(r.row, 2, None, st.heading)
            height = fit_height([(r.label, OUTLINE_LABEL_WIDTH - 2 * r.level)])
        else:
            text = spec.inputs.get(lay.code, {}).get(cell.ref)
            _write_value(ws, r.row, 2, text, st.input(CellType.text, required=r.required))
            # room to write in, and for the section's title and whatever text the file already holds
            height = fit_height([(r.label, OUTLINE_LABEL_WIDTH - 2 * r.level), (text, OUTLINE_TEXT_WIDTH)], 60)
        if height:
            ws.set_row(r.row, height)
    for run in _runs(lay.input_cells):
        ws.data_validation(run[0].row, 2, run[-1].row, 2, {
            "validate": "length", "criteria": "<=", "value": 32000, "input_title": "Nội dung báo cáo",
            "input_message": "Nhập nội dung của mục này (tiếng Việt có dấu, Unicode)."})
    _conditional_formats(ws, lay, st)
    _signature(ws, lay.last_row + 2, 2, st)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(top, top)
    ws.freeze_panes(top + 1, 2)
    _protect(ws, spec)


def check_lines(layouts: list[TableLayout]):
    """The self-check lines: (layout, rule instance, row label) in sheet order."""
    for lay in layouts:
        for ri in lay.rules:
            where = ""
            if ri.rule.scope == "row" and ri.anchor:
                r = lay.row(ri.anchor)
                where = r.label or f"Dòng {r.stt}"
            elif ri.rule.scope == "column" and ri.anchor:
                where = f"Cột {lay.col(ri.anchor).label}"
            elif ri.rule.scope == "group" and ri.anchor:
                where = lay.row(f"g_{ri.anchor}").label
            yield lay, ri, where


def value_lines(layouts: list[TableLayout]):
    """The self-check lines of single input cells (after the rule lines): (layout, check, runs)."""
    for lay in layouts:
        for check, runs_ in table_checks(lay):
            yield lay, check, runs_


@dataclass
class _Line:
    code: str            # the table's code
    where: str
    severity: str        # error | warning
    result: str          # formula of the "Kết quả" cell, without "=" (G{row} is the message)
    cached: str
    link: str            # first cell to jump to
    cells: str
    message: str
    count: str | None = None     # formula of the "Số ô" cell: offending input cells (cell checks)
    n: int = 0
    numbers: str | None = None   # formula of the hidden "Số liệu" cell: "12 ≠ 5 + 8" (rules)
    numbers_cached: str = ""
    first: str | None = None     # array formula of the hidden "Ô sai đầu tiên" cell (cell checks)
    first_cached: tuple[int, int] | None = None      # its value: (row, column), 0-based


def _check_entries(spec: WorkbookSpec) -> list[_Line]:
    out: list[_Line] = []
    verdicts: dict[str, dict] = {}
    evaluated: dict[str, dict] = {}
    for lay, ri, where in check_lines(spec.layouts):
        if lay.code not in verdicts:
            inputs = spec.inputs.get(lay.code)
            values = evaluated[lay.code] = lay.evaluate(inputs) if inputs else lay.empty_values
            verdicts[lay.code] = {id(r): ok for r, ok in lay.check(values)}
        values = evaluated[lay.code]
        cells = [lay.addr(x) for x in ri.cells]
        anchor = lay.rule_cell(ri)      # where the validator reports the rule: the line links there
        message = ri.rule.message + (f" Gợi ý: {ri.rule.hint}" if ri.rule.hint else "")
        numbers = explain_formula(ri, lambda ref, lay=lay: f"'{lay.sheet}'!{lay.addr(ref, abs_row=True, abs_col=True)}",
                                  lambda r, lay=lay: f"'{lay.sheet}'!{lay.column_range(r)}")
        shown = explain(ri, values.get, lambda r, lay=lay, values=values:
                        [values.get(Ref(x.key, r.col)) for x in lay.data_rows(r.group)]) if numbers else None
        passes = verdicts[lay.code][id(ri)]
        out.append(_Line(lay.code, where, ri.rule.severity.value,
                         f'IF({lay.rule_formula(ri, "sheet")},"{OK_TEXT}",'
                         + (numbers_formula("G{row}", "I{row}") if numbers else "G{row}") + ")",
                         OK_TEXT if passes else with_numbers(message, shown),
                         anchor.addr if anchor else "A1", ", ".join(cells)[:250] or lay.sheet, message,
                         numbers=numbers, numbers_cached=shown or ""))
    nil_rows = _nil_rows(spec)
    for lay in spec.layouts:
        runs_ = runs(lay)
        if lay.blueprint.kind == "outline" or not runs_:
            continue
        kind = CATALOGUE["table.blank"]
        inputs = spec.inputs.get(lay.code) or {}
        blank = all(is_blank(inputs.get(c.ref)) for r in runs_ for c in r.cells)
        message = f"{kind.title()}: {kind.hint()}"
        declared = f"'{COVER_SHEET}'!{a1(nil_rows[lay.code], NIL_COL, abs_row=True, abs_col=True)}"
        out.append(_Line(lay.code, "Cả biểu", kind.severity,
                         f'IF(OR(({filled_formula(runs_, lay.sheet)})>0,TRIM({declared})="{NIL_TEXT}"),'
                         f'"{OK_TEXT}",G{{row}})',
                         message if blank else OK_TEXT, runs_[0].first.addr, lay.sheet, message))
    found: dict[str, dict] = {}         # table -> input Ref -> the codes the validator would give it
    for lay, check, runs_ in value_lines(spec.layouts):
        kind = CATALOGUE[check.code]
        if lay.code not in found:
            inputs = spec.inputs.get(lay.code) or {}
            found[lay.code] = {c.ref: {code for code, _ in check_value(inputs.get(c.ref), c, spec.dates).problems}
                               for c in lay.input_cells}
        offending = [c for r in runs_ for c in r.cells if check.code in found[lay.code][c.ref]]
        n = len(offending)
        message = f"{kind.title()}: {kind.hint()}"
        count = count_formula(check, runs_, lay.sheet)
        out.append(_Line(lay.code, "Ô nhập số liệu", kind.severity,
                         f'IF(H{{row}}=0,"{OK_TEXT}",H{{row}}&" ô — "&G{{row}})',
                         OK_TEXT if not n else f"{n} ô — {message}",
                         runs_[0].first.addr, ", ".join(r.range().replace("$", "") for r in runs_)[:250], message,
                         count, n, first=first_formula(check, runs_, lay.sheet),
                         first_cached=min((c.row, c.col) for c in offending) if offending else None))
    return out


def _nil_rows(spec: WorkbookSpec) -> dict[str, int]:
    """0-based cover-sheet row of each table's line (and its nil declaration): see ``_write_cover``."""
    r = 3 + len(_cover_rows(spec)) + 1 + len(COVER_STEPS) + 1 + 4
    return {lay.code: r + i for i, lay in enumerate(spec.layouts)}


def _write_check(ws, spec: WorkbookSpec, st: Styles) -> None:
    for c, w in CHECK_WIDTHS.items():
        ws.set_column(c, c, w)
    ws.set_column(8, 8, 30, None, {"hidden": True})     # the numbers a failing rule line shows
    ws.set_column(FIRST_COL, FIRST_COL, 10, None, {"hidden": True})   # a cell-check line's first offending cell
    _merge(ws, 0, 0, 0, 7, "KIỂM TRA SỐ LIỆU TRƯỚC KHI GỬI", st.title)
    _merge(ws, 1, 0, 1, 7, "Bảng này tự tính lại khi nhập số liệu. Mọi dòng phải là \"Đạt\" trước khi gửi báo cáo.",
                   st.subtitle)
    lines = _check_entries(spec)
    sheets = {lay.code: lay.sheet for lay in spec.layouts}
    first, last = CHECK_FIRST_ROW, CHECK_FIRST_ROW + max(len(lines), 1) - 1
    res = f"$E${first + 1}:$E${last + 1}"
    sev = f"$D${first + 1}:$D${last + 1}"
    n_err = f'COUNTIFS({res},"<>{OK_TEXT}",{sev},"{SEVERITY_VI["error"]}")'
    n_warn = f'COUNTIFS({res},"<>{OK_TEXT}",{sev},"{SEVERITY_VI["warning"]}")'
    errs = sum(1 for x in lines if x.cached != OK_TEXT and x.severity == "error")
    warns = sum(1 for x in lines if x.cached != OK_TEXT and x.severity == "warning")
    ws.write_string(3, 0, "Tổng hợp:", st.bold)
    ws.write_formula(3, 2, f'=IF({n_err}=0,"Đạt: không có lỗi","Chưa đạt: "&{n_err}&" lỗi")', st.bold,
                     "Đạt: không có lỗi" if not errs else f"Chưa đạt: {errs} lỗi")
    ws.write_formula(3, 4, f'=IF({n_warn}=0,"Không có cảnh báo",{n_warn}&" cảnh báo cần xem lại")', st.plain,
                     "Không có cảnh báo" if not warns else f"{warns} cảnh báo cần xem lại")
    for c, h in enumerate(["STT", "Biểu", "Dòng / cột", "Mức độ", "Kết quả", "Ô liên quan", "Thông báo khi chưa đạt",
                           "Số ô sai"]):
        ws.write_string(first - 1, c, h, st.header)
    for i, x in enumerate(lines):
        r = first + i
        ws.write_number(r, 0, i + 1, st.stt)
        ws.write_string(r, 1, x.code, st.stt)
        ws.write_string(r, 2, x.where, st.label[0])
        ws.write_string(r, 3, SEVERITY_VI[x.severity], st.stt)
        ws.write_formula(r, 4, "=" + x.result.replace("{row}", str(r + 1)), st.label[0], x.cached)
        if x.first is None:
            ws.write_url(r, 5, f"internal:'{sheets[x.code]}'!{x.link}", st.link, string=x.cells)
        else:       # the link follows the first offending cell, computed in the hidden column J
            pos = position(*x.first_cached) if x.first_cached else FIRST_NONE
            ws.write_array_formula(r, FIRST_COL, r, FIRST_COL, "{=" + x.first + "}", st.plain, pos)
            j, none = a1(r, FIRST_COL), f"{a1(r, FIRST_COL)}>={FIRST_NONE}"
            ws.write_formula(r, 5, f'=HYPERLINK("#\'{sheets[x.code]}\'!"&IF({none},"{x.link}",{first_address(j)}),'
                                   f'IF({none},"{x.cells}","{FIRST_TEXT} "&{first_address(j)}&" — "&"{x.cells}"))',
                             st.link, f"{FIRST_TEXT} {a1(*x.first_cached)} — {x.cells}" if x.first_cached else x.cells)
        ws.write_string(r, 6, x.message, st.label[0])
        if x.count is not None:
            ws.write_formula(r, 7, "=" + x.count, st.stt, x.n)
        if x.numbers is not None:
            ws.write_formula(r, 8, "=" + x.numbers, st.plain, x.numbers_cached)
        # a failing line shows the message and its numbers in "Kết quả": room for both, in print too
        height = fit_height([(x.where, CHECK_WIDTHS[2]), (x.message, CHECK_WIDTHS[6]),
                             (f"{x.message} (Số liệu: {x.numbers_cached or '…'})" if x.numbers is not None
                              else x.message, CHECK_WIDTHS[4]), (x.cached, CHECK_WIDTHS[4])])
        if height:
            ws.set_row(r, height)
    ws.conditional_format(first, 4, last, 4, {"type": "cell", "criteria": "==", "value": f'"{OK_TEXT}"',
                                               "format": st.ok_cf})
    ws.conditional_format(first, 4, last, 4, {"type": "cell", "criteria": "!=", "value": f'"{OK_TEXT}"',
                                               "format": st.error_cf})
    ws.conditional_format(3, 2, 3, 2, {"type": "text", "criteria": "begins with", "value": "Chưa đạt",
                                       "format": st.error_cf})
    ws.freeze_panes(first, 0)
    ws.autofilter(first - 1, 0, last, 7)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(first - 1)
    ws.print_area(0, 0, last, 7)                          # the hidden numbers column stays out
    _protect(ws, spec)


COVER_STEPS = [
    "1. Chỉ nhập vào các ô màu vàng; các ô khác đã khóa. Ô màu cam nhạt là ô bắt buộc.",
    "2. Các ô màu xanh là công thức (tổng, tỷ lệ): không nhập, không sửa, không dán đè.",
    "3. Nhập số bằng chữ số, không kèm chữ (ví dụ 12, không ghi \"12 hồ sơ\"); tỷ lệ nhập 0–100.",
    "4. Không chèn, xóa dòng/cột, không đổi tên trang tính; không sao chép biểu sang tệp khác.",
    f"5. Xem trang \"{CHECK_SHEET}\": mọi dòng phải \"Đạt\"; ô sai được tô đỏ trên biểu.",
    "6. Lưu tệp dạng .xlsx và gửi về cơ quan thường trực trước hạn; không cần đổi tên tệp.",
    f"7. Biểu nào trong kỳ không phát sinh số liệu: chọn \"{NIL_TEXT}\" bên cạnh tên biểu ở cuối trang "
    "này; biểu để trống mà không khai báo bị coi là chưa nhập số liệu.",
]


ASSUMED_WINDOW = " (giả định: văn bản hướng dẫn không quy định thời điểm chốt số liệu)"
ASSUMED_DEADLINE = " (giả định: xem phần Căn cứ)"


def _cover_rows(spec: WorkbookSpec) -> list[tuple[str, str]]:
    d = spec.dates
    rows = [
        ("Đơn vị báo cáo", spec.unit_name + (f" — {spec.owner}" if spec.part != "main" and spec.owner else "")),
        ("Mã đơn vị", spec.unit_code + ("" if spec.part == "main" else f" (phần {spec.part})")),
        ("Kỳ báo cáo", d.period.label),
        # an assumed window is never shown as if a guideline stated it
        ("Thời gian chốt số liệu", f"Từ {d.window_start:%d/%m/%Y} đến {d.window_end:%d/%m/%Y}"
                                   + (ASSUMED_WINDOW if d.assumed else "")),
        ("Hạn gửi báo cáo", f"Chậm nhất ngày {d.deadline:%d/%m/%Y}" + (ASSUMED_DEADLINE if d.deadline_assumed else "")),
    ]
    fr = spec.field_report
    if fr is not None:
        late = (f" Báo cáo chuyên đề là mục tổng hợp lĩnh vực của đề cương trong tệp này: tệp nhận sau ngày "
                f"{fr.deadline:%d/%m/%Y} bị tính là trễ hạn." if fr.deadline < d.deadline else "")
        rows.append(("Hạn gửi báo cáo chuyên đề lĩnh vực", f"Chậm nhất ngày {fr.deadline:%d/%m/%Y}: {fr.note}{late}"))
    return rows + [("Căn cứ", d.note), ("Liên hệ", spec.contact)]


def _write_cover(ws, spec: WorkbookSpec, st: Styles, vocab_ranges: dict[str, str]) -> None:
    ws.set_column(0, 0, 4)
    ws.set_column(1, 1, 28)
    ws.set_column(2, 2, 90)
    _merge(ws, 0, 0, 0, 2, spec.province_name.upper(), st.bold)
    _merge(ws, 1, 0, 1, 2, "BÁO CÁO CÔNG TÁC CẢI CÁCH HÀNH CHÍNH", st.title)
    rows = _cover_rows(spec)
    for i, (k, v) in enumerate(rows):
        ws.write_string(3 + i, 1, k, st.bold)
        ws.write_string(3 + i, 2, v, st.wrap)
        lines = -(-len(v) // 95)            # column C holds ~95 characters a line
        if lines > 1:
            ws.set_row(3 + i, 16 * lines)
    r = 3 + len(rows) + 1
    ws.write_string(r, 1, "Cách điền", st.bold)
    steps = COVER_STEPS
    for i, s in enumerate(steps):
        ws.write_string(r + i, 2, s, st.wrap)
        height = fit_height([(s, 90)])
        if height:
            ws.set_row(r + i, height)
    r += len(steps) + 1
    ws.write_string(r, 1, "Chú giải màu", st.bold)
    ws.write_string(r, 2, "Ô nhập số liệu", st.legend_input)
    ws.write_string(r + 1, 2, "Ô công thức (tự tính)", st.legend_computed)
    ws.write_string(r + 2, 2, "Ô có lỗi (tô khi số liệu không hợp lệ)", st.legend_error)
    r += 4
    ws.write_string(r, 1, "Các biểu trong tệp", st.bold)
    ws.set_column(NIL_COL, NIL_COL, 26)
    ws.write_string(r - 1, NIL_COL, NIL_HEADER, st.wrap)
    for i, lay in enumerate(spec.layouts):
        ws.write_url(r + i, 2, f"internal:'{lay.sheet}'!A1", st.link, string=f"{lay.code}: {lay.title}")
        if lay.blueprint.kind != "outline":
            ws.write_blank(r + i, NIL_COL, None, st.input(CellType.text))
            ws.data_validation(r + i, NIL_COL, r + i, NIL_COL, {"validate": "list", "source": vocab_ranges["_nil"]})
    r += len(spec.layouts)
    ws.write_url(r, 2, f"internal:'{CHECK_SHEET}'!A1", st.link, string=f"{CHECK_SHEET}: tự kiểm tra số liệu")
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    _protect(ws, spec)


def _write_meta(ws, spec: WorkbookSpec, st: Styles) -> None:
    ws.write_string(0, 0, "key", st.meta)
    ws.write_string(0, 1, "value", st.meta)
    for i, (k, v) in enumerate(spec.metadata.as_pairs(), 1):
        ws.write_string(i, 0, k, st.meta)
        ws.write_string(i, 1, v, st.meta)
    ws.very_hidden()
    _protect(ws, spec)
