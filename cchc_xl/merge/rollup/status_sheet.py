"""The "Tình hình nộp báo cáo" sheet: who has sent what, counted, charted and listed."""

from __future__ import annotations

from ...blueprint.model import CellType
from ...labels import RECEIPT_SOURCES, STATUS_LABELS, VERDICT_LABELS
from ...layout import a1
from ...xlsx.styles import FONT
from ..pieces import unit_type_label
from .cells import Widths, fit_row, print_setup, put, put_formula, put_text
from .context import Context
from .names import CHART_ROWS, STATUS_HEADERS, STATUS_NAMES_WIDTH, STATUS_SHEET, STATUS_WIDTHS
from .template import type_order

# the count lines of part I, in order: (status, label); "held" says what holding means
COUNTED_LINES = (("on_time", STATUS_LABELS["on_time"]), ("late", STATUS_LABELS["late"]),
                 ("missing", STATUS_LABELS["missing"]), ("rejected", STATUS_LABELS["rejected"]),
                 ("held", f"{STATUS_LABELS['held']} (chưa xác thực)"), ("withdrawn", STATUS_LABELS["withdrawn"]))
BY_TYPE_STATUSES = ("on_time", "late", "missing", "rejected")       # part II's columns
WITH_ERRORS = "Báo cáo có lỗi"
# the conditional format of each status and verdict in the list
STATUS_CF = {"on_time": "ok_cf", "late": "warn_cf", "missing": "error_cf", "rejected": "reject_cf",
             "held": "reject_cf", "withdrawn": "warn_cf"}
VERDICT_CF = {"ok": "ok_cf", "warnings": "warn_cf", "errors": "error_cf", "rejected": "reject_cf"}


