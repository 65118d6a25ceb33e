"""Province totals of every table template as data, for outputs other than the workbook (the
report), and a template's totals in another period (the So sánh sheet and the report share them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ...blueprint.expr import Ref
from ...blueprint.model import CellType
from ...layout import LayoutCol
from ..areas import Areas, area_key, programme_areas
from ..formats import is_number
from ..model import RollupData
from .names import SheetNames
from .template import Template, lead_fields, make_templates, template_title


@dataclass(frozen=True)
class ProvinceLine:
    """A line of a template's "Toàn tỉnh" block."""

    key: str
    row_key: str            # Mã dòng on the sheet ("" for a line over every row)
    stt: str
    label: str
    kind: str               # heading | data | total | pooled


@dataclass
class ProvinceTable:
    """One table template's province totals as the roll-up computes them (its "Toàn tỉnh" block,
    the lines the "Tổng hợp toàn tỉnh" sheet shows), for outputs other than the workbook."""

    codes: list[str]
    title: str
    area: str | None
    sheet: str                                   # the template's sheet in the roll-up
    units: list[str]                             # codes of the units with figures
    columns: list[LayoutCol]                     # value columns with at least one total
    lines: list[ProvinceLine]
    values: dict[tuple[str, str], object]        # (line key, column key) -> value (None: not totalled)
    types: dict[tuple[str, str], CellType]
    # the same keys in the previous period and the same period last year (empty: no figures then)
    previous: dict[tuple[str, str], object] = field(default_factory=dict)
    last_year: dict[tuple[str, str], object] = field(default_factory=dict)
    continued: list[str] = field(default_factory=list)    # earlier codes the comparison took (02-H for 02-X)


def province_tables(data: RollupData, *, areas: Areas | None = None) -> list[ProvinceTable]:
    """The province totals of every table template, in the roll-up's sheet order: the same templates,
    sums and recomputed rates (never averages of rates) as :func:`write_rollup` writes."""
    areas = areas or programme_areas(data.programme)
    out = []
    for tpl in make_templates(data, areas, lead_fields(data, areas), SheetNames()):
        tpl.province.values = tpl.evaluate(tpl.province)
        headline = tpl.headline_lines(tpl.province)
        lines = [ln for ln in tpl.province.lines if ln in headline or (ln.kind == "heading" and tpl.bp.kind != "list")]
        totalled = {(ln.key, c) for ln in headline for c in tpl.col_keys
                    if tpl.resolvable(tpl.province, tpl.cell_kind(ln, c))}
        cols = [lc for lc in tpl.cols if any((ln.key, lc.key) in totalled for ln in lines)]
        counted = [a for a in tpl.appendices if a not in tpl.apart]
        others, continued = [], set()
        for totals in (data.previous_totals or {}, data.last_year_totals or {}):
            values, olds = other_period_values(tpl, counted, totals)
            continued |= olds
            others.append({k: values.get(k) for k in totalled} if values else {})
        out.append(ProvinceTable(
            tpl.codes, template_title(tpl), area_key(tpl.td.area or tpl.bp.area), tpl.sheet, tpl.units, cols,
            [ProvinceLine(ln.key, ln.row_key, ln.stt, ln.label, ln.kind) for ln in lines],
            {(ln.key, lc.key): tpl.province.values.get((ln.key, lc.key)) if (ln.key, lc.key) in totalled else None
             for ln in lines for lc in cols},
            {(ln.key, lc.key): tpl.cell_type(ln, lc.key) for ln in lines for lc in cols},
            others[0], others[1], sorted(continued)))
    return out


def other_period_values(tpl: Template, appendices: list[str], totals: Mapping) -> tuple[dict | None, set[str]]:
    """The province values of ``tpl`` in another period, evaluated by the template's own formulas from
    that period's ledger totals ((appendix, row, column) -> value) of ``appendices``; for a period
    before an appendix existed, from the codes it continues (02-X ← 02-H, 03-H). Returns the values
    (None: no figures) and the continued codes used. Where several codes add up, their computed
    cells are recomputed from the sums, never added (a sum of two rates is no rate)."""
    mine: dict[tuple[str, str], float] = {}
    sources: set[str] = set()
    continued: set[str] = set()
    for appx in appendices:
        own = {(r, c): v for (a, r, c), v in totals.items() if a == appx and is_number(v)}
        if own:
            sources.add(appx)
        else:
            olds = set(tpl.bp.continues(appx))
            for (a, r, c), v in totals.items():
                if a in olds and is_number(v):
                    own[(r, c)] = own.get((r, c), 0) + v
                    sources.add(a)
                    continued.add(a)
        for k, v in own.items():
            mine[k] = mine.get(k, 0) + v
    if len(sources) > 1:
        def computed(r: str, c: str) -> bool:
            spec = tpl.layout.cells.get(Ref(r, c))
            return spec is not None and spec.role == "computed"
        mine = {k: v for k, v in mine.items() if not computed(*k)}
    if not mine:
        return None, continued
    return tpl.evaluate(tpl.province, totals=mine), continued
