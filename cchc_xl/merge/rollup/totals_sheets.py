"""The "Tổng hợp toàn tỉnh" sheet (province totals by reform area) and the lead agencies' field sheets."""

from __future__ import annotations

from ...labels import STATUS_LABELS
from ..areas import LeadField
from ..pieces import unit_type_label
from .cells import fit_row, print_setup, put, put_formula, put_text
from .context import Context
from .names import PROVINCE_SHEET, TOTALS_PRINT_WIDTH, field_sheet_name
from .template import template_title


def _totals_table(ctx: Context, ws, start: int, groups, *, formulas: bool, row_filter: str | None,
                  empty: str = "") -> int:
    f = ctx.f
    headers = ["Biểu", "Nội dung", "Cột", "Giá trị", "Mã dòng", "Mã cột"]
    for c, h in enumerate(headers):
        ws.write_string(start, c, h, f.header)
    r = start + 1
    count = 0
    for key, tpls in groups:
        found = [(tpl, ctx.items(tpl, row_filter)) for tpl in tpls]
        if row_filter:
            found = [(tpl, items) for tpl, items in found if items]
            if not found:
                continue
        ws.merge_range(r, 0, r, 3, ctx.areas.heading(key), f.area)
        r += 1
        for tpl, items in found:
            title = f"Phụ lục {', '.join(tpl.codes)}: {template_title(tpl)} ({len(tpl.units)} đơn vị có số liệu)"
            if tpl.apart:
                title += (f"; số toàn tỉnh không cộng {', '.join(tpl.apart)} (tính trùng), xem trang "
                          f"{tpl.sheet}")
            ws.merge_range(r, 0, r, 3, title, f.subhead)
            fit_row(ws, r, [(title, 128)])
            r += 1
            if not items:
                ws.write_string(r, 1, "Không có dòng số liệu phù hợp.", f.note)
                r += 1
            for it in items:
                put_text(ws, r, 0, tpl.sheet, f.text)      # the sheet it comes from (codes: the line above)
                put_text(ws, r, 1, it.line.label, f.label_bold if it.line.kind != "data" else f.label[0])
                put_text(ws, r, 2, it.col_label, f.wrap)
                fmt = f.sum(tpl.cell_type(it.line, it.col), bold=it.line.kind != "data")
                if formulas:
                    put_formula(ws, r, 3, it.address, fmt, it.value)
                else:
                    put(ws, r, 3, it.value, fmt)
                put_text(ws, r, 4, it.row_key, f.text)
                put_text(ws, r, 5, it.col, f.text)
                fit_row(ws, r, [(it.line.label, 55), (it.col_label, 45)])
                r += 1
                count += 1
    if count == 0:
        ws.merge_range(r, 0, r, 3, empty or "Chưa có biểu số liệu nào thuộc phạm vi này trong kỳ báo cáo.",
                       f.note_wrap)
        fit_row(ws, r, [(empty, 128)])
        r += 1
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 55)
    ws.set_column(2, 2, 45)
    ws.set_column(3, 3, 16)
    ws.set_column(4, 5, 16)
    return r

def build_province(ctx: Context) -> None:
    ws = ctx.plan.add_sheet(PROVINCE_SHEET)
    ctx.ensure_evaluated()
    ctx.title(ws, "TỔNG HỢP TOÀN TỈNH THEO LĨNH VỰC CẢI CÁCH HÀNH CHÍNH")
    apart = [f"{', '.join(t.apart)} (trang {t.sheet})" for t in ctx.templates if t.apart]
    ctx.note(
        ws, 2,
        'Giá trị là công thức tham chiếu tới dòng "Toàn tỉnh" trên trang của từng biểu; '
        "các tỷ lệ được tính lại từ số tổng. Trang in gồm bốn cột đầu; hai cột mã (kỹ thuật) không in."
        + (f" Số toàn tỉnh không cộng các biểu mà đơn vị đếm lại cùng thủ tục của cấp tỉnh: {'; '.join(apart)}."
           if apart else ""),
        3, TOTALS_PRINT_WIDTH)
    last = _totals_table(ctx, ws, 4, ctx.by_area(), formulas=True, row_filter=None)
    ws.freeze_panes(5, 0)
    ws.set_print_area(0, 0, max(last - 1, 4), 3)
    print_setup(ws, (4, 4))

def build_field(ctx: Context, key: str, lead: LeadField, *, formulas: bool) -> None:
    ws = ctx.plan.add_sheet(field_sheet_name(key))
    ctx.ensure_evaluated()
    ctx.title(ws, f"TỔNG HỢP LĨNH VỰC: {lead.label.upper()}")
    own = [s for s in ctx.data.submissions if s.unit_type == key]
    agency = own[0].unit_name if own else unit_type_label(key, ctx.data.unit_types)
    status = (
        "; ".join(f"{s.owner or s.unit_name}: {STATUS_LABELS.get(s.status, s.status)}" for s in own)
        or ("loại đơn vị này không còn trong danh mục đơn vị của tỉnh (đã sáp nhập hoặc đổi cấu hình); "
            "trang vẫn tổng hợp số liệu toàn tỉnh của lĩnh vực" if key not in ctx.data.unit_types
            else "không có trong danh sách phải nộp")
    )
    areas = ", ".join(ctx.areas.heading(a) for a in lead.areas)
    ctx.note(
        ws, 2,
        f"Cơ quan chủ trì tổng hợp: {agency} (tình hình nộp: {status}). "
        f"Lĩnh vực cải cách hành chính: {areas}."
        + (f' Chỉ gồm các dòng có "{lead.row_filter}".' if lead.row_filter else "")
        + " Trang in gồm bốn cột đầu; hai cột mã (kỹ thuật) không in.",
        3, TOTALS_PRINT_WIDTH)
    last = _totals_table(ctx, ws, 4, ctx.by_area(lead.areas), formulas=formulas, row_filter=lead.row_filter,
                              empty=_field_empty(ctx, key, lead, own))
    ws.freeze_panes(5, 0)
    ws.set_print_area(0, 0, max(last - 1, 4), 3)
    print_setup(ws, (4, 4))

def _field_empty(ctx: Context, key: str, lead: LeadField, own: list) -> str:
    """Why a field sheet has no figures, in words."""
    areas = ", ".join(ctx.areas.heading(a) for a in lead.areas)
    why = f"Chưa có biểu số liệu nào thuộc lĩnh vực {areas} trong kỳ báo cáo: không đơn vị nào gửi biểu của lĩnh vực này."
    if key not in ctx.data.unit_types:
        why += (f" Cơ quan chủ trì của lĩnh vực ({lead.label}, loại đơn vị {key}) không còn trong danh mục "
                "đơn vị của tỉnh (đã sáp nhập hoặc đổi cấu hình).")
    elif not own:
        why += f" {unit_type_label(key, ctx.data.unit_types)} không có trong danh sách phải nộp của kỳ này."
    elif not any(s.status in ("on_time", "late") for s in own):
        why += f" {own[0].unit_name} chưa gửi báo cáo được tính ({STATUS_LABELS.get(own[0].status, own[0].status)})."
    return why
