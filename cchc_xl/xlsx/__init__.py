"""Writing .xlsx with XlsxWriter, shared by the generator and the roll-up: cell styles in the
project's look and the worksheet class that skips work our formulas never need."""
