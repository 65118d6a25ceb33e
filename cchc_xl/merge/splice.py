"""Put the pre-rendered detail rows into the sheets XlsxWriter wrote, and package the workbook.

XlsxWriter writes the roll-up without the rows of the detail tables (their table objects, headers
and widths included). Each submission's rows were rendered and deflated once (``pieces.py``), with
:data:`~.pieces.ROW_MARK` where the row number goes. Here each piece is inflated, given its row
numbers (every row and cell carries its reference, as Excel writes them) and deflated again into
the sheet, after XlsxWriter's own XML and before the end of ``sheetData``. The narratives sheet's
rows come the same way (``pieces.text_rows``, rendered by the writer itself), under no table.

The splice relies on what the roll-up writer promises, and checks it rather than write a wrong
workbook: the detail table is the last thing on its sheet (its header is the sheet's last row),
starts in column A, is as wide as the rendered rows and is declared over exactly those rows (for
rows under a table: ``Detail.n_cols``). A
broken promise is a :class:`SpliceError` (a bug in cchc_xl, in English), never a half-right file.
"""

from __future__ import annotations

import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

from .ledger import LedgerDamaged
from .pieces import DEFLATE_LEVEL, ROW_MARK, Piece, SpliceError

__all__ = ["Detail", "SpliceError", "column_name", "write_package"]

LEVEL = 6
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')
_ROW = re.compile(rb'<row r="(\d+)"')
_MARK = ROW_MARK.encode()
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"


@dataclass
class Detail:
    sheet_index: int            # XlsxWriter's index of the worksheet (its part is sheet<index+1>.xml)
    first_row: int              # the sheet row (1-based) of the table's first data row
    pieces: list[Piece]
    first_col: int = 0          # the table's first column (0-based): the pieces are rendered from A
    n_cols: int | None = None   # the table's width, when known: every rendered row must have as many cells

    @property
    def part(self) -> str:
        return f"xl/worksheets/sheet{self.sheet_index + 1}.xml"

    @property
    def last_row(self) -> int:
        return self.first_row + sum(p.n_rows for p in self.pieces) - 1


def column_name(i: int) -> str:
    """A1-style letters of the 0-based column ``i``."""
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(65 + rem) + name
    return name


def write_package(src: str | Path | BinaryIO, dest: Path, details: list[Detail],
                  deflated: Callable[[Piece], bytes] | None) -> None:
    """Copy the package ``src`` to ``dest`` with the detail rows in place; ``deflated`` gives a
    piece's compressed rows when they are not in memory."""
    by_part: dict[str, Detail] = {}
    for d in details:
        if d.last_row < d.first_row:
            continue
        if d.part in by_part:
            raise SpliceError(f"{d.part}: two detail tables on one sheet; the splice appends one table's rows")
        if d.first_col != 0:
            raise SpliceError(f"{d.part}: the detail table starts in column {column_name(d.first_col)}, "
                              "but its rows are rendered from column A")
        by_part[d.part] = d
    with zipfile.ZipFile(src) as zin, open(dest, "wb") as out:
        names = set(zin.namelist())
        missing = sorted(set(by_part) - names)
        if missing:
            raise SpliceError(f"no worksheet part {', '.join(missing)} in the package to splice into")
        for d in by_part.values():
            _check_table(zin, names, d)
        spliced = _splice_all({part: zin.read(part) for part in by_part}, by_part, deflated)
        zw = _ZipWriter(out)
        for info in zin.infolist():
            if info.filename in spliced:
                zw.add_raw(info.filename, *spliced[info.filename])
            else:
                zw.add(info.filename, zin.read(info))
        zw.close()


def _splice_all(sheets: dict[str, bytes], by_part: dict[str, Detail],
                deflated: Callable[[Piece], bytes] | None) -> dict[str, tuple[list[bytes], int, int]]:
    """Every detail sheet spliced, two at a time: zlib lets go of the interpreter while it inflates,
    deflates and checksums, which is most of a splice (measured on the 1,000-unit round: 1.14 s one
    sheet after the other, 0.74-0.83 s on two threads, the largest sheet first). The pieces' rows are
    fetched first, here: the ledger's connection belongs to this thread."""
    rows = {}
    for d in by_part.values():
        for p in d.pieces:
            if p.n_rows and p.deflated is None and deflated is not None:
                rows[id(p)] = deflated(p)

    def stored(p: Piece) -> bytes:
        return rows[id(p)]

    order = sorted(by_part, key=lambda part: -sum(p.size for p in by_part[part].pieces))
    with ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as ex:
        done = {part: ex.submit(_spliced, sheets[part], by_part[part], stored if deflated is not None else None)
                for part in order}
        return {part: f.result() for part, f in done.items()}


