"""What every sheet module of the roll-up shares: the data, the plan being built, the templates,
and the pieces each sheet has (title, note, table, the province totals by area)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..areas import Areas, LeadField, area_key
from ..formats import text_lines
from ..model import RollupData
from .cells import fit_row
from .names import SheetNames
from .plan import FMT, SheetPlan, TablePlan, WorkbookPlan
from .template import Item, Template, make_templates

__all__ = ["Context"]


class Context:
    def __init__(self, data: RollupData, areas: Areas, fields: dict[str, LeadField], only_field: str | None):
        self.data = data
        self.areas = areas
        self.fields = fields
        self.only_field = only_field
        self.f = FMT
        self.plan = WorkbookPlan()
        self.names = SheetNames()
        self._tables: set[str] = set()
        self.templates: list[Template] = make_templates(data, areas, fields, self.names)

    # -- pieces every sheet has --------------------------------------------------------------------

    def title(self, ws: SheetPlan, title: str, span: tuple[int, float] | None = None) -> None:
        """Title and subtitle; with ``span`` (last printed column, printed width) a long title wraps
        inside the printed width, its row as tall as it needs."""
        d = self.data
        if span and span[0] > 0 and text_lines(title, span[1] / 1.35) > 1:     # 14 pt bold: ~1.35 × wider
            ws.merge_range(0, 0, 0, span[0], title, self.f.title_wrap)
            ws.set_row(0, text_lines(title, span[1] / 1.35) * 19 + 3)
        else:
            ws.write_string(0, 0, title, self.f.title)
            ws.set_row(0, 21)
        w0, w1 = d.window
        sub = (
            f"{d.province_name} — {d.period.label} — hạn nộp {d.deadline:%d/%m/%Y} — "
            f"số liệu từ {w0:%d/%m/%Y} đến {w1:%d/%m/%Y} — lập lúc {d.generated_at:%H:%M %d/%m/%Y}"
        )
        ws.write_string(1, 0, sub, self.f.subtitle)

    def note(self, ws: SheetPlan, row: int, text: str, last_col: int, width: float) -> None:
        """A note across the printed columns, wrapped, its row as tall as the text needs."""
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, text, self.f.note_wrap)
        else:
            ws.write_string(row, 0, text, self.f.note_wrap)
        fit_row(ws, row, [(text, width)], cap=409)

    def _table_name(self, wanted: str) -> str:
        base = "tbl_" + re.sub(r"[^A-Za-z0-9_]", "_", wanted)
        name, i = base, 2
        while name.casefold() in self._tables:
            name, i = f"{base}_{i}", i + 1
        self._tables.add(name.casefold())
        return name

    @staticmethod
    def _unique_headers(headers: list[str]) -> list[str]:
        seen: set[str] = set()
        out = []
        for h in headers:
            name, i = h, 2
            while name.casefold() in seen:
                name, i = f"{h} ({i})", i + 1
            seen.add(name.casefold())
            out.append(name)
        return out

    def add_table(
        self, ws: SheetPlan, first_row: int, first_col: int, n_rows: int, headers: list[str], wanted_name: str
    ) -> int:
        """An Excel table (with filters) at ``first_row``; returns its last row (>= one data row)."""
        last = first_row + max(1, n_rows)
        ws.add_table(TablePlan(first_row, first_col, last, first_col + len(headers) - 1,
                               self._table_name(wanted_name), self._unique_headers(headers)))
        return last

    # -- the province totals, by area --------------------------------------------------------------

    def ensure_evaluated(self) -> None:
        for tpl in self.templates:
            if not tpl.province.values:
                tpl.province.values = tpl.evaluate(tpl.province)

    @staticmethod
    def items(tpl: Template, row_filter: str | None = None) -> list[Item]:
        """The province totals of a template that the area, field and comparison sheets show."""
        out = []
        for ln in tpl.headline_lines(tpl.province):
            if row_filter and row_filter.casefold() not in ln.label.casefold():
                continue
            for col in tpl.col_keys:
                if tpl.resolvable(tpl.province, tpl.cell_kind(ln, col)):
                    out.append(Item(tpl, ln, col, tpl.province.values.get((ln.key, col))))
        return out

    def by_area(self, area_keys: Iterable[str] | None = None) -> list[tuple[str | None, list[Template]]]:
        wanted = None if area_keys is None else {area_key(a) for a in area_keys}
        groups: dict[str | None, list[Template]] = {}
        for tpl in self.templates:
            k = area_key(tpl.td.area or tpl.bp.area)
            if wanted is not None and k not in wanted:
                continue
            groups.setdefault(k, []).append(tpl)
        return sorted(groups.items(), key=lambda kv: (self.areas.order(kv[0]), kv[0] or ""))
