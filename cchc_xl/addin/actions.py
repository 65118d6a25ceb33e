"""The functions behind the add-in's buttons. Each takes a book-like object (an ``xlwings.Book`` in
Excel, a fake in the tests), does its work with the library, tells the officer the outcome in a
Vietnamese message box, and returns a result dataclass. Nothing here prints, exits, or lets a
traceback reach Excel: a failure becomes a message box and a result with ``ok=False``.

Which workspace (configuration and secret key) a button uses, first match wins: the
``workspace_dir`` argument; the ``CCHC_XL_WORKSPACE`` environment variable; the first folder that is
a cchc_xl workspace among the file's (or chosen folder's) folder and its parents; otherwise the
embedded default province (its key is public: fine to try the add-in, not to accept real files).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..config.period import Period, PeriodError, parse_period
from ..config.workspace import PublicKeyWarning, Workspace, is_workspace, load_workspace
from ..errors import CchcError, user_message
from ..labels import ANNOTATED_DIR, STATUS_LABELS, VERDICT_TO_CLERK
from ..problems import reason_text
from ..yamlfile import ConfigError

TITLE = "cchc_xl — Báo cáo CCHC"
STATUS_SHEET = "Tình hình nộp"
CHECK_DIR = ANNOTATED_DIR
WORKSPACE_ENV = "CCHC_XL_WORKSPACE"
FOLDER_NAME = "cchc_thu_muc"          # defined name whose cell holds a folder: the fallback of the folder dialog
STATUS_HEADER = ["Mã", "Tên đơn vị", "Trạng thái", "Số ngày trễ", "Tệp"]
VERDICT_VI = VERDICT_TO_CLERK
MAX_LISTED = 5                        # problems quoted in a message box


# -- the subset of xlwings' Book that the buttons use -------------------------------------------------


@runtime_checkable
class RangeLike(Protocol):
    """``sheet.range("A1")``: ``.value`` reads a cell; assigning a list of lists writes a block from it."""

    value: Any


@runtime_checkable
class SheetLike(Protocol):
    name: str

    def range(self, address: str) -> RangeLike: ...

    def clear_contents(self) -> None: ...


@runtime_checkable
class SheetsLike(Protocol):
    def add(self, name: str | None = None) -> SheetLike: ...

    def __getitem__(self, key: str | int) -> SheetLike: ...

    def __iter__(self) -> Iterator[SheetLike]: ...


@runtime_checkable
class AppLike(Protocol):
    """xlwings' ``App``: ``alert(prompt, title)`` is VBA's MsgBox. Optional, used when present:
    ``books.open(path)`` (opens the roll-up), ``status_bar`` (a fallback for alert)."""

    def alert(self, prompt: str, title: str | None = None) -> Any: ...


@runtime_checkable
class BookLike(Protocol):
    """What the buttons use of an ``xlwings.Book``: ``fullname`` (path of the saved file), ``name``,
    ``sheets`` (``add(name)``, ``[name]``, iteration), ``app`` (``alert``). Optional, used when
    present: ``api.Saved`` (False when the book has unsaved changes), ``names[name]`` (a defined name,
    ``.refers_to_range.value``)."""

    fullname: str
    name: str
    sheets: SheetsLike
    app: AppLike


# -- results ---------------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    ok: bool                                  # the check ran (not: the file has no errors)
    message: str                              # what the message box said
    path: str | None = None
    status: str | None = None                 # ok | warnings | errors | rejected
    errors: int = 0
    warnings: int = 0
    annotated: str | None = None              # the copy with a "Lỗi" sheet, when there are problems
    unit: str | None = None
    period: str | None = None
    workspace: str | None = None              # None: the embedded default
    report: Any = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "report"}


@dataclass
class MergeSummary:
    """What "Tổng hợp thư mục…" did: the merge's own result (``result``) plus the button's outcome.
    The merge figures (period, rollup, expected, late, …) are read through to ``result``."""

    ok: bool
    message: str
    folder: str | None = None
    opened: bool = False
    workspace: str | None = None
    result: Any = field(default=None, repr=False)

    def __getattr__(self, name: str):
        result = self.__dict__.get("result")
        if result is not None and hasattr(result, name):
            return getattr(result, name)
        if name in _MERGE_DEFAULTS:
            return _MERGE_DEFAULTS[name]()
        raise AttributeError(name)

    def as_dict(self) -> dict:
        base = self.result.as_dict() if self.result is not None else {}
        base.pop("files", None)
        return {**base, **{k: v for k, v in self.__dict__.items() if k != "result"}}


_MERGE_DEFAULTS = {"period": lambda: None, "rollup": lambda: None, "tidy": lambda: None, "expected": lambda: 0,
                   "accepted": lambda: 0, "with_errors": lambda: 0, "rejected": lambda: 0, "missing": list,
                   "late": list, "on_time": list}


def _no_folder(book, folder: Path, result_type):
    message = f"Không tìm thấy thư mục {folder}. Hãy chọn thư mục chứa các tệp báo cáo nhận về."
    show(book, message)
    return result_type(False, message, folder=str(folder))


@dataclass
class StatusRow:
    code: str             # submission key: unit code, or unit-part
    name: str
    status: str           # on_time | late | missing | rejected
    days_late: int | None
    file: str | None

    @property
    def status_vi(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def cells(self) -> list:
        return [self.code, self.name, self.status_vi, self.days_late, self.file]


@dataclass
class StatusResult:
    ok: bool
    message: str
    folder: str | None = None
    period: str | None = None
    sheet: str = STATUS_SHEET
    rows: list[StatusRow] = field(default_factory=list)
    workspace: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "rows"}
        d["rows"] = [r.__dict__ for r in self.rows]
        return d


# -- shared helpers ---------------------------------------------------------------------------------------


def find_workspace(workspace_dir: Path | str | None, near: Path | None) -> Workspace:
    """The workspace a button works with (see the module docstring for the order)."""
    if workspace_dir:
        return load_workspace(Path(workspace_dir))
    env = os.environ.get(WORKSPACE_ENV, "").strip()
    if env:
        return load_workspace(Path(env))
    if near is not None:
        start = Path(near).resolve()
        for d in (start, *start.parents):
            if is_workspace(d):
                return load_workspace(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PublicKeyWarning)
        return load_workspace(None)


def _ws_note(ws: Workspace) -> str:
    if ws.root is None:
        return ("\n\nLưu ý: đang dùng cấu hình mặc định nhúng sẵn của "
                f"{ws.province.info.name} (khóa công khai, chỉ để thử). Đặt biến môi trường "
                f"{WORKSPACE_ENV} là thư mục làm việc của cơ quan (tạo bằng 'cchc_xl init').")
    return ""


def show(book: Any, message: str, title: str = TITLE) -> None:
    """A message box: ``book.app.alert``; else the status bar; never raises."""
    app = getattr(book, "app", None)
    try:
        app.alert(message, title)
        return
    except Exception:  # noqa: BLE001 - no message box (older xlwings, no Excel): try the status bar
        pass
    try:
        app.status_bar = message.replace("\n", " ")
    except Exception:  # noqa: BLE001 - nowhere left to say it; the result still carries the message
        pass


def error_text(exc: BaseException) -> str:
    """One clear Vietnamese sentence for an exception raised by the library or the file system."""
    from ..merge.ledger import LedgerBusy

    if isinstance(exc, LedgerBusy):
        return ("Một phiên tổng hợp khác đang chạy trên cùng sổ theo dõi. Chờ phiên đó xong rồi thử lại.\n"
                f"({exc})")
    if isinstance(exc, ConfigError):
        return f"Cấu hình không hợp lệ: {exc}"
    if isinstance(exc, PeriodError):
        return f"Kỳ báo cáo không hợp lệ: {exc}"
    if isinstance(exc, (OSError, sqlite3.OperationalError, CchcError)):
        return user_message(exc)
    return (f"Đã xảy ra lỗi không mong đợi ({type(exc).__name__}: {exc}). Hãy thử lại bằng dòng lệnh "
            "cchc_xl (cchc_xl validate / cchc_xl merge) để xem chi tiết, và báo cho người quản trị.")


def _fail(book: Any, what: str, exc: BaseException) -> str:
    message = f"{what}\n\n{error_text(exc)}"
    show(book, message)
    return message


def _is_unsaved(book: Any) -> bool:
    try:
        return book.api.Saved is False
    except Exception:  # noqa: BLE001 - no COM object (fake book, another platform): assume saved
        return False


def _sheet_names(sheets: Iterable[Any]) -> list[str]:
    return [s.name for s in sheets]


def _where(p) -> str:
    return "!".join(x for x in (p.sheet, p.cell) if x) or "—"


# -- "Kiểm tra tệp này" -----------------------------------------------------------------------------------


def check_dir_for(path: Path, ws: Workspace) -> Path:
    """Where the annotated copy goes: ``kiem-tra`` next to the file; for a file inside the workspace's
    inbox, ``kiem-tra`` at the workspace root instead, so that the copy is never merged as a submission."""
    if ws.root is not None:
        inbox = ws.inbox.resolve()
        if path.resolve().is_relative_to(inbox):
            return ws.root / CHECK_DIR
    return path.parent / CHECK_DIR


def check_active_book(book: BookLike, workspace_dir: Path | str | None = None, *,
                      period: str | None = None, lang: str = "vi") -> CheckResult:
    """Validate the saved file of ``book``; write an annotated copy when it has problems; say so."""
    from ..validate.annotate import annotate
    from ..validate.engine import ValidationContext, validate_file

    what = f"Không kiểm tra được tệp {getattr(book, 'name', '')}."
    try:
        path = Path(book.fullname)
        if not path.is_file():
            message = (f"Tệp {book.name} chưa được lưu thành tệp trên máy. Hãy lưu tệp (Ctrl+S) "
                       "rồi bấm lại \"Kiểm tra tệp này\".")
            show(book, message)
            return CheckResult(False, message, path=str(path))
        ws = find_workspace(workspace_dir, path.parent)
        ctx = ValidationContext(ws, parse_period(period) if period else None, lang=lang)
        report = validate_file(path, ctx)
        annotated = annotate(report, check_dir_for(path, ws))
        res = CheckResult(True, "", str(path), report.status, len(report.errors), len(report.warnings),
                          str(annotated) if annotated else None, report.unit, report.period,
                          str(ws.root) if ws.root else None, report)
        res.message = _check_message(book, res, report) + _ws_note(ws)
        show(book, res.message)
        return res
    except Exception as exc:  # noqa: BLE001 - the button's boundary: a message box, never a traceback
        return CheckResult(False, _fail(book, what, exc), detail_path(book))


def detail_path(book: Any) -> str | None:
    try:
        return str(book.fullname)
    except Exception:  # noqa: BLE001
        return None


def _check_message(book: Any, res: CheckResult, report) -> str:
    name = Path(res.path).name
    who = f"Đơn vị: {report.unit_name or report.unit}, kỳ {report.period}.\n" if report.unit else ""
    if res.status == "ok":
        text = f"Tệp {name}: ĐẠT — không có lỗi, không có cảnh báo.\n{who}"
    elif res.status == "warnings":
        text = f"Tệp {name}: ĐẠT, không có lỗi, có {res.warnings} cảnh báo.\n{who}"
    elif res.status == "errors":
        text = f"Tệp {name}: CÓ LỖI — {res.errors} lỗi, {res.warnings} cảnh báo.\n{who}"
    else:
        text = (f"Tệp {name}: BỊ TỪ CHỐI — không nhận được tệp này ({res.errors} lỗi, "
                f"{res.warnings} cảnh báo).\n{who}")
    if report.hold_reasons:
        text += (f"TẠM GIỮ: tệp chưa được xác thực ({reason_text(report.hold_reasons)}); số liệu sẽ không được "
                 "tổng hợp cho đến khi cơ quan thường trực chấp nhận.\n")
    listed = [p for p in report.problems if p.severity == "error"] + \
             [p for p in report.problems if p.severity == "warning"]
    if listed:
        text += "\n"
        for p in listed[:MAX_LISTED]:
            kind = "Lỗi" if p.severity == "error" else "Cảnh báo"
            text += f"• [{kind}] {_where(p)}: {p.message}\n"
        if len(listed) > MAX_LISTED:
            text += f"… và {len(listed) - MAX_LISTED} vấn đề khác.\n"
    if res.annotated:
        text += f"\nBản sao đánh dấu ô lỗi (trang \"Lỗi\"): {res.annotated}\nTệp gốc không bị thay đổi."
    if _is_unsaved(book):
        text += ("\n\nLưu ý: tệp đang có thay đổi chưa lưu; kết quả trên là của bản đã lưu trên máy. "
                 "Lưu tệp rồi kiểm tra lại.")
    return text.rstrip()


# -- "Tổng hợp thư mục…" ---------------------------------------------------------------------------------


def default_opener(book: Any) -> Callable[[str], object]:
    """Open a workbook in the same Excel (``book.app.books.open``), else with the system's program."""

    def open_path(path: str) -> object:
        try:
            return book.app.books.open(path)
        except Exception:  # noqa: BLE001 - no Excel to ask: let Windows open it
            startfile = getattr(os, "startfile", None)
            if startfile is None:
                raise
            return startfile(path)

    return open_path


