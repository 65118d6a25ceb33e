"""The secretariat's decisions on the record: ``accept`` a held file, ``withdraw`` a counted one.

Decisions are rows of the ledger (when, what, which content, why); they are reversible (``undo``
marks one undone, keeping it on the record), shown in the roll-up, and independent of validation,
so a ``merge --full`` that validates every file again keeps them.
"""

from __future__ import annotations

from pathlib import Path

from ..config.period import Period
from ..config.workspace import Workspace
from ..errors import CchcError
from ..read.digest import file_hash
from .ledger import ContentRow, Ledger, workspace_lock
from .run import LEDGER_NAME, decision_note


class DecisionError(CchcError):
    """A decision that cannot be taken (unknown file or unit, nothing to undo …)."""


def find_ledger(ws: Workspace, near: Path | None) -> Path:
    """The workspace's ledger; outside a workspace, the nearest one above ``near``."""
    if ws.root is not None:
        return ws.root / LEDGER_NAME
    for d in [*(Path(near).resolve().parents if near else []), Path.cwd()]:
        if (d / LEDGER_NAME).is_file():
            return d / LEDGER_NAME
    raise DecisionError("không tìm thấy sổ theo dõi (cchc_ledger.sqlite): hãy chạy 'cchc_xl merge' trước, "
                        "trong thư mục làm việc")


def decide(ws: Workspace, action: str, target: Path | str, reason: str, *, undo: bool = False,
           period: Period | None = None) -> dict:
    reason = reason.strip()
    if not reason:
        raise DecisionError("cần ghi lý do (--reason)")
    path = Path(target)
    lpath = find_ledger(ws, path if path.exists() else None)
    if not lpath.is_file():
        raise DecisionError(f"chưa có sổ theo dõi {lpath}: hãy chạy 'cchc_xl merge' trước")
    with workspace_lock(lpath.with_suffix(".lock")):
        ledger = Ledger(lpath)
        try:
            content = _target(ledger, action, path, str(target), period)
            if undo:
                d = ledger.undo(content.hash, action, reason)
                if d is None:
                    raise DecisionError(f"tệp {content.first_path} không có quyết định "
                                        f"{'chấp nhận' if action == 'accept' else 'rút'} nào để huỷ")
            else:
                if action == "accept" and not (content.hold or content.status == "rejected"):
                    raise DecisionError(f"tệp {content.first_path} không bị tạm giữ: không cần chấp nhận")
                if action == "accept" and content.status == "rejected" and not content.hold:
                    raise DecisionError(f"tệp {content.first_path} không đọc được số liệu (bị từ chối): "
                                        "không thể chấp nhận")
                d = ledger.decide(content.hash, action, reason)
            note = decision_note(d, content)
        finally:
            ledger.close()
    return {"action": action, "undo": undo, "hash": content.hash, "file": content.first_path,
            "submission": content.submission, "period": content.period, "at": d.at, "reason": reason,
            "message": f"Đã ghi vào sổ theo dõi: {note}. Chạy lại 'cchc_xl merge' để cập nhật bảng tổng hợp."}


def _target(ledger: Ledger, action: str, path: Path, text: str, period: Period | None) -> ContentRow:
    if path.is_file():
        c = ledger.content(file_hash(path))
        if c is None:
            raise DecisionError(f"tệp {path} chưa có trong sổ theo dõi: hãy chép vào inbox/ và chạy 'cchc_xl merge'")
        return c
    if action != "withdraw":
        raise DecisionError(f"không tìm thấy tệp {path}")
    # a unit (submission key): its counted content in the period
    periods = [str(period)] if period else sorted(ledger.periods(), reverse=True)
    for p in periods:
        c = ledger.counted(p).get(text)
        if c is not None:
            return c
    # nothing counted: for --undo, the content of that unit withdrawn last
    _, withdrawn = ledger.standing_decisions()
    for p in periods:
        for c in reversed(ledger.contents(p)):
            if c.submission == text and c.hash in withdrawn:
                return c
    raise DecisionError(f"đơn vị {text} không có báo cáo nào đang được tính"
                        + (f" trong kỳ {period}" if period else ""))
