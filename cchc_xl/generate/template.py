"""Workbooks of alike units from one rendering: the round's fast path (issue 17).

Units of one type in one round get workbooks that differ only in a handful of texts: the unit's
name and code, its metadata (identity marks, signed per unit), and for a district the names of its
communes. A :class:`Template` is one workbook written the plain way (:func:`workbook._write`) with
each of those texts replaced by a *token* — a run of private-use characters of exactly the text's
length — and a unit's workbook is that package with the tokens replaced by the unit's texts.

Why this is the same file as the plain path writes (``tests/test_template.py`` compares the bytes):

* Whatever the writer derives from a text's length (row heights of wrapped lines, Excel's
  255-character footer limit) comes out the same, because a token is as long as its text and the
  template key holds every length. Texts that a length does not describe are not templated
  (:func:`templatable`: control characters, characters outside the BMP, private-use characters,
  very long texts); such a unit is written the plain way.
* Shared strings are rebuilt from the unit's real texts in the template's order of first use, so a
  unit name that is also a drop-down entry shares its index exactly as XlsxWriter would share it;
  the sheets' string indices are renumbered to match, and each ``<si>`` element and the ``<sst>``
  head of ``sharedStrings.xml`` are written by XlsxWriter's own ``SharedStrings`` class.
* Elsewhere (footer, document properties) a token stands in element text, where a text's XML is
  XlsxWriter's escaping of it (``_xml_data_element``), which works character by character.
* The package is zipped as XlsxWriter zips an in-memory workbook (same part order, entry times,
  compression).

Measured reason for assembling the package here instead of through XlsxWriter: on the bench's
1,000-unit round the plain path spends ~185 ms a workbook under cProfile (2 processes: 70–89 s for
the round), ~40 % in XlsxWriter's XML writing and zipping and the rest in building the same
Kiểm tra lines, formulas, validations and conditional formats for every unit of a kind; a templated
workbook costs ~3 ms (renumbering, the unit's texts, deflating the parts that change), the whole
round 3.9 s on a quiet machine. The first workbook of a kind is written the plain way and the
template built at the second (:class:`Templates`), so units all unlike cost what they did.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from io import StringIO

from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.xmlwriter import XMLwriter

from ..layout import TableLayout
from .workbook import WorkbookSpec, _write

TOKEN_FIRST = 0xE000        # token k starts with chr(TOKEN_FIRST + k)...
FILL = "\uF8FE"             # ...and goes on with FILL up to the text's length
MAX_TOKENS = 0x1800
MAX_TEXT = 1000             # longer texts (none in a real registry) go the plain way
_UNSAFE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ue000-\uf8ff\ufffe\uffff]")
_STRING_CELL = re.compile(r'(?<=t="s"><v>)(\d+)(?=</v>)')
SST_PART = "xl/sharedStrings.xml"
_XML = XMLwriter()


def token(k: int, length: int) -> str:
    return chr(TOKEN_FIRST + k) + FILL * (length - 1) if length else ""


def templatable(text: str) -> bool:
    """Whether a per-unit text can stand in a template: its length says all the writer derives
    from it (BMP characters only, so Excel's UTF-16 length is the length; no control characters,
    whose escaping is not character by character; none of the tokens' characters)."""
    return len(text) <= MAX_TEXT and not _UNSAFE.search(text) and \
        all(ord(ch) <= 0xFFFF for ch in text)


def xml_text(text: str) -> str:
    """A text as XlsxWriter writes it in element content (``XMLwriter._xml_data_element``)."""
    return _XML._escape_control_characters(_XML._escape_data(text))


def is_commune_layout(lay: TableLayout) -> bool:
    src = lay.blueprint.row_source
    return src is not None and src.registry == "communes"


def commune_rows(lay: TableLayout) -> list:
    """The rows of a per-commune table that name a commune (not its "other" or placeholder row)."""
    return [r for r in lay.data_rows() if r.key not in ("khac", "chua_co_xa")]


@dataclasses.dataclass(frozen=True)
class _Pairs:
    """Stands in for the metadata in a template spec: the writer only asks for its pairs."""

    pairs: tuple[tuple[str, str], ...]

    def as_pairs(self) -> list[tuple[str, str]]:
        return list(self.pairs)


def unit_texts(spec: WorkbookSpec) -> list[str] | None:
    """The per-unit texts of ``spec`` in token order, or None when it must be written the plain
    way: unit name, unit code, every metadata value, the commune names of each per-commune table."""
    if spec.inputs or spec.overrides:
        return None
    texts = [spec.unit_name, spec.unit_code] + [v for _, v in spec.metadata.as_pairs()]
    for lay in spec.layouts:
        if is_commune_layout(lay):
            texts += [r.label for r in commune_rows(lay)]
    if len(texts) > MAX_TOKENS or not all(isinstance(t, str) and templatable(t) for t in texts):
        return None
    return texts


def template_key(spec: WorkbookSpec, texts: Sequence[str]) -> tuple:
    """What a template is for, within one round (one ``Builder``: same province, period, dates,
    vocabularies, password): everything in ``spec`` that is not a per-unit text, and those
    texts' lengths."""
    communes = tuple(len(commune_rows(lay)) if is_commune_layout(lay) else -1 for lay in spec.layouts)
    return (spec.part, spec.owner, tuple(lay.code for lay in spec.layouts), communes,
            tuple(k for k, _ in spec.metadata.as_pairs()), tuple(len(t) for t in texts),
            spec.generated_at, spec.field_report, spec.province_name, spec.contact, spec.password,
            spec.dates)


def template_spec(spec: WorkbookSpec, texts: Sequence[str],
                  relayout: Callable[[TableLayout, tuple[tuple[str, str], ...]], TableLayout]) -> WorkbookSpec:
    """``spec`` with its per-unit texts replaced by tokens; ``relayout`` rebuilds a per-commune
    table for given (row key, name) pairs."""
    toks = [token(k, len(t)) for k, t in enumerate(texts)]
    pairs = spec.metadata.as_pairs()
    k = 2 + len(pairs)
    layouts = []
    for lay in spec.layouts:
        if is_commune_layout(lay):
            n = len(commune_rows(lay))
            lay = relayout(lay, tuple((f"u_tpl_{i}", toks[k + i]) for i in range(n)))
            k += n
        layouts.append(lay)
    return dataclasses.replace(
        spec, unit_name=toks[0], unit_code=toks[1], layouts=layouts,
        metadata=_Pairs(tuple((key, toks[2 + i]) for i, (key, _) in enumerate(pairs))))


class Template:
    """The parts of a workbook written with tokens, ready to take a unit's texts."""

    def __init__(self, spec: WorkbookSpec, texts: Sequence[str]):
        buf = io.BytesIO()
        wb = _write(spec, buf)
        self.allow_zip64 = wb.allow_zip64
        table = wb.str_table
        self.sst = list(table.string_array)
        self.sst_count = table.count
        self.si = [_si(x) for x in self.sst]      # each string's <si> element, as XlsxWriter writes it
        self.lengths = [len(t) for t in texts]
        heads = {chr(TOKEN_FIRST + k): k for k, t in enumerate(texts) if t}
        self._heads = re.compile("[" + "".join(heads) + "]") if heads else None
        self._head_ids = heads
        self.sst_tokens = [self._tokens_in(x) for x in self.sst]
        self.tokened = [i for i, ks in enumerate(self.sst_tokens) if ks]
        self.where = {x: i for i, x in enumerate(self.sst)}
        # (name, text, pieces split at string indices (sheets), highest string index, tokens)
        self.parts: list[tuple[str, str, list | None, int, list[int]]] = []
        with zipfile.ZipFile(buf) as z:
            for info in z.infolist():
                text = z.read(info).decode("utf-8")
                pieces, top = None, -1
                if info.filename.startswith("xl/worksheets/sheet"):
                    pieces = _STRING_CELL.split(text)
                    pieces[1::2] = [int(x) for x in pieces[1::2]]
                    top = max(pieces[1::2], default=-1)
                self.parts.append((info.filename, text, pieces, top, self._tokens_in(text)))
        # the bytes and the deflated bytes of the parts that units do not change, once asked for
        self.packed: dict[str, tuple[bytes, bytes]] = {}
        # parts deflated from their first token on (:meth:`_split`): None until checked
        self.split_ok: dict[str, bool | None] = {n: None for n, _, _, _, ks in self.parts if ks and n != SST_PART}
        self.heads: dict[str, tuple] = {}

    def _shared_strings(self, texts: Sequence[str]) -> tuple[list[int], list[str], int, int]:
        """The unit's shared strings: each template string's new index, the ``<si>`` elements in
        order, their number, and the first template string whose index changes. As XlsxWriter numbers strings by first use and the template's strings
        are all different, only a string with a token can become equal to another (the unit's
        name is also an entry of the units' drop-down list): of strings now equal, the first keeps
        its place and the later ones are dropped, moving the strings after them up."""
        n = len(self.sst)
        real: dict[int, str] = {}
        for i in self.tokened:
            x = self.sst[i]
            for k in self.sst_tokens[i]:
                x = x.replace(token(k, self.lengths[k]), texts[k])
            real[i] = x
        groups: dict[str, list[int]] = {}
        for i, x in real.items():
            groups.setdefault(x, []).append(i)
        dropped: dict[int, int] = {}        # template index -> the index of the string it equals
        for x, members in groups.items():
            j = self.where.get(x)           # a template string without a token, equal to it
            if j is not None:
                members = [*members, j]
            if len(members) > 1:
                members.sort()
                dropped.update((m, members[0]) for m in members[1:])
        si = list(self.si)
        for i, x in real.items():
            si[i] = _si(x)
        if not dropped:
            return self.identity, si, n, n
        gone = sorted(dropped)
        new: list[int] = []
        prev = 0
        for c, d in enumerate(gone):
            new.extend(range(prev - c, d - c))
            new.append(-1)
            prev = d + 1
        new.extend(range(prev - len(gone), n - len(gone)))
        for d in gone:
            new[d] = new[dropped[d]]
        for d in reversed(gone):
            del si[d]
        return new, si, n - len(gone), gone[0]

    def _tokens_in(self, text: str) -> list[int]:
        if self._heads is None:
            return []
        return sorted({self._head_ids[m.group()] for m in self._heads.finditer(text)})

    def render(self, texts: Sequence[str]) -> bytes:
        """The unit's workbook: the template with ``texts`` (same lengths) in place of its tokens."""
        assert [len(t) for t in texts] == self.lengths
        new, si, unique, moved = self._shared_strings(texts)
        table = SharedStringTable()
        table.count, table.unique_count = self.sst_count, unique
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=self.allow_zip64) as z:
            for name, text, pieces, top, ks in self.parts:
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))     # as XlsxWriter in memory
                info.compress_type = zipfile.ZIP_DEFLATED
                if name == SST_PART:
                    z.writestr(info, (_sst_head(table) + "".join(si) + "</sst>").encode("utf-8"))
                    continue
                if pieces is not None and top >= moved:
                    pieces = list(pieces)
                    pieces[1::2] = [str(new[i]) for i in pieces[1::2]]
                    text = "".join(pieces)
                elif not ks:
                    packed = self.packed.get(name)
                    if packed is None:
                        packed = self.packed[name] = _deflate(text.encode("utf-8"))
                    _write_packed(z, info, *packed)
                    continue
                elif name in self.split_ok:
                    _write_packed(z, info, *self._split(name, text, ks, texts))
                    continue
                z.writestr(info, self._filled(text, ks, texts).encode("utf-8"))
        return out.getvalue()

    def _filled(self, text: str, ks: list[int], texts: Sequence[str]) -> str:
        for k in ks:
            text = text.replace(token(k, self.lengths[k]), xml_text(texts[k]))
        return text

    def _split(self, name: str, text: str, ks: list[int], texts: Sequence[str]) -> tuple[bytes, bytes]:
        """A part with tokens (a table sheet's footer, the document properties), deflated from
        where its first token stands: the deflater's state after the part's unchanging head is
        kept (``zlib`` deflates the same bytes however the input is split; this is checked on the
        part's first unit against deflating it whole, and the part is deflated whole if not)."""
        head = self.heads.get(name)
        if head is None:
            at = min(text.index(token(k, self.lengths[k])) for k in ks)
            raw = text[:at].encode("utf-8")
            c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            head = self.heads[name] = (at, raw, c.compress(raw), c)
        at, raw, deflated, c = head
        rest = self._filled(text[at:], ks, texts).encode("utf-8")
        c = c.copy()
        out = raw + rest, deflated + c.compress(rest) + c.flush()
        if self.split_ok[name] is None:         # first unit: the same as deflating it whole?
            self.split_ok[name] = out == _deflate(out[0])
            if not self.split_ok[name]:
                del self.split_ok[name]
                return _deflate(out[0])
        return out


