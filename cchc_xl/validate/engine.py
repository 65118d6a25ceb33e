"""``validate_file(path, context) -> ValidationReport``: pure, no printing.

The validator trusts nothing in the file but the typed inputs: identity is checked against the
workspace's key, the layout against the blueprint, formulas against the compiled expressions,
and every computed value and rule is re-derived in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from python_calamine import CalamineError

from ..blueprint.catalogue import Catalogue, default_catalogue
from ..blueprint.expr import Ref
from ..cell_checks import NIL_COL, declared_nil
from ..cell_values import check_value, is_blank, several_agencies
from ..config.period import Period, PeriodError, parse_period
from ..config.workspace import Workspace
from ..explain import explain, with_numbers
from ..identity import (
    FORMAT,
    FORMATS,
    META_SHEET,
    Metadata,
    find_unit_line,
    names_unit,
    pairs_from_grid,
    pairs_from_properties,
)
from ..layout import LABEL_COL, TableLayout, a1
from ..problems import ValidationReport, make_problem
from ..read.digest import file_hash
from ..read.guard import screen_package
from ..read.package import PackageInfo, UnreadableFile, inspect_package, scan_sheets
from ..read.values import Grid, LazyGrids, as_text, cell, is_reader_panic
from ..round_layouts import CHECK_SHEET, COVER_SHEET, VOCAB_SHEET, RoundLayouts
from .locate import Location, find_sheet_for, locate, norm

PERIOD_LABEL = re.compile(r"Kỳ báo cáo:\s*(Quý I|6 tháng đầu|9 tháng|Năm|Kế hoạch CCHC năm)\D*(\d{4})", re.I)
PERIOD_KINDS = {"quý i": "Q1", "6 tháng đầu": "6M", "9 tháng": "9M", "năm": "Y", "kế hoạch cchc năm": "PLAN"}


@dataclass
class ValidationContext:
    workspace: Workspace
    period: Period | None = None              # the period being collected, when known
    catalogue: Catalogue = field(default_factory=default_catalogue)
    lang: str = "vi"
    seen: dict[str, str] = field(default_factory=dict)     # content hash -> submission key
    _rounds: dict[str, RoundLayouts] = field(default_factory=dict)

    def round(self, period: Period, programme: str | None = None) -> RoundLayouts:
        """The period's layouts in the province's programme, or in ``programme`` (a file made under
        another programme's blueprint versions)."""
        key = f"{period}/{programme}" if programme else str(period)
        if key not in self._rounds:
            self._rounds[key] = RoundLayouts(self.workspace, period, self.catalogue, programme)
        return self._rounds[key]


@dataclass
class CellValue:
    """One value read from a returned file, with where it came from."""

    code: str
    sheet: str
    row: str
    col: str
    cell: str
    value: object
    role: str      # input | computed


def validate_file(path: Path | str, ctx: ValidationContext, *, content_hash: str | None = None) -> ValidationReport:
    path = Path(path)
    report = ValidationReport(path=str(path))
    v = _Validator(path, ctx, report)
    try:
        screen_package(str(path))
        v.run(content_hash)
    except UnreadableFile as exc:
        v.problem(exc.code, detail=exc.detail)
        report.rejected = True
    except CalamineError as exc:       # the value reader refused the package (XML, zip, password …)
        v.problem("file.corrupt", detail=f"{type(exc).__name__}: {exc}")
        report.rejected = True
    except (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError) as exc:
        # A file that defeats every reader is still a clear problem, never a traceback.
        v.problem("file.unreadable", detail=f"{type(exc).__name__}: {exc}")
        report.rejected = True
    except BaseException as exc:
        if not is_reader_panic(exc):
            raise
        v.problem("file.corrupt", detail=f"{type(exc).__name__}: {exc}")
        report.rejected = True
    return report.finish()


class _Validator:
    def __init__(self, path: Path, ctx: ValidationContext, report: ValidationReport):
        self.path = path
        self.ctx = ctx
        self.report = report
        self.values: list[CellValue] = []
        self._claimed: tuple[str, str] | None = None     # (unit name, period label) the metadata states
        self._nils: dict[str, bool] | None = None
        self.nil_tables: list[str] = []     # declared "Không phát sinh" and blank: a nil return

    def problem(self, code: str, **kw):
        return self.report.add(make_problem(code, lang=self.ctx.lang, file=str(self.path), **kw))

    # -- identity ------------------------------------------------------------------------------

    def run(self, content_hash: str | None) -> None:
        pkg = inspect_package(self.path, only=())        # safety checks, sheet list, properties
        grids = LazyGrids(self.path)
        meta = self._metadata(pkg, grids)
        prov = self.ctx.workspace.province
        if meta is None:
            self._salvage(inspect_package(self.path), grids)
            return
        if pkg.format in ("xlsx", "xlsm"):                 # formulas of the table sheets only
            pkg = scan_sheets(pkg, {t.sheet for t in meta.tables})
        else:
            pkg = inspect_package(self.path)
        self.report.unit, self.report.period, self.report.part = meta.unit, meta.period, meta.part
        try:
            period = parse_period(meta.period)
        except PeriodError:
            self.problem("identity.period_unknown", value=meta.period)
            self.report.rejected = True
            return
        if meta.province != prov.id:
            self.problem("identity.province_mismatch", value=meta.province, expected=prov.id)
        unit = prov.unit_by_code.get(meta.unit)
        if unit is None:
            self.problem("identity.unit_unknown", unit=meta.unit)
            self.report.rejected = True
            return
        self.report.unit_name = unit.name
        if self.ctx.period and period != self.ctx.period:
            self.problem("identity.period_mismatch", value=period.label, expected=self.ctx.period.label)
        if not meta.verify(self.ctx.workspace.secret):
            # judged with the embedded public test key, a mismatch proves nothing about the file: say so
            # (a workspace's own key is the only one whose mismatch means the identity was altered)
            code = "identity.tag_public_key" if self.ctx.workspace.embedded else "identity.tag_invalid"
            self.problem(code, unit=meta.unit, period=meta.period)
        digest = content_hash or file_hash(self.path)
        other = self.ctx.seen.get(digest)
        if other and other != meta.submission_key:
            self.problem("identity.duplicate_submission", unit=meta.submission_key, value=other)
        self.ctx.seen.setdefault(digest, meta.submission_key)
        b = self.ctx.round(period)
        self._claimed = (meta.unit_name, period.label)
        for stamp in meta.tables:
            bp = self.ctx.catalogue.blueprints.get(stamp.blueprint)
            if bp is None or stamp.code not in bp.code_list:
                self.problem("identity.blueprint_unknown", table=stamp.code, value=f"{stamp.blueprint} v{stamp.version}")
                continue
            tb = b
            current = b.cat.by_code.get(stamp.code)
            if current is not None and bp.id != current.id and bp.programme != current.programme:
                # this code's version of another programme (made before the province changed programme):
                # read by the file's own version, and say so
                self.problem("identity.blueprint_programme", table=stamp.code, value=bp.programme,
                             expected=current.programme)
                tb = self.ctx.round(period, bp.programme)
            lay = tb.layout(stamp.code, unit)
            if stamp.version != bp.version or stamp.fingerprint != lay.fingerprint():
                self.problem("identity.blueprint_outdated", table=stamp.code, value=f"v{stamp.version}",
                             expected=f"v{bp.version}")
            self._table(lay, pkg, grids, stamp.sheet, tb)
        self._extra_sheets(pkg, meta)
        self.report.values = {"cells": self.values, "metadata": meta, "nil": self.nil_tables}

    def _metadata(self, pkg: PackageInfo, grids: dict[str, Grid]) -> Metadata | None:
        sources = []
        if META_SHEET in grids:
            sources.append(pairs_from_grid(grids[META_SHEET]))
        props = pairs_from_properties(pkg.custom_properties or {})
        if props:
            sources.append(props)
        parsed = []
        for pairs in sources:
            try:
                parsed.append(Metadata.from_pairs(pairs))
            except (KeyError, ValueError):
                continue
        if not parsed:
            if sources:
                self.problem("identity.metadata_invalid")
            return None
        first = parsed[0]
        for other in parsed[1:]:
            # both copies are written together; one that differs was transplanted from another file
            if other.signed_payload() != first.signed_payload() or other.tag != first.tag:
                self.problem("identity.metadata_conflict", value=f"{first.submission_key} {first.period}",
                             expected=f"{other.submission_key} {other.period}")
        if first.format not in FORMATS:
            self.problem("identity.format_unknown", value=first.format, expected=FORMAT)
        return first

    def _check_unit_line(self, sheet: str, grid: Grid) -> None:
        """The locked line under the title must name the unit and period the metadata claims."""
        if self._claimed is None:                          # a salvaged copy: no identity to compare
            return
        name, label = self._claimed
        row, line = find_unit_line(grid) or (2, None)     # the generator writes it on row 3
        if names_unit(line, name, label) or any(p.code == "identity.transplanted" for p in self.report.problems):
            return
        self.problem("identity.transplanted", sheet=sheet, cell=f"A{row + 1}", value=line or "(không có)",
                     expected=f"{name}, {label}")

    # -- tables --------------------------------------------------------------------------------

    def _table(self, lay: TableLayout, pkg: PackageInfo, grids: dict[str, Grid], sheet: str, b: RoundLayouts) -> None:
        if sheet not in grids:
            found = find_sheet_for(lay, {k: g for k, g in grids.items() if k != META_SHEET})
            if found is None:
                self.problem("structure.sheet_missing", sheet=sheet, table=lay.code)
                return
            self.problem("structure.sheet_renamed", sheet=found, table=lay.code, expected=sheet)
            sheet = found
        grid = grids[sheet]
        self._check_unit_line(sheet, grid)
        loc = locate(lay, grid)
        if not loc.found:
            self.problem("structure.label_changed", sheet=sheet, table=lay.code, cell=None,
                         value="(không tìm thấy các dòng của biểu)", expected=lay.title)
            return
        self._structure(lay, loc, sheet, grid, pkg)
        filled = self._read_and_check(lay, loc, sheet, grid, pkg, b)
        self._nil_return(lay, sheet, grids, filled)

    def _nil_return(self, lay: TableLayout, sheet: str, grids, filled: int) -> None:
        """A table with no figures (``filled`` input cells hold anything) is a nil return only when
        declared so on the cover sheet."""
        if lay.blueprint.kind == "outline" or not lay.input_cells:
            return
        declared = self._nil_declared(grids).get(lay.code, False)
        if not filled and not declared:
            self.problem("table.blank", sheet=sheet, table=lay.code)
        elif not filled:
            self.nil_tables.append(lay.code)
        elif filled and declared:
            self.problem("table.nil_with_figures", sheet=sheet, table=lay.code, value=filled)

    def _nil_declared(self, grids) -> dict[str, bool]:
        """Table code -> declared "Không phát sinh" on the cover (files issued before the
        declaration existed have none)."""
        if self._nils is None:
            self._nils = {}
            grid = grids.get(COVER_SHEET) if COVER_SHEET in grids else None
            for row in grid or []:
                link = row[2] if len(row) > 2 else None
                if isinstance(link, str) and ": " in link:
                    self._nils[link.split(": ", 1)[0].strip()] = declared_nil(row[NIL_COL] if len(row) > NIL_COL else None)
        return self._nils

    def _structure(self, lay: TableLayout, loc: Location, sheet: str, grid: Grid, pkg: PackageInfo) -> None:
        if loc.row_shift > 0:
            self.problem("structure.rows_inserted", sheet=sheet, table=lay.code, value=loc.row_shift)
        elif loc.row_shift < 0:
            self.problem("structure.rows_deleted", sheet=sheet, table=lay.code, value=-loc.row_shift)
        if loc.col_shift:
            self.problem("structure.columns_changed", sheet=sheet, table=lay.code, value=loc.col_shift)
        label_col = loc.cols.get(LABEL_COL)
        for key, expected, found in loc.label_changes:
            addr = a1(loc.rows[key], label_col if label_col is not None else 0)
            self.problem("structure.label_changed", sheet=sheet, table=lay.code, row=key, cell=addr,
                         value=found or "(trống)", expected=expected)
        for _key, r, c, expected, found in loc.header_changes:
            self.problem("structure.header_changed", sheet=sheet, table=lay.code, cell=a1(r, c),
                         value=found or "(trống)", expected=expected)
        info = pkg.sheet(sheet)
        if info is not None and info.protected is False:
            self.problem("structure.protection_removed", sheet=sheet, table=lay.code)
        # values typed beyond the table
        max_row = max(loc.rows.values()) + 5
        max_col = max(loc.cols.values())
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if v != "" and v is not None and (r > max_row or c > max_col):
                    self.problem("structure.data_outside_input", sheet=sheet, table=lay.code, cell=a1(r, c),
                                 value=as_text(v)[:40])
                    return

    def _read_and_check(self, lay: TableLayout, loc: Location, sheet: str, grid: Grid, pkg: PackageInfo,
                        b: RoundLayouts) -> int:
        """Check every cell of the table; the number of input cells that hold anything."""
        info = pkg.sheet(sheet)
        formulas = info.formulas if info is not None else None
        errors = (info.errors if info is not None else None) or {}

        def pos(ref: Ref) -> tuple[int, int]:
            return loc.rows[ref.row], loc.cols[ref.col]

        def where(spec):
            r, c = pos(spec.ref)
            row = lay.row(spec.ref.row)
            return {"sheet": sheet, "table": lay.code, "row": spec.ref.row, "column": spec.ref.col,
                    "cell": a1(r, c), "row_label": row.label or f"dòng {row.stt}",
                    "column_label": lay.col(spec.ref.col).label}

        inputs: dict[Ref, object] = {}
        judged: dict[Ref, object] = {}
        filled = 0                      # input cells holding anything (an error value included)
        for spec in lay.input_cells:
            r, c = pos(spec.ref)
            raw = cell(grid, r, c)
            vocab = None
            if spec.vocabulary:
                vocab = b.vocabularies.get(spec.vocabulary) or self.ctx.catalogue.vocabulary(spec.vocabulary).labels
            elif spec.type.value == "unit_ref":
                vocab = b.unit_names
            checked = check_value(raw, spec, b.dates, vocab, error=errors.get(a1(r, c)))
            filled += a1(r, c) in errors or not is_blank(raw)
            for code, params in checked.problems:
                if code == "value.required_blank" and lay.blueprint.kind == "outline":
                    code = "outline.section_empty"
                self.problem(code, **where(spec), **params)
            if formulas is not None and a1(r, c) in formulas:
                self.problem("structure.formula_altered", **where(spec), value="=" + formulas[a1(r, c)],
                             expected="(ô nhập số liệu)")
            inputs[spec.ref] = checked.value
            if checked.value is None and checked.seen is not None:
                judged[spec.ref] = checked.seen
        values = lay.evaluate(inputs)
        for spec in lay.computed_cells:
            r, c = pos(spec.ref)
            raw = cell(grid, r, c)
            addr = a1(r, c)
            expected = lay.formula(spec)[1:]
            if formulas is not None:
                got = formulas.get(addr)
                if got is None:
                    if raw is not None:
                        self.problem("structure.formula_overwritten", **where(spec), value=as_text(raw),
                                     expected=_show(values[spec.ref]))
                elif not loc.shifted and got != expected and _canon(got) != _canon(expected):
                    self.problem("structure.formula_altered", **where(spec), value="=" + got, expected="=" + expected)
            elif raw is not None and not _same(raw, values[spec.ref]):
                # .xls: formulas cannot be read; LibreOffice and Excel store freshly computed
                # values there, so a value that differs from ours was typed over the formula.
                self.problem("structure.formula_overwritten", **where(spec), value=as_text(raw),
                             expected=_show(values[spec.ref]))
        # rules are judged on what the workbook's formulas see (its Kiểm tra lines say the same);
        # the figures (``values``) keep invalid cells blank
        self._rules(lay, lay.evaluate({**inputs, **judged}) if judged else values, where)
        if lay.code == "KH-CCHC":
            for spec in lay.input_cells:
                if "chu_tri" in spec.ref.col and several_agencies(values.get(spec.ref)):
                    self.problem("value.multiple_lead_agencies", **where(spec), value=values[spec.ref])
        for spec in lay.cells.values():
            r, c = pos(spec.ref)
            self.values.append(CellValue(lay.code, sheet, spec.ref.row, spec.ref.col, a1(r, c),
                                         values.get(spec.ref), spec.role))
        return filled

    def _rules(self, lay: TableLayout, values: dict, where) -> None:
        if lay.blueprint.kind == "outline":
            return  # an outline's only rules are its required sections, reported with the values
        def col_values(rng):
            return [values.get(Ref(r.key, rng.col)) for r in lay.data_rows(rng.group)]

        for ri, passes in lay.check(values):
            if passes:
                continue
            numbers = explain(ri, values.get, col_values)
            cell = lay.rule_cell(ri)
            w = where(cell) if cell else {"sheet": lay.sheet, "table": lay.code}
            self.problem("rule.failed", severity=ri.rule.severity.value,
                         message=with_numbers(ri.rule.message, numbers),
                         hint=ri.rule.hint, rule=ri.rule.id, **w)

    def _extra_sheets(self, pkg: PackageInfo, meta: Metadata) -> None:
        known = {t.sheet for t in meta.tables} | {COVER_SHEET, CHECK_SHEET, VOCAB_SHEET, META_SHEET}
        for s in pkg.sheets:
            if s.name not in known and s.state == "visible":
                self.problem("structure.sheet_extra", sheet=s.name)

    # -- salvage -------------------------------------------------------------------------------

    def _salvage(self, pkg: PackageInfo, grids: dict[str, Grid]) -> None:
        """No metadata: find the tables by their labels, the unit and period by the title lines."""
        prov = self.ctx.workspace.province
        text = " ".join(as_text(v) for g in grids.values() for row in g[:4] for v in row if v != "")
        unit = None
        for u in sorted(prov.reporting_units(), key=lambda u: -len(u.name)):
            if norm(f"Đơn vị báo cáo: {u.name}") in norm(text):
                unit = u
                break
        period = self.ctx.period
        m = PERIOD_LABEL.search(text)
        if m:
            period = Period(int(m.group(2)), PERIOD_KINDS[norm(m.group(1))])
        if unit is None or period is None:
            self.problem("identity.metadata_missing")
            self.report.rejected = True
            return
        self.report.unit, self.report.unit_name, self.report.period, self.report.part = \
            unit.code, unit.name, str(period), "main"
        b = self.ctx.round(period)
        codes = [c for o in prov.obligations(unit, period) for c in o.codes]
        found = 0
        for code in codes:
            lay = b.layout(code, unit)
            sheet = code if code in grids else find_sheet_for(lay, grids)
            if sheet is None:
                continue
            found += 1
            self._table(lay, pkg, grids, sheet, b)
        if not found:
            self.problem("identity.metadata_missing")
            self.report.rejected = True
            return
        self.problem("identity.salvaged", unit=unit.code, period=str(period), value=found)
        self.report.values = {"cells": self.values, "metadata": None, "nil": self.nil_tables}


def _canon(formula: str) -> str:
    f = formula.lstrip("=").replace("$", "").replace(" ", "").upper()
    return f.replace("_XLFN.", "")


def _same(raw: object, want: object) -> bool:
    if want in ("", None) and raw in (0, "", None):
        return True   # an empty formula result: .xls readers may give 0 for it
    if isinstance(raw, (int, float)) and isinstance(want, (int, float)):
        return abs(raw - want) <= 1e-6 * max(1, abs(want))
    return as_text(raw) == as_text(want)


def _show(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return as_text(v)
