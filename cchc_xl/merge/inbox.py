"""What an inbox holds: the files a merge reads, and the entries it never opens (and why).

Light on purpose: a merge that finds nothing new (``quick.py``) lists the inbox before the
configuration or the catalogue is loaded.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from ..labels import ANNOTATED_DIR

SKIP_PREFIXES = ("~$", ".~lock", ".")
RECEIPT_REGISTER = "so-tiep-nhan.csv"     # the officer's receipt times (``receipts.stated_receipts``)
FUTURE_SLACK = dt.timedelta(minutes=5)    # a time this far ahead of the clock is in the future


def scan(inbox: Path, skipped: list[dict] | None = None) -> list[Path]:
    """Every regular file received, under the resolved inbox, except our own annotated copies
    (``kiem-tra/``), the receipt register and lock/temporary files of office programs. Device files,
    pipes, dangling links and links leading outside the inbox are never opened or followed: they are
    appended to ``skipped`` with the reason."""
    root_dir = Path(inbox).resolve()
    out = []
    for root, dirs, files in os.walk(root_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != ANNOTATED_DIR
                         and not _skip_link(Path(root) / d, root_dir, skipped))
        for name in sorted(files):
            if name.startswith(SKIP_PREFIXES) or name == RECEIPT_REGISTER:
                continue
            p = Path(root) / name
            reason = _not_regular(p, root_dir)
            if reason:
                if skipped is not None:
                    skipped.append({"path": display_path(p), "reason": reason})
                continue
            out.append(p)
    return out


def _skip_link(p: Path, root_dir: Path, skipped: list[dict] | None) -> bool:
    reason = _not_regular(p, root_dir, directory=True) if p.is_symlink() else None
    if reason and skipped is not None:
        skipped.append({"path": display_path(p), "reason": reason})
    return reason is not None


def _not_regular(p: Path, root_dir: Path, *, directory: bool = False) -> str | None:
    """Why an inbox entry is not read, or None for a regular file inside the inbox."""
    try:
        st = p.lstat()
    except OSError as exc:
        return f"không đọc được thông tin tệp ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        try:
            target = p.resolve(strict=True)
        except (OSError, RuntimeError):
            return "liên kết (symlink) trỏ tới tệp không tồn tại"
        if not target.is_relative_to(root_dir):
            return "liên kết (symlink) trỏ ra ngoài thư mục inbox: không được mở"
        if directory:
            return "liên kết tới thư mục: không được đi theo"
        st = target.stat()
    if stat.S_ISREG(st.st_mode):
        return None
    if directory and stat.S_ISDIR(st.st_mode):
        return None
    kind = ("ống dẫn (FIFO)" if stat.S_ISFIFO(st.st_mode) else "tệp thiết bị" if stat.S_ISCHR(st.st_mode)
            or stat.S_ISBLK(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "không phải tệp thường")
    return f"{kind}: không được mở"


def display_path(p: Path | str) -> str:
    """A path as text that SQLite and JSON can hold: bytes that are not UTF-8 shown as \\xNN escapes."""
    return os.fsencode(str(p)).decode("utf-8", "backslashreplace")
