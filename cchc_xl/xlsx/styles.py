"""Cell formats of generated workbooks (Times New Roman, the official-document convention)."""

from __future__ import annotations

from ..blueprint.model import CellType

FONT = "Times New Roman"
INPUT_FILL = "#FFF2CC"      # light yellow: cells the unit fills
COMPUTED_FILL = "#E2EFDA"   # light green: formulas
HEADER_FILL = "#D9E1F2"
ERROR_FILL = "#F8CBAD"
REQUIRED_FILL = "#FCE4D6"

NUMBER_FORMATS = {
    CellType.count: "#,##0",
    CellType.amount: "#,##0",
    CellType.decimal: "#,##0.00",
    CellType.percent: "0.0",
    CellType.yesno: "0",
    CellType.date: "dd/mm/yyyy",
    CellType.month_range: "@",
    CellType.text: "@",
    CellType.choice: "@",
    CellType.unit_ref: "@",
}


class Styles:
    """Formats created once per workbook and shared by every sheet."""

    def __init__(self, wb):
        base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
        border = {"border": 1}

        def fmt(**kw):
            return wb.add_format({**base, **kw})

        self.code = fmt(italic=True, align="right")
        self.title = fmt(bold=True, font_size=14, align="center", text_wrap=True)
        self.subtitle = fmt(italic=True, align="center", text_wrap=True)
        self.plain = fmt()
        self.wrap = fmt(text_wrap=True, valign="top")
        self.bold = fmt(bold=True)
        self.header = fmt(bold=True, align="center", text_wrap=True, bg_color=HEADER_FILL, **border)
        self.colnum = fmt(italic=True, align="center", font_size=10, **border)
        self.stt = fmt(align="center", **border)
        self.label = [fmt(text_wrap=True, indent=i, **border) for i in range(4)]
        self.heading = fmt(bold=True, text_wrap=True, **border)
        self.total_label = fmt(bold=True, align="center", **border)
        self.office = fmt(text_wrap=True, font_size=10, **border)
        self.sign = fmt(bold=True, align="center")
        self.sign_note = fmt(italic=True, align="center")
        self.link = fmt(font_color="blue", underline=1)
        self.legend_input = fmt(bg_color=INPUT_FILL, **border)
        self.legend_computed = fmt(bg_color=COMPUTED_FILL, **border)
        self.legend_error = fmt(bg_color=ERROR_FILL, **border)
        self.ok = fmt(bold=True, font_color="#006100")
        self.meta = wb.add_format({"font_name": FONT, "num_format": "@"})
        self.error_cf = wb.add_format({"bg_color": ERROR_FILL, "font_color": "#9C0006"})
        self.ok_cf = wb.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"})
        self.warn_cf = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
        self._input: dict = {}
        self._computed: dict = {}
        self._wb = wb
        self._base = {**base, **border}

    def input(self, ctype: CellType, *, required: bool = False, bold: bool = False):
        key = (ctype, required, bold)
        if key not in self._input:
            wrap = ctype in (CellType.text, CellType.month_range, CellType.choice, CellType.unit_ref)
            self._input[key] = self._wb.add_format({
                **self._base, "num_format": NUMBER_FORMATS[ctype], "locked": False,
                "bg_color": REQUIRED_FILL if required else INPUT_FILL, "text_wrap": wrap,
                "valign": "top" if wrap else "vcenter", "bold": bold,
            })
        return self._input[key]

    def computed(self, ctype: CellType, *, bold: bool = False):
        key = (ctype, bold)
        if key not in self._computed:
            self._computed[key] = self._wb.add_format({
                **self._base, "num_format": NUMBER_FORMATS[ctype], "bg_color": COMPUTED_FILL,
                "bold": bold,
            })
        return self._computed[key]