def build(ctx: Context) -> None:
    """What prints (rows 0 to the end of part III, columns A–K, one or two A4 pages): the counts,
    the breakdown by unit type, the two charts and the units to chase; the full list below is
    for the screen (filters) and stays outside the print area."""
    ws = ctx.plan.add_sheet(STATUS_SHEET)
    f, subs = ctx.f, ctx.data.submissions
    ctx.title(ws, f"TÌNH HÌNH NỘP BÁO CÁO CẢI CÁCH HÀNH CHÍNH {ctx.data.period.label.upper()}")
    headers = list(STATUS_HEADERS)
    n = len(subs)
    types = sorted({s.unit_type for s in subs}, key=type_order(ctx.data.unit_types))
    chase = _to_chase(subs)

    # -- plan the rows: I. counts (beside: II. by unit type), charts, III. to chase, IV. the list
    top = 5
    n_summary = 10
    charts_row = top + 1 + max(n_summary, len(types) + 1) + 1
    chase_head = charts_row + (CHART_ROWS if n else 0) + 1
    chase_rows = _chase_rows(chase)
    list_heading = chase_head + 1 + max(1, len(chase_rows)) + 1
    head = list_heading + 1
    first = head + 1
    last = first + max(1, n) - 1
    status_rng = f"{a1(first, 5, abs_row=True, abs_col=True)}:{a1(last, 5, abs_row=True, abs_col=True)}"
    type_rng = f"{a1(first, 3, abs_row=True, abs_col=True)}:{a1(last, 3, abs_row=True, abs_col=True)}"
    verdict_rng = f"{a1(first, 8, abs_row=True, abs_col=True)}:{a1(last, 8, abs_row=True, abs_col=True)}"
    ctx.note(
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
        *((label, f'COUNTIF({status_rng},"{STATUS_LABELS[key]}")', counts[key], f.int)
          for key, label in COUNTED_LINES),
        ("Đã nộp (đúng hạn và trễ hạn)", f"{a1(r0 + 1, 3)}+{a1(r0 + 2, 3)}",
         counts["on_time"] + counts["late"], f.int),
        ("Tỷ lệ nộp đúng hạn (%)", f'IFERROR({a1(r0 + 1, 3)}/{a1(r0, 3)}*100,"")', rate,
         f.sum(CellType.percent)),
        (WITH_ERRORS, f'COUNTIF({verdict_rng},"{VERDICT_LABELS["errors"]}")', with_errors, f.int),
    ]
    ws.write_string(top - 1, 0, "I. SỐ LIỆU TỔNG HỢP", f.section)
    ws.merge_range(top, 0, top, 2, "Nội dung", f.header)
    ws.write_string(top, 3, "Số báo cáo", f.header)
    for i, (label, formula, value, fmt) in enumerate(summary):
        ws.write_number(r0 + i, 0, i + 1, f.int)
        ws.merge_range(r0 + i, 1, r0 + i, 2, label, f.text)
        put_formula(ws, r0 + i, 3, formula, fmt, value)

    # -- II. by unit type (beside the counts)
    bc = 4
    by_type_headers = ["Loại đơn vị", "Phải nộp", *(STATUS_LABELS[k] for k in BY_TYPE_STATUSES),
                       "Tỷ lệ nộp đúng hạn (%)"]
    ws.write_string(top - 1, bc, "II. THEO LOẠI ĐƠN VỊ", f.section)
    for i, h in enumerate(by_type_headers):
        ws.write_string(top, bc + i, h, f.header)
    fit_row(ws, top, [(h, 10) for h in by_type_headers[1:]])
    for j, t in enumerate(types):
        r = r0 + j
        label = unit_type_label(t, ctx.data.unit_types)
        crit = a1(r, bc, abs_col=True)
        ws.write_string(r, bc, label, f.label[0])
        of_type = [s for s in subs if s.unit_type == t]
        put_formula(ws, r, bc + 1, f"COUNTIF({type_rng},{crit})", f.int, len(of_type))
        for k, key in enumerate(BY_TYPE_STATUSES):
            put_formula(ws, r, bc + 2 + k, f'COUNTIFS({type_rng},{crit},{status_rng},"{STATUS_LABELS[key]}")',
                     f.int, sum(1 for s in of_type if s.status == key))
        on_time = sum(1 for s in of_type if s.status == "on_time")
        put_formula(ws, r, bc + 6, f'IFERROR({a1(r, bc + 2)}/{a1(r, bc + 1)}*100,"")', f.sum(CellType.percent),
                 on_time / len(of_type) * 100 if of_type else "")
    if not types:
        ws.write_string(r0, bc, "Kỳ này không có đơn vị nào phải nộp báo cáo.", f.note)

    # -- charts (inside the print area, under the counts)
    if n:
        pie = ctx.plan.add_chart({"type": "pie"})
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
        col = ctx.plan.add_chart({"type": "column"})
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
        fit_row(ws, r, [(names, STATUS_NAMES_WIDTH), (label, 22)], cap=409)

    # -- IV. the full list (screen only)
    ws.write_string(list_heading, 0,
                    "IV. DANH SÁCH ĐẦY ĐỦ (để xem và lọc trên màn hình; không in)", f.section)
    ctx.add_table(ws, head, 0, n, headers, "NopBaoCao")
    widths = Widths()
    for i, s in enumerate(subs):
        r = first + i
        row = [
            i + 1, s.unit_code, s.unit_name, unit_type_label(s.unit_type, ctx.data.unit_types), s.owner,
            STATUS_LABELS.get(s.status, s.status), s.days_late, ", ".join(s.missing_codes),
            VERDICT_LABELS.get(s.verdict or "", s.verdict or ""), s.errors, s.warnings, s.versions,
            s.file or "", s.received_at, s.admission_note, RECEIPT_SOURCES.get(s.receipt_source or "", ""),
            ", ".join(s.nil_codes),
        ]
        ws.write_number(r, 0, i + 1, f.int)
        for c in (1, 2, 3, 4, 5, 7, 8, 12):
            put_text(ws, r, c, row[c], f.center if c in (1, 5, 8) else f.text)
        for c in (6, 9, 10, 11):
            ws.write_number(r, c, row[c] or 0, f.int)
        put(ws, r, 13, s.received_at, f.datetime)
        put_text(ws, r, 14, s.admission_note, f.text)
        put_text(ws, r, 15, RECEIPT_SOURCES.get(s.receipt_source or "", ""), f.text)
        put_text(ws, r, 16, row[16], f.text)
        for c, v in enumerate(row):
            if c not in (2, 3, 4):
                widths.see(c, v, cap=45)

    # conditional formats by status and verdict
    for label, fmt in ((STATUS_LABELS[k], getattr(f, STATUS_CF[k])) for k in STATUS_LABELS):
        ws.conditional_format(first, 5, last, 5,
                              {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt})
    for label, fmt in ((VERDICT_LABELS[k], getattr(f, VERDICT_CF[k])) for k in VERDICT_LABELS):
        ws.conditional_format(first, 8, last, 8,
                              {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": fmt})
    ws.conditional_format(first, 6, last, 6, {"type": "cell", "criteria": ">", "value": 0, "format": f.warn_cf})

    # fixed widths for the columns the printed part spans (A–K, about 185 characters: A4 landscape
    # at about 75 %); the list's own texts widen only the columns after K
    widths.apply(ws, fixed={**STATUS_WIDTHS, 12: 40, 13: 17, 14: 40, 15: 16})
    ws.set_row(head, 32)
    ws.set_row(top, 45)
    ws.add_block("counts", top, r0 + len(summary) - 1, 0, 3)
    ws.add_block("by_type", top, r0 + max(1, len(types)) - 1, bc, bc + len(by_type_headers) - 1)
    ws.add_block("to_chase", chase_head, chase_head + max(1, len(chase_rows)), 0, 10)
    ws.add_block("list", head, last, 0, len(headers) - 1)
    ws.freeze_panes(first, 3)
    ws.set_print_area(0, 0, chase_head + max(1, len(chase_rows)), 10)
    print_setup(ws, None)

def _to_chase(subs) -> dict[str, list[str]]:
    """Status line -> the units (by name, with the office of a part) it names."""
    def name(s):
        return s.unit_name if s.part == "main" else f"{s.unit_name} ({s.owner})"

    out: dict[str, list[str]] = {}
    for s in subs:
        if s.status == "missing":
            out.setdefault(STATUS_LABELS["missing"], []).append(name(s))
        elif s.status == "late":
            out.setdefault(STATUS_LABELS["late"], []).append(f"{name(s)} ({s.days_late} ngày)")
        elif s.status in ("rejected", "held", "withdrawn"):
            out.setdefault(STATUS_LABELS[s.status], []).append(name(s))
        if s.status in ("on_time", "late") and s.verdict == "errors":
            out.setdefault(WITH_ERRORS, []).append(f"{name(s)} ({s.errors} lỗi)")
    order = [STATUS_LABELS["missing"], STATUS_LABELS["late"], WITH_ERRORS,
             *(STATUS_LABELS[k] for k in ("held", "rejected", "withdrawn"))]
    return {k: out[k] for k in order if k in out}

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
