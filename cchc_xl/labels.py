"""Labels a user reads for submission statuses and verdicts: defined once, used by the CLI, the
roll-up and the add-in."""

from __future__ import annotations

# what happened to an expected submission in a period
STATUS_LABELS = {
    "on_time": "Đúng hạn",
    "late": "Trễ hạn",
    "missing": "Chưa nộp",
    "rejected": "Bị từ chối",
    "held": "Tạm giữ",
    "withdrawn": "Đã rút",
}
# the validator's verdict on one file
VERDICT_LABELS = {"ok": "Đạt", "warnings": "Có cảnh báo", "errors": "Có lỗi", "rejected": "Bị từ chối"}
# the same verdict told to the clerk about their own file (annotated copy, add-in)
VERDICT_TO_CLERK = {**VERDICT_LABELS, "warnings": "Đạt, có cảnh báo"}
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}
# where a receipt time came from
RECEIPT_SOURCES = {"stated": "Cán bộ ghi nhận", "register": "Sổ tiếp nhận", "email": "Thư điện tử (Date)",
                   "first_seen": "Lần đầu thấy tệp"}
# the roll-up sheet of figures that need checking against earlier periods (merge/plausibility.py)
FINDINGS_SHEET = "Cần xác minh"

# the folder (in the inbox, or where ``validate --annotate`` writes) of the copies marked with their
# problems: a merge's inbox scan never reads it
ANNOTATED_DIR = "kiem-tra"
