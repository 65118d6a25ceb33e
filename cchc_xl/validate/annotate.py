"""``--annotate``: the copy a secretariat sends back — offending cells painted, a note on each,
and a "Lỗi" sheet listing every problem with a link to its cell. The original is never touched."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import replacing
from ..labels import VERDICT_TO_CLERK
from ..problems import ValidationReport
from ..read.values import read_grids
from ..xlsx.styles import ERROR_FILL

if TYPE_CHECKING:
    import openpyxl

# openpyxl is imported when a copy is written, not with this module: it costs about 0.45 s of
# start-up (it pulls in numpy), measured with -X importtime, that `validate FILE` never needs.
WARN_FILL = "#FFEB9C"
ERRORS_SHEET = "Lỗi"
SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}


ANNOTATED_SUFFIX = "_kiem-tra.xlsx"   # merge's inbox scan skips these copies


def annotated_name(path: Path) -> str:
    return f"{path.stem}{ANNOTATED_SUFFIX}"


def _open(path: Path) -> openpyxl.Workbook:
    import openpyxl

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    # .xls / .ods: a fresh .xlsx with the same sheets and values (openpyxl cannot open them)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, grid in read_grids(path).items():
        ws = wb.create_sheet(name[:31])
        for row in grid:
            ws.append([None if v == "" else v for v in row])
    return wb


def annotate(report: ValidationReport, out_dir: Path) -> Path | None:
    if not report.problems:
        return None
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    fills = {"error": PatternFill("solid", fgColor=ERROR_FILL.lstrip("#")),
             "warning": PatternFill("solid", fgColor=WARN_FILL.lstrip("#"))}
    src = Path(report.path)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / annotated_name(src)
    if target.resolve() == src.resolve():
        raise ValueError(f"{src}: thư mục --annotate trùng thư mục tệp gốc")
    try:
        wb = _open(src)
    except Exception:  # noqa: BLE001 - an unreadable file still gets its list of problems
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
    notes: dict[tuple[str, str], list[str]] = {}
    for p in report.problems:
        if p.sheet and p.cell and p.sheet in wb.sheetnames:
            notes.setdefault((p.sheet, p.cell), []).append(p)
    for (sheet, addr), problems in notes.items():
        ws = wb[sheet]
        c = ws[addr]
        worst = "error" if any(p.severity == "error" for p in problems) else "warning"
        c.fill = fills[worst]
        text = "\n".join(f"[{SEVERITY_VI[p.severity]}] {p.message}" + (f"\n→ {p.hint}" if p.hint else "")
                         for p in problems)
        c.comment = Comment(text[:30000], "cchc_xl", width=320, height=160)
    if ERRORS_SHEET in wb.sheetnames:
        del wb[ERRORS_SHEET]
    ws = wb.create_sheet(ERRORS_SHEET, 0)
    ws.append([f"KẾT QUẢ KIỂM TRA TỆP {src.name}"])
    ws["A1"].font = Font(name="Times New Roman", bold=True, size=14)
    ws.append([f"Đơn vị: {report.unit_name or report.unit or '(chưa xác định)'} — kỳ {report.period or '?'} — "
               f"kết luận: {_status_vi(report.status)}; {len(report.errors)} lỗi, {len(report.warnings)} cảnh báo."])
    ws.append([])
    header = ["STT", "Mức độ", "Trang", "Ô", "Biểu", "Mã lỗi", "Nội dung", "Cách khắc phục"]
    ws.append(header)
    for cell in ws[4]:
        cell.font = Font(name="Times New Roman", bold=True)
    for i, p in enumerate(report.problems, 1):
        ws.append([i, SEVERITY_VI[p.severity], p.sheet or "", p.cell or "", p.table or "", p.code,
                   p.message, p.hint or ""])
        for c in ws[ws.max_row]:
            if isinstance(c.value, str):
                c.data_type = "s"   # a message quoting a unit's "=..." text never becomes a formula
        if p.sheet and p.cell and p.sheet in wb.sheetnames:
            link = ws.cell(row=ws.max_row, column=4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{p.sheet}'!{p.cell}")
            link.font = Font(name="Times New Roman", color="0000FF", underline="single")
    for col, width in zip("ABCDEFGH", (6, 10, 14, 8, 12, 28, 80, 60)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A5"
    ws.auto_filter.ref = f"A4:H{ws.max_row}"
    wb.active = 0
    with replacing(target) as tmp:
        wb.save(tmp)
    return target


def _status_vi(status: str) -> str:
    return VERDICT_TO_CLERK.get(status, status)