class _Deflated:
    """A compressor that hands out a part's deflated bytes, computed once for the template."""

    def __init__(self, data: bytes):
        self.data = data

    def compress(self, _raw) -> bytes:
        return b""

    def flush(self) -> bytes:
        return self.data


def _deflate(raw: bytes) -> tuple[bytes, bytes]:
    """``raw`` and its deflated form, as ``ZipFile.writestr`` deflates a part (one write, flush)."""
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return raw, c.compress(raw) + c.flush()


def _write_packed(z: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes, deflated: bytes) -> None:
    """``z.writestr(info, raw)`` with the deflating done beforehand: deflating the parts a unit
    does not change was ~40 % of a templated workbook's time. ``ZipFile`` has no public way to
    write deflated bytes, so its writer's compressor (``_ZipWriteFile._compressor``, private) is
    swapped; it still computes the CRC and sizes and writes the headers. tests/test_template.py
    compares the file with the plain path's, byte for byte."""
    info.file_size = len(raw)
    with z.open(info, "w") as w:
        if not hasattr(w, "_compressor"):           # another zipfile: deflate as usual
            w.write(raw)
            return
        w._compressor = _Deflated(deflated)
        w.write(raw)


def _si(text: str) -> str:
    """One shared string's ``<si>`` element, written by XlsxWriter."""
    sst = SharedStrings()
    fh = StringIO()
    sst._set_xml_writer(fh)
    sst._write_si(text)
    return fh.getvalue()


