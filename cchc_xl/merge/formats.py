"""Cell formats of the roll-up workbook, and the small measures of text that size its rows.

The formats are created in one fixed order and their style (xf) indices assigned at once, so
that the index of every format is known before a workbook exists: the detail rows of the
template sheets are rendered as sheet XML by the validating workers (``pieces.py``) long before
the roll-up is written, and they refer to these indices.
"""

from __future__ import annotations

import functools
import io
import math

from ..blueprint.model import CellType
from ..xlsx.styles import COMPUTED_FILL, ERROR_FILL, FONT, HEADER_FILL, NUMBER_FORMATS

# Types whose province total is a sum (a yes/no column sums to the number of units answering 1).
# Entered percentages, dates and texts are never added up.
SUMMABLE = {CellType.count, CellType.amount, CellType.decimal, CellType.yesno}



def workbook_options() -> dict:
    """XlsxWriter's options for a roll-up workbook, fresh for each: XlsxWriter writes into the
    ``default_format_properties`` it is given, so a shared dict made every workbook after the first
    of a process differ from it (its default font's theme scheme)."""
    return {
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
        "remove_timezone": True,
        "in_memory": True,
        "default_format_properties": {"font_name": FONT, "font_size": 11},
    }


class Formats:
    """Every format the roll-up uses, created eagerly with its style index fixed."""

    def __init__(self, wb):
        self._wb = wb
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}
        self._base = base
        border = {"border": 1}

        made = []

        def fmt(**kw):
            made.append(wb.add_format({**base, **kw}))
            return made[-1]

        self.title = fmt(bold=True, font_size=14)
        self.subtitle = fmt(italic=True)
        self.note = fmt(italic=True, font_size=10, font_color="#595959")
        self.section = fmt(bold=True, font_size=12, font_color="#1F3864")
        self.header = fmt(bold=True, align="center", text_wrap=True, bg_color=HEADER_FILL, **border)
        self.text = fmt(num_format="@", **border)
        self.wrap = fmt(num_format="@", text_wrap=True, valign="top", **border)
        self.center = fmt(num_format="@", align="center", **border)
        self.int = fmt(num_format="#,##0", **border)
        self.datetime = fmt(num_format="dd/mm/yyyy hh:mm", align="center", **border)
        self.label = [fmt(num_format="@", text_wrap=True, indent=i, **border) for i in range(4)]
        self.label_bold = fmt(num_format="@", text_wrap=True, bold=True, **border)
        self.area = fmt(bold=True, font_size=12, bg_color="#DDEBF7", **border)
        self.subhead = fmt(bold=True, italic=True, text_wrap=True, **border)
        self.sum_label = fmt(bold=True, text_wrap=True, bg_color=COMPUTED_FILL, **border)
        self.plain_number = fmt(num_format="#,##0.##", **border)
        self._data = {
            ctype: fmt(num_format=NUMBER_FORMATS.get(ctype, "General"),
                       text_wrap=ctype in (CellType.text, CellType.choice, CellType.unit_ref), **border)
            for ctype in CellType
        }
        self._sum = {}
        for ctype in [None, *CellType]:
            num = NUMBER_FORMATS.get(ctype, "#,##0.##") if ctype in SUMMABLE | {CellType.percent} else "#,##0.##"
            for bold in (False, True):
                self._sum[(ctype, bold)] = fmt(num_format=num, bg_color=COMPUTED_FILL, bold=bold, **border)
        # formats added after the detail formats keep every index above unchanged (pieces.pack_stamp)
        self.note_wrap = fmt(italic=True, font_size=10, font_color="#595959", text_wrap=True, valign="top")
        self.title_wrap = fmt(bold=True, font_size=14, text_wrap=True)
        self.section_row = fmt(num_format="@", bold=True)    # a heading row whose text runs on to the right
        for f in made:
            f._get_xf_index()           # indices in creation order: see the module docstring
        self._fixed = set(map(id, made))
        self.ok_cf = wb.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"})
        self.warn_cf = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
        self.error_cf = wb.add_format({"bg_color": ERROR_FILL, "font_color": "#9C0006"})
        self.reject_cf = wb.add_format({"bg_color": "#C00000", "font_color": "#FFFFFF", "bold": True})
        # the names a roll-up plan uses (merge.rollup.plan.FMT)
        named = ("title", "subtitle", "note", "section", "header", "text", "wrap", "center", "int", "datetime",
                 "label_bold", "area", "subhead", "sum_label", "plain_number", "note_wrap", "title_wrap",
                 "section_row",
                 "ok_cf", "warn_cf", "error_cf", "reject_cf")
        self.by_name = {name: getattr(self, name) for name in named}
        self.by_name.update({f"label:{i}": f for i, f in enumerate(self.label)})
        self.by_name.update({f"data:{c.value}": f for c, f in self._data.items()})
        self.by_name.update({f"sum:{c.value if c else ''}:{int(b)}": f for (c, b), f in self._sum.items()})

    def data(self, ctype: CellType):
        return self._data[ctype]

    def sum(self, ctype: CellType | None, *, bold: bool = False):
        return self._sum[(ctype if ctype in self._data else None, bold)]

    def style_indices(self) -> dict[str, int]:
        """The style index of every named cell format (not the conditional ones, which have none)."""
        return {name: f._get_xf_index() for name, f in self.by_name.items() if id(f) in self._fixed}

    def detail_styles(self) -> dict[str, int]:
        """Style indices of the detail rows: "text", "label" and one per cell type."""
        return _detail_of(self.style_indices())


def _detail_of(named: dict[str, int]) -> dict[str, int]:
    return {"text": named["text"], "label": named["label:0"], **{c.value: named[f"data:{c.value}"] for c in CellType}}


@functools.cache
def style_indices() -> dict[str, int]:
    """The style index of each named format (``Formats.by_name``), as every roll-up has it (same
    order, same indices): for rows rendered as sheet XML before or beside the workbook — the
    detail rows of a pack, the narratives (``pieces.text_rows``)."""
    import xlsxwriter  # only to number the formats: a throwaway workbook

    return Formats(xlsxwriter.Workbook(io.BytesIO(), workbook_options())).style_indices()


@functools.cache
def detail_styles() -> dict[str, int]:
    """The style indices every roll-up gives its detail formats."""
    return _detail_of(style_indices())


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@functools.lru_cache(maxsize=65536)    # titles, names and labels come back row after row
def text_lines(text: object, width: float) -> int:
    """How many lines a wrapped text takes in a column of this width (Times New Roman 11)."""
    if text is None or text == "":
        return 1
    per = max(1.0, width * 0.95)   # Times New Roman 11, Vietnamese diacritics: be generous
    return sum(max(1, math.ceil(len(part) / per)) for part in str(text).split("\n"))


def row_height(lines: int, cap: float = 160) -> float | None:
    """The height of a row whose tallest wrapped text takes ``lines`` lines (None: default)."""
    return min(cap, lines * 14.5 + 2) if lines > 1 else None


@functools.lru_cache(maxsize=16384)    # labels and names come back row after row
def text_width(text: object, cap: float) -> float:
    """The column width a text wants (longest line, capped)."""
    s = f"{text:,.2f}" if is_number(text) else str(text)
    longest = max((len(p) for p in s.split("\n")), default=0)
    return min(cap, longest * 1.1 + 2)