def merge_folder(book: BookLike, folder: Path | str, workspace_dir: Path | str | None = None,
                 open_result: bool = True, *, period: str | None = None,
                 opener: Callable[[str], object] | None = None, workers: int | None = None) -> MergeSummary:
    """Merge a folder of returned files into the provincial roll-up; open it; say how it went."""
    from ..merge.run import merge

    what = f"Không tổng hợp được thư mục {folder}."
    try:
        folder = Path(folder)
        if not folder.is_dir():
            return _no_folder(book, folder, MergeSummary)
        ws = find_workspace(workspace_dir, folder)
        res = merge(ws, folder, period=parse_period(period) if period else None, workers=workers)
        summary = MergeSummary(True, "", str(folder), False, str(ws.root) if ws.root else None, res)
        opened_note = ""
        if open_result and res.rollup:
            try:
                (opener or default_opener(book))(res.rollup)
                summary.opened = True
            except Exception as exc:  # noqa: BLE001 - the roll-up exists; only opening it failed
                opened_note = f"\n(Không mở được bảng tổng hợp: {error_text(exc)})"
        summary.message = _merge_message(summary) + opened_note + _ws_note(ws)
        show(book, summary.message)
        return summary
    except Exception as exc:  # noqa: BLE001 - the button's boundary
        return MergeSummary(False, _fail(book, what, exc), folder=str(folder))


