"""Structure of a returned spreadsheet file, read safely and fast.

``inspect_package(path)`` tells which sheets a file has (name, visibility,
protection, formula text by cell, merged ranges), whether the workbook
structure is protected and which user-defined document properties it carries.
Cell *values* are read elsewhere (python-calamine); this module reads only the
package parts it needs:

* xlsx / xlsm: ``xl/workbook.xml`` and its rels, each worksheet part (streamed),
  ``docProps/custom.xml``;
* ods: ``META-INF/manifest.xml`` (encryption), ``content.xml`` (streamed),
  ``meta.xml``;
* xls: the OLE2 container (olefile) for encryption and the user-defined
  properties, python-calamine for sheet names and visibility; formulas,
  protection and merged ranges are not available (None).

Safety: the file size is checked before anything is read; for zips the entry
count, the declared uncompressed sizes and each entry's compression ratio are
checked before anything is decompressed (zipfile then never yields more than
the declared size); XML is parsed with defusedxml without DTDs or entities;
formulas and merged ranges expanded from repeated cells are capped.  Any
problem with the file raises :class:`UnreadableFile`, never another exception
(a path that does not exist or cannot be opened raises the usual OSError).
"""

from __future__ import annotations

import codecs
import datetime as dt
import html
import os
import posixpath
import re
import struct
import uuid
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

from .values import is_reader_panic

__all__ = [
    "LIMITS",
    "Limits",
    "PackageInfo",
    "SheetInfo",
    "UnreadableFile",
    "a1_to_index",
    "index_to_a1",
    "inspect_package",
    "odf_formula_to_a1",
    "quote_sheet_name",
    "shift_formula",
    "sniff_format",
]

MiB = 1 << 20

CODES = (
    "file.not_spreadsheet",
    "file.corrupt",
    "file.encrypted",
    "file.too_large",
    "file.hostile",
    "file.unsupported",
)


