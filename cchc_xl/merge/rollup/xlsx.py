"""Render a roll-up plan with XlsxWriter: the roll-up's one module that drives XlsxWriter.

(``merge/formats.py`` creates the XlsxWriter formats, with their style indices fixed, for this
module and for the detail rows the validating workers render.) Two private pieces of XlsxWriter are
used, each pinned by ``tests/test_architecture.py``, and ``pyproject.toml`` bounds XlsxWriter below 4:

* ``FastWorksheet._prepare_formula`` (``cchc_xl/xlsx/worksheet.py``) skips the future-function
  passes;
* a table is declared over its header and first row and then widened in ``worksheet.tables``:
  XlsxWriter checks a table's overlap cell by cell (a second per million cells), and nothing else is
  ever written into the rows of a detail table (they are spliced in after, ``splice.py``).
"""

from __future__ import annotations

import io

import xlsxwriter
from xlsxwriter.utility import xl_range

from ...xlsx.worksheet import FastWorksheet
from ..formats import Formats, workbook_options
from ..splice import Detail
from .plan import ChartPlan, TablePlan, WorkbookPlan

__all__ = ["render"]


def render(plan: WorkbookPlan) -> tuple[io.BytesIO, list[Detail]]:
    """The workbook XlsxWriter writes from ``plan`` (without the detail rows) and the detail
    tables to splice into it."""
    package = io.BytesIO()
    wb = xlsxwriter.Workbook(package, workbook_options())
    try:
        formats = Formats(wb).by_name
        wb.set_properties(plan.properties)
        details = []
        for sheet in plan.sheets:
            ws = wb.add_worksheet(sheet.name, worksheet_class=FastWorksheet)
            for verb, args in sheet.ops:
                _replay(wb, ws, formats, verb, args)
            details += [Detail(ws.index, first_row, pieces, 0, n_cols) for first_row, pieces, n_cols in sheet.details]
    finally:
        wb.close()
    return package, details


def _fmt(formats: dict, name: str | None):
    return None if name is None else formats[name]


def _replay(wb, ws, formats: dict, verb: str, args: tuple) -> None:
    if verb in ("write_string", "write_number", "write_blank", "write_boolean", "write_datetime"):
        row, col, value, fmt = args
        getattr(ws, verb)(row, col, value, _fmt(formats, fmt))
    elif verb == "write_formula":
        row, col, formula, fmt, value = args
        ws.write_formula(row, col, formula, _fmt(formats, fmt), value)
    elif verb == "merge_range":
        *rng, value, fmt = args
        ws.merge_range(*rng, value, _fmt(formats, fmt))
    elif verb in ("set_column", "set_row", "freeze_panes", "print_area", "autofilter"):
        getattr(ws, verb)(*args)
    elif verb == "conditional_format":
        *rng, options = args
        ws.conditional_format(*rng, {**options, "format": _fmt(formats, options.get("format"))})
    elif verb == "add_table":
        _add_table(ws, args[0], formats)
    elif verb == "insert_chart":
        row, col, chart, options = args
        ws.insert_chart(row, col, _chart(wb, chart), options)
    elif verb == "page_setup":
        page, repeat_rows = args
        ws.set_paper(page["paper"])
        if page["landscape"]:
            ws.set_landscape()
        ws.fit_to_pages(*page["fit"])
        ws.set_margins(**page["margins"])
        ws.set_header(page["header"])
        ws.set_footer(page["footer"])
        if repeat_rows:
            ws.repeat_rows(*repeat_rows)
    else:
        raise ValueError(f"unknown plan verb {verb!r}")


def _add_table(ws, t: TablePlan, formats: dict) -> None:
    ws.add_table(t.first_row, t.first_col, t.first_row + 1, t.last_col, {
        "name": t.name,
        "style": t.style,
        "columns": [{"header": h, "header_format": formats["header"]} for h in t.headers],
    })
    table = ws.tables[-1]       # widened: see the module docstring
    table["range"] = table["a_range"] = xl_range(t.first_row, t.first_col, t.last_row, t.last_col)
    if table.get("autofilter"):
        table["autofilter"] = table["a_range"]


def _chart(wb, plan: ChartPlan):
    chart = wb.add_chart(plan.options)
    for verb, args in plan.calls:
        getattr(chart, verb)(*args)
    return chart
