"""The one clock every stage reads: the time now, or the fixed time ``SOURCE_DATE_EPOCH`` gives.

``SOURCE_DATE_EPOCH`` (seconds since 1970, https://reproducible-builds.org/specs/source-date-epoch/)
makes outputs reproducible: the roll-up, the ledger's times and the report written twice from the
same inbox are then the same bytes (``tests/test_golden.py``). Times are naive local times, as the
ledger and the workbooks always kept them; the epoch is read as UTC so that it means one instant
on every machine.
"""

from __future__ import annotations

import datetime as dt
import os

from .errors import CchcError


def now() -> dt.datetime:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip():
        return dt.datetime.now().replace(microsecond=0)
    try:
        seconds = int(raw.strip())
    except ValueError:
        raise CchcError(f"Biến môi trường SOURCE_DATE_EPOCH phải là số giây kể từ 01/01/1970 (UTC), "
                        f"không phải {raw!r}.") from None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)
