"""The layout of an administrative document (văn bản hành chính) after Nghị định 30/2020/NĐ-CP,
Phụ lục I, written with python-docx.

* A4 (210 × 297 mm); margins: top and bottom 20 mm, left 30 mm, right 15 mm (the decree allows
  20–25, 20–25, 30–35, 15–20).
* Times New Roman throughout; body 14 pt, justified, first line indented 1 cm, 6 pt between
  paragraphs; tables may be smaller.
* The heading: on the left the issuing body (its superior body upright, the body itself bold,
  a short line below) and "Số: …/…" (number left blank for the clerk); on the right the national
  motto "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" (bold) and "Độc lập - Tự do - Hạnh phúc" (bold, a
  line below), then place and date in italics (day and month left blank).
* The title (BÁO CÁO) and its summary (trích yếu), or for a letter (công văn) the summary
  "V/v …" under the number.
* At the end: "Nơi nhận:" (bold italic, 12 pt, the list 11 pt) on the left; the signature block
  (authority, position, space to sign, name) on the right.
* Page numbers at the top centre from the second page.

A draft says so: "DỰ THẢO" boxed above the heading and in the footer of every page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from ..atomic import replacing

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 11
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
PAGE_MM = (210, 297)
TEXT_WIDTH_MM = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_LINE2 = "Độc lập - Tự do - Hạnh phúc"
DRAFT = "DỰ THẢO"
BLANK_NUMBER = "…"          # the number is given by the clerk on issue
LEFT_COL_MM, RIGHT_COL_MM = 62, TEXT_WIDTH_MM - 62


@dataclass
class DocumentHeading:
    """What the heading and the end of an administrative document say."""

    superior: str | None            # cơ quan chủ quản (upright), e.g. "UBND TỈNH LẠNG SƠN"; None for UBND tỉnh
    issuer: list[str]               # cơ quan ban hành (bold), one item a line: ["Ủy ban nhân dân", "Tỉnh Lạng Sơn"]
    symbol: str                     # ký hiệu after the number, e.g. "BC-UBND"
    place: str                      # địa danh, e.g. "Lạng Sơn"
    year: int
    kind: str | None = None         # tên loại văn bản ("BÁO CÁO"); None for a letter (công văn)
    summary: str = ""               # trích yếu: under the title, or "V/v …" under the number of a letter
    recipients: list[str] = field(default_factory=list)     # the "Nơi nhận:" list
    authority: list[str] = field(default_factory=list)      # "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"
    signer: str = "…………………………"
    draft: bool = True
    draft_note: str = ""            # who drafted it, from what, when (beside the DỰ THẢO mark)


def _set_font(rpr) -> None:
    """The font in every script slot of a run or style's properties (Vietnamese is not only ASCII)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _fonts(run, size: float | None = None, *, bold: bool | None = None, italic: bool | None = None) -> None:
    run.font.name = FONT
    _set_font(run._element.get_or_add_rPr())
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic


def _spacing(p, before: float = 0, after: float = 0, line: float | None = None) -> None:
    pf = p.paragraph_format
    pf.space_before, pf.space_after = Pt(before), Pt(after)
    if line is not None:
        pf.line_spacing = line


def _border(p, side: str = "bottom", size: int = 6, space: int = 1) -> None:
    """A solid line on one side of a paragraph (the short lines under the heading's texts)."""
    ppr = p._p.get_or_add_pPr()
    pbdr = ppr.find(qn("w:pBdr"))
    if pbdr is None:
        pbdr = OxmlElement("w:pBdr")
        ppr.append(pbdr)
    el = OxmlElement(f"w:{side}")
    for k, v in (("w:val", "single"), ("w:sz", str(size)), ("w:space", str(space)), ("w:color", "000000")):
        el.set(qn(k), v)
    pbdr.append(el)


