"""Plausibility across periods: figures that need checking, never reasons to reject a file.

Two checks, in the manner of DHIS2's min–max outliers and the WHO data-quality review:

- **cumulative drop** — a count over a window that begins where an earlier report's window began
  (6 tháng after Quý I of the same year, by the province's own calendar) cannot be smaller than it
  was then;
- **outlier** — a count far outside the unit's own history of the same kind of report (the same
  period in earlier years): more than ``RATIO`` times its largest earlier figure, or less than
  ``1/RATIO`` of its smallest, by at least ``FLOOR``.

A unit's history follows the registry: for a period that ends before the unit existed in its
present form (``since``), its figures are the sum of the units it succeeds (``succeeds``), and an
older unit that merely had the same code is never taken for it. A predecessor that sent no report
of its own — a commune of a three-tier province, a row of its district's 03-H — is found in that
row: the table's column totals of the new commune (02-X) are then compared with the sum of its
predecessors' rows. Figures under an appendix the
current one continues (02-X ← 02-H) count as the same table. Stocks (balances at the end of the
window: the blueprint's ``measure``) may fall and are left out of the drop check; only typed counts and
amounts are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..blueprint.catalogue import Catalogue
from ..blueprint.expr import Ref
from ..blueprint.model import CellType
from ..config.period import KINDS, Period
from ..config.province import Province, Unit, unit_row_key
from ..problems import CATALOGUE, display, make_problem
from .ledger import ContentRow, Ledger
from .model import Finding

RATIO = 3.0      # "far outside": beyond three times the largest (or a third of the smallest) earlier figure
FLOOR = 20.0     # … and by at least this much, so that small counts (2 → 7) are not flagged
YEARS_BACK = 3   # the history an outlier is judged against
COMPARED = (CellType.count, CellType.amount, CellType.decimal)

Key = tuple[str, str, str]          # (appendix, row, column)


@dataclass(frozen=True)
class _Cell:
    sheet: str
    cell: str


def _numbers(ledger: Ledger, digest: str) -> dict[Key, float]:
    return {(a, r, c): n for a, r, c, n in ledger.input_numbers(digest)}


class History:
    """Each unit's counted figures in other periods of the ledger, as the registry says they are
    the unit's: its own for periods since it exists, its predecessors' (summed) before."""

    def __init__(self, prov: Province, ledger: Ledger):
        self.prov = prov
        self.ledger = ledger
        self._counted: dict[str, dict[str, ContentRow]] = {}
        self._numbers: dict[str, dict[Key, float]] = {}
        self._rows: dict[tuple[str, frozenset[str]], dict[str, dict[str, float]]] = {}
        self._ends: dict[str, object] = {}

    def _content(self, period: Period, key: str) -> ContentRow | None:
        return self._counted_in(period).get(key)

    def numbers(self, digest: str) -> dict[Key, float]:
        if digest not in self._numbers:
            self._numbers[digest] = _numbers(self.ledger, digest)
        return self._numbers[digest]

    def _end(self, period: Period):
        p = str(period)
        if p not in self._ends:
            try:
                self._ends[p] = self.prov.dates(period).window_end
            except KeyError:
                self._ends[p] = None
        return self._ends[p]

    def codes_for(self, unit: Unit, period: Period) -> list[str]:
        """The unit codes whose figures of ``period`` are this unit's."""
        end = self._end(period)
        if end is None:
            return []
        if unit.since and end < unit.since:
            return list(unit.succeeds)      # never the own code alone: an older unit may have had it
        return [unit.code]

    def unit_rows(self, period: Period, tables: frozenset[str]) -> dict[str, dict[str, float]]:
        """Row key -> column -> number of the rows per unit (``tables``: 03-H …) counted in ``period``."""
        key = (str(period), tables)
        if key not in self._rows:
            out: dict[str, dict[str, float]] = {}
            counted = self._counted_in(period)
            for c in counted.values():
                for a, _sheet, row, col, _cell, num, _text, role in self.ledger.values(c.hash):
                    if a in tables and role == "input" and num is not None:
                        cols = out.setdefault(row, {})
                        cols[col] = cols.get(col, 0.0) + num
            self._rows[key] = out
        return self._rows[key]

    def _counted_in(self, period: Period) -> dict[str, ContentRow]:
        p = str(period)
        if p not in self._counted:
            self._counted[p] = self.ledger.counted(p)
        return self._counted[p]

    def predecessor_rows(self, unit: Unit, period: Period, tables: frozenset[str]) -> dict[str, float] | None:
        """Column totals of the unit's predecessors that were rows of another unit's table in ``period``
        (None when the unit is not new since then, or none of them is found)."""
        codes = self.codes_for(unit, period)
        if not tables or not codes or codes == [unit.code]:
            return None
        rows = self.unit_rows(period, tables)
        found = [rows[unit_row_key(c)] for c in codes if unit_row_key(c) in rows]
        if not found:
            return None
        out: dict[str, float] = {}
        for cols in found:
            for col, v in cols.items():
                out[col] = out.get(col, 0.0) + v
        return out

    def figures(self, unit: Unit, part: str, period: Period) -> dict[Key, float] | None:
        """The unit's figures of ``period`` (None when the ledger has none that are its)."""
        if not self._counted_in(period):
            return None
        out: dict[Key, float] = {}
        found = False
        for code in self.codes_for(unit, period):
            c = self._content(period, code if part == "main" else f"{code}-{part}")
            if c is None:
                continue
            found = True
            for k, v in self.numbers(c.hash).items():
                out[k] = out.get(k, 0.0) + v
        return out if found else None


