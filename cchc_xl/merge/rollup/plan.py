"""The roll-up as data: sheets, blocks and cells, each cell with its formula and cached value.

The sheet modules build a :class:`WorkbookPlan`; nothing here knows XlsxWriter (``xlsx.py`` is the
one module that renders a plan). A plan can be asserted on directly (``plan.sheet(name).cell("D7")``,
``plan.flatten()``) without writing or reading a workbook.

A :class:`SheetPlan` offers the few writing verbs the sheet modules use, named as XlsxWriter names
them so that a sheet module reads like the workbook it describes. Each verb updates the plan's data
(``cells``, ``merges``, ``columns``, ``rows``, ``tables`` …) and is also kept, in order, in ``ops``:
the renderer replays that order, so that shared strings, tables and charts are numbered as the
sheet modules meant, and a fixed input gives the same bytes.

Formats are names (:data:`FMT`), resolved to XlsxWriter formats only when rendering
(``merge.formats.Formats.by_name``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ...blueprint.model import CellType
from ...layout import a1

__all__ = ["FMT", "Block", "Cell", "ChartPlan", "FlatCell", "Merge", "SheetPlan", "TablePlan", "WorkbookPlan"]


class _FormatNames:
    """The names of the roll-up's formats (the same names as ``merge.formats.Formats.by_name``)."""

    title = "title"
    subtitle = "subtitle"
    note = "note"
    section = "section"
    header = "header"
    text = "text"
    wrap = "wrap"
    center = "center"
    int = "int"
    datetime = "datetime"
    label = ("label:0", "label:1", "label:2", "label:3")
    label_bold = "label_bold"
    area = "area"
    subhead = "subhead"
    sum_label = "sum_label"
    plain_number = "plain_number"
    note_wrap = "note_wrap"
    title_wrap = "title_wrap"
    section_row = "section_row"
    ok_cf = "ok_cf"
    warn_cf = "warn_cf"
    error_cf = "error_cf"
    reject_cf = "reject_cf"

    @staticmethod
    def data(ctype: CellType) -> str:
        return f"data:{ctype.value}"

    @staticmethod
    def sum(ctype: CellType | None, *, bold: bool = False) -> str:
        return f"sum:{ctype.value if isinstance(ctype, CellType) else ''}:{int(bold)}"


FMT = _FormatNames()


@dataclass(frozen=True)
class Cell:
    """A cell: ``kind`` is string | number | blank | boolean | datetime | formula; a formula's
    ``value`` is the result Python computed (what a reader that does not recalculate shows)."""

    kind: str
    value: object
    fmt: str | None = None
    formula: str | None = None


@dataclass(frozen=True)
class Merge:
    first_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass
class TablePlan:
    """An Excel table: its range (header row included) and the options XlsxWriter takes."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int
    name: str
    headers: list[str]
    style: str = "Table Style Light 9"


@dataclass
class ChartPlan:
    """A chart as the calls that describe it (``add_series``, ``set_title`` …), in order."""

    options: dict
    calls: list[tuple[str, tuple]] = field(default_factory=list)

    def __getattr__(self, verb: str):
        if verb.startswith("_") or verb not in _CHART_VERBS:
            raise AttributeError(verb)
        return lambda *args: self.calls.append((verb, args))


_CHART_VERBS = {"add_series", "set_title", "set_legend", "set_size", "show_hidden_data", "set_x_axis", "set_y_axis"}


@dataclass(frozen=True)
class Block:
    """A named part of a sheet (a summary block, a section), rows and columns inclusive."""

    name: str
    first_row: int
    last_row: int
    first_col: int
    last_col: int


@dataclass(frozen=True)
class FlatCell:
    sheet: str
    ref: str            # A1
    kind: str
    value: object
    formula: str | None


@dataclass
class SheetPlan:
    name: str
    index: int
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    columns: dict[int, float] = field(default_factory=dict)        # width by column
    rows: dict[int, float] = field(default_factory=dict)           # height by row
    tables: list[TablePlan] = field(default_factory=list)
    charts: list[tuple[int, int, ChartPlan]] = field(default_factory=list)
    conditional: list[tuple[int, int, int, int, dict]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    freeze: tuple[int, int] | None = None
    print_area: tuple[int, int, int, int] | None = None
    repeat_rows: tuple[int, int] | None = None
    autofilter: tuple[int, int, int, int] | None = None
    page: dict = field(default_factory=dict)
    # rows spliced in after rendering: (first data row, 1-based; pieces; number of columns of the
    # table declared over them, or None for rows under no table)
    details: list[tuple[int, list, int | None]] = field(default_factory=list)
    ops: list[tuple[str, tuple]] = field(default_factory=list, repr=False)

    # -- looking -----------------------------------------------------------------------------------

    def cell(self, ref: str) -> Cell | None:
        """The cell at an A1 reference ("D7"), or None."""
        from xlsxwriter.utility import xl_cell_to_rowcol  # a pure A1 parser

        return self.cells.get(xl_cell_to_rowcol(ref))

    def block(self, name: str) -> Block:
        return next(b for b in self.blocks if b.name == name)

    # -- cells -------------------------------------------------------------------------------------

    def _cell(self, row: int, col: int, cell: Cell, op: str, args: tuple) -> None:
        self.cells[(row, col)] = cell
        self.ops.append((op, args))

    def write_string(self, row: int, col: int, value: str, fmt: str | None = None) -> None:
        self._cell(row, col, Cell("string", value, fmt), "write_string", (row, col, value, fmt))

    def write_number(self, row: int, col: int, value: float, fmt: str | None = None) -> None:
        self._cell(row, col, Cell("number", value, fmt), "write_number", (row, col, value, fmt))

    def write_blank(self, row: int, col: int, value: None, fmt: str | None = None) -> None:
        self._cell(row, col, Cell("blank", None, fmt), "write_blank", (row, col, None, fmt))

    def write_boolean(self, row: int, col: int, value: bool, fmt: str | None = None) -> None:
        self._cell(row, col, Cell("boolean", value, fmt), "write_boolean", (row, col, value, fmt))

    def write_datetime(self, row: int, col: int, value: dt.datetime, fmt: str | None = None) -> None:
        self._cell(row, col, Cell("datetime", value, fmt), "write_datetime", (row, col, value, fmt))

    def write_formula(self, row: int, col: int, formula: str, fmt: str | None, value: object) -> None:
        self._cell(row, col, Cell("formula", value, fmt, formula), "write_formula", (row, col, formula, fmt, value))

    def merge_range(self, r0: int, c0: int, r1: int, c1: int, value: str, fmt: str | None) -> None:
        """A merged range holding a text (its first cell) in one format."""
        self.merges.append(Merge(r0, c0, r1, c1))
        self.cells[(r0, c0)] = Cell("string", value, fmt)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    self.cells[(r, c)] = Cell("blank", None, fmt)
        self.ops.append(("merge_range", (r0, c0, r1, c1, value, fmt)))

    # -- rows, columns, tables, charts -----------------------------------------------------------

    def set_column(self, first: int, last: int, width: float) -> None:
        for c in range(first, last + 1):
            self.columns[c] = width
        self.ops.append(("set_column", (first, last, width)))

    def set_row(self, row: int, height: float) -> None:
        self.rows[row] = height
        self.ops.append(("set_row", (row, height)))

    def add_table(self, table: TablePlan) -> None:
        self.tables.append(table)
        self.ops.append(("add_table", (table,)))

    def insert_chart(self, row: int, col: int, chart: ChartPlan, options: dict) -> None:
        self.charts.append((row, col, chart))
        self.ops.append(("insert_chart", (row, col, chart, options)))

    def conditional_format(self, r0: int, c0: int, r1: int, c1: int, options: dict) -> None:
        self.conditional.append((r0, c0, r1, c1, options))
        self.ops.append(("conditional_format", (r0, c0, r1, c1, options)))

    def add_block(self, name: str, first_row: int, last_row: int, first_col: int, last_col: int) -> None:
        self.blocks.append(Block(name, first_row, last_row, first_col, last_col))

    def add_detail(self, first_row: int, pieces: list, n_cols: int | None) -> None:
        self.details.append((first_row, pieces, n_cols))

    # -- view and print ----------------------------------------------------------------------------

    def freeze_panes(self, row: int, col: int) -> None:
        self.freeze = (row, col)
        self.ops.append(("freeze_panes", (row, col)))

    def set_print_area(self, r0: int, c0: int, r1: int, c1: int) -> None:
        self.print_area = (r0, c0, r1, c1)
        self.ops.append(("print_area", (r0, c0, r1, c1)))

    def set_autofilter(self, r0: int, c0: int, r1: int, c1: int) -> None:
        self.autofilter = (r0, c0, r1, c1)
        self.ops.append(("autofilter", (r0, c0, r1, c1)))

    def page_setup(self, *, header: str, footer: str, repeat_rows: tuple[int, int] | None) -> None:
        """A4 landscape, fitted to the width, as many pages tall as needed; ``header`` and ``footer``
        in Excel's header codes; ``repeat_rows`` printed on every page."""
        self.page = {"paper": 9, "landscape": True, "fit": (1, 0),
                     "margins": {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6},
                     "header": header, "footer": footer}
        self.repeat_rows = repeat_rows
        self.ops.append(("page_setup", (dict(self.page), repeat_rows)))

    # -- the cells, flat ---------------------------------------------------------------------------

    def flatten(self) -> list[FlatCell]:
        """Every cell of the sheet, row by row (the detail rows are the pieces in ``details``)."""
        return [FlatCell(self.name, a1(r, c), cell.kind, cell.value, cell.formula)
                for (r, c), cell in sorted(self.cells.items())]


@dataclass
class WorkbookPlan:
    properties: dict = field(default_factory=dict)
    sheets: list[SheetPlan] = field(default_factory=list)
    charts: list[ChartPlan] = field(default_factory=list)

    def add_sheet(self, name: str) -> SheetPlan:
        sheet = SheetPlan(name, len(self.sheets))
        self.sheets.append(sheet)
        return sheet

    def add_chart(self, options: dict) -> ChartPlan:
        chart = ChartPlan(dict(options))
        self.charts.append(chart)
        return chart

    def sheet(self, name: str) -> SheetPlan:
        return next(s for s in self.sheets if s.name == name)

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def flatten(self) -> list[FlatCell]:
        """Every cell of every sheet, in sheet order, row by row."""
        return [c for s in self.sheets for c in s.flatten()]
