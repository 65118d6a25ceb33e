"""The tidy export: one row per value, with its provenance, for pandas, Power Query or R.

Each counted file's rows are rendered once (``pieces.build_pack``) as a gzip *member*; a gzip file
may hold several members one after the other, so the export inside the workspace
(``.csv.gz``) is written by concatenating them, and a plain ``.csv`` or a ``.parquet`` asked for
with ``--tidy`` is decompressed from them.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import io
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

from ..atomic import replacing
from .model import ValueRow

TIDY_COLUMNS = ["period", "unit_code", "unit_name", "unit_type", "appendix", "table", "row_key", "row_label",
                "column_key", "column_label", "value", "state", "source_file", "source_sheet", "source_cell",
                "submitted_at", "file_hash"]


# OWASP CSV injection: a text starting with one of these is run as a formula by spreadsheet programs
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def neutralise(value: object) -> object:
    """A text that a spreadsheet would read as a formula, prefixed with ``'`` (numbers never change).
    Texts already starting with quotes before such a character get one more, so that
    :func:`restore` gives back exactly what was typed."""
    return "'" + value if isinstance(value, str) and FORMULA_START.match(value) else value


def restore(text: str) -> str:
    """The raw text of a neutralised CSV field (for Parquet, which keeps raw text)."""
    return text[1:] if text.startswith("'") and FORMULA_START.match(text) else text


def _csv_fields(*fields: object) -> str:
    """Fields as one CSV fragment (the csv module's quoting, texts neutralised), without a line end."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([neutralise(f) for f in fields])
    return buf.getvalue()


# labels recur in file after file (a unit's own fields in every row of its file): rendered once
_labels = functools.lru_cache(maxsize=8192)(_csv_fields)
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    s = neutralise(value) if isinstance(value, str) else str(value)
    return '"' + s.replace('"', '""') + '"' if _NEEDS_QUOTES.search(s) else s


def tidy_member(values: Iterable[ValueRow]) -> bytes:
    """One file's rows of the export, in the order of :data:`TIDY_COLUMNS` (byte for byte what the
    csv module writes for them), as a gzip member."""
    lines = []
    stamps: dict = {}
    for v in values:
        when = stamps.get(v.submitted_at) or stamps.setdefault(v.submitted_at, v.submitted_iso)
        lines.append(",".join((
            _labels(v.period, v.unit_code, v.unit_name, v.unit_type),
            _labels(v.appendix, v.table, v.row_key, v.row_label, v.column_key, v.column_label),
            _csv_value(v.value), v.state, _labels(v.source_file, v.source_sheet), _csv_value(v.source_cell),
            _labels(when, v.file_hash))))
    text = "\r\n".join(lines) + ("\r\n" if lines else "")
    return gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0)


def header_member() -> bytes:
    """The header line (with the byte-order mark Excel needs to read UTF-8)."""
    return gzip.compress(("\ufeff" + ",".join(TIDY_COLUMNS) + "\r\n").encode("utf-8"), mtime=0)


def write_tidy(members: Iterable[bytes], path: Path) -> Path:
    """Write the export to ``path`` (atomically): ``.csv.gz`` as is, ``.csv`` plain, ``.parquet``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.lower()
    if name.endswith(".parquet") and not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        raise FileNotFoundError("xuất .parquet cần phần bổ sung pyarrow: pip install 'cchc-xl[parquet]'; "
                                "hoặc dùng .csv")
    with replacing(path) as tmp:
        if name.endswith(".gz"):
            with open(tmp, "wb") as f:
                f.write(header_member())
                for m in members:
                    f.write(m)
        elif name.endswith(".parquet"):
            import pandas as pd

            text = io.StringIO(b"".join(_plain([header_member(), *members])).decode("utf-8-sig"))
            df = pd.read_csv(text, dtype=str, keep_default_na=False)
            df = df.map(restore)        # Parquet is not opened as a spreadsheet: the raw text
            df.to_parquet(tmp, index=False)
        else:
            with open(tmp, "wb") as f:
                for chunk in _plain([header_member(), *members]):
                    f.write(chunk)
    return path


def _plain(members: Iterable[bytes]) -> Iterable[bytes]:
    for m in members:
        yield zlib.decompress(m, 16 + zlib.MAX_WBITS)
