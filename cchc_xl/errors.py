"""The project's own errors and the one place an expected failure becomes a Vietnamese sentence.

:func:`user_message` is used by the command line (``cli.handle_errors``) and by the add-in's
message boxes. Only expected failures get here (our errors, the file system, the ledger's SQLite);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import sqlite3


class CchcError(Exception):
    """An expected failure with a message for the user (Vietnamese)."""


class NotFound(CchcError, KeyError):
    """Something a user named is not in the configuration (a unit, a period kind of the calendar).
    A KeyError too, for callers that look things up; its message is the Vietnamese sentence."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


NOTHING_HALF_WRITTEN = ("Không có tệp nào bị ghi dở: sổ theo dõi và các tệp đã có (bảng tổng hợp lần trước…) "
                        "vẫn như trước.")

# errno -> what happened, in words a clerk reads
_OS_REASONS = {
    errno.ENOSPC: "ổ đĩa đã hết chỗ trống",
    errno.EDQUOT: "đã dùng hết hạn mức dung lượng trên ổ đĩa",
    errno.EFBIG: "tệp vượt quá dung lượng tối đa được phép ghi",
    errno.EROFS: "ổ đĩa chỉ cho phép đọc",
    errno.EACCES: "không có quyền truy cập (tệp đang mở trong Excel hoặc thư mục không cho phép ghi)",
    errno.EPERM: "không được phép thao tác",
    errno.ENOENT: "không tìm thấy",
    errno.EISDIR: "đây là một thư mục, không phải tệp",
    errno.ENOTDIR: "đây không phải là thư mục",
    errno.EIO: "lỗi đọc/ghi của ổ đĩa",
    errno.ENAMETOOLONG: "tên tệp quá dài",
    errno.EMFILE: "mở quá nhiều tệp cùng lúc",
}
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

# SQLite's own sentences (sqlite3.OperationalError carries no code before Python 3.11's sqlite_errorcode)
_SQLITE_REASONS = {
    "database or disk is full": (errno.ENOSPC, "sổ theo dõi"),
    "disk i/o error": (errno.EIO, "sổ theo dõi"),
    "attempt to write a readonly database": (errno.EROFS, "sổ theo dõi"),
    "unable to open database file": (errno.EACCES, "sổ theo dõi"),
}


def disk_full(exc: BaseException) -> bool:
    """The failure is a full disk (or quota, or file size limit)."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    if isinstance(exc, sqlite3.OperationalError):
        return _SQLITE_REASONS.get(str(exc).lower(), (None,))[0] in _FULL
    return False


def user_message(exc: BaseException) -> str:
    """One clear Vietnamese sentence for an expected failure."""
    if isinstance(exc, NotFound):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError) and str(exc).lower() in _SQLITE_REASONS:
        code, what = _SQLITE_REASONS[str(exc).lower()]
        return _os_sentence(code, what, full=code in _FULL)
    if isinstance(exc, OSError) and exc.errno in _OS_REASONS:
        where = exc.filename if exc.filename is not None else ""
        if isinstance(where, bytes):
            where = where.decode("utf-8", "backslashreplace")
        return _os_sentence(exc.errno, str(where), full=exc.errno in _FULL)
    return str(exc)


def _os_sentence(code: int, where: str, *, full: bool) -> str:
    text = f"{where}: {_OS_REASONS[code]}." if where else f"{_OS_REASONS[code][:1].upper()}{_OS_REASONS[code][1:]}."
    if full:
        text += f" {NOTHING_HALF_WRITTEN} Hãy giải phóng chỗ trống trên ổ đĩa rồi chạy lại."
    return text
