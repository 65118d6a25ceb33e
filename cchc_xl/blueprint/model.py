"""Typed model of a blueprint: one appendix table template (or a narrative outline).

A blueprint is declarative. Everything that differs between tables — rows, columns, types,
computed cells, rules, messages, sources — lives in the YAML file; the code that generates,
validates and merges workbooks reads only this model.
"""

from __future__ import annotations

import ast
import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KEY_RE = r"^[a-z_][a-z0-9_]*$"
CODE_RE = r"^[0-9A-Z][0-9A-Z\-]*$"


class Strict(BaseModel):
    """Unknown keys are refused by name; models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


SEED_FILE_RE = r"^\d{3}_[0-9a-f]{16}\.txt$"
DESIGN = "design"          # the project's own addition, stated as such
DOMAIN = "domain.md"       # the project's domain brief (facts from outside the seeds)


class Source(Strict):
    """Where an item comes from: a seed (with the line and the words quoted, so that it can be
    checked), the domain brief, or ``design`` (the project's own choice, never a guideline's)."""

    seed: str = Field(description="Seed file the item comes from (e.g. 000_88494d1bc9ec11ad.txt), "
                                  "'domain.md' or 'design' (the project's own addition)")
    section: str = Field(description="Section of the seed, as printed")
    line: int | None = Field(None, ge=1, description="Line of the seed where the quoted words begin")
    quote: str | None = Field(None, min_length=3, description="The seed's words, verbatim (they may run "
                                                                "over a line break from `line` on)")
    note: str | None = None

    @field_validator("seed")
    @classmethod
    def _known_seed(cls, v: str) -> str:
        if v not in (DESIGN, DOMAIN) and not re.match(SEED_FILE_RE, v):
            raise ValueError(f"seed {v!r} is neither a seed file (NNN_<16 hex>.txt), 'domain.md' nor 'design'")
        return v

    @model_validator(mode="after")
    def _quote_has_line(self):
        if (self.quote is None) != (self.line is None):
            raise ValueError("line and quote go together: the quoted words and the line they begin on")
        if self.seed == DESIGN and self.quote is not None:
            raise ValueError("a design source quotes nothing")
        return self


class CellType(str, Enum):
    count = "count"          # integer >= 0
    amount = "amount"        # VNĐ, integer >= 0
    decimal = "decimal"
    percent = "percent"      # 0..100
    yesno = "yesno"          # 1 / 0
    date = "date"
    month_range = "month_range"  # "MM/YYYY - MM/YYYY" inside the plan year
    text = "text"
    choice = "choice"        # from a vocabulary
    unit_ref = "unit_ref"    # a unit of the registry (choice over unit names)


# What a figure is over the data window: a flow is counted over the window (files received,
# procedures published in the period) and can be differenced between two cumulative windows; a
# stock is a balance at the window's end (carried over, pending, staff in post, procedures in
# force) and never is. A cell computed from flows only is a flow, from stocks only a stock; a mix
# (received = carried over + new) is neither, and no quarter-only figure is derived for it.
Measure = Literal["flow", "stock"]

NUMERIC_TYPES = {CellType.count, CellType.amount, CellType.decimal, CellType.percent, CellType.yesno}


class Severity(str, Enum):
    error = "error"
    warning = "warning"


class Missing(str, Enum):
    skip = "skip"    # rule not applicable while a referenced cell is blank
    zero = "zero"    # blanks count as 0
    check = "check"  # evaluate as written (use present() to test blanks)


class Column(Strict):
    key: str = Field(pattern=KEY_RE)
    label: str
    header: list[str] = Field(default_factory=list, description="Group labels above the label, outermost first")
    type: CellType | None = None
    unit: str | None = Field(None, description="Unit shown in the header, e.g. 'hồ sơ', 'VNĐ'")
    compute: str | None = Field(None, description="Expression over column keys of the same row")
    vocabulary: str | None = None
    min: float | None = None
    max: float | None = None
    width: float | None = None
    required: bool = False
    measure: Measure | None = Field(None, description="flow (counted over the window) or stock (a balance "
                                                      "at its end); default: the blueprint's")
    rows: list[str] | None = Field(None, min_length=1, description=(
        "Only these rows have a cell in this column (fixed and multi_period tables: a figure that belongs "
        "to some indicators only, e.g. the staff and the amount of an allowance); the other rows' cells "
        "are left blank and locked, like a heading's. Default: every row"))
    source: Source | None = None
    note: str | None = None


class Row(Strict):
    key: str = Field(pattern=KEY_RE)
    label: str
    stt: str | None = Field(None, description="Number printed in the STT column, e.g. '1', '-', 'a'")
    level: int = Field(0, ge=0, le=3)
    heading: bool = Field(False, description="A section heading: no value cells")
    type: CellType | None = None
    unit: str | None = None
    office: str | None = Field(None, description="Responsible office (Đơn vị thống kê, báo cáo)")
    compute: str | None = Field(None, description="Expression over row keys of the same column")
    min: float | None = None
    max: float | None = None
    required: bool = False
    measure: Measure | None = Field(None, description="flow or stock for this indicator row (wins over "
                                                      "the column's)")
    source: Source | None = None
    note: str | None = None


class RowSource(Strict):
    """Where the rows of a list table come from."""

    vocabulary: str | None = Field(None, description="One row per entry of this vocabulary")
    registry: Literal["communes"] | None = Field(None, description="One row per commune of the unit")
    capacity: int | None = Field(None, ge=1, le=500, description="Empty rows entered by the unit")
    other_row: str | None = Field(None, description="Label of a last catch-all row, e.g. 'Khác'")
    label_type: CellType = CellType.text

    @model_validator(mode="after")
    def _one_source(self):
        n = sum(x is not None for x in (self.vocabulary, self.registry, self.capacity))
        if n != 1:
            raise ValueError("row_source needs exactly one of vocabulary, registry, capacity")
        return self


class Groups(Strict):
    """Rows of a list table grouped under fixed headings (e.g. the 7 reform areas of a plan)."""

    vocabulary: str
    capacity: int = Field(ge=1, le=100)


class PrefillRow(Strict):
    """One row a list table's generated workbook comes with, already filled (the seed's own list of
    units to inspect, its schedule of tasks): the unit or secretariat edits it like any typed row."""

    group: str | None = Field(None, description="Key of the group (an item of groups.vocabulary) the row "
                                                "belongs to; only for tables with groups")
    values: dict[str, str | int | float] = Field(description="Column key -> value of an input cell")
    source: Source


class Rule(Strict):
    id: str = Field(pattern=KEY_RE)
    check: str = Field(description="Boolean expression that must hold")
    scope: Literal["row", "column", "table", "group"] = "row"
    rows: list[str] | None = Field(None, description="Limit a row-scope rule to these rows")
    columns: list[str] | None = Field(None, description="Limit a column-scope rule to these columns")
    severity: Severity = Severity.error
    missing: Missing = Missing.skip
    message: str = Field(description="Vietnamese message shown when the check fails")
    hint: str | None = Field(None, description="Vietnamese hint: how to fix it")
    source: Source | None = None


class Total(Strict):
    label: str = "Tổng cộng"
    position: Literal["top", "bottom"] = "bottom"


class Section(Strict):
    """A numbered section of a narrative outline."""

    key: str = Field(pattern=KEY_RE)
    number: str = ""
    title: str
    level: int = Field(0, ge=0, le=3)
    input: bool = Field(True, description="False for a heading that only groups sub-sections")
    required: bool = False
    guidance: str | None = None
    area: str | None = Field(None, description="Reform area key (see blueprints/areas.yaml) this section reports "
                                               "on: the provincial report puts that area's province totals here")
    source: Source | None = None


class CodeRef(Strict):
    code: str = Field(pattern=CODE_RE)
    title: str | None = Field(None, description="Overrides the blueprint title for this code")
    source: Source
    continues: list[str] = Field(default_factory=list, description=(
        "Codes of the same table that this code takes over (02-X continues the districts' 02-H): "
        "comparisons with periods that have no figures under this code use theirs"))
    sums_into_province: bool = Field(True, description=(
        "False when this code's figures do not add up with the other codes' into the province total "
        "(each district counts the same published procedures as the departments: 01-H, 01-X); the roll-up "
        "shows them beside the total, by unit type, never in it"))


class Blueprint(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: int = Field(ge=1)
    programme: Literal["2011-2020", "2021-2030"]
    kind: Literal["fixed", "list", "multi_period", "outline"]
    title: str
    subtitle: str | None = None
    source: Source
    area: str | None = Field(None, description="Reform area key (see blueprints/areas.yaml), e.g. 'II'")
    measure: Measure | None = Field(None, description=(
        "What the table's figures are unless a column or row says otherwise: flow (counted over the data "
        "window) or stock (a balance at its end). Default: stock when the subtitle says the figures are "
        "'tại thời điểm báo cáo', else flow"))
    codes: list[CodeRef] = Field(min_length=1)
    label_heading: str = Field("Nội dung", description="Heading of the row-label column")
    office_column: bool = Field(False, description="Show a column with each row's responsible office")
    unit_column: bool = Field(False, description="Show a column with each row's unit of measure (Đơn vị tính)")
    columns_from: str | None = Field(
        None, description="Take columns and rules from this blueprint id (a shared national form)")
    columns: list[Column] = Field(default_factory=list)
    rows: list[Row] = Field(default_factory=list)
    row_source: RowSource | None = None
    groups: Groups | None = None
    total: Total | None = None
    prefill: list[PrefillRow] = Field(default_factory=list, description=(
        "list tables of empty rows (row_source.capacity or groups): rows written into the generated "
        "workbook already filled, in order (within their group), editable like typed rows"))
    sections: list[Section] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _no_typos(cls, v: str) -> str:
        if re.search(r"\bBru\b|TTPVHCH", v):
            raise ValueError("seed typo copied: write 'Bưu' / 'TTPVHCC'")
        return v

    @model_validator(mode="after")
    def _shape(self):
        kind = self.kind
        if kind == "outline":
            if not self.sections or self.columns or self.rows:
                raise ValueError("an outline has sections and no rows or columns")
        else:
            if not self.columns and not self.columns_from:
                raise ValueError(f"a {kind} table needs columns (or columns_from)")
            if kind == "list":
                if self.rows:
                    raise ValueError("a list table takes rows from row_source or groups, not rows")
                if (self.row_source is None) == (self.groups is None):
                    raise ValueError("a list table needs exactly one of row_source, groups")
            elif not self.rows:
                raise ValueError(f"a {kind} table needs rows")
        if self.prefill:
            if kind != "list" or (self.groups is None and (self.row_source is None or not self.row_source.capacity)):
                raise ValueError("prefill: only a list table of empty rows (row_source.capacity or groups) is prefilled")
            for i, p in enumerate(self.prefill, 1):
                if (p.group is None) != (self.groups is None):
                    raise ValueError(f"prefill row {i}: a grouped table's rows name their group; others do not")
        for col in self.columns:
            if col.rows is None:
                continue
            if kind not in ("fixed", "multi_period"):
                raise ValueError(f"column {col.key!r}: rows: only a table of indicator rows (fixed, multi_period) "
                                 "limits a column to some rows")
            data_rows = {r.key for r in self.rows if not r.heading}
            unknown = [k for k in col.rows if k not in data_rows]
            if unknown:
                raise ValueError(f"column {col.key!r}: rows {', '.join(unknown)} are not data rows of the table")
        limited = {c.key: set(c.rows) for c in self.columns if c.rows is not None}
        for rule in self.rules if limited else ():
            if rule.scope != "row":
                continue
            for name in sorted((_bare_names(rule.check) or set()) & set(limited)):
                if rule.rows is None or not set(rule.rows) <= limited[name]:
                    raise ValueError(f"rule {rule.id!r} reads column {name!r}, which only rows "
                                     f"{', '.join(sorted(limited[name]))} have: name them in the rule's rows")
        if self.unit_column and kind not in ("fixed", "multi_period"):
            raise ValueError("unit_column: only a table of indicator rows (fixed, multi_period) has units per row")
        _unique("column", [c.key for c in self.columns])
        _unique("row", [r.key for r in self.rows])
        _unique("section", [s.key for s in self.sections])
        _unique("rule", [r.id for r in self.rules])
        _unique("code", [c.code for c in self.codes])
        apart = [c.code for c in self.codes if not c.sums_into_province]
        if apart and kind == "outline":
            raise ValueError(f"sums_into_province: an outline has no figures to total ({', '.join(apart)})")
        if apart and len(apart) == len(self.codes):
            raise ValueError("sums_into_province is false for every code: the province total would add nothing; "
                             "leave it true for the codes whose figures add up")
        return self

    # -- helpers -------------------------------------------------------------------------------

    def title_for(self, code: str) -> str:
        for c in self.codes:
            if c.code == code:
                return c.title or self.title
        raise KeyError(code)

    @property
    def code_list(self) -> list[str]:
        return [c.code for c in self.codes]

    def continues(self, code: str) -> list[str]:
        """The codes ``code`` takes over in comparisons with earlier periods (02-X ← 02-H)."""
        return next((list(c.continues) for c in self.codes if c.code == code), [])

    @property
    def default_measure(self) -> Measure:
        if self.measure is not None:
            return self.measure
        return "stock" if "tại thời điểm" in (self.subtitle or "").casefold() else "flow"

    def cell_measure(self, row: str | None, col: str, _depth: int = 0) -> Measure | None:
        """Flow or stock for the cell (``row`` may be a row of no fixed key: a list entry, a total):
        the row's, else the column's measure where the blueprint says one; else a computed cell has its
        inputs' measure when they agree (None when they mix or are unknown); else the blueprint's."""
        column = next((c for c in self.columns if c.key == col), None)
        if column is None or _depth > 20:
            return None
        r = next((x for x in self.rows if x.key == row), None) if row else None
        explicit = (r.measure if r is not None else None) or column.measure
        if explicit is not None:      # said in the blueprint: wins over what a formula would give
            return explicit
        if column.compute:
            names = _bare_names(column.compute)
            keys = {c.key for c in self.columns}
            found = {self.cell_measure(row, n, _depth + 1) for n in names} if names and names <= keys else {None}
        elif r is not None and r.compute:
            names = _bare_names(r.compute)
            keys = {x.key for x in self.rows}
            found = {self.cell_measure(n, col, _depth + 1) for n in names} if names and names <= keys else {None}
        else:
            return self.default_measure
        return found.pop() if len(found) == 1 else None


def _bare_names(text: str) -> set[str] | None:
    """The bare names an expression reads (function names excluded); None if it reads an absolute
    ``row.col`` cell (whose measure this helper does not follow)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    if any(isinstance(n, ast.Attribute) for n in ast.walk(tree)):
        return None
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def _unique(what: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            raise ValueError(f"duplicate {what} key {k!r}")
        seen.add(k)


class VocabularyItem(Strict):
    key: str = Field(pattern=KEY_RE)
    label: str


class Vocabulary(Strict):
    id: str = Field(pattern=KEY_RE)
    title: str
    source: Source | None = None
    items: list[VocabularyItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self):
        _unique("item", [i.key for i in self.items])
        return self

    @property
    def labels(self) -> list[str]:
        return [i.label for i in self.items]
