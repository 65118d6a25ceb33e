"""Cell values of every sheet, through python-calamine (fast, tolerant of wrong dimensions)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

from python_calamine import CalamineWorkbook

Grid = list[list[object]]


def is_reader_panic(exc: BaseException) -> bool:
    """A panic inside calamine (Rust): pyo3 raises it as ``PanicException``, a ``BaseException``, when
    a malformed file trips an out-of-range slice. It is that file's fault, not a bug of ours."""
    return type(exc).__name__ == "PanicException"


def open_workbook(path: Path | str) -> CalamineWorkbook:
    """calamine's workbook; a file name that is not valid UTF-8 (calamine cannot open it by name) is
    handed over as an open file."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        with open(path, "rb") as f:
            return CalamineWorkbook.from_filelike(io.BytesIO(f.read()))
    return CalamineWorkbook.from_path(name)


def read_grids(path: Path | str, sheets: list[str] | None = None) -> dict[str, Grid]:
    """Sheet name -> rows of values from A1 (blank cells are ''), for the named sheets or all."""
    wb = open_workbook(path)
    try:
        names = wb.sheet_names
        out: dict[str, Grid] = {}
        for name in names:
            if sheets is not None and name not in sheets:
                continue
            out[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return out
    finally:
        close = getattr(wb, "close", None)
        if close:
            close()


class LazyGrids(Mapping[str, Grid]):
    """Sheet name -> grid, each sheet read on first access (the workbook is opened once)."""

    def __init__(self, path: Path | str):
        self._wb = open_workbook(path)
        self._names = list(self._wb.sheet_names)
        self._cache: dict[str, Grid] = {}

    def __getitem__(self, name: str) -> Grid:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = self._wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return self._cache[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


def cell(grid: Grid, row: int, col: int) -> object:
    """A value by 0-based position; None for a blank cell (calamine gives '')."""
    if row < len(grid):
        r = grid[row]
        if col < len(r):
            v = r[col]
            return None if v == "" else v
    return None


def as_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)
