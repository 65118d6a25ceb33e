"""The sheet of figures to check against the unit's own earlier reports (merge/plausibility.py)."""

from __future__ import annotations

from pathlib import Path

from ...config.period import parse_period
from ...labels import FINDINGS_SHEET
from ...problems import display
from .cells import Widths, fit_row, print_setup, put_text
from .context import Context


def build(ctx: Context) -> None:
    """Figures that need checking against the unit's own earlier reports (merge/plausibility.py):
    warnings, per unit, with both numbers and the source cell; no file is rejected for them."""
    ws = ctx.plan.add_sheet(FINDINGS_SHEET)
    f, items = ctx.f, ctx.data.findings
    ctx.title(ws, "SỐ LIỆU CẦN XÁC MINH SO VỚI CÁC KỲ TRƯỚC CỦA CHÍNH ĐƠN VỊ")
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
    ctx.add_table(ws, head, 0, len(items), headers, "CanXacMinh")
    widths = Widths()
    kinds = {"plausibility.cumulative_drop": "Số lũy kế giảm", "plausibility.outlier": "Khác xa các kỳ trước"}
    for i, it in enumerate(items):
        r = first + i
        ws.write_number(r, 0, i + 1, f.int)
        cols = [it.unit_code, it.unit_name, it.appendix, it.row_label, it.column_label]
        for c, v in enumerate(cols, 1):
            put_text(ws, r, c, v, f.wrap if c in (4, 5) else f.text)
            widths.see(c, v, cap=40)
        ws.write_number(r, 6, it.value, f.int)
        periods = "; ".join(parse_period(p).label for p, _ in it.earlier)
        put_text(ws, r, 7, periods, f.wrap)
        if len(it.earlier) == 1:
            ws.write_number(r, 8, it.earlier[0][1], f.int)
        else:
            put_text(ws, r, 8, "; ".join(display(v) for _, v in it.earlier), f.text)
        for c, v in enumerate([kinds.get(it.code, it.code), Path(it.file).name, it.sheet, it.cell, it.message], 9):
            put_text(ws, r, c, v, f.wrap if c == 13 else f.text)
            widths.see(c, v, cap=30)
        fit_row(ws, r, [(it.message, 60), (it.row_label, 30)])
    widths.apply(ws, fixed={0: 5, 4: 30, 5: 30, 6: 12, 7: 16, 8: 12, 13: 60})
    ws.freeze_panes(first, 3)
    ws.set_print_area(0, 0, first + max(1, len(items)) - 1, len(headers) - 1)
    print_setup(ws, (head, head))
