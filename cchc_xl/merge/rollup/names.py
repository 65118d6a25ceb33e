"""The roll-up's sheet names, headers and fixed widths: one place for every label its sheets share."""

from __future__ import annotations

import re

from ...layout import LayoutCol

STATUS_SHEET = "Tình hình nộp báo cáo"
PROVINCE_SHEET = "Tổng hợp toàn tỉnh"
COMPARE_SHEET = "So sánh"
PROBLEMS_SHEET = "Lỗi"
NARRATIVES_SHEET = "Nội dung báo cáo"
PROVINCE_SCOPE = "Toàn tỉnh"

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

DETAIL_BLOCK = "detail"      # the plan's name of a template sheet's detail table (header row included)
SUMMARY_KEY_HEADER = "Mã dòng (kỹ thuật, không in)"   # summaries: the row key their SUMIFS match
# the summary blocks' leading columns (the label spans the detail table's "Mã dòng" and "Nội dung")
BLOCK_HEADERS = ("Phạm vi tổng hợp", "Tên đơn vị, nhóm", "STT", "Số đơn vị", "Nội dung", "")
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def field_sheet_name(unit_type: str) -> str:
    return f"Lĩnh vực {unit_type}"[:31]


def column_header(lc: LayoutCol) -> str:
    """The header of a value column: the blueprint's header groups and label, joined by " › "."""
    return " › ".join([*lc.header, lc.label])



class SheetNames:
    """Sheet names made unique (case-insensitively), cut to Excel's 31 characters."""

    def __init__(self):
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        base = BAD_SHEET_CHARS.sub("-", wanted).strip("'").strip() or "Biểu"
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