def _names(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" và {len(keys) - limit} đơn vị khác" if len(keys) > limit else "")


def _merge_message(s: MergeSummary) -> str:
    text = (f"Kỳ {s.period}: {s.expected} báo cáo phải nộp — {len(s.on_time)} đúng hạn, {len(s.late)} trễ hạn, "
            f"{len(s.missing)} chưa nộp, {s.rejected} bị từ chối; {s.with_errors} báo cáo còn lỗi.")
    if s.late:
        text += f"\nTrễ hạn: {_names(s.late)}."
    if s.missing:
        text += f"\nChưa nộp: {_names(s.missing)}."
    if s.rollup:
        text += f"\n\nBảng tổng hợp: {s.rollup}"
    return text


# -- "Tình hình nộp báo cáo" -----------------------------------------------------------------------------


def status_rows(ws: Workspace, folder: Path, period: Period | None = None,
                workers: int | None = None) -> tuple[str, list[StatusRow], list[dict]]:
    """One row per expected submission of the period, after recording the folder in the ledger;
    with the files seen in the folder (MergeResult.files)."""
    from ..merge.ledger import Ledger, workspace_lock
    from ..merge.run import build_rollup_data, ledger_path, merge

    res = merge(ws, folder, period=period, write=False, workers=workers)
    per = parse_period(res.period)
    lpath = ledger_path(ws, folder)
    with workspace_lock(lpath.with_suffix(".lock")):
        ledger = Ledger(lpath)
        try:
            data = build_rollup_data(ws, ledger, per)
        finally:
            ledger.close()
    base = folder.resolve()
    rows = []
    for s in data.submissions:
        key = s.unit_code if s.part == "main" else f"{s.unit_code}-{s.part}"
        name = s.unit_name if s.part == "main" else f"{s.unit_name} ({s.owner or s.part})"
        file = None
        if s.file:
            f = Path(s.file)
            file = str(f.relative_to(base)) if f.is_relative_to(base) else str(f)
        days = s.days_late if s.status in ("on_time", "late") else None
        rows.append(StatusRow(key, name, s.status, days, file))
    return res.period, rows, res.files


