"""A screen run over every XML part of a zip package before any reader opens it.

python-calamine (Rust) parses the shared strings and the worksheets itself, so defusedxml's
protection of our own parsing does not cover it: measured on this machine, an undefined entity
(``&nbsp;``) in sharedStrings ends calamine with an ``XmlError``, a DOCTYPE in any part is read
without a word, and a single cell at ``XFD1048576`` makes it allocate 512 GiB and abort the whole
process. No library screens a package this way, hence this small hand-written pass: the first bytes
of each part for DOCTYPE/ENTITY declarations, and (streaming, bounded by :class:`Limits`) the shared
strings and worksheets for undefined entity references and for cells or dimensions outside the grid
or beyond :data:`MAX_AREA`.
"""

from __future__ import annotations

import re
import zipfile
import zlib

from .package import LIMITS, MAX_COL, MAX_ROW, Limits, UnreadableFile, a1_to_index

MAX_AREA = 8_000_000           # cells a sheet may span (rows × columns): calamine allocates them all
_HEAD = 4096                   # a DOCTYPE must come before the root element
_DECL = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# a named reference must end with ';' (so a chunk boundary inside "&gt;" is never taken for one)
_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z_:][\w.:-]{0,40});")
# starts with a literal so that re can skip to each 'r="' (a leading \s made it 3x slower, measured:
# 1.8 against 0.6 ms a file); the byte before the match is checked to be whitespace in the loop
_FAR = re.compile(rb'r="\$?(?:([A-Za-z]{0,4})\$?([0-9]{5,12})|([A-Za-z]{3,4})\$?([0-9]{1,12}))"')
_SPACE = frozenset(b" \t\r\n")
_DIM = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\sref="([^"]*)"')
_CHUNK = 1 << 16


def screen_package(path: str, limits: Limits = LIMITS) -> None:
    """Raise :class:`UnreadableFile` (``file.hostile`` / ``file.corrupt``) for a package no reader
    should be given; return quietly otherwise (and for files that are not zip packages)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return                                    # not a zip: the package inspector says what it is
    with zf:
        for info in zf.infolist():
            name = info.filename
            if not name.lower().endswith((".xml", ".rels", ".vml")):
                continue
            deep = name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"
            try:
                _screen_part(zf, info, deep, limits)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
                raise UnreadableFile("file.corrupt", f"{name}: {exc}") from None


def _screen_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, deep: bool, limits: Limits) -> None:
    name = info.filename
    budget = limits.max_uncompressed_bytes
    with zf.open(info) as fh:
        head = fh.read(_HEAD)
        if _DECL.search(head):
            raise UnreadableFile("file.hostile", f"{name}: có khai báo DOCTYPE/ENTITY")
        if not deep:
            return
        max_row = max_col = 0
        tail = b""
        data = head
        while data:
            budget -= len(data)
            if budget < 0:
                raise UnreadableFile("file.too_large", f"{name}: vượt {limits.max_uncompressed_bytes} byte")
            chunk = tail + data
            m = _ENTITY.search(chunk)
            if m:
                raise UnreadableFile("file.hostile", f"{name}: tham chiếu thực thể không xác định "
                                                     f"&{m.group(1).decode('ascii', 'replace')};")
            if _DECL.search(data):
                raise UnreadableFile("file.hostile", f"{name}: có khai báo DOCTYPE/ENTITY")
            # only references with a row of five digits or more, or a column of three letters or more,
            # can take a sheet beyond MAX_AREA (9,999 rows × ZZ = 7 M cells): find just those, cheaply
            for m in _FAR.finditer(chunk):
                if m.start() == 0 or chunk[m.start() - 1] not in _SPACE:
                    continue                      # another attribute whose name ends in 'r'
                col, row = (m.group(1), m.group(2)) if m.group(2) is not None else (m.group(3), m.group(4))
                r, c = int(row), (_col(col) if col else 0)
                if r > MAX_ROW or c > MAX_COL:
                    raise UnreadableFile("file.hostile", f"{name}: ô {(col + row).decode()} nằm ngoài bảng tính")
                max_row, max_col = max(max_row, r), max(max_col, c, 702)
            for ref in _DIM.findall(chunk) if b"imension" in chunk else ():
                last = ref.split(b":")[-1].decode("ascii", "replace")
                try:
                    r, c = a1_to_index(last)      # 1-based; ValueError beyond the grid
                except ValueError:
                    raise UnreadableFile("file.hostile", f"{name}: vùng dữ liệu {ref.decode()} nằm ngoài "
                                                         "bảng tính") from None
                max_row, max_col = max(max_row, r), max(max_col, c)
            if max_row * max(max_col, 1) > MAX_AREA:
                raise UnreadableFile("file.hostile", f"{name}: trang tính trải rộng bất thường "
                                                     f"({max_row} dòng × {max_col} cột)")
            tail = chunk[-256:]
            data = fh.read(_CHUNK)


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n
