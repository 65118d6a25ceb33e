"""What the add-in's VBA calls: ``RunPython "import cchc_xl.addin.entry as e; e.kiem_tra_tep_nay()"``.

Thin glue only — it needs Excel on Windows and is not tested here. The work, and every message
box, is in :mod:`cchc_xl.addin.actions`, which is tested with a fake book.
"""

from __future__ import annotations

from . import actions

MSO_FILE_DIALOG_FOLDER_PICKER = 4


def _book():
    import xlwings

    return xlwings.Book.caller()          # the active workbook when called from an add-in


def _ask_folder(book) -> str | None:
    """Excel's own folder picker; without it (no COM), the folder named in the book (actions)."""
    try:
        dialog = book.app.api.FileDialog(MSO_FILE_DIALOG_FOLDER_PICKER)
        dialog.Title = "Chọn thư mục chứa các tệp báo cáo nhận về"
        dialog.AllowMultiSelect = False
        if dialog.Show() == -1:
            return str(dialog.SelectedItems(1))
        return None                        # cancelled: do nothing
    except Exception:  # noqa: BLE001 - no folder dialog here: fall back to a name in the book
        folder = actions.folder_from_book(book)
        if folder is None:
            actions.no_folder(book)
        return folder


def menu() -> None:
    """The default add-in's one button (``cchc_xl.main()``): ask which action, by number, in Excel's
    own input box (``Application.InputBox``, Type 1: a number), then run it; cancelled: nothing."""
    book = _book()
    try:
        answer = book.app.api.InputBox(actions.MENU_PROMPT, actions.MENU_TITLE, 1, Type=1)
    except Exception:  # noqa: BLE001 - no COM input box here: say how to choose instead
        actions.no_menu(book)
        return
    chosen = actions.menu_choice(answer)
    if chosen is not None:
        globals()[chosen]()
    elif answer not in (False, None):
        actions.no_menu(book)


def kiem_tra_tep_nay() -> None:
    """Nút "Kiểm tra tệp này"."""
    actions.check_active_book(_book())


def tong_hop_thu_muc() -> None:
    """Nút "Tổng hợp thư mục…"."""
    book = _book()
    folder = _ask_folder(book)
    if folder:
        actions.merge_folder(book, folder)


def tinh_hinh_nop_bao_cao() -> None:
    """Nút "Tình hình nộp báo cáo"."""
    book = _book()
    folder = _ask_folder(book)
    if folder:
        actions.submission_status(book, folder)