def _status_sheet(book: Any) -> Any:
    if STATUS_SHEET in _sheet_names(book.sheets):
        sheet = book.sheets[STATUS_SHEET]
        sheet.clear_contents()
        return sheet
    return book.sheets.add(STATUS_SHEET)


def submission_status(book: BookLike, folder: Path | str, workspace_dir: Path | str | None = None, *,
                      period: str | None = None, workers: int | None = None) -> StatusResult:
    """Write who sent what, on time or not, into the sheet "Tình hình nộp" of the active book."""
    what = f"Không lập được tình hình nộp báo cáo cho thư mục {folder}."
    try:
        folder = Path(folder)
        if not folder.is_dir():
            return _no_folder(book, folder, StatusResult)
        ws = find_workspace(workspace_dir, folder)
        per, rows, files = status_rows(ws, folder, parse_period(period) if period else None, workers)
        res = StatusResult(True, "", str(folder), per, STATUS_SHEET, rows, str(ws.root) if ws.root else None)
        counts = (f"{res.count('on_time')} đúng hạn, {res.count('late')} trễ hạn, "
                  f"{res.count('missing')} chưa nộp, {res.count('rejected')} bị từ chối")
        stamp = dt.datetime.now().strftime("%d/%m/%Y %H:%M")
        sheet = _status_sheet(book)
        sheet.range("A1").value = [STATUS_HEADER] + [r.cells() for r in rows]
        sheet.range(f"A{len(rows) + 3}").value = [[
            f"Kỳ {per} — {len(rows)} báo cáo phải nộp: {counts}. Thư mục: {folder}. Cập nhật lúc {stamp}."]]
        autofit = getattr(sheet, "autofit", None)
        if callable(autofit):
            try:
                autofit()
            except Exception:  # noqa: BLE001 - cosmetic only
                pass
        res.message = (f"Đã ghi tình hình nộp báo cáo kỳ {per} vào trang \"{STATUS_SHEET}\" của tệp {book.name}: "
                       f"{len(rows)} báo cáo phải nộp — {counts}." + _ws_note(ws))
        show(book, res.message)
        return res
    except Exception as exc:  # noqa: BLE001 - the button's boundary
        return StatusResult(False, _fail(book, what, exc), folder=str(folder))


