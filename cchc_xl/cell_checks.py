"""The checks of single input cells, as the workbook's own Kiểm tra sheet makes them.

The validator judges every input cell (``cell_values.check_value``: a negative count, 12.5 in a count
cell, text in a number cell, an error value, a required cell left blank, …). The generated workbook
says the same thing before the file is sent: for each table and each kind of cell problem, one
Kiểm tra line counts the offending input cells, and a conditional format paints each of them on
the table's sheet. The Excel conditions here mirror the validator's order of checks (a negative is
only "negative", not also "not a whole number"); ``tests/test_kiem_tra_agreement.py`` proves through
LibreOffice that the counts equal the validator's problems, kind by kind.

Not mirrored (Excel formulas cannot tell): a date typed into a number cell (its serial is a number),
text that the validator repairs into a number (``value.text_repaired`` is a warning only), and the
choices of a drop-down list (data validation keeps them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .blueprint.model import CellType
from .cell_values import NUMBER_TYPES
from .layout import CellSpec, TableLayout, a1

INTEGER_TYPES = (CellType.count, CellType.amount)
QUANTITY_TYPES = (CellType.count, CellType.amount, CellType.decimal)


def _negative_applies(s: CellSpec) -> bool:
    return s.type in QUANTITY_TYPES and (s.min is None or s.min >= 0)


def _bounds(s: CellSpec) -> str:
    parts = ([f"({{x}}<{_num(s.min)})"] if s.min is not None else []) + \
            ([f"({{x}}>{_num(s.max)})"] if s.max is not None else [])
    return "+".join(parts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _not_negative(s: CellSpec) -> str:
    return "*({x}>=0)" if _negative_applies(s) else ""


def _whole(s: CellSpec) -> str:
    return "*({x}=INT({x}))" if s.type in INTEGER_TYPES else ""


@dataclass(frozen=True)
class CellCheck:
    """One kind of cell problem: its problem code (title and severity come from the catalogue),
    the cells it applies to, and its condition, 1 where a cell offends (``{x}``: the cell or range)."""

    code: str
    applies: Callable[[CellSpec], bool]
    condition: Callable[[CellSpec], str]

    def excel(self, spec: CellSpec, target: str) -> str:
        return f"IFERROR({self.condition(spec).replace('{x}', target)},0)"


CELL_CHECKS: tuple[CellCheck, ...] = (
    CellCheck("value.error_value", lambda s: True, lambda s: "ISERROR({x})*1"),
    CellCheck("value.required_blank", lambda s: s.required, lambda s: "(LEN(TRIM({x}))=0)*1"),
    CellCheck("value.not_a_number", lambda s: s.type in NUMBER_TYPES,
              lambda s: "ISTEXT({x})*(LEN(TRIM({x}))>0)*ISERROR(VALUE(TRIM({x})))"),
    CellCheck("value.negative", _negative_applies, lambda s: "ISNUMBER({x})*({x}<0)"),
    CellCheck("value.not_integer", lambda s: s.type in INTEGER_TYPES,
              lambda s: "ISNUMBER({x})" + _not_negative(s) + "*({x}<>INT({x}))"),
    CellCheck("value.out_of_range", lambda s: s.type in QUANTITY_TYPES and (s.min is not None or s.max is not None),
              lambda s: "ISNUMBER({x})" + _not_negative(s) + _whole(s) + f"*(({_bounds(s)})>0)"),
    CellCheck("value.yesno_invalid", lambda s: s.type == CellType.yesno,
              lambda s: "ISNUMBER({x})*({x}<>0)*({x}<>1)"),
    CellCheck("value.percent_out_of_range", lambda s: s.type == CellType.percent,
              lambda s: "ISNUMBER({x})*((({x}<0)+({x}>100))>0)"),
)


@dataclass(frozen=True)
class Run:
    """Input cells of a rectangle (rows × columns) with the same type and limits."""

    cells: tuple[CellSpec, ...]       # row by row, the first one top left

    @property
    def first(self) -> CellSpec:
        return self.cells[0]

    @property
    def last(self) -> CellSpec:
        return self.cells[-1]

    def range(self, sheet: str | None = None) -> str:
        a, b = self.first, self.last
        text = a1(a.row, a.col, abs_row=True, abs_col=True)
        if b is not a:
            text += ":" + a1(b.row, b.col, abs_row=True, abs_col=True)
        return f"'{sheet}'!{text}" if sheet else text


def _alike(s: CellSpec) -> tuple:
    return s.type, s.min, s.max, s.required


def runs(lay: TableLayout) -> list[Run]:
    """The input cells of a table as few rectangles, so that a formula over them stays short (Excel
    takes at most 8,192 characters): consecutive rows of a column with the same settings, then such
    column runs side by side over the same rows (a table of indicators by year: one rectangle per
    block of indicators of one type, not one run per indicator and year)."""
    by_col: dict[int, list[CellSpec]] = {}
    for spec in lay.input_cells:
        by_col.setdefault(spec.col, []).append(spec)
    columns: list[list[CellSpec]] = []
    for col in sorted(by_col):
        cells = sorted(by_col[col], key=lambda s: s.row)
        current = [cells[0]]
        for s in cells[1:]:
            p = current[-1]
            if s.row == p.row + 1 and _alike(s) == _alike(p):
                current.append(s)
            else:
                columns.append(current)
                current = [s]
        columns.append(current)
    # side by side: a column run extends the rectangle to its left over the same rows
    open_: dict[tuple, list[list[CellSpec]]] = {}    # (first row, last row, settings) -> its column runs
    out: list[list[list[CellSpec]]] = []
    for col_run in columns:
        key = (col_run[0].row, col_run[-1].row, _alike(col_run[0]))
        rect = open_.get(key)
        if rect is not None and rect[-1][0].col == col_run[0].col - 1:
            rect.append(col_run)
        else:
            rect = open_[key] = [col_run]
            out.append(rect)
    return [Run(tuple(c for i in range(len(rect[0])) for c in (r[i] for r in rect))) for rect in out]


def table_checks(lay: TableLayout) -> Iterator[tuple[CellCheck, list[Run]]]:
    """Each cell check that applies to some input cell of ``lay``, with the runs it applies to."""
    all_runs = runs(lay)
    for check in CELL_CHECKS:
        if lay.blueprint.kind == "outline" and check.code != "value.error_value":
            continue    # an outline's required sections are rules of their own (``outline.section_empty``)
        mine = [r for r in all_runs if check.applies(r.first)]
        if mine:
            yield check, mine


def count_formula(check: CellCheck, runs_: list[Run], sheet: str) -> str:
    """Excel: how many input cells of the runs offend (``SUMPRODUCT`` over each run)."""
    return "+".join(f"SUMPRODUCT({check.excel(r.first, r.range(sheet))})" for r in runs_)


POSITION_BASE = 100_000    # a cell's position in reading order: ROW × 10⁵ + COLUMN (1-based, as Excel's)
FIRST_NONE = 10 ** 12      # no offending cell: above every position of a sheet


def position(row: int, col: int) -> int:
    """The position :func:`first_formula` computes for the 0-based cell (row, col)."""
    return (row + 1) * POSITION_BASE + col + 1


def first_formula(check: CellCheck, runs_: list[Run], sheet: str) -> str:
    """Excel (an array formula): the first offending input cell of the runs in reading order, as
    ROW × 10⁵ + COLUMN (``FIRST_NONE`` when none offends); the Kiểm tra line links to it. Each run
    gives its smallest offending position (``MIN(IF(…))`` over its rectangle); the runs' answers are
    taken by ``MIN``, nested so that no call has more than Excel's 255 arguments."""
    parts = [f"MIN(IF({check.excel(r.first, r.range(sheet))}=1,ROW({r.range(sheet)})*{POSITION_BASE}+"
             f"COLUMN({r.range(sheet)}),{FIRST_NONE}))" for r in runs_]
    while len(parts) > 1:
        parts = [f"MIN({','.join(parts[i:i + 200])})" for i in range(0, len(parts), 200)]
    return parts[0]


def first_address(cell: str) -> str:
    """Excel: the A1 address of the position that :func:`first_formula` computed into ``cell``."""
    return f"ADDRESS(INT({cell}/{POSITION_BASE}),MOD({cell},{POSITION_BASE}),4)"


# A table with no figures at all is either a nil return, declared on the cover sheet, or an error
# ("chưa nhập số liệu"): a blank is never taken for zero without the unit saying so.
NIL_TEXT = "Không phát sinh"
NIL_HEADER = "Kỳ này không phát sinh số liệu (chọn để khai báo)"
NIL_COL = 3                     # 0-based column of the declaration, beside the table's line on the cover


def filled_formula(runs_: list[Run], sheet: str) -> str:
    """Excel: how many input cells of the table hold anything (an error value counts as something)."""
    return "+".join(f'SUMPRODUCT(IFERROR(--(LEN(TRIM({r.range(sheet)}))>0),1))' for r in runs_)


def declared_nil(text: object) -> bool:
    return isinstance(text, str) and text.strip().lower() == NIL_TEXT.lower()