class UnreadableFile(Exception):
    """The file cannot (or must not) be read; ``code`` is one of :data:`CODES`."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class SheetInfo:
    name: str
    state: str  # "visible" | "hidden" | "veryHidden"
    protected: bool | None  # sheet protection on; None when the format cannot tell
    formulas: dict[str, str] | None  # "C7" -> formula text without "=", Excel A1 syntax; None for xls
    merged: list[str] | None  # ["A1:D1", ...]; None for xls
    part: str | None = field(default=None, repr=False, compare=False)  # xlsx: the worksheet's part
    # "C7" -> "#DIV/0!": cells holding an error value (calamine reads them as blank); xls: through xlrd
    errors: dict[str, str] | None = None


@dataclass
class PackageInfo:
    path: str
    format: str  # "xlsx" | "xlsm" | "xls" | "ods"
    sheets: list[SheetInfo]
    workbook_protected: bool | None
    custom_properties: dict[str, object] = field(default_factory=dict)

    def sheet(self, name: str) -> SheetInfo | None:
        for info in self.sheets:
            if info.name == name:
                return info
        return None


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * MiB
    max_entries: int = 2000
    max_uncompressed_bytes: int = 300 * MiB  # sum of the declared sizes of all zip entries
    max_ratio: float = 200  # uncompressed / compressed, per zip entry ...
    ratio_min_bytes: int = 1 * MiB  # ... checked for entries declaring more than this
    max_items: int = 2_000_000  # formulas + merged ranges reported for one file (ods repeats expand)


LIMITS = Limits()

MAX_ROW = 1_048_576
MAX_COL = 16_384

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPES = (
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.spreadsheet-template",
)
_MACRO_CONTENT_TYPES = (
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml",
    "application/vnd.ms-office.vbaproject",
)
_XLSB_CONTENT_TYPE = "application/vnd.ms-excel.sheet.binary.macroenabled.main"
_SMALL_PART = 16 * MiB  # parts read whole (rels, content types, mimetype, manifest)


# ---------------------------------------------------------------- A1 helpers

_CELL_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def a1_to_index(ref: str) -> tuple[int, int]:
    """Cell "C7" / "$C$7" -> (row 7, column 3), both 1-based; ValueError when not a cell."""
    m = _CELL_RE.fullmatch(ref)
    if not m:
        raise ValueError(f"not an A1 cell reference: {ref!r}")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"cell reference out of range: {ref!r}")
    return row, col


def _col_letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def index_to_a1(row: int, col: int) -> str:
    """(7, 3) -> "C7" (1-based)."""
    return f"{_col_letters(col)}{row}"


def _col_number(letters: str) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col


# A reference must not touch a name character on either side: "LOG10(" is a
# function, "Sheet1!" a sheet name, "Tbl1[" a table, "1E5" a number.
_SHIFT_RE = re.compile(
    r"""
      (?P<str>"(?:[^"]|"")*")
    | (?P<sheet>'(?:[^']|'')*'!)
    | (?P<bracket>\[(?:[^\[\]]|\[[^\[\]]*\])*\])
    | (?<![\w.$])
      (?:
          (?P<c1>\$?[A-Za-z]{1,3})(?P<r1>\$?[0-9]{1,7})(?::(?P<c2>\$?[A-Za-z]{1,3})(?P<r2>\$?[0-9]{1,7}))?
        | (?P<cc1>\$?[A-Za-z]{1,3}):(?P<cc2>\$?[A-Za-z]{1,3})
        | (?P<rr1>\$?[0-9]{1,7}):(?P<rr2>\$?[0-9]{1,7})
      )
      (?![\w.(!\[$])
    """,
    re.VERBOSE,
)


def _shift_col(part: str, dcol: int) -> str | None:
    if part.startswith("$"):
        return part if _col_number(part[1:]) <= MAX_COL else None
    col = _col_number(part) + dcol
    return _col_letters(col) if 1 <= col <= MAX_COL else None


def _shift_row(part: str, drow: int) -> str | None:
    if part.startswith("$"):
        return part if 1 <= int(part[1:]) <= MAX_ROW else None
    row = int(part) + drow
    return str(row) if 1 <= row <= MAX_ROW else None


def shift_formula(formula: str, rows: int, cols: int) -> str:
    """Move the relative parts of every A1 reference in ``formula`` by rows/cols.

    ``$`` parts stay; string literals, sheet names, function names and
    structured references are left alone; a reference pushed off the sheet
    becomes ``#REF!`` (as in Excel).  This is how a shared formula's master
    text becomes the text of each cell it is shared with.
    """
    if rows == 0 and cols == 0:
        return formula

    def repl(m: re.Match[str]) -> str:
        if m.group("str") or m.group("sheet") or m.group("bracket"):
            return m.group(0)
        if m.group("c1"):
            c1, r1 = _shift_col(m.group("c1"), cols), _shift_row(m.group("r1"), rows)
            if m.group("c2"):
                c2, r2 = _shift_col(m.group("c2"), cols), _shift_row(m.group("r2"), rows)
                if None in (c1, r1, c2, r2):
                    return "#REF!"
                return f"{c1}{r1}:{c2}{r2}"
            if c1 is None or r1 is None:
                # Not a cell after all (e.g. a column beyond XFD): leave it.
                return m.group(0) if _col_number(m.group("c1").lstrip("$")) > MAX_COL else "#REF!"
            return f"{c1}{r1}"
        if m.group("cc1"):
            c1, c2 = _shift_col(m.group("cc1"), cols), _shift_col(m.group("cc2"), cols)
            return "#REF!" if c1 is None or c2 is None else f"{c1}:{c2}"
        r1, r2 = _shift_row(m.group("rr1"), rows), _shift_row(m.group("rr2"), rows)
        return "#REF!" if r1 is None or r2 is None else f"{r1}:{r2}"

    return _SHIFT_RE.sub(repl, formula)


_A1_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*|[Cc][0-9]*", re.ASCII)


def quote_sheet_name(name: str) -> str:
    """A sheet name as Excel writes it before "!": quoted when it must be."""
    plain = (
        name
        and not name[0].isdigit()
        and name[0] != "."
        and all(ch.isalnum() or ch in "_." for ch in name)
        and not _A1_LIKE.fullmatch(name)
        and name.upper() not in ("TRUE", "FALSE")
    )
    return name if plain else "'" + name.replace("'", "''") + "'"


# ----------------------------------------------------- ODF formula -> Excel A1

_ODF_ERROR_RE = re.compile(r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA)", re.IGNORECASE)
_ODF_NS_RE = re.compile(r"([A-Za-z][\w.-]*):=")


def _read_quoted(text: str, i: int, quote: str) -> int:
    """Index just past the quoted run starting at text[i] (doubled quotes escape)."""
    j = i + 1
    n = len(text)
    while j < n:
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _odf_ref_part(part: str) -> tuple[str | None, str | None, str]:
    """One side of an ODF reference, "$'02 Data'.$A$1" -> (source, sheet, address)."""
    source = None
    if part.startswith("'"):
        end = _read_quoted(part, 0, "'")
        if part[end : end + 1] == "#":  # external document: 'url'#$Sheet.A1
            source = part[1 : end - 1].replace("''", "'")
            part = part[end + 1 :]
    sheet = None
    part = part.removeprefix("$")
    if part.startswith("'"):
        end = _read_quoted(part, 0, "'")
        sheet = part[1 : end - 1].replace("''", "'")
        part = part[end:]
    else:
        dot = part.rfind(".")
        if dot > 0:
            sheet, part = part[:dot], part[dot:]
    return source, sheet, part.removeprefix(".")


def _odf_reference(inner: str) -> str:
    parts: list[str] = []
    start = i = 0
    while i < len(inner):
        if inner[i] == "'":
            i = _read_quoted(inner, i, "'")
            continue
        if inner[i] == ":":
            parts.append(inner[start:i])
            start = i + 1
        i += 1
    parts.append(inner[start:])
    decoded = [_odf_ref_part(p) for p in parts]
    source, sheet, addr = decoded[0]
    out = addr
    if len(decoded) > 1:
        _, sheet2, addr2 = decoded[1]
        if sheet2 is not None and sheet2 != sheet:
            if sheet is None:
                out = f"{addr}:{quote_sheet_name(sheet2)}!{addr2}"
            else:
                pair = f"{sheet}:{sheet2}"
                both_plain = quote_sheet_name(sheet) == sheet and quote_sheet_name(sheet2) == sheet2
                prefix = pair if both_plain else "'" + pair.replace("'", "''") + "'"
                return f"{prefix}!{addr}:{addr2}"
        else:
            out = f"{addr}:{addr2}"
    if "#REF!" in out.upper():
        return "#REF!"
    if sheet is not None:
        out = f"{quote_sheet_name(sheet)}!{out}"
    if source is not None:
        out = f"'{source}'#{out}"
    return out


def odf_formula_to_a1(formula: str) -> str:
    """An ODF ``table:formula`` ("of:=SUM([.C7:.C20])") as Excel A1 text ("SUM(C7:C20)").

    References in brackets lose their brackets and leading dots and take
    Excel's ``Sheet!`` form; ";" becomes ","; inline arrays take Excel's
    separators; "!" (intersection) becomes a space and "~" (union) a comma.
    Function names are kept as stored.
    """
    m = _ODF_NS_RE.match(formula)
    if m:
        if m.group(1).lower() == "msoxl":  # already Excel syntax
            return formula[m.end() :]
        text = formula[m.end() :]
    else:
        text = formula.removeprefix("=")
    out: list[str] = []
    i, n, braces = 0, len(text), 0
    while i < n:
        ch = text[i]
        if ch == '"':
            j = _read_quoted(text, i, '"')
            out.append(text[i:j])
            i = j
            continue
        if ch == "[":
            j = i + 1
            while j < n and text[j] != "]":
                j = _read_quoted(text, j, "'") if text[j] == "'" else j + 1
            out.append(_odf_reference(text[i + 1 : j]))
            i = j + 1
            continue
        if ch == "#":
            em = _ODF_ERROR_RE.match(text, i)
            if em:
                out.append(em.group(0))
                i = em.end()
                continue
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces = max(0, braces - 1)
        elif ch == ";":
            ch = ","
        elif ch == "|" and braces:
            ch = ";"
        elif ch == "!":
            ch = " "
        elif ch == "~":
            ch = ","
        out.append(ch)
        i += 1
    return "".join(out)


# ------------------------------------------------------------- file checks


def _size_checked(path: str, limits: Limits) -> int:
    size = os.stat(path).st_size
    if size > limits.max_file_bytes:
        raise UnreadableFile(
            "file.too_large", f"file is {size} bytes, more than the limit of {limits.max_file_bytes}"
        )
    return size


def _head(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


class _Zip:
    """An opened zip whose central directory passed the safety checks."""

    def __init__(self, path: str, limits: Limits):
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error, OSError) as exc:
            raise UnreadableFile("file.corrupt", f"not a readable zip archive: {exc}") from None
        try:
            infos = self.zf.infolist()
            if len(infos) > limits.max_entries:
                raise UnreadableFile(
                    "file.hostile", f"zip has {len(infos)} entries, more than {limits.max_entries}"
                )
            total = 0
            for info in infos:
                total += info.file_size
                if info.file_size > limits.ratio_min_bytes and (
                    info.compress_size <= 0 or info.file_size / info.compress_size > limits.max_ratio
                ):
                    raise UnreadableFile(
                        "file.hostile",
                        f"zip entry {info.filename!r} expands {info.compress_size} bytes to "
                        f"{info.file_size} (ratio above {limits.max_ratio:g})",
                    )
            if total > limits.max_uncompressed_bytes:
                raise UnreadableFile(
                    "file.too_large",
                    f"zip entries declare {total} uncompressed bytes, more than {limits.max_uncompressed_bytes}",
                )
            self.by_name = {info.filename.lower(): info for info in infos}
            self.rels_cache: dict[str, dict[str, tuple[str, str]]] = {}
        except BaseException:
            self.zf.close()
            raise

    def close(self) -> None:
        self.zf.close()

    def info(self, name: str) -> zipfile.ZipInfo | None:
        return self.by_name.get(name.lstrip("/").lower())

    def open(self, name: str) -> IO[bytes]:
        info = self.info(name)
        if info is None:
            raise UnreadableFile("file.corrupt", f"package part {name!r} is missing")
        if info.flag_bits & 0x1:
            raise UnreadableFile("file.encrypted", f"zip entry {info.filename!r} is encrypted")
        return self.zf.open(info)

    def read_small(self, name: str) -> bytes:
        info = self.info(name)
        if info is not None and info.file_size > _SMALL_PART:
            raise UnreadableFile("file.hostile", f"package part {name!r} is implausibly large")
        with self.open(name) as fh:
            return fh.read(_SMALL_PART + 1)


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1 :]


def _iterparse(source: IO[bytes], events: tuple[str, ...]) -> Iterator[tuple[str, Element]]:
    return DET.iterparse(source, events, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _parse_small(zp: _Zip, name: str) -> Element:
    data = zp.read_small(name)
    parser = DET.XMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.feed(data)
    return parser.close()


def _true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "on")


# ------------------------------------------------------------------ sniffing


def sniff_format(path: str | os.PathLike[str], limits: Limits = LIMITS) -> str:
    """The format by content: "xlsx", "xlsm", "xls" or "ods"; else raises UnreadableFile."""
    path = os.fspath(path)
    size = _size_checked(path, limits)
    with _guard():
        fmt, handle = _sniff(path, size, limits)
        handle.close()
        return fmt


def _sniff(path: str, size: int, limits: Limits):
    if size == 0:
        raise UnreadableFile("file.not_spreadsheet", "the file is empty")
    head = _head(path)
    if head.startswith(_ZIP_MAGIC):
        zp = _Zip(path, limits)
        try:
            return _sniff_zip(zp), zp
        except BaseException:
            zp.close()
            raise
    if head == _OLE_MAGIC:
        ole = _open_ole(path)
        try:
            return _sniff_ole(ole), ole
        except BaseException:
            ole.close()
            raise
    raise UnreadableFile("file.not_spreadsheet", "not a spreadsheet file (unknown content)")


def _sniff_zip(zp: _Zip) -> str:
    if zp.info("mimetype") is not None:
        mimetype = zp.read_small("mimetype").decode("ascii", "replace").strip()
        if mimetype in _ODS_MIMETYPES:
            return "ods"
        raise UnreadableFile("file.not_spreadsheet", f"OpenDocument file of type {mimetype!r}")
    if zp.info("[Content_Types].xml") is None:
        raise UnreadableFile("file.not_spreadsheet", "a zip archive that is not a spreadsheet")
    types = _content_types(zp)
    wb_part = _office_document(zp)
    wb_type = types.get(wb_part.lower(), "")
    if wb_type == _XLSB_CONTENT_TYPE or wb_part.lower().endswith(".bin"):
        raise UnreadableFile("file.unsupported", "binary Excel workbooks (xlsb) are not supported")
    spreadsheet_type = not wb_type or "spreadsheetml" in wb_type or "ms-excel" in wb_type
    if zp.info(wb_part) is None or not spreadsheet_type:
        raise UnreadableFile("file.not_spreadsheet", "an Office file that is not a spreadsheet")
    macro = any(t in _MACRO_CONTENT_TYPES for t in types.values()) or zp.info("xl/vbaProject.bin") is not None
    return "xlsm" if macro else "xlsx"


def _content_types(zp: _Zip) -> dict[str, str]:
    """Part name (lower case, no leading "/") -> content type (lower case)."""
    root = _parse_small(zp, "[Content_Types].xml")
    defaults: dict[str, str] = {}
    types: dict[str, str] = {}
    for el in root:
        kind = _local(el.tag)
        if kind == "Default":
            defaults[(el.get("Extension") or "").lower()] = (el.get("ContentType") or "").lower()
        elif kind == "Override":
            types[(el.get("PartName") or "").lstrip("/").lower()] = (el.get("ContentType") or "").lower()
    for name in zp.by_name:
        if name not in types:
            ext = name.rpartition(".")[2]
            if ext in defaults:
                types[name] = defaults[ext]
    return types


def _rels(zp: _Zip, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, resolved target part) for ``part`` ("" = package)."""
    if part in zp.rels_cache:
        return zp.rels_cache[part]
    zp.rels_cache[part] = out = _read_rels(zp, part)
    return out


def _read_rels(zp: _Zip, part: str) -> dict[str, tuple[str, str]]:
    folder, _, base = part.rpartition("/")
    rels_name = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    if zp.info(rels_name) is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for el in _parse_small(zp, rels_name):
        if _local(el.tag) != "Relationship" or (el.get("TargetMode") or "").lower() == "external":
            continue
        target = el.get("Target") or ""
        resolved = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[el.get("Id") or ""] = (el.get("Type") or "", posixpath.normpath(resolved))
    return out


def _office_document(zp: _Zip) -> str:
    for rel_type, target in _rels(zp, "").values():
        if rel_type.endswith("/officeDocument"):
            return target
    return "xl/workbook.xml"


def _custom_props_part(zp: _Zip) -> str | None:
    for rel_type, target in _rels(zp, "").values():
        if rel_type.endswith("/custom-properties"):
            return target
    return "docProps/custom.xml" if zp.info("docProps/custom.xml") is not None else None


# ---------------------------------------------------------------- inspecting


class _guard:
    """Turn any failure while reading a bad file into UnreadableFile."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, UnreadableFile):
            return False
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)):
            return False
        if isinstance(exc, defusedxml.DefusedXmlException):
            raise UnreadableFile("file.hostile", f"XML with a DTD or entities: {exc}") from None
        if isinstance(exc, NotImplementedError):
            raise UnreadableFile("file.unsupported", f"unsupported encoding: {exc}") from None
        if isinstance(exc, RecursionError):
            raise UnreadableFile("file.hostile", "nesting too deep") from None
        if isinstance(exc, RuntimeError) and "encrypted" in str(exc).lower():
            raise UnreadableFile("file.encrypted", str(exc)) from None
        kind = "XML error" if isinstance(exc, ParseError) else type(exc).__name__
        raise UnreadableFile("file.corrupt", f"{kind}: {exc}") from None


def inspect_package(path: str | os.PathLike[str], limits: Limits = LIMITS,
                    only: Collection[str] | None = None) -> PackageInfo:
    """Sheets, protection, formula text, merged ranges and custom properties of ``path``.

    With ``only``, worksheets outside it are listed (name, state) but not scanned: their
    ``protected``, ``formulas`` and ``merged`` are None (they are never parsed at all)."""
    path = os.fspath(path)
    size = _size_checked(path, limits)  # a missing path raises FileNotFoundError here
    with _guard():
        fmt, handle = _sniff(path, size, limits)
        try:
            if fmt == "ods":
                info = _inspect_ods(path, handle, limits)
            elif fmt == "xls":
                info = _inspect_xls(path, handle)
            else:
                info = _inspect_xlsx(path, fmt, handle, limits, only)
        finally:
            handle.close()
        if not info.sheets:
            raise UnreadableFile("file.corrupt", "the workbook has no sheets")
        return info


def scan_sheets(info: PackageInfo, names: Collection[str], limits: Limits = LIMITS) -> PackageInfo:
    """``info`` (an xlsx/xlsm inspected with ``only``) with the worksheets ``names`` scanned too,
    without parsing the package's other parts again."""
    with _guard():
        zp = _Zip(info.path, limits)
        try:
            budget = _Budget(limits)
            sheets = []
            for sh in info.sheets:
                if sh.name in names and sh.part is not None and sh.formulas is None:
                    protected, formulas, merged, errors = _scan_worksheet(zp, sh.part, budget)
                    sh = SheetInfo(sh.name, sh.state, protected, formulas, merged, sh.part, errors)
                sheets.append(sh)
        finally:
            zp.close()
    return replace(info, sheets=sheets)


class _Budget:
    def __init__(self, limits: Limits):
        self.left = limits.max_items

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise UnreadableFile("file.too_large", "too many formulas or merged ranges to inspect")


# xlsx --------------------------------------------------------------------

_STATES = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}


def _inspect_xlsx(path: str, fmt: str, zp: _Zip, limits: Limits, only: Collection[str] | None = None) -> PackageInfo:
    wb_part = _office_document(zp)
    root = _parse_small(zp, wb_part)
    rels = _rels(zp, wb_part)
    workbook_protected = False
    entries: list[tuple[str, str, str | None]] = []
    for el in root:
        kind = _local(el.tag)
        if kind == "workbookProtection":
            workbook_protected = _true(el.get("lockStructure")) or _true(el.get("lockWindows"))
        elif kind == "sheets":
            for sh in el:
                if _local(sh.tag) != "sheet":
                    continue
                rid = next((v for k, v in sh.attrib.items() if k.endswith("}id")), None)
                state = _STATES.get((sh.get("state") or "visible").lower())
                if state is None:
                    raise UnreadableFile(
                        "file.corrupt", f"sheet {sh.get('name')!r} has state {sh.get('state')!r}"
                    )
                entries.append((sh.get("name") or "", state, rid))
    budget = _Budget(limits)
    sheets = []
    for name, state, rid in entries:
        rel = rels.get(rid or "")
        if rel is None:
            raise UnreadableFile("file.corrupt", f"sheet {name!r} has no part")
        if only is not None and name not in only:
            sheets.append(SheetInfo(name, state, None, None, None, rel[1]))
            continue
        protected, formulas, merged, errors = _scan_worksheet(zp, rel[1], budget)
        sheets.append(SheetInfo(name, state, protected, formulas, merged, rel[1], errors))
    props_part = _custom_props_part(zp)
    props = _xlsx_custom_properties(zp, props_part) if props_part else {}
    return PackageInfo(path, fmt, sheets, workbook_protected, props)


_C, _F, _ROW, _MERGE, _PROTECTION, _V = 1, 2, 3, 4, 5, 6
_SHEET_CODES = {"c": _C, "f": _F, "row": _ROW, "mergeCell": _MERGE, "sheetProtection": _PROTECTION, "v": _V}
_FEED = 1 << 16


class _SheetScan:
    """Parser target for one worksheet part: formulas, merged ranges, protection, error values.

    A parser target instead of iterparse: no element tree is built and only
    the text of ``<f>`` elements is collected, which halves the parsing time.
    """

    def __init__(self, part: str, budget: _Budget):
        self.part = part
        self.budget = budget
        self.codes: dict[str, int] = {}
        self.protected = False
        self.formulas: dict[str, str] = {}
        self.merged: list[str] = []
        self.errors: dict[str, str] = {}
        self.is_error = False          # the current cell is t="e"
        self.v_text: list[str] | None = None
        self.masters: dict[str, tuple[str, str]] = {}  # si -> (cell, text)
        self.children: list[tuple[str, str]] = []  # (cell, si)
        self.row = 0
        self.col = 0  # column of `ref`; -1 when not computed yet
        self.ref = ""
        self.f_attrib: dict[str, str] | None = None
        self.text: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        code = self.codes.get(tag)
        if code is None:
            code = self.codes[tag] = _SHEET_CODES.get(_local(tag), 0)
        if code == _C:
            self.is_error = attrib.get("t") == "e"
            r = attrib.get("r")
            if r:
                self.ref = r
                self.col = -1
            else:  # position implied: the cell after the previous one
                if self.col < 0:
                    self.col = a1_to_index(self.ref)[1]
                self.col += 1
                self.ref = index_to_a1(self.row, self.col)
        elif code == _F:
            self.f_attrib = attrib
            self.text = []
        elif code == _V:
            if self.is_error:
                self.v_text = []
        elif code == _ROW:
            r = attrib.get("r")
            self.row = int(r) if r else self.row + 1
            self.col = 0
            self.ref = ""
        elif code == _MERGE:
            self.budget.take(1)
            self.merged.append(attrib.get("ref") or "")
        elif code == _PROTECTION:
            self.protected = _true(attrib.get("sheet")) or _true(attrib.get("content"))

    def data(self, text: str) -> None:
        if self.f_attrib is not None:
            self.text.append(text)
        elif self.v_text is not None:
            self.v_text.append(text)

    def end(self, tag: str) -> None:
        if self.v_text is not None and self.codes.get(tag) == _V:
            self.budget.take(1)
            self.errors[self.ref] = "".join(self.v_text).strip() or "#N/A"
            self.v_text = None
            return
        attrib = self.f_attrib
        if attrib is None or self.codes.get(tag) != _F:
            return
        self.f_attrib = None
        text = "".join(self.text)
        shared = attrib.get("t") == "shared"
        if text:
            self.budget.take(1)
            self.formulas[self.ref] = text
            si = attrib.get("si")
            if shared and si is not None and si not in self.masters:
                self.masters[si] = (self.ref, text)
        elif shared:
            self.children.append((self.ref, attrib.get("si") or ""))

    def close(self) -> None:
        for ref, si in self.children:
            master = self.masters.get(si)
            if master is None:
                raise UnreadableFile(
                    "file.corrupt", f"{self.part}: shared formula {si!r} at {ref} has no master"
                )
            self.budget.take(1)
            (row, col), (mrow, mcol) = a1_to_index(ref), a1_to_index(master[0])
            self.formulas[ref] = shift_formula(master[1], row - mrow, col - mcol)


def _feed(fh: IO[bytes], target: object) -> None:
    parser = DET.XMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    while chunk := fh.read(_FEED):
        parser.feed(chunk)
    parser.close()


_FAST_LIMIT = 8 << 20          # parts up to this size may take the regex path
_FAST_CELL = re.compile(rb'<c\s+r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?>\s*<f\b([^>]*)>([^<]*)</f>')
_FAST_MERGE = re.compile(rb'<mergeCell\s+ref="([^"]*)"')
_FAST_PROTECTION = re.compile(rb"<sheetProtection\b([^>]*)>")
_FAST_ATTR = re.compile(rb'\b(sheet|content)="([^"]*)"')
_PREFIXED_ROOT = re.compile(rb"<[A-Za-z_][\w.-]*:worksheet\b")


_FAST_ERROR = re.compile(rb'<c\s+r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?\bt="e"[^>]*>(.*?)</c>', re.S)
_FAST_V = re.compile(rb"<v>([^<]*)</v>")

Scan = tuple[bool, dict[str, str], list[str], dict[str, str]]   # protected, formulas, merged, errors


def _scan_worksheet(zp: _Zip, part: str, budget: _Budget) -> Scan:
    info = zp.info(part)
    if info is not None and info.file_size <= _FAST_LIMIT:
        with zp.open(part) as fh:
            data = fh.read(_FAST_LIMIT + 1)
        fast = _scan_fast(data, budget)
        if fast is not None:
            return fast
    scan = _SheetScan(part, budget)
    with zp.open(part) as fh:
        _feed(fh, scan)
    return scan.protected, scan.formulas, scan.merged, scan.errors


def _scan_fast(data: bytes, budget: _Budget) -> Scan | None:
    """The common worksheet (every cell addressed, no shared formulas, no DTD) by regular
    expressions over the raw part: ~10x faster than a Python parser target. Anything unusual
    returns None and goes through the full (defused) parser, which also rejects DTDs."""
    if b"<!" in data.replace(b"<![CDATA[", b"") or b't="shared"' in data or b"&#" in data:
        return None
    if not data.rstrip().endswith(b"</worksheet>") or _PREFIXED_ROOT.search(data, 0, 4096):
        # truncated or odd, or elements with a namespace prefix (<x:worksheet>, <x:c>, as .NET
        # writers produce), which the patterns below do not see: the parser reads them
        return None
    if data.count(b"<c ") + data.count(b"<c>") != data.count(b'<c r="'):
        return None
    formulas: dict[str, str] = {}
    for m in _FAST_CELL.finditer(data):
        text = m.group(3)
        if text:
            formulas[m.group(1).decode()] = html.unescape(text.decode("utf-8"))
    if data.count(b"<f") - data.count(b"<formula") != len(formulas):
        return None          # a formula the pattern did not see: let the parser read it
    merged = [m.group(1).decode() for m in _FAST_MERGE.finditer(data)]
    errors: dict[str, str] = {}
    if b't="e"' in data:
        for m in _FAST_ERROR.finditer(data):
            v = _FAST_V.search(m.group(2))
            errors[m.group(1).decode()] = html.unescape(v.group(1).decode("utf-8")).strip() if v else "#N/A"
        if data.count(b't="e"') != len(errors):
            return None          # an error cell the pattern did not see: let the parser read it
    budget.take(len(formulas) + len(merged) + len(errors))
    protected = False
    pm = _FAST_PROTECTION.search(data)
    if pm:
        attrs = dict((k.decode(), v.decode()) for k, v in _FAST_ATTR.findall(pm.group(1)))
        protected = _true(attrs.get("sheet")) or _true(attrs.get("content"))
    return protected, formulas, merged, errors


_VT_INT = {"i1", "i2", "i4", "i8", "int", "ui1", "ui2", "ui4", "ui8", "uint"}
_VT_FLOAT = {"r4", "r8", "decimal", "cy"}


def _xlsx_custom_properties(zp: _Zip, part: str) -> dict[str, object]:
    if zp.info(part) is None:
        return {}
    props: dict[str, object] = {}
    for prop in _parse_small(zp, part):
        name = prop.get("name")
        if _local(prop.tag) != "property" or name is None or len(prop) == 0:
            continue
        value_el = prop[0]
        kind = _local(value_el.tag).lower()
        text = value_el.text or ""
        value: object = text
        try:
            if kind in _VT_INT:
                value = int(text.strip())
            elif kind in _VT_FLOAT:
                value = float(text.strip())
            elif kind == "bool":
                value = _true(text)
        except ValueError:
            value = text
        props[name] = value
    return props


# ods ---------------------------------------------------------------------

_NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_NS_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_NS_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_T = f"{{{_NS_TABLE}}}"
_T_TABLE = _T + "table"
_T_ROW = _T + "table-row"
_T_CELL = _T + "table-cell"
_T_COVERED = _T + "covered-table-cell"
_T_NAME = _T + "name"
_T_STYLE_NAME = _T + "style-name"
_T_PROTECTED = _T + "protected"
_T_FORMULA = _T + "formula"
# LibreOffice marks a cell whose value is an error with its extension namespace; the text is the error
_TEXT_P = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}p"
_CALC_VALUE_TYPE = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}value-type"
_T_COLS_REP = _T + "number-columns-repeated"
_T_ROWS_REP = _T + "number-rows-repeated"
_T_COLS_SPAN = _T + "number-columns-spanned"
_T_ROWS_SPAN = _T + "number-rows-spanned"
_T_DISPLAY = _T + "display"
_T_STRUCTURE = _T + "structure-protected"
_S_STYLE = f"{{{_NS_STYLE}}}style"
_S_NAME = f"{{{_NS_STYLE}}}name"
_S_FAMILY = f"{{{_NS_STYLE}}}family"
_S_TABLE_PROPS = f"{{{_NS_STYLE}}}table-properties"
_O_SPREADSHEET = f"{{{_NS_OFFICE}}}spreadsheet"
_ROW_CONTAINERS = {_T_TABLE} | {_T + k for k in ("table-row-group", "table-header-rows", "table-rows")}


