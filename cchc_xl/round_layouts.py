"""The layouts of one reporting round: what generate writes and what validate and merge read back.

A :class:`RoundLayouts` holds, for one province and period, the table layouts (cached: they depend
on the appendix code and, for per-commune tables, the district's communes only), the vocabularies
and the unit names of the drop-down lists, and the period's dates. The generator's ``Builder``
extends it with workbook specs; the validator and the merger use it as it is, so neither needs the
generator.
"""

from __future__ import annotations

from collections.abc import Iterable

from .blueprint.catalogue import Catalogue, default_catalogue
from .config.period import Period
from .config.province import Province, Unit
from .config.workspace import Workspace
from .layout import TableLayout, build_layout

MAX_LAYOUTS = 96        # layouts kept per round (memory stays flat however many districts)

# the sheets every generated workbook has besides its tables (META_SHEET is in identity)
COVER_SHEET = "Hướng dẫn"
CHECK_SHEET = "Kiểm tra"
VOCAB_SHEET = "_dm"


class RoundLayouts:
    """Layouts, vocabularies, unit names and dates of one province's round for ``period``."""

    def __init__(self, ws: Workspace, period: Period, catalogue: Catalogue | None = None,
                 programme: str | None = None):
        self.ws = ws
        self.prov: Province = ws.province
        self.period = period
        # the blueprint versions of the province's programme (the same code may exist in two); a
        # validator reading a file made under another programme asks for that one
        self.cat = (catalogue or default_catalogue()).for_programme(programme or self.prov.info.programme)
        self.dates = self.prov.dates(period)
        self._layouts: dict[tuple, TableLayout] = {}
        voc_ids = {c.vocabulary for bp in self.cat.blueprints.values() for c in bp.columns if c.vocabulary}
        self.vocabularies = {v: self.cat.vocabulary(v).labels for v in sorted(voc_ids) if v in self.cat.vocabularies}
        self.unit_names = [u.name for u in self.prov.reporting_units()]

    def layout(self, code: str, unit: Unit) -> TableLayout:
        bp = self.cat.for_code(code)
        communes: tuple = ()
        if bp.row_source is not None and bp.row_source.registry == "communes":
            communes = tuple((c.row_key, c.name) for c in self.prov.communes_of(unit.code))
        key = (code, communes)
        lay = self._layouts.get(key)
        if lay is None:
            if communes and len(self._layouts) >= MAX_LAYOUTS:
                # a district's own layouts: few files need them, and a province has hundreds
                self._layouts.pop(next((k for k in self._layouts if k[1]), None), None)
            lay = self._layouts[key] = build_layout(bp, code, self.cat, communes)
        return lay

    def layouts_for(self, unit: Unit, codes: Iterable[str]) -> list[TableLayout]:
        return [self.layout(c, unit) for c in codes]
