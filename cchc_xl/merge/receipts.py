"""Receipt times the secretariat states: ``--received`` and the inbox's receipt register.

A file's modification time is never used (``run.ingest`` says what is used, in which order).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from ..errors import CchcError
from .inbox import RECEIPT_REGISTER

RECEIPT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
                   "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")


class ReceiptError(CchcError):
    """A stated receipt time that cannot be read."""


def parse_receipt_time(text: str) -> dt.datetime:
    text = text.strip()
    for fmt in RECEIPT_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ReceiptError(f"thời điểm nhận “{text}” không đúng dạng (ví dụ 2025-12-01 09:30 hoặc 01/12/2025 09:30)")


def stated_receipts(inbox: Path, stated: dict[Path, dt.datetime] | None) -> dict[str, tuple[dt.datetime, str, str]]:
    """Resolved path (file or folder) -> (time, source, where it was stated), from ``--received`` and
    from the receipt register (``so-tiep-nhan.csv`` in the inbox: columns ``tep,thoi_gian``)."""
    root = Path(inbox).resolve()
    out: dict[str, tuple[dt.datetime, str, str]] = {}
    reg = root / RECEIPT_REGISTER
    if reg.is_file():
        with open(reg, encoding="utf-8-sig", newline="") as f:
            for i, row in enumerate(csv.DictReader(f), 2):
                name, when = (row.get("tep") or "").strip(), (row.get("thoi_gian") or "").strip()
                if not name:
                    continue
                try:
                    out[str((root / name).resolve())] = (parse_receipt_time(when), "register",
                                                         f"{RECEIPT_REGISTER}, dòng {i}")
                except ReceiptError as exc:
                    raise ReceiptError(f"{reg}, dòng {i}: {exc}") from None
    for p, when in (stated or {}).items():
        out[str(Path(p).resolve())] = (when, "stated", "--received")
    return out


def record_receipt(inbox: Path, path: Path, when: dt.datetime) -> Path:
    """Append a line to the inbox's receipt register: ``path`` (a file or folder under the inbox) was
    received at ``when``. A later line for the same path replaces an earlier one."""
    root = Path(inbox).resolve()
    reg = root / RECEIPT_REGISTER
    new = not reg.exists()
    with open(reg, "a", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["tep", "thoi_gian", "ghi_chu"])
        w.writerow([Path(path).resolve().relative_to(root).as_posix(), when.strftime("%Y-%m-%d %H:%M:%S"), ""])
    return reg


def stated_for(path: str, stated: dict[str, tuple[dt.datetime, str, str]]) -> tuple[dt.datetime, str] | None:
    """The statement covering a file: ``--received`` before the register, and within each the most
    specific (the file's own, else its nearest folder's)."""
    if not stated:
        return None
    p = Path(path)
    for source in ("stated", "register"):       # the officer's own statement comes first
        for q in (p, *p.parents):
            hit = stated.get(str(q))
            if hit and hit[1] == source:
                return hit[0], hit[1]
    return None