def _earlier_cumulative(prov: Province, period: Period) -> list[Period]:
    """Earlier reports of the same year whose window starts where ``period``'s does and ends before."""
    try:
        mine = prov.dates(period)
    except KeyError:
        return []
    out = []
    for kind in KINDS:
        other = Period(period.year, kind)
        if other == period or kind == "PLAN":
            continue
        try:
            d = prov.dates(other)
        except KeyError:
            continue
        if d.window_start == mine.window_start and d.window_end < mine.window_end:
            out.append(other)
    return sorted(out, key=lambda p: prov.dates(p).window_end)


def _value(figures: dict[Key, float], key: Key, continued: list[str]) -> float | None:
    if key in figures:
        return figures[key]
    vals = [figures[(a, key[1], key[2])] for a in continued if (a, key[1], key[2]) in figures]
    return sum(vals) if vals else None


def findings(prov: Province, ledger: Ledger, cat: Catalogue, period: Period,
             counted: dict[str, ContentRow], layout: Callable[[str, Unit], object]) -> list[Finding]:
    """The figures of ``period``'s counted submissions that need checking, per unit, in unit order."""
    hist = History(prov, ledger)
    drops_against = _earlier_cumulative(prov, period)
    years = [Period(period.year - k, period.kind) for k in range(1, YEARS_BACK + 1)]
    order = {u.code: i for i, u in enumerate(prov.units)}
    out: list[Finding] = []
    for obl in sorted(prov.expected(period), key=lambda o: order.get(o.unit.code, 0)):
        c = counted.get(obl.submission_key)
        if c is None:
            continue
        unit, part = obl.unit, obl.part
        earlier = [(p, f) for p in drops_against if (f := hist.figures(unit, part, p))]
        history = [(p, f) for p in years if (f := hist.figures(unit, part, p))]
        out += _against_predecessor_rows(hist, cat, layout, unit, part, c, years)
        if not earlier and not history:
            continue        # nothing of the unit's own to compare with (the usual first round)
        cells = {(a, r, col): _Cell(sheet, cell) for a, sheet, r, col, cell, _n, _t, role in ledger.values(c.hash)
                 if role == "input"}
        now = hist.numbers(c.hash)
        for key, value in now.items():
            appendix, row, col = key
            bp = cat.for_code(appendix)
            lay = layout(appendix, unit)
            spec = lay.cells.get(Ref(row, col))
            if spec is None or spec.type not in COMPARED or bp.kind == "list" and not bp.row_source:
                continue
            continued = bp.continues(appendix)
            where = cells.get(key, _Cell("", ""))
            labels = dict(row_label=lay.row(row).label if _has_row(lay, row) else row,
                          column_label=lay.col(col).label)
            if bp.cell_measure(row, col) == "flow":     # a stock may fall; a mixed cell is not compared
                for p, figs in earlier:
                    before = _value(figs, key, continued)
                    if before is not None and value < before:
                        out.append(_finding("plausibility.cumulative_drop", unit, part, c, key, where, labels,
                                            value, [(p, before)], period=p))
                        break
            past = [(p, v) for p, f in history if (v := _value(f, key, continued)) is not None]
            if past and _is_outlier(value, [v for _, v in past]):
                out.append(_finding("plausibility.outlier", unit, part, c, key, where, labels, value, past,
                                    period=past[0][0]))
    return out


