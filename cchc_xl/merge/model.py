"""What a roll-up is made of: plain data assembled from the ledger, written by ``rollup/`` (planned sheet by sheet, rendered by ``rollup/xlsx.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ..config.period import Period

if TYPE_CHECKING:
    from ..layout import TableLayout
    from .narratives import Narrative
    from .pieces import Piece


class CellRow(NamedTuple):
    """One cell of a validated file as the ledger keeps it (table ``cells``)."""

    appendix: str
    sheet: str
    row_key: str
    col_key: str
    cell: str
    num: float | None
    text: str | None
    role: str                   # input | computed


# a value's state: blank is not zero, and neither is a declared nil return
VALUE_STATES = ("value", "zero", "blank", "nil")


def value_state(value: object, nil: bool) -> str:
    if value is None or value == "":
        return "nil" if nil else "blank"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return "zero"
    return "value"


class ValueRow(NamedTuple):
    """One value of a counted submission, with its provenance (one row of the tidy export)."""

    period: str
    unit_code: str
    unit_name: str
    unit_type: str
    parent: str | None          # the district of a commune row / the unit's parent, if any
    part: str
    appendix: str               # appendix code, e.g. "02-H"
    table: str                  # blueprint id
    row_key: str
    row_label: str
    column_key: str
    column_label: str
    value: object               # float | int | str | date | None
    role: str                   # input | computed
    source_file: str
    source_sheet: str
    source_cell: str
    submitted_at: dt.datetime
    file_hash: str
    state: str = "value"        # value | zero | blank | nil (a table declared "Không phát sinh")

    @property
    def submitted_iso(self) -> str:
        return self.submitted_at.isoformat()


@dataclass
class Submission:
    """The file that counts for one expected obligation (unit, part) — or its absence."""

    unit_code: str
    unit_name: str
    unit_type: str
    parent: str | None
    part: str
    owner: str
    expected_codes: tuple[str, ...]
    status: str                 # "on_time" | "late" | "missing" | "rejected" | "held" | "withdrawn"
    days_late: int = 0
    received_at: dt.datetime | None = None
    file: str | None = None
    file_hash: str | None = None
    verdict: str | None = None  # ok | warnings | errors | rejected
    errors: int = 0
    warnings: int = 0
    missing_codes: tuple[str, ...] = ()
    nil_codes: tuple[str, ...] = ()     # tables the unit declared "Không phát sinh" (nil returns)
    versions: int = 0           # how many distinct files this unit sent for the period
    # files of this submission that supply no figures: held (identity not proven) or withdrawn,
    # newer than the one that counts (or there is none); and the secretariat's decisions on record
    held: list[HeldFile] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    receipt_source: str | None = None   # labels.RECEIPT_SOURCES key of ``received_at``
    # the deadline this submission is judged by when it is not the period's (a lead agency's
    # thematic field report, due earlier: calendar.yaml field_reports)
    deadline: dt.date | None = None

    @property
    def admission_note(self) -> str:
        """What the status sheet says about admission: held files with their reasons, decisions."""
        parts = [f"Tạm giữ {h.file}: {', '.join(h.reasons)}" for h in self.held]
        return "; ".join(parts + self.decisions)


@dataclass(frozen=True)
class HeldFile:
    file: str
    hash: str
    reasons: tuple[str, ...]
    received_at: dt.datetime


@dataclass(frozen=True)
class ProblemRow:
    unit_code: str
    unit_name: str
    file: str
    sheet: str | None
    cell: str | None
    table: str | None
    code: str
    severity: str
    message: str
    hint: str | None


@dataclass(frozen=True)
class Finding:
    """A figure that needs checking (merge/plausibility.py): a warning, never a rejection."""

    unit_code: str
    unit_name: str
    part: str
    appendix: str
    row_key: str
    row_label: str
    column_key: str
    column_label: str
    value: float
    earlier: list[tuple[str, float]]    # (period, figure) it is judged against
    file: str
    sheet: str
    cell: str
    code: str                           # plausibility.cumulative_drop | plausibility.outlier
    message: str


@dataclass
class TemplateData:
    """One table template (blueprint) across every unit that sent one of its codes."""

    blueprint_id: str
    title: str
    codes: list[str]
    layout: TableLayout         # the layout of the first code: rows, columns, compute expressions
    area: str | None
    values: list[ValueRow] = field(default_factory=list)
    # the submissions' rendered rows (merge/pieces.py); rendered from ``values`` when empty
    pieces: list[Piece] = field(default_factory=list)
    # (grouping, key) -> (Σ per (row, column), Σ per column) of the pieces (``pieces.fold``)
    sums: dict = field(default_factory=dict)


@dataclass
class RollupData:
    province_id: str
    province_name: str
    period: Period
    deadline: dt.date
    window: tuple[dt.date, dt.date]
    generated_at: dt.datetime
    submissions: list[Submission]
    templates: list[TemplateData]
    problems: list[ProblemRow]
    # (appendix, row_key, column_key) -> province total, for other periods found in the ledger
    previous_period: Period | None = None
    previous_totals: dict[tuple[str, str, str], float] = field(default_factory=dict)
    # the previous period's data window: quarter-only figures are differences only when it starts
    # where this period's does (cumulative windows), this period's own when it ends the day before
    previous_window: tuple[dt.date, dt.date] | None = None
    last_year_period: Period | None = None
    last_year_totals: dict[tuple[str, str, str], float] = field(default_factory=dict)
    lead_fields: dict[str, list[str]] = field(default_factory=dict)   # lead unit type -> areas it synthesises
    # unit type -> its name, in the regime's order (the order of every breakdown)
    unit_types: dict[str, str] = field(default_factory=dict)
    by_unit_types: frozenset[str] = frozenset()   # types whose units each get their own totals
    outside: list[dict] = field(default_factory=list)   # kept files the registry no longer expects
    compare_notes: list[str] = field(default_factory=list)   # what the compared periods' figures cover
    findings: list[Finding] = field(default_factory=list)    # figures that need checking (Cần xác minh)
    narratives: list[Narrative] = field(default_factory=list)   # the counted units' outline texts
    programme: str | None = None     # the province's programme: which blueprint versions serve its codes
    # a piece's deflated rows when they are not in memory (the ledger keeps them), and the tidy rows
    piece_rows: Callable[[Piece], bytes] | None = None
    tidy_members: Callable[[], Iterable[bytes]] | None = None