def _spliced(data: bytes, d: Detail, deflated: Callable[[Piece], bytes] | None) -> tuple[list[bytes], int, int]:
    """The worksheet ``data`` with ``d``'s rows before ``</sheetData>``: (deflated chunks, CRC, size)."""
    if data.count(b"</sheetData>") != 1:
        raise SpliceError(f"{d.part}: expected exactly one </sheetData> (a sheet with rows), "
                          f"found {data.count(b'</sheetData>')}")
    end = data.rindex(b"</sheetData>")
    last = data.rfind(b"<row ", 0, end)
    m = _ROW.match(data, last) if last >= 0 else None
    if m is None:
        raise SpliceError(f"{d.part}: the last row before the detail rows has no r attribute "
                          "(the table header must be written, with its reference)")
    if int(m.group(1)) != d.first_row - 1:
        raise SpliceError(f"{d.part}: the sheet's last row is {int(m.group(1))}, but the detail table's header "
                          f"should be the last row, {d.first_row - 1}: nothing may be written below it")
    head = _DIMENSION.sub(lambda m, d=d: _dimension(m, d.last_row), data[:end], count=1)
    tail = data[end:]
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    chunks = [c.compress(head) + c.flush(zlib.Z_SYNC_FLUSH)]
    crc, size = zlib.crc32(head), len(head)
    rows_c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    row = d.first_row
    for p in d.pieces:
        if not p.n_rows:
            continue
        xml = _rows_of(p, deflated)
        parts = xml.split(b"</row>")
        if len(parts) != p.n_rows + 1 or parts[-1]:
            raise SpliceError(f"{d.part}: a piece of {p.unit_code} ({p.appendix}) holds {len(parts) - 1} rows, "
                              f"its metadata says {p.n_rows}")
        per_row = d.n_cols + 1 if d.n_cols is not None else None
        out = []
        for r in parts[:-1]:
            if per_row is not None and r.count(_MARK) != per_row:
                raise SpliceError(f"{d.part}: a row of {p.unit_code} ({p.appendix}) has "
                                  f"{r.count(_MARK) - 1} cells; the table has {d.n_cols} columns")
            out.append(r.replace(_MARK, b"%d" % row))
            row += 1
        out.append(b"")
        xml = b"</row>".join(out)
        chunks.append(rows_c.compress(xml))
        crc, size = zlib.crc32(xml, crc), size + len(xml)
    chunks.append(rows_c.flush(zlib.Z_SYNC_FLUSH))
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    chunks.append(c.compress(tail) + c.flush(zlib.Z_FINISH))
    return chunks, zlib.crc32(tail, crc), size + len(tail)


def _rows_of(p: Piece, deflated: Callable[[Piece], bytes] | None) -> bytes:
    """A piece's rows (XML with row marks), checked against the CRC and length it was rendered with."""
    raw = p.deflated if p.deflated is not None else (deflated(p) if deflated else None)
    try:
        xml = zlib.decompressobj(-15).decompress(raw) if raw else None
    except zlib.error:
        xml = None
    if xml is None or zlib.crc32(xml) != p.crc or len(xml) != p.size:
        # never write a roll-up from damaged pieces
        raise LedgerDamaged(f"sổ theo dõi thiếu dữ liệu đã dựng của tệp {p.file_hash[:12]} "
                            f"({p.unit_code}, {p.appendix}); hãy chạy lại với --full")
    return xml


def check_pieces(pieces: Iterable[Piece], deflated: Callable[[Piece], bytes] | None) -> None:
    """Every piece's stored rows against their CRC and length (``LedgerDamaged`` otherwise): what a
    merge that keeps its roll-up still checks, so that a damaged ledger is found as when writing."""
    for p in pieces:
        _rows_of(p, deflated)


def _check_table(zin: zipfile.ZipFile, names: set[str], d: Detail) -> None:
    """The sheet declares a table over exactly the detail rows (header included), from column A."""
    if d.n_cols is None:
        return
    want = f"{column_name(d.first_col)}{d.first_row - 1}:{column_name(d.first_col + d.n_cols - 1)}{d.last_row}"
    rels = posixpath.join(posixpath.dirname(d.part), "_rels", posixpath.basename(d.part) + ".rels")
    refs = []
    if rels in names:
        for rel in ET.fromstring(zin.read(rels)).iter(f"{_REL_NS}Relationship"):
            if rel.get("Type") != _TABLE_REL:
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(d.part), rel.get("Target", "")))
            if target.lstrip("/") in names:
                refs.append(ET.fromstring(zin.read(target.lstrip("/"))).get("ref"))
    if want not in refs:
        raise SpliceError(f"{d.part}: no table declared over the detail rows {want} (tables: {refs or 'none'})")


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
