"""Finding a table on a returned sheet: where its rows and columns actually are.

A clerk may insert or delete rows, or copy the table into another workbook. The locator maps
every layout row and column to the sheet position where its label is found, so that the
values can still be read — and the shift reported — instead of reading the wrong cells.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from ..layout import LABEL_COL, STT_COL, TableLayout
from ..read.values import Grid, as_text, cell

SEARCH = 60  # rows searched around the expected position


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=65536)
def _norm_text(s: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", s).strip().lower())


def norm(text: object) -> str:
    if text is None or text == "":
        return ""
    return _norm_text(text if isinstance(text, str) else as_text(text))


@dataclass
class Location:
    rows: dict[str, int] = field(default_factory=dict)    # layout row key -> actual 0-based row
    cols: dict[str, int] = field(default_factory=dict)    # layout col key -> actual 0-based col
    missing_rows: list[str] = field(default_factory=list)
    header_changes: list[tuple[str, int, int, str, str]] = field(default_factory=list)  # (col, row, col idx, expected, found)
    label_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (row key, expected, found)
    row_shift: int = 0        # net rows inserted (+) or deleted (-) above the table's data
    col_shift: int = 0
    found: bool = True

    @property
    def shifted(self) -> bool:
        return any(v for v in (self.row_shift, self.col_shift))


def _find_header_cols(lay: TableLayout, grid: Grid) -> dict[str, int]:
    """Columns by their leaf header text, searched near the header band (tolerates shifts)."""
    out: dict[str, int] = {}
    top = lay.header_top + lay.header_depth - 1
    # fast path: every leaf header where the layout puts it (or in its merged band above)
    fast = {}
    for c in lay.cols:
        want = norm(c.text)
        for r in range(lay.header_top, top + 1):
            if norm(cell(grid, r, c.col)) == want:
                fast[c.key] = c.col
                break
    if len(fast) == len(lay.cols):
        return fast
    band = [r for r in range(max(0, top - 3), min(len(grid), top + SEARCH)) ]
    for c in lay.cols:
        want = norm(c.text)
        best = None
        for r in band:
            for j, v in enumerate(grid[r]):
                if v != "" and norm(v) == want:
                    score = (abs(r - top), abs(j - c.col))
                    if best is None or score < best[0]:
                        best = (score, j)
        if best is not None:
            out[c.key] = best[1]
    return out


def locate(lay: TableLayout, grid: Grid) -> Location:
    loc = Location()
    header_cols = _find_header_cols(lay, grid)
    shifts = [header_cols[c.key] - c.col for c in lay.cols if c.key in header_cols]
    loc.col_shift = max(set(shifts), key=shifts.count) if shifts else 0
    for c in lay.cols:   # a uniform shift (columns inserted or the table moved), never a reshuffle
        loc.cols[c.key] = c.col + loc.col_shift
    leaf = lay.header_top + lay.header_depth - 1
    for c in lay.cols:
        if c.key not in header_cols or header_cols[c.key] != loc.cols[c.key]:
            col = loc.cols[c.key]
            found = next((as_text(cell(grid, r, col)) for r in range(leaf, lay.header_top - 1, -1)
                          if cell(grid, r, col) is not None), "")
            loc.header_changes.append((c.key, leaf, col, c.text, found))

    has_label = LABEL_COL in lay._col_by_key
    used: set[int] = set()
    deltas: list[int] = []
    for r in lay.rows:
        by_label = has_label and bool(r.label)
        want = norm(r.label) if by_label else norm(r.stt)
        key_col = loc.cols[LABEL_COL] if by_label else loc.cols[STT_COL]
        if not want:
            continue
        expected = r.row + (deltas[-1] if deltas else 0)
        found = None
        for d in range(0, SEARCH):
            for cand in ((expected + d, expected - d) if d else (expected,)):
                if 0 <= cand < len(grid) and cand not in used and norm(cell(grid, cand, key_col)) == want:
                    found = cand
                    break
            if found is not None:
                break
        if found is None:
            loc.missing_rows.append(r.key)
            found_text = as_text(cell(grid, expected, key_col))
            loc.label_changes.append((r.key, r.label or r.stt, found_text))
            loc.rows[r.key] = expected
            continue
        used.add(found)
        loc.rows[r.key] = found
        deltas.append(found - r.row)
    for r in lay.rows:  # rows without a label (group rows...) follow their neighbours
        if r.key not in loc.rows:
            loc.rows[r.key] = r.row + (deltas[0] if deltas else 0)
    loc.row_shift = max(set(deltas), key=deltas.count) if deltas else 0
    matched = len([k for k in loc.rows if k not in loc.missing_rows])
    loc.found = matched >= max(1, len([r for r in lay.rows if r.label or r.stt]) // 2)
    return loc


def find_sheet_for(lay: TableLayout, grids: dict[str, Grid]) -> str | None:
    """The sheet that holds this table, by its title and row labels (for renamed/copied sheets)."""
    best, best_score = None, 0
    title = norm(lay.title)
    labels = {norm(r.label) for r in lay.rows if r.label}
    for name, grid in grids.items():
        head = " ".join(norm(v) for row in grid[:8] for v in row if v != "")
        score = 0
        if title and title in head:
            score += 5
        if norm(f"phụ lục số: {lay.code}") in head:
            score += 5
        if labels:
            col_texts = {norm(v) for row in grid[: lay.last_row + SEARCH] for v in row[:4] if v != ""}
            score += 10 * len(labels & col_texts) / len(labels)
        if score > best_score:
            best, best_score = name, score
    return best if best_score >= 5 else None