def _row_tables(cat: Catalogue, bp) -> frozenset[str]:
    """The codes of the tables with a row per unit that carry ``bp``'s columns (03-H for 02-H's)."""
    return frozenset(code for other in cat.blueprints.values()
                     if other.row_source is not None and other.row_source.registry == "communes"
                     and other.columns_from == bp.id for code in other.code_list)


def _is_outlier(value: float, past: list[float]) -> bool:
    hi, lo = max(past), min(past)
    return (value > hi * RATIO and value - hi >= FLOOR) or (value * RATIO < lo and lo - value >= FLOOR)


def _against_predecessor_rows(hist: History, cat: Catalogue, layout, unit: Unit, part: str, c: ContentRow,
                              years: list[Period]) -> list[Finding]:
    """Outliers of a new unit's column totals against its predecessors' rows in earlier periods."""
    if not unit.since or all(hist.codes_for(unit, p) == [unit.code] for p in years):
        return []           # not a unit that is new since then (the usual case): nothing to look up
    out = []
    now = hist.numbers(c.hash)
    for appendix in dict.fromkeys(a for a, _r, _c in now):
        bp = cat.for_code(appendix)
        tables = _row_tables(cat, bp)
        past = [(p, rows) for p in years if (rows := hist.predecessor_rows(unit, p, tables))]
        if not past:
            continue
        lay = layout(appendix, unit)
        totals: dict[str, float] = {}
        for (a, _row, col), v in now.items():
            spec = lay.cells.get(Ref(_row, col))
            if a == appendix and spec is not None and spec.type in COMPARED:
                totals[col] = totals.get(col, 0.0) + v
        total_row = next((r for r in lay.rows if r.kind == "total"), None)
        for col, value in totals.items():
            earlier = [(p, rows[col]) for p, rows in past if col in rows]
            if earlier and _is_outlier(value, [v for _, v in earlier]):
                labels = dict(row_label=total_row.label if total_row else "Cộng", column_label=lay.col(col).label)
                where = _Cell(lay.sheet, lay.addr(Ref(total_row.key, col)) if total_row else "")
                out.append(_finding("plausibility.outlier", unit, part, c, (appendix, "tong", col), where, labels,
                                    value, earlier, period=earlier[0][0]))
    return out


def _has_row(lay, row: str) -> bool:
    return any(r.key == row for r in lay.rows)


def _finding(code: str, unit: Unit, part: str, c: ContentRow, key: Key, where: _Cell, labels: dict,
             value: float, earlier: list[tuple[Period, float]], *, period: Period) -> Finding:
    expected = "; ".join(f"{p.label}: {display(float(v))}" for p, v in earlier)
    extra = {"period": str(period)} if "period" in CATALOGUE[code].placeholders else {}
    problem = make_problem(code, file=c.first_path, sheet=where.sheet, cell=where.cell, table=key[0],
                           row=key[1], column=key[2], value=float(value), expected=expected, **labels, **extra)
    return Finding(unit.code, unit.name, part, key[0], key[1], labels["row_label"], key[2],
                   labels["column_label"], value, [(str(p), v) for p, v in earlier], c.first_path,
                   where.sheet, where.cell, code, problem.message)

