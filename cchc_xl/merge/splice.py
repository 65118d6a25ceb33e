"""Put the pre-rendered detail rows into the sheets XlsxWriter wrote, and package the workbook.

XlsxWriter writes the roll-up without the rows of the detail tables (their table objects, headers
and widths included). Each submission's rows were rendered and deflated once (``pieces.py``) as
sync-flushed pieces of a deflate stream, so here a sheet is its own XML, deflated and flushed the
same way, followed by its pieces as they are and a final block: nothing is compressed twice, and
the CRC of the whole is combined from the pieces' CRCs.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .ledger import LedgerDamaged
from .pieces import Piece

LEVEL = 6
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')


@dataclass
class Detail:
    sheet_index: int            # XlsxWriter's index of the worksheet (its part is sheet<index+1>.xml)
    first_row: int              # the sheet row (1-based) of the table's first data row
    pieces: list[Piece]

    @property
    def part(self) -> str:
        return f"xl/worksheets/sheet{self.sheet_index + 1}.xml"

    @property
    def last_row(self) -> int:
        return self.first_row + sum(p.n_rows for p in self.pieces) - 1


def write_package(src: str | Path | BinaryIO, dest: Path, details: list[Detail],
                  deflated: Callable[[Piece], bytes] | None) -> None:
    """Copy the package ``src`` to ``dest`` with the detail rows in place; ``deflated`` gives a
    piece's compressed rows when they are not in memory."""
    by_part = {d.part: d for d in details if d.last_row >= d.first_row}
    with zipfile.ZipFile(src) as zin, open(dest, "wb") as out:
        zw = _ZipWriter(out)
        for info in zin.infolist():
            data = zin.read(info)
            d = by_part.get(info.filename)
            if d is None:
                zw.add(info.filename, data)
                continue
            end = data.rindex(b"</sheetData>")
            head = _DIMENSION.sub(lambda m, d=d: _dimension(m, d.last_row), data[:end], count=1)
            tail = data[end:]
            c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
            chunks = [c.compress(head) + c.flush(zlib.Z_SYNC_FLUSH)]
            crc, size = zlib.crc32(head), len(head)
            for p in d.pieces:
                if p.n_rows:
                    rows = p.deflated if p.deflated is not None else deflated(p)
                    if not rows:        # never write a package whose CRC would not match
                        raise LedgerDamaged(f"sổ theo dõi thiếu dữ liệu đã dựng của tệp {p.file_hash[:12]} "
                                           f"({p.unit_code}, {p.appendix}); hãy chạy lại với --full")
                    chunks.append(rows)
                    crc, size = crc32_combine(crc, p.crc, p.size), size + p.size
            c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
            chunks.append(c.compress(tail) + c.flush(zlib.Z_FINISH))
            crc, size = crc32_combine(crc, zlib.crc32(tail), len(tail)), size + len(tail)
            zw.add_raw(info.filename, chunks, crc, size)
        zw.close()


def _dimension(m: re.Match, last_row: int) -> bytes:
    first = m.group(1) + m.group(2)
    last_col = m.group(3) or m.group(1)
    rows = max(int(m.group(4) or m.group(2)), last_row)
    return b'<dimension ref="%s:%s%d"/>' % (first, last_col, rows)


class _ZipWriter:
    """A plain zip (deflate, no zip64: a roll-up stays far below 4 GB) with pre-deflated entries."""

    DOS_TIME, DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1     # 1980-01-01 00:00, as XlsxWriter writes

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.central: list[bytes] = []
        self.offset = 0

    def add(self, name: str, data: bytes) -> None:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.add_raw(name, [c.compress(data) + c.flush()], zlib.crc32(data), len(data))

    def add_raw(self, name: str, chunks: list[bytes], crc: int, size: int) -> None:
        raw_name = name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800
        csize = sum(len(c) for c in chunks)
        if max(csize, size, self.offset) >= 0xFFFFFFFF:
            raise ValueError(f"{name}: quá lớn cho một tệp Excel")
        self.fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, self.DOS_TIME, self.DOS_DATE, crc,
                                  csize, size, len(raw_name), 0) + raw_name)
        for c in chunks:
            self.fh.write(c)
        self.central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 8, self.DOS_TIME,
                                        self.DOS_DATE, crc, csize, size, len(raw_name), 0, 0, 0, 0, 0,
                                        self.offset) + raw_name)
        self.offset += 30 + len(raw_name) + csize

    def close(self) -> None:
        cd = b"".join(self.central)
        self.fh.write(cd)
        self.fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(self.central), len(self.central), len(cd),
                                  self.offset, 0))


# -- CRC-32 of a concatenation, from the parts' CRCs --------------------------------------------

_ZEROS = bytes(1 << 20)


def _crc_of_zeros(n: int, crc: int = 0) -> int:
    while n > 0:
        k = min(n, len(_ZEROS))
        crc = zlib.crc32(memoryview(_ZEROS)[:k], crc)
        n -= k
    return crc


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``.

    CRC-32 is affine: crc(m) = lin(m) ^ crc(zeros(len(m))), with lin linear and blind to leading
    zeros, whence crc(a + b) = crc(a + zeros(n)) ^ crc(b) ^ crc(zeros(n)) for n = len(b): two
    passes of zlib's CRC over zeros (Python's zlib has no crc32_combine)."""
    if len2 <= 0:
        return crc1
    return _crc_of_zeros(len2, crc1) ^ crc2 ^ _crc_of_zeros(len2)