def _sst_head(table: SharedStringTable) -> str:
    """The XML declaration and ``<sst>`` start tag of ``sharedStrings.xml``, written by XlsxWriter;
    the part is this, the ``<si>`` elements and ``</sst>`` (``SharedStrings._assemble_xml_file``)."""
    sst = SharedStrings()
    sst.string_table = table
    fh = StringIO()
    sst._set_xml_writer(fh)
    sst._xml_declaration()
    sst._write_sst()
    return fh.getvalue()


class Templates:
    """The templates of one round's writer, by :func:`template_key`. A template is built at the
    second workbook of its kind (``after``: how many are first written the plain way), so that a
    unit like no other costs what the plain path costs; at most ``limit`` are kept."""

    def __init__(self, relayout: Callable[[TableLayout, tuple[tuple[str, str], ...]], TableLayout],
                 limit: int = 8, after: int = 1):
        self.relayout = relayout
        self.limit = limit
        self.after = after
        self._by_key: dict[tuple, Template] = {}
        self._seen: dict[tuple, int] = {}

    def render(self, spec: WorkbookSpec) -> bytes | None:
        """The workbook of ``spec`` through a template, or None when it is to be written the plain way."""
        texts = unit_texts(spec)
        if texts is None:
            return None
        key = template_key(spec, texts)
        tpl = self._by_key.get(key)
        if tpl is None:
            seen = self._seen.get(key, 0)
            if seen < self.after:
                if len(self._seen) >= 4096:
                    self._seen.clear()
                self._seen[key] = seen + 1
                return None
            if len(self._by_key) >= self.limit:
                self._by_key.pop(next(iter(self._by_key)))
            tpl = self._by_key[key] = Template(template_spec(spec, texts, self.relayout), texts)
        return tpl.render(texts)
