"""One submission's share of the roll-up, rendered once: when its file is validated.

A merge used to spend its time on the detail tables of the template sheets (one row per unit and
table row, about a million cells for a province of a thousand units). A submission's rows never
change once received, so the validating worker renders them straight away into sheet XML and
deflates it, together with their sums per (row, column) and the rows of the tidy export. The
ledger keeps this *pack* by content hash; writing the roll-up is then a matter of concatenating
compressed pieces and adding up a few sums, and a merge after one new file renders one file.

Rows and cells carry their references (``r``) as Excel writes them, so that every reader finds
each value at its address (some readers, exceljs among them, misplace rows without them). The row
number is only known when the roll-up is written, so a piece holds :data:`ROW_MARK` in its place
(``<row r="\x01">``, ``<c r="G\x01">``); the splice puts the number in. Columns are the table's
own, from column A: the splice checks that the table starts there. Every cell of a row is written,
blanks included.

A pack depends on the file's values and on what the registry and the blueprints say about them
(unit name and type, labels, columns), on where and when the file arrived and on this module:
:func:`pack_stamp` covers all of it, and a pack whose stamp differs is rendered again from the
ledger's values.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import marshal
import math
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..blueprint.catalogue import Catalogue
from ..blueprint.model import CellType
from ..config.period import Period
from ..config.province import Unit
from ..layout import TableLayout, col_letter
from .formats import SUMMABLE, detail_styles, is_number, row_height, text_lines, text_width
from .model import CellRow, ValueRow, value_state
from .tidy import tidy_member

__all__ = ["C_LABEL", "C_NAME", "C_PARENT", "C_ROW", "C_TYPE", "C_UNIT", "DATA_HEADERS", "Pack", "Piece",
           "ROW_MARK", "SpliceError", "TRAIL_HEADERS", "VALUE_COL0", "build_pack", "fold", "group_sums", "pack_stamp", "render_pieces",
           "submission_values", "text_rows", "unit_type_label"]

PIECES_FORMAT = "4"     # bump when the rendering below changes: every pack is then rendered again
ROW_MARK = "\x01"       # stands for the row number in a piece (never in escaped XML text)

# The detail table of a template sheet: these columns, the value columns, then the provenance.
DATA_HEADERS = ("Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Đơn vị cấp trên/Huyện", "Mã dòng", "Nội dung")
TRAIL_HEADERS = ("Tệp nguồn", "Phụ lục", "Vị trí nguồn")
C_UNIT, C_NAME, C_TYPE, C_PARENT, C_ROW, C_LABEL = range(6)
VALUE_COL0 = len(DATA_HEADERS)

DEFLATE_LEVEL = 1   # the rows are repetitive: speed over the last few per cent
LABEL_WIDTH = 42    # the width of the "Nội dung" column, for row heights


class SpliceError(RuntimeError):
    """The detail rows and the sheet they go into disagree with what the splice assumes about them.

    A bug in cchc_xl (in the roll-up writer or in XlsxWriter's output), never in a user's files: the
    roll-up is not written rather than written wrong."""


def unit_type_label(unit_type: str | None, labels: Mapping[str, str]) -> str:
    """A unit type's name in the province's regime (the code itself for a type it no longer has)."""
    return labels.get(unit_type or "", unit_type or "")


@dataclass
class Piece:
    """One submission's rows of one template's detail table, and what the summaries need of them."""

    template: str                           # blueprint id
    unit_code: str
    unit_name: str
    unit_type: str
    parent: str | None
    part: str
    appendix: str
    n_rows: int
    sums_row: dict[tuple[str, str], float]  # (row key, column key) -> sum of the numbers sent
    sums_all: dict[str, float]              # column key -> sum over every row
    extra_rows: tuple[tuple[str, str], ...]  # (row key, label) the template's layout does not know
    widths: dict[int, float]                # sheet column -> width its texts want
    key_width: float                        # width the "Mã dòng" column wants
    file_hash: str                          # the content it was rendered from
    crc: int                                # CRC-32 and length of the rows' XML …
    size: int
    deflated: bytes | None = field(default=None, repr=False)   # … which is kept deflated (raw, sync-flushed)

    def dumps(self) -> bytes:
        """Everything but the XML, for the ledger (marshal: plain data only, never code)."""
        return marshal.dumps((self.template, self.unit_code, self.unit_name, self.unit_type, self.parent, self.part,
                              self.appendix, self.n_rows, list(self.sums_row.items()), self.sums_all,
                              self.extra_rows, self.widths, self.key_width, self.file_hash, self.crc, self.size))

    @classmethod
    def loads(cls, blob: bytes, deflated: bytes | None = None) -> Piece:
        t = marshal.loads(blob)
        return cls(*t[:8], dict(t[8]), *t[9:], deflated)



def fold(sums: dict, piece: Piece, *, by_unit: bool) -> None:
    """Add a piece's sums into ``sums[(grouping, key)] = (Σ per (row, column), Σ per column)``,
    grouped by (unit type, appendix) and, with ``by_unit``, by unit; then drop them from the piece
    (what a roll-up holds does not grow with the number of files). :func:`group_sums` derives the
    province, unit type and appendix groups from these."""
    groups = [("type+appendix", (piece.unit_type, piece.appendix))]
    if by_unit:
        groups.append(("unit", piece.unit_code))
    for g in groups:
        rows, cols = sums.get(g) or sums.setdefault(g, ({}, {}))
        get = rows.get
        for key, v in piece.sums_row.items():
            rows[key] = get(key, 0) + v
        for col, v in piece.sums_all.items():
            cols[col] = cols.get(col, 0) + v
    piece.sums_row, piece.sums_all = {}, {}


def group_sums(folded: dict) -> dict:
    """``folded`` (see :func:`fold`) with the groups ``("all", None)``, ``("type", t)`` and
    ``("appendix", a)`` added."""
    out = dict(folded)
    for (g, key), (rows, cols) in folded.items():
        if g != "type+appendix":
            continue
        for target in (("all", None), ("type", key[0]), ("appendix", key[1])):
            t_rows, t_cols = out.get(target) or out.setdefault(target, ({}, {}))
            for k, v in rows.items():
                t_rows[k] = t_rows.get(k, 0) + v
            for c, v in cols.items():
                t_cols[c] = t_cols.get(c, 0) + v
    return out


@dataclass
class Pack:
    """What the roll-up needs of one counted file, rendered once."""

    stamp: str
    pieces: list[Piece]
    tidy: bytes                         # a gzip member: the file's rows of the tidy export (CSV)
    codes: list[str]                    # the appendices the file holds
    inputs_digest: str | None           # the typed figures, to spot two units sending the same


def pack_stamp(unit: Unit, part: str, period: str, source_file: str, received_at: dt.datetime,
               catalogue_stamp: str) -> str:
    """Everything a pack's rendering depends on, besides the file's values."""
    key = (PIECES_FORMAT, catalogue_stamp, sorted(detail_styles().items()), unit.code, unit.name, unit.type,
           unit.parent, part, period, source_file, received_at.isoformat())
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


# -- values of one submission ---------------------------------------------------------------------


def submission_values(cat: Catalogue, layout: Callable[[str, Unit], TableLayout], period: Period, unit: Unit,
                      part: str, rows: Iterable[CellRow], source_file: str, received_at: dt.datetime,
                      digest: str, nil: Iterable[str] = ()) -> list[ValueRow]:
    """The ledger's rows of one file (appendix, sheet, row, column, cell, number, text, role) as
    :class:`ValueRow` s with their labels and state (``nil``: the appendices declared "Không phát
    sinh"); outlines and cells no layout knows are left out."""
    nil = set(nil)
    out = []
    per_code: dict[str, tuple | None] = {}
    period_s = str(period)
    for appendix, sheet, row_key, col_key, cell, num, text, role in rows:
        known = per_code.get(appendix, False)
        if known is False:
            bp = cat.by_code.get(appendix)
            known = per_code[appendix] = None if bp is None or bp.kind == "outline" else (
                bp.id, _labels(layout(appendix, unit)),
                unit.code if bp.row_source is not None and bp.row_source.registry == "communes" else unit.parent)
        if known is None:
            continue
        table, labels, parent = known
        label = labels.get((row_key, col_key))
        if label is None:
            continue
        value = num if num is not None else text
        out.append(ValueRow(period_s, unit.code, unit.name, unit.type, parent, part, appendix, table, row_key,
                            label[0], col_key, label[1], value, role, source_file, sheet,
                            cell, received_at, digest, value_state(value, appendix in nil)))
    return out


def _labels(lay: TableLayout) -> dict[tuple[str, str], tuple[str, str]]:
    """(row key, column key) -> (row label or number, column label), kept with the layout."""
    hit = lay.__dict__.get("_cchc_labels")
    if hit is None:
        hit = lay.__dict__["_cchc_labels"] = {(r.key, c.key): (r.label or r.stt, c.label)
                                              for r in lay.rows for c in lay.cols}
    return hit


def inputs_digest(rows: Iterable[CellRow]) -> str | None:
    """A digest of the figures a unit typed (None when too few to call two files copies)."""
    inputs = sorted((r.appendix, r.row_key, r.col_key, r.num, r.text) for r in rows
                    if r.role == "input" and (r.num or r.text))
    if sum(1 for _a, _r, _c, num, _t in inputs if num) < 10:
        return None
    return hashlib.sha256(repr(inputs).encode()).hexdigest()


def build_pack(cat: Catalogue, layout: Callable[[str, Unit], TableLayout], period: Period, unit: Unit, part: str,
               rows: list[CellRow], source_file: str, received_at: dt.datetime, digest: str,
               catalogue_stamp: str, type_labels: Mapping[str, str], nil: Iterable[str] = ()) -> Pack:
    values = submission_values(cat, layout, period, unit, part, rows, source_file, received_at, digest, nil)

    def template_layout(table: str, appendix: str) -> TableLayout:
        bp = cat.blueprints[table]
        if bp.row_source is not None and bp.row_source.registry == "communes":
            return layout(appendix, unit)       # a district's own communes are its rows
        return layout(bp.code_list[0], unit)

    return Pack(pack_stamp(unit, part, str(period), source_file, received_at, catalogue_stamp),
                render_pieces(values, template_layout, type_labels), tidy_member(values),
                list(dict.fromkeys(r.appendix for r in rows)), inputs_digest(rows))


# -- rendering -------------------------------------------------------------------------------------

_ESCAPES = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape_char(m: re.Match) -> str:
    s = m.group()
    if s in _ENTITIES:
        return _ENTITIES[s]
    if len(s) > 1:                          # a literal "_x0041_" must not read as "A"
        return "_x005F" + s
    return f"_x{ord(s):04X}_"               # control characters, as Excel writes them


@functools.lru_cache(maxsize=8192)     # labels, names and paths recur row after row
def _string(style: int, text: str) -> str:
    if not text:
        return f'<c s="{style}"/>'
    t = _ESCAPES.sub(_escape_char, text[:32767])
    space = ' xml:space="preserve"' if t[0].isspace() or t[-1].isspace() else ""
    return f'<c s="{style}" t="inlineStr"><is><t{space}>{t}</t></is></c>'


def _number(style: int, v: float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        v = int(v)
    return f'<c s="{style}"><v>{v!r}</v></c>'


_EPOCH = dt.datetime(1899, 12, 30)


def _value(style: int, v: object) -> str:
    """A value by its Python type, as ``rollup._put`` writes it; text is always text."""
    if v is None or v == "":
        return f'<c s="{style}"/>'
    if isinstance(v, bool):
        return f'<c s="{style}" t="b"><v>{int(v)}</v></c>'
    if is_number(v):
        return _number(style, v)
    if isinstance(v, dt.date):
        d = v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
        return _number(style, (d.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400)
    return _string(style, str(v))


@dataclass
class _Entry:
    row_key: str
    row_label: str
    appendix: str
    source_sheet: str
    values: dict[str, object] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)   # column key -> source cell


def _cell_styles(lay: TableLayout) -> dict:
    """(row, column) -> (style index, numeric type?) of the cell, and column -> those of the
    column (for rows the layout does not have)."""
    hit = lay.__dict__.get("_cchc_cell_styles")      # kept with the layout, freed with it
    if hit is None:
        styles = detail_styles()
        numeric = SUMMABLE | {CellType.percent}

        def info(ctype: CellType) -> tuple[int, bool]:
            return styles[ctype.value], ctype in numeric

        types: dict = {c.key: info(c.spec.type or CellType.count) for c in lay.value_cols}
        types.update({(ref.row, ref.col): info(spec.type) for ref, spec in lay.cells.items()})
        hit = lay.__dict__["_cchc_cell_styles"] = types
    return hit


def render_pieces(values: Iterable[ValueRow], template_layout: Callable[[str, str], TableLayout],
                  type_labels: Mapping[str, str]) -> list[Piece]:
    """The pieces of one submission (every value from one file), one per appendix it fills."""
    by_code: dict[tuple[str, str], list[ValueRow]] = {}
    for v in values:
        by_code.setdefault((v.table, v.appendix), []).append(v)
    return [_render(vals, template_layout(table, appendix), type_labels)
            for (table, appendix), vals in by_code.items()]


def _render(values: list[ValueRow], lay: TableLayout, type_labels: Mapping[str, str]) -> Piece:
    styles = detail_styles()
    first = values[0]
    row_index = {r.key: i for i, r in enumerate(lay.rows)}
    row_kind = {r.key: r.kind for r in lay.rows}
    cols = lay.value_cols
    known_cols = {c.key for c in cols}
    entries: dict[str, _Entry] = {}
    first_seen: dict[str, int] = {}
    for vr in values:
        if row_kind.get(vr.row_key) in ("total", "heading", "group"):
            continue    # totals are recomputed from the rows, never taken from the units
        if vr.column_key not in known_cols:
            continue
        e = entries.get(vr.row_key)
        if e is None:
            label = vr.row_label or (lay.row(vr.row_key).label if vr.row_key in row_index else "")
            e = entries[vr.row_key] = _Entry(vr.row_key, label, vr.appendix, vr.source_sheet)
        first_seen.setdefault(vr.row_key, len(first_seen))
        e.values[vr.column_key] = vr.value
        if vr.source_cell:
            e.cells[vr.column_key] = vr.source_cell
    n = len(row_index)
    ordered = sorted(entries.values(), key=lambda e: row_index.get(e.row_key, n + first_seen[e.row_key]))

    communes = bool(lay.blueprint.row_source and lay.blueprint.row_source.registry == "communes")
    parent = first.parent or (first.unit_code if communes else "")
    type_label = unit_type_label(first.unit_type, type_labels)
    trail0 = VALUE_COL0 + len(cols)
    text, label = styles["text"], styles["label"]
    types = _cell_styles(lay)
    text_style = styles[CellType.text.value]
    col_keys = [c.key for c in cols]
    widths: dict[int, float] = {}
    refs = _cell_refs(trail0 + len(TRAIL_HEADERS))

    def see(col: int, value: object, cap: float) -> None:
        if value is not None and value != "":
            w = text_width(value, cap)
            if w > widths.get(col, 0):
                widths[col] = w

    head = "".join((_string(text, first.unit_code), _string(text, first.unit_name), _string(text, type_label),
                    _string(text, parent or "")))
    for c, txt in ((C_UNIT, first.unit_code), (C_NAME, first.unit_name), (C_TYPE, type_label), (C_PARENT, parent)):
        see(c, txt, 45)
    see(trail0, first.source_file, 40)
    source = _string(text, first.source_file)
    sums_row: dict[tuple[str, str], float] = {}
    sums_all: dict[str, float] = {}
    rows = []
    key_width = 0.0
    for e in ordered:
        height = _label_height(e.row_label)
        parts = [head, _string(text, e.row_key), _string(label, e.row_label)]
        see(C_ROW, e.row_key, 45)
        see(C_LABEL, e.row_label, 45)
        key_width = max(key_width, min(28.0, len(e.row_key) * 1.1 + 2))
        for c, key in enumerate(col_keys, VALUE_COL0):
            style, numeric = types.get((e.row_key, key)) or types[key]
            v = e.values.get(key)
            if v is None:
                parts.append(f'<c s="{style}"/>')
            elif (type(v) is float or type(v) is int) and math.isfinite(v):
                sums_row[(e.row_key, key)] = sums_row.get((e.row_key, key), 0) + v
                sums_all[key] = sums_all.get(key, 0) + v
                parts.append(_number(style, v))
            elif numeric:
                # only real numbers are numbers: a text here stays text (SUMIFS and Python skip it)
                parts.append(_string(text_style, str(v)))
            else:
                parts.append(_value(style, v))
                if isinstance(v, str):
                    see(c, v, 40)
        cells = [e.cells[k] for k in (lc.key for lc in cols) if k in e.cells]
        loc = e.source_sheet or ""
        if cells:
            loc = f"{loc}!{cells[0]}" + (f":{cells[-1]}" if len(cells) > 1 else "")
        see(trail0 + 2, loc, 25)
        parts += [source, _string(text, e.appendix), _string(text, loc)]
        row_cells = "".join(parts).split("<c ")      # texts are escaped: "<c " only opens a cell
        if len(row_cells) != len(refs) + 1 or row_cells[0]:     # every cell of the row, in column order
            raise SpliceError(f"detail row {e.row_key!r} of {first.appendix} renders {len(row_cells) - 1} cells "
                              f"for {len(refs)} columns")
        row_open = f'<row r="{ROW_MARK}" ht="{height:g}" customHeight="1">' if height else f'<row r="{ROW_MARK}">'
        rows.append("".join((row_open, *map(str.__add__, refs, row_cells[1:]), "</row>")))
    extra = tuple((e.row_key, e.row_label or e.row_key) for e in ordered if e.row_key not in row_index)
    return Piece(first.table, first.unit_code, first.unit_name, first.unit_type, first.parent, first.part,
                 first.appendix, len(rows), sums_row, sums_all, extra, widths,
                 key_width, first.file_hash, *deflate("".join(rows).encode()))


TEXT_ROWS_PER_PIECE = 1000     # rows of texts per piece: what is rendered, and later spliced, at once


def text_rows(name: str, rows: Iterable[tuple[float | None, Sequence[tuple[int, str]]]]) -> list[Piece]:
    """Rows of texts rendered as detail pieces are, for the roll-up writer to splice in: each row its
    height (None: the default) and its cells from column A on, each (style index, text). One piece
    per :data:`TEXT_ROWS_PER_PIECE` rows, so that neither rendering nor splicing holds all the texts
    as XML at once (one piece of every text peaked at some 120 MB more for 1,000 units).

    The narratives sheet is written this way: some 28,000 rows of four texts for a 1,000-unit round,
    which took 2.0 of the 4.4 s of a merge after one new file as plan operations replayed through
    XlsxWriter (cProfile), and takes about a tenth of that here (``make bench``)."""
    pieces: list[Piece] = []
    out: list[str] = []
    n = 0

    def close() -> None:
        pieces.append(Piece(name, "", "", "", None, "main", name, n, {}, {}, (), {}, 0.0, "",
                            *deflate("".join(out).encode())))

    for height, cells in rows:
        refs = _cell_refs(len(cells))
        out.append(f'<row r="{ROW_MARK}" ht="{height:g}" customHeight="1">' if height else f'<row r="{ROW_MARK}">')
        out += [ref + _string(style, text)[3:] for ref, (style, text) in zip(refs, cells)]
        out.append("</row>")
        n += 1
        if n == TEXT_ROWS_PER_PIECE:
            close()
            out, n = [], 0
    if n:
        close()
    return pieces


@functools.lru_cache(maxsize=64)
def _cell_refs(n: int) -> tuple[str, ...]:
    """The opening of each cell of a detail row, with its reference: ``<c r="A\x01" `` …"""
    return tuple(f'<c r="{col_letter(i)}{ROW_MARK}" ' for i in range(n))


@functools.lru_cache(maxsize=4096)
def _label_height(label: str) -> float | None:
    return row_height(text_lines(label, LABEL_WIDTH))


def deflate(data: bytes) -> tuple[int, int, bytes]:
    """(CRC-32, length, raw deflate ending in a sync flush): pieces of one deflate stream."""
    c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return zlib.crc32(data), len(data), c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