def _count(el: Element, attr: str) -> int:
    value = el.get(attr)
    if value is None:
        return 1
    n = int(value)
    if n < 1:
        raise UnreadableFile("file.corrupt", f"{_local(attr)}={value!r}")
    return n


def _inspect_ods(path: str, zp: _Zip, limits: Limits) -> PackageInfo:
    if zp.info("META-INF/manifest.xml") is not None:
        for entry in _parse_small(zp, "META-INF/manifest.xml"):
            if any(_local(child.tag) == "encryption-data" for child in entry):
                raise UnreadableFile("file.encrypted", "the OpenDocument file is password-encrypted")
    budget = _Budget(limits)
    hidden_styles: set[str] = set()
    sheets: list[SheetInfo] = []
    workbook_protected = False
    sheet: SheetInfo | None = None
    containers: list[Element] = []
    depth = 0  # table:table nesting (sub-tables inside cells are ignored)
    row = 0  # 0-based index of the current row
    col = 0
    row_formulas: list[tuple[int, str]] = []  # (0-based column, Excel formula text)
    row_merges: list[tuple[int, int, int]] = []
    row_errors: list[tuple[int, str]] = []
    error_cell: tuple[int, int] | None = None      # (column, repeat) of the error cell being read
    with zp.open("content.xml") as fh:
        for event, el in _iterparse(fh, ("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == _T_CELL or tag == _T_COVERED:
                    if depth != 1:
                        continue
                    rep = _count(el, _T_COLS_REP)
                    if tag == _T_CELL:
                        formula = el.get(_T_FORMULA)
                        cs, rs = _count(el, _T_COLS_SPAN), _count(el, _T_ROWS_SPAN)
                        merge = cs > 1 or rs > 1
                        if el.get(_CALC_VALUE_TYPE) == "error":
                            error_cell = (col, rep)
                        if formula or merge:
                            budget.take(rep * (bool(formula) + merge))
                            if formula:
                                text = odf_formula_to_a1(formula)
                                row_formulas.extend((c, text) for c in range(col, min(col + rep, MAX_COL)))
                            if merge:
                                row_merges.extend((c, cs, rs) for c in range(col, min(col + rep, MAX_COL)))
                    col += rep
                elif tag == _T_ROW:
                    col = 0
                    row_formulas = []
                    row_merges = []
                    row_errors = []
                elif tag in _ROW_CONTAINERS:
                    if tag == _T_TABLE:
                        depth += 1
                        if depth == 1:
                            style = el.get(_T_STYLE_NAME)
                            sheet = SheetInfo(
                                name=el.get(_T_NAME) or "",
                                state="hidden" if style in hidden_styles else "visible",
                                protected=_true(el.get(_T_PROTECTED)),
                                formulas={},
                                merged=[],
                                errors={},
                            )
                            sheets.append(sheet)
                            row = 0
                    containers.append(el)
                elif tag == _O_SPREADSHEET:
                    workbook_protected = _true(el.get(_T_STRUCTURE))
                continue
            # end events
            if tag == _T_ROW:
                if depth == 1 and sheet is not None:
                    reps = _count(el, _T_ROWS_REP)
                    if row_formulas or row_merges or row_errors:
                        budget.take((reps - 1) * (len(row_formulas) + len(row_merges) + len(row_errors)))
                        _emit_row(sheet, row, reps, row_formulas, row_merges, row_errors)
                    row += reps
                el.clear()
                if containers:
                    try:
                        containers[-1].remove(el)
                    except ValueError:
                        pass
            elif tag in _ROW_CONTAINERS:
                containers.pop()
                if tag == _T_TABLE:
                    depth -= 1
                    el.clear()
            elif tag == _T_CELL or tag == _T_COVERED:
                if error_cell is not None and tag == _T_CELL:
                    # the paragraphs only: a comment (office:annotation) is not the cell's text
                    text = "".join("".join(p.itertext()) for p in el if p.tag == _TEXT_P).strip() or "#N/A"
                    budget.take(error_cell[1])
                    row_errors.extend((c, text) for c in range(error_cell[0], min(sum(error_cell), MAX_COL)))
                    error_cell = None
                el.clear()
            elif tag == _S_STYLE and el.get(_S_FAMILY) == "table":
                props = el.find(_S_TABLE_PROPS)
                if props is not None and (props.get(_T_DISPLAY) or "").lower() == "false":
                    hidden_styles.add(el.get(_S_NAME) or "")
    props = _ods_custom_properties(zp) if zp.info("meta.xml") is not None else {}
    return PackageInfo(path, "ods", sheets, workbook_protected, props)


def _emit_row(
    sheet: SheetInfo,
    row: int,
    reps: int,
    formulas: list[tuple[int, str]],
    merges: list[tuple[int, int, int]],
    errors: list[tuple[int, str]] = (),
) -> None:
    # A repeated cell or row repeats its formula text as written: ODF addresses
    # are absolute positions, so "[.C7]" means C7 in every copy (as in Calc).
    assert sheet.formulas is not None and sheet.merged is not None
    for r in range(min(reps, MAX_ROW - row)):
        top = row + r + 1
        for c, text in formulas:
            sheet.formulas[index_to_a1(top, c + 1)] = text
        for c, text in errors:
            sheet.errors[index_to_a1(top, c + 1)] = text
        for c, cs, rs in merges:
            bottom, right = min(top + rs - 1, MAX_ROW), min(c + cs, MAX_COL)
            sheet.merged.append(f"{index_to_a1(top, c + 1)}:{index_to_a1(bottom, right)}")


def _ods_custom_properties(zp: _Zip) -> dict[str, object]:
    props: dict[str, object] = {}
    name_attr = f"{{{_NS_META}}}name"
    type_attr = f"{{{_NS_META}}}value-type"
    user_defined = f"{{{_NS_META}}}user-defined"
    with zp.open("meta.xml") as fh:
        for _event, el in _iterparse(fh, ("end",)):
            if el.tag != user_defined:
                continue
            name = el.get(name_attr)
            if name is None:
                continue
            text = el.text or ""
            kind = el.get(type_attr) or "string"
            value: object = text
            if kind == "float":
                try:
                    value = float(text)
                except ValueError:
                    value = text
            elif kind == "boolean":
                value = _true(text)
            props[name] = value
    return props


# xls ---------------------------------------------------------------------


def _open_ole(path: str):
    import olefile

    try:
        return olefile.OleFileIO(path)
    except Exception as exc:  # noqa: BLE001 (olefile raises OSError and others on damaged files)
        raise UnreadableFile("file.corrupt", f"damaged OLE2 compound file: {exc}") from None


def _sniff_ole(ole) -> str:
    streams = {"/".join(p).lower() for p in ole.listdir(streams=True, storages=False)}
    if {"encryptioninfo", "encryptedpackage"} & streams:
        raise UnreadableFile("file.encrypted", "a password-encrypted Office Open XML file")
    book = "workbook" if "workbook" in streams else "book" if "book" in streams else None
    if book is None:
        raise UnreadableFile("file.not_spreadsheet", "an OLE2 file without an Excel workbook stream")
    with ole.openstream(book) as fh:
        data = fh.read(64 * 1024)
    pos = 0
    for _ in range(64):  # FILEPASS follows BOF (and at most a WRITEPROT) in the globals substream
        if pos + 4 > len(data):
            break
        rec, length = struct.unpack_from("<HH", data, pos)
        if rec == 0x002F:
            raise UnreadableFile("file.encrypted", "the Excel 97-2003 workbook is password-encrypted")
        if rec in (0x0085, 0x000A) or (pos > 0 and rec == 0x0809):  # BOUNDSHEET, EOF, next BOF
            break
        pos += 4 + length
    return "xls"


_VISIBILITY = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}


def _inspect_xls(path: str, ole) -> PackageInfo:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(path)
        try:
            meta = [(m.name, str(m.visible).rpartition(".")[2].lower()) for m in wb.sheets_metadata]
        finally:
            wb.close()
    except BaseException as exc:
        if not isinstance(exc, Exception) and not is_reader_panic(exc):
            raise
        if type(exc).__name__ == "PasswordError":
            raise UnreadableFile("file.encrypted", str(exc)) from None
        raise UnreadableFile("file.corrupt", f"{type(exc).__name__}: {exc}") from None
    errors = _xls_errors(path)
    sheets = [SheetInfo(name, _VISIBILITY.get(vis, "visible"), None, None, None, errors=errors.get(name))
              for name, vis in meta]
    return PackageInfo(path, "xls", sheets, None, _ole_user_properties(ole))


def _xls_errors(path: str) -> dict[str, dict[str, str]]:
    """Sheet -> {"C7": "#DIV/0!"} of a legacy .xls. calamine reads error cells of .xls as blank
    (python-calamine issue #105), so xlrd, which keeps their codes, reads them; a workbook xlrd
    cannot read gives none (calamine's verdict on the file stands)."""
    import xlrd

    out: dict[str, dict[str, str]] = {}
    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception:  # noqa: BLE001 - a second reader's opinion only; the file's fate is calamine's
        return out
    try:
        for sh in book.sheets():
            found = {index_to_a1(r + 1, c + 1): xlrd.error_text_from_code.get(sh.cell_value(r, c), "#N/A")
                     for r in range(sh.nrows) for c in range(sh.row_len(r))
                     if sh.cell_type(r, c) == xlrd.XL_CELL_ERROR}
            if found:
                out[sh.name] = found
    except Exception:  # noqa: BLE001 - as above
        return out
    finally:
        book.release_resources()
    return out


_FMTID_USER = uuid.UUID("D5CDD505-2E9C-101B-9397-08002B2CF9AE").bytes_le
_OLE_EPOCH = dt.datetime(1601, 1, 1)
_OLE_DATE_EPOCH = dt.datetime(1899, 12, 30)
_VT_STRUCT = {2: "<h", 3: "<i", 4: "<f", 5: "<d", 16: "<b", 17: "<B", 18: "<H", 19: "<I", 20: "<q", 21: "<Q",
              22: "<i", 23: "<I"}  # fmt: skip


def _ole_user_properties(ole) -> dict[str, object]:
    """User-defined properties from "\\x05DocumentSummaryInformation" ({} when absent or unreadable)."""
    stream = "\x05DocumentSummaryInformation"
    if not ole.exists(stream):
        return {}
    try:
        with ole.openstream(stream) as fh:
            return _parse_user_property_set(fh.read(4 * MiB))
    except (struct.error, ValueError, IndexError, OverflowError, LookupError, OSError):
        return {}


def _parse_user_property_set(data: bytes) -> dict[str, object]:
    # Hand-written rather than olefile's get_userdefined_properties (0.47), which was measured on our
    # LibreOffice-saved fixture and read in its source: it returns undecoded bytes, decodes names as
    # UTF-8 whatever the section's code page (a UTF-16 set, code page 1200, comes out garbled), and
    # pairs names with values by position instead of by property id. Identity rides on these values.
    u32 = lambda buf, at: struct.unpack_from("<I", buf, at)[0]
    for k in range(min(u32(data, 24), 8)):
        if data[28 + 20 * k : 44 + 20 * k] == _FMTID_USER:
            start = u32(data, 44 + 20 * k)
            break
    else:
        return {}
    sec = data[start : start + u32(data, start)]
    count = min(u32(sec, 4), (len(sec) - 8) // 8)
    offsets = [struct.unpack_from("<II", sec, 8 + 8 * i) for i in range(count)]
    where = dict(offsets)
    codepage = 1252
    if 1 in where and struct.unpack_from("<H", sec, where[1])[0] == 2:
        codepage = struct.unpack_from("<H", sec, where[1] + 4)[0]
    encoding = {1200: "utf-16-le", 65001: "utf-8"}.get(codepage, f"cp{codepage}")
    codecs.lookup(encoding)
    names: dict[int, str] = {}
    if 0 in where:
        pos = where[0] + 4
        for _ in range(u32(sec, where[0])):
            pid, length = struct.unpack_from("<II", sec, pos)
            pos += 8
            size = length * 2 if codepage == 1200 else length
            names[pid] = sec[pos : pos + size].decode(encoding, "replace").rstrip("\0")
            pos += (size + 3) & ~3 if codepage == 1200 else size
    props: dict[str, object] = {}
    for pid, at in offsets:
        if pid in names and pid > 1:
            vt = struct.unpack_from("<H", sec, at)[0]
            value = _ole_value(sec, at + 4, vt, encoding)
            if value is not None:
                props[names[pid]] = value
    return props


def _ole_value(sec: bytes, at: int, vt: int, encoding: str) -> object:
    if vt in _VT_STRUCT:
        return struct.unpack_from(_VT_STRUCT[vt], sec, at)[0]
    if vt == 11:  # VT_BOOL
        return struct.unpack_from("<H", sec, at)[0] != 0
    if vt in (8, 30):  # VT_BSTR, VT_LPSTR
        size = struct.unpack_from("<I", sec, at)[0]
        return sec[at + 4 : at + 4 + size].decode(encoding, "replace").rstrip("\0")
    if vt == 31:  # VT_LPWSTR
        size = struct.unpack_from("<I", sec, at)[0]
        return sec[at + 4 : at + 4 + 2 * size].decode("utf-16-le", "replace").rstrip("\0")
    if vt == 64:  # VT_FILETIME, 100 ns since 1601
        ticks = struct.unpack_from("<Q", sec, at)[0]
        return (_OLE_EPOCH + dt.timedelta(microseconds=ticks // 10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if vt == 7:  # VT_DATE, days since 1899-12-30
        days = struct.unpack_from("<d", sec, at)[0]
        return (_OLE_DATE_EPOCH + dt.timedelta(days=days)).isoformat()
    if vt == 6:  # VT_CY, fixed point / 10000
        return struct.unpack_from("<q", sec, at)[0] / 10000
    return None
