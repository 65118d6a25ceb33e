"""XlsxWriter worksheet subclass used by every workbook we write."""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet


class FastWorksheet(Worksheet):
    """Our formulas use a fixed function set (see blueprint.expr) with no future functions,
    so the ~30 regex passes XlsxWriter runs on every formula to add ``_xlfn.`` prefixes are
    skipped (they are most of the cost of writing a formula). ``_prepare_formula`` is a private
    hook: tests/test_xlsx_hooks.py fails when an XlsxWriter upgrade changes it."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        if formula.startswith("{") and formula.endswith("}"):      # an array formula, as XlsxWriter takes it
            formula = formula[1:-1]
        return formula[1:] if formula.startswith("=") else formula