def _field(p, instr: str, size: float) -> None:
    """A field (PAGE) as Word and LibreOffice both update it."""
    run = p.add_run()
    _fonts(run, size)
    for kind, text in (("begin", None), (None, instr), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
        run._r.append(el)


def _no_borders(table) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _fixed_widths(table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    tblpr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)
    for col, w in zip(table.columns, widths_mm):
        col.width = Mm(w)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _shade(cell, fill: str = "E7E6E6") -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    for k, v in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", fill)):
        shd.set(qn(k), v)
    tcpr.append(shd)


class AdminDocument:
    """A document laid out after Nghị định 30/2020/NĐ-CP; :meth:`save` writes it whole or not at all."""

    def __init__(self, heading: DocumentHeading):
        self.h = heading
        self.doc = Document()
        self._page()
        self._styles()
        self._heading()

    # -- page, styles ---------------------------------------------------------------------------

    def _page(self) -> None:
        s = self.doc.sections[0]
        s.orientation = WD_ORIENT.PORTRAIT
        s.page_width, s.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
        s.top_margin, s.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        s.left_margin, s.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        s.header_distance = s.footer_distance = Mm(10)
        s.different_first_page_header_footer = True
        p = s.header.paragraphs[0]                 # page numbers from the second page, top centre
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _field(p, "PAGE", 13)
        if self.h.draft:
            for footer in (s.footer, s.first_page_footer):
                fp = footer.paragraphs[0]
                fp.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                _fonts(fp.add_run(f"{DRAFT} — chưa phải văn bản chính thức"), 10, italic=True)
        props = self.doc.core_properties
        props.title = (self.h.kind or "Công văn") + (f": {self.h.summary}" if self.h.summary else "")
        props.author = "cchc_xl"
        props.comments = DRAFT if self.h.draft else ""
        props.language = "vi-VN"

    def _styles(self) -> None:
        for name in ("Normal", "Table Grid"):
            style = self.doc.styles[name]
            style.font.name = FONT
            rpr = style.element.get_or_add_rPr()
            _set_font(rpr)
            lang = OxmlElement("w:lang")
            lang.set(qn("w:val"), "vi-VN")
            rpr.append(lang)
        self.doc.styles["Normal"].font.size = Pt(BODY_PT)

    # -- the heading ------------------------------------------------------------------------------

    def _line(self, cell, text: str, size: float, *, bold=False, italic=False, underline_fraction=None):
        p = cell.add_paragraph() if cell.paragraphs[-1].text or cell.paragraphs[-1].runs else cell.paragraphs[-1]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _spacing(p, line=1.0)
        _fonts(p.add_run(text), size, bold=bold, italic=italic)
        if underline_fraction:
            # a short solid line centred under the text: an empty paragraph bordered below, indented
            width = LEFT_COL_MM if cell is self._left else RIGHT_COL_MM
            text_mm = min(width, len(text) * size * 0.19)
            indent = max(0.0, (width - text_mm * underline_fraction) / 2)
            q = cell.add_paragraph()
            _spacing(q, before=1, line=1.0)
            q.paragraph_format.left_indent = q.paragraph_format.right_indent = Mm(indent)
            _fonts(q.add_run(""), 2)
            _border(q, "top", 6, 0)
        return p

    def _heading(self) -> None:
        h = self.h
        if h.draft:
            p = self.doc.paragraphs[0] if self.doc.paragraphs else self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            _spacing(p, after=2)
            run = p.add_run(f" {DRAFT} ")
            _fonts(run, 13, bold=True)
            for side in ("top", "left", "bottom", "right"):
                _border(p, side, 8, 2)
            p.paragraph_format.right_indent = Mm(TEXT_WIDTH_MM - 32)
            if h.draft_note:
                q = self.doc.add_paragraph()
                _spacing(q, after=6)
                _fonts(q.add_run(h.draft_note), 10, italic=True)
        table = self.doc.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _no_borders(table)
        _fixed_widths(table, (LEFT_COL_MM, RIGHT_COL_MM))
        self._left, self._right = table.rows[0].cells
        if h.superior:
            self._line(self._left, h.superior.upper(), 13)
        for i, line in enumerate(h.issuer):
            last = i == len(h.issuer) - 1
            self._line(self._left, line.upper(), 13, bold=True, underline_fraction=0.4 if last else None)
        p = self._line(self._left, f"Số: {BLANK_NUMBER}/{h.symbol}", 13)
        _spacing(p, before=4, line=1.0)
        if h.kind is None and h.summary:
            p = self._line(self._left, h.summary, 12)
            _spacing(p, before=4, line=1.0)
        self._line(self._right, MOTTO, 12, bold=True)
        self._line(self._right, MOTTO_LINE2, 14, bold=True, underline_fraction=1.0)
        p = self._line(self._right, f"{h.place}, ngày      tháng      năm {h.year}", 14, italic=True)
        _spacing(p, before=4, line=1.0)
        if h.kind:
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _spacing(p, before=18, after=0)
            _fonts(p.add_run(h.kind.upper()), 14, bold=True)
            if h.summary:
                q = self.doc.add_paragraph()
                q.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _spacing(q, after=0, line=1.0)
                _fonts(q.add_run(h.summary), 14, bold=True)
                r = self.doc.add_paragraph()
                r.paragraph_format.left_indent = r.paragraph_format.right_indent = Mm(TEXT_WIDTH_MM * 0.38)
                _spacing(r, before=1, after=12)
                _fonts(r.add_run(""), 2)
                _border(r, "top", 6, 0)
        else:
            self.doc.add_paragraph()

    # -- body ---------------------------------------------------------------------------------------

    def paragraph(self, text: str | Iterable[tuple[str, dict]] = "", *, indent: bool = True, size: float = BODY_PT,
                  align: str = "justify", bold=False, italic=False, before: float = 0, after: float = 6,
                  keep_with_next: bool = False):
        """A body paragraph; ``text`` is a string or runs ``(text, {"bold": …, "italic": …})``."""
        p = self.doc.add_paragraph()
        p.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                       "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
        _spacing(p, before, after, 1.15)
        if indent:
            p.paragraph_format.first_line_indent = Mm(10)
        p.paragraph_format.keep_with_next = keep_with_next
        runs = [(text, {})] if isinstance(text, str) else list(text)
        for t, style in runs:
            _fonts(p.add_run(t), size, bold=style.get("bold", bold), italic=style.get("italic", italic))
        return p

    def heading(self, number: str, title: str, level: int):
        """A section heading of the outline: level 0 bold, 1 bold, 2 bold italic, 3 italic."""
        label = f"{number}. {title}" if number and not number.endswith((")", ".")) else f"{number} {title}".strip()
        return self.paragraph(label, indent=level > 0, bold=level <= 2, italic=level >= 2, before=6 if level == 0 else 3,
                              after=4, keep_with_next=True, align="justify" if level else "left")

    def table(self, header_rows: list[list[tuple[str, int]]], rows: list[list[str]], widths_mm: Sequence[float], *,
              size: float = TABLE_PT, bold_rows: set[int] | None = None, align_right_from: int = 1):
        """A bordered table; ``header_rows`` are lists of (text, column span), a span 0 continuing the
        cell above (merged down). Numbers right-aligned from column ``align_right_from``."""
        n = len(widths_mm)
        table = self.doc.add_table(rows=len(header_rows) + len(rows), cols=n)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _fixed_widths(table, widths_mm)
        for r, spec in enumerate(header_rows):
            row = table.rows[r]
            _repeat_header(row)
            c = 0
            for text, span in spec:
                if span == 0:                       # merged with the header cell above
                    top = table.cell(r - 1, c)
                    top.merge(table.cell(r, c))
                    c += 1
                    continue
                cell = table.cell(r, c)
                if span > 1:
                    cell = cell.merge(table.cell(r, c + span - 1))
                self._cell_text(cell, text, size, bold=True, align="center")
                _shade(cell)
                c += span
        for i, values in enumerate(rows):
            row = table.rows[len(header_rows) + i]
            bold = bool(bold_rows and i in bold_rows)
            for c, text in enumerate(values):
                self._cell_text(row.cells[c], text, size, bold=bold,
                                align="right" if c >= align_right_from else "left")
        self.paragraph("", after=2, size=6, indent=False)
        return table

    @staticmethod
    def _cell_text(cell, text: str, size: float, *, bold=False, align="left") -> None:
        p = cell.paragraphs[0]
        if p.runs:
            p = cell.add_paragraph()
        p.alignment = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
                       "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
        _spacing(p, 1, 1, 1.0)
        _fonts(p.add_run(text), size, bold=bold)

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # -- the end: recipients and signature -----------------------------------------------------------

    def closing(self) -> None:
        h = self.h
        table = self.doc.add_table(rows=1, cols=2)
        _no_borders(table)
        _fixed_widths(table, (TEXT_WIDTH_MM / 2, TEXT_WIDTH_MM / 2))
        left, right = table.rows[0].cells
        p = left.paragraphs[0]
        _spacing(p, before=6, line=1.0)
        _fonts(p.add_run("Nơi nhận:"), 12, bold=True, italic=True)
        for i, r in enumerate(h.recipients):
            q = left.add_paragraph()
            _spacing(q, line=1.0)
            end = "." if i == len(h.recipients) - 1 else ";"
            _fonts(q.add_run(f"- {r.rstrip(';.')}{end}"), 11)
        for i, line in enumerate(h.authority):
            q = right.paragraphs[0] if i == 0 else right.add_paragraph()
            q.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _spacing(q, before=6 if i == 0 else 0, line=1.0)
            _fonts(q.add_run(line.upper()), 14, bold=True)
        q = right.add_paragraph()
        q.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _spacing(q, before=6, after=60, line=1.0)
        _fonts(q.add_run("(Ký, ghi rõ họ tên, đóng dấu)"), 12, italic=True)
        q = right.add_paragraph()
        q.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(q.add_run(h.signer), 14, bold=True)

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        with replacing(path) as tmp:
            self.doc.save(str(tmp))
        return path