# -- the folder, when Excel's folder dialog is not available ------------------------------------------------


def folder_from_book(book: Any) -> str | None:
    """The folder named in the book: the defined name ``cchc_thu_muc`` (a cell holding a folder path),
    else the ``CCHC_XL_WORKSPACE`` workspace's inbox. None when neither is set."""
    try:
        value = book.names[FOLDER_NAME].refers_to_range.value
        if isinstance(value, str) and value.strip():
            return value.strip()
    except Exception:  # noqa: BLE001 - no such name
        pass
    env = os.environ.get(WORKSPACE_ENV, "").strip()
    if env and is_workspace(Path(env)):
        try:
            return str(load_workspace(Path(env)).inbox)
        except Exception:  # noqa: BLE001
            return None
    return None


def no_folder(book: Any) -> str:
    message = ("Chưa chọn thư mục báo cáo. Chọn thư mục trong hộp thoại, hoặc đặt tên "
               f"\"{FOLDER_NAME}\" cho một ô chứa đường dẫn thư mục (Công thức → Xác định tên), "
               f"hoặc đặt biến môi trường {WORKSPACE_ENV}.")
    show(book, message)
    return message


# -- the default add-in's one button: a choice of the three actions ------------------------------

# (number typed, label, function of cchc_xl.addin.entry): the same three as the rebuilt add-in's buttons
MENU: tuple[tuple[int, str, str], ...] = (
    (1, "Kiểm tra tệp này", "kiem_tra_tep_nay"),
    (2, "Tổng hợp thư mục…", "tong_hop_thu_muc"),
    (3, "Tình hình nộp báo cáo", "tinh_hinh_nop_bao_cao"),
)
MENU_TITLE = "CCHC"
MENU_PROMPT = "Chọn việc cần làm (gõ số rồi bấm OK):\n" + "\n".join(f"{n}. {label}" for n, label, _ in MENU)


def menu_choice(answer: Any) -> str | None:
    """The entry function for what was typed in the input box (1, 2.0, " 3 "); None for a cancel
    (Excel returns False) or anything that is not one of the numbers."""
    if answer is None or isinstance(answer, bool):
        return None
    try:
        number = float(str(answer).strip().replace(",", "."))
    except ValueError:
        return None
    return next((fn for n, _label, fn in MENU if number == n), None)


def no_menu(book: Any) -> str:
    message = "Chưa chọn việc cần làm. Bấm lại nút \"Công cụ CCHC…\" và gõ " + \
        ", ".join(str(n) for n, _, _ in MENU[:-1]) + f" hoặc {MENU[-1][0]}: " + \
        "; ".join(f"{n}. {label}" for n, label, _ in MENU) + "."
    show(book, message)
    return message
