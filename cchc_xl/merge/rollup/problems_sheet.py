"""The "Lỗi" sheet: every problem found in the files, filterable."""

from __future__ import annotations

from ...labels import SEVERITY_LABELS
from ..model import ProblemRow
from .cells import Widths, fit_row, print_setup, put_text
from .context import Context
from .names import PROBLEMS_SHEET


def build(ctx: Context) -> None:
    ws = ctx.plan.add_sheet(PROBLEMS_SHEET)
    f = ctx.f
    probs: list[ProblemRow] = ctx.data.problems
    ctx.title(ws, "DANH SÁCH LỖI VÀ CẢNH BÁO TRONG CÁC TỆP BÁO CÁO")
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
    last = ctx.add_table(ws, head, 0, len(probs), headers, "Loi")
    widths = Widths()
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
            put_text(ws, r, c, v or "", f.wrap if c in (9, 10) else f.text)
            widths.see(c, v, cap=40)
        fit_row(ws, r, [(p.message, 60), (p.hint, 50)])
    ws.conditional_format(
        first, 8, last, 8, {"type": "cell", "criteria": "==", "value": f'"{SEVERITY_LABELS["error"]}"', "format": f.error_cf}
    )
    ws.conditional_format(
        first, 8, last, 8, {"type": "cell", "criteria": "==", "value": f'"{SEVERITY_LABELS["warning"]}"', "format": f.warn_cf}
    )
    widths.apply(ws, fixed={0: 5, 4: 14, 5: 8, 8: 10, 9: 60, 10: 50})
    ws.freeze_panes(first, 3)
    ws.set_print_area(0, 0, last, len(headers) - 1)     # the list of problems is what an officer acts on
    print_setup(ws, (head, head))

