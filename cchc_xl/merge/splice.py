"""Put the pre-rendered detail rows into the sheets XlsxWriter wrote.

XlsxWriter writes the roll-up without the rows of the detail tables (their table objects, headers
and widths included); this copies its package, appending each table's rows (rendered once per
submission, see ``pieces.py``) at the end of the sheet's ``sheetData`` with their row numbers
filled in, and widens the sheet's ``dimension`` to them. The big sheets are streamed through the
compressor, never held whole.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .pieces import Piece, numbered_rows

CHUNK = 1 << 20
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')


@dataclass
class Detail:
    sheet_index: int            # XlsxWriter's index of the worksheet (its part is sheet<index+1>.xml)
    first_row: int              # the sheet row (1-based) of the table's first data row
    pieces: list[Piece]

    @property
    def part(self) -> str:
        return f"xl/worksheets/sheet{self.sheet_index + 1}.xml"


def splice_details(src: str | Path | BinaryIO, dest: Path, details: list[Detail],
                   piece_xml: Callable[[Piece], bytes] | None) -> None:
    """Copy the package ``src`` to ``dest`` with the detail rows in place."""
    by_part = {d.part: d for d in details}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            d = by_part.get(info.filename)
            if d is None or not any(p.n_rows for p in d.pieces):
                zout.writestr(info, data)
                continue
            end = data.rindex(b"</sheetData>")
            head, tail = data[:end], data[end:]
            last_row = d.first_row + sum(p.n_rows for p in d.pieces) - 1
            head = _DIMENSION.sub(lambda m: _dimension(m, last_row), head, count=1)
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(target, "w") as fh:
                fh.write(head)
                row, buf, size = d.first_row, [], 0
                for p in d.pieces:
                    if not p.n_rows:
                        continue
                    for chunk in numbered_rows(p.xml if p.xml is not None else piece_xml(p), row):
                        buf.append(chunk)
                        size += len(chunk)
                    row += p.n_rows
                    if size > CHUNK:
                        fh.write(b"".join(buf))
                        buf, size = [], 0
                fh.write(b"".join(buf))
                fh.write(tail)


def _dimension(m: re.Match, last_row: int) -> bytes:
    first = m.group(1) + m.group(2)
    last_col = m.group(3) or m.group(1)
    rows = max(int(m.group(4) or m.group(2)), last_row)
    return b'<dimension ref="%s:%s%d"/>' % (first, last_col, rows)
