"""Small writing helpers of the sheet modules: a value by its type, a formula with its cached
value, column widths and row heights that fit Vietnamese text, and the print setup every sheet has."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from ..formats import is_number, row_height, text_lines, text_width
from .plan import SheetPlan


def put(ws: SheetPlan, row: int, col: int, value: object, fmt=None) -> None:
    """Write a value by its Python type; text always as a string (never a formula or a link)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif is_number(value):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None), fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def put_text(ws: SheetPlan, row: int, col: int, value: object, fmt=None) -> None:
    ws.write_string(row, col, "" if value is None else str(value), fmt)


def put_formula(ws: SheetPlan, row: int, col: int, formula: str, fmt, value: object) -> None:
    if value is None:
        value = ""
    if isinstance(value, float) and not math.isfinite(value):
        value = ""
    ws.write_formula(row, col, "=" + formula.lstrip("="), fmt, value)


class Widths:
    """Column widths that fit Vietnamese text, from the longest line written (capped)."""

    def __init__(self):
        self._w: dict[int, float] = {}

    def see(self, col: int, text: object, *, cap: float = 60) -> None:
        if text is None:
            return
        self.see_width(col, text_width(text, cap))

    def see_width(self, col: int, width: float) -> None:
        self._w[col] = max(self._w.get(col, 0), width)

    def get(self, col: int, default: float) -> float:
        return self._w.get(col, default)

    def apply(self, ws: SheetPlan, *, minimum: float = 6, fixed: dict[int, float] | None = None) -> None:
        for col, w in self._w.items():
            ws.set_column(col, col, max(minimum, w))
        for col, w in (fixed or {}).items():
            ws.set_column(col, col, w)


def fitted_height(pieces: Iterable[tuple[object, float]], *, cap: float = 160) -> float | None:
    """The height a row of these wrapped texts (text, column width) needs; None: the default."""
    return row_height(max((text_lines(t, w) for t, w in pieces), default=1), cap)


def fit_row(ws: SheetPlan, row: int, pieces: Iterable[tuple[object, float]], *, cap: float = 160) -> None:
    """Give a row the height its wrapped texts need (neither Excel nor LibreOffice does it on load
    for every client, and a printed page must not clip labels)."""
    height = fitted_height(pieces, cap=cap)
    if height:
        ws.set_row(row, height)


def chunks(text: str, width: float, lines: int = 26) -> list[str]:
    """A long text cut at line ends into pieces that each fit a row (Excel's rows stop at 409 points)."""
    if text_lines(text, width) <= lines:        # most texts: the cutting below would keep them whole
        return [text]
    out: list[str] = []
    cur: list[str] = []
    for line in text.split("\n"):
        while text_lines(line, width) > lines:      # a single overlong paragraph: cut at a space
            cut = int(width * 0.95) * lines
            at = line.rfind(" ", 0, cut)
            at = at if at > 0 else cut
            if cur:
                out.append("\n".join(cur))
                cur = []
            out.append(line[:at])
            line = line[at:].lstrip()
        if cur and text_lines("\n".join([*cur, line]), width) > lines:
            out.append("\n".join(cur))
            cur = []
        cur.append(line)
    if cur or not out:
        out.append("\n".join(cur))
    return out


def print_setup(ws: SheetPlan, header_rows: tuple[int, int] | None = None) -> None:
    """A4 landscape fitted to the width; the sheet's name in the page header, page numbers below."""
    ws.page_setup(header='&L&"Times New Roman"&A', footer='&C&"Times New Roman"Trang &P/&N', repeat_rows=header_rows)
