"""What one reporting round holds, read from the ledger through merge's own code.

:func:`open_round` checks that the period has a ledger and submissions, takes the workspace lock
(as ``merge`` does) and yields :class:`RoundFacts`: the roll-up's data (``build_rollup_data``), the
province totals as the roll-up computes them (``province_tables``) and each counted unit's
narrative texts — the cells of its outline sheet (đề cương), which the ledger keeps as
``cell_values`` rows (appendix = the outline code, row = the section key, column ``noi_dung``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..blueprint.catalogue import Catalogue, default_catalogue
from ..blueprint.model import Blueprint
from ..config.period import Period
from ..config.workspace import Workspace
from ..errors import CchcError
from ..merge.areas import Areas, default_areas
from ..merge.ledger import Ledger, workspace_lock
from ..merge.model import RollupData, Submission
from ..merge.rollup import ProvinceTable, province_tables
from ..merge.run import build_rollup_data, ledger_path

COUNTED = ("on_time", "late")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportError(CchcError):
    """A report or reminder that cannot be written (no ledger, no submissions for the period …)."""


@dataclass(frozen=True)
class Narrative:
    """A unit's text for one section of its outline, attributed to it."""

    unit_code: str
    unit_name: str
    unit_type: str
    part: str
    owner: str
    outline_code: str
    section: str
    text: str

    @property
    def author(self) -> str:
        """The unit by name, and the office that wrote the part when a unit reports in parts."""
        return self.unit_name if self.part == "main" else f"{self.unit_name} ({self.owner})"


@dataclass
class RoundFacts:
    workspace: Workspace
    period: Period
    data: RollupData
    tables: list[ProvinceTable]
    narratives: list[Narrative]
    catalogue: Catalogue
    areas: Areas
    ledger_file: Path
    outlines: dict[str, Blueprint] = field(default_factory=dict)     # submission key -> its outline blueprint

    @property
    def counted(self) -> list[Submission]:
        return [s for s in self.data.submissions if s.status in COUNTED]


def submission_key(s: Submission) -> str:
    return s.unit_code if s.part == "main" else f"{s.unit_code}-{s.part}"


def clean_text(text: str) -> str:
    """A unit's text as a document can hold it: no control characters, no trailing blanks."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def find_ledger(ws: Workspace, period: Period) -> Path:
    path = ledger_path(ws, ws.inbox)
    if not path.is_file():
        raise ReportError(f"Chưa có sổ theo dõi ({path}): hãy tổng hợp kỳ {period} trước "
                          f"(cchc_xl merge {ws.inbox} --period {period}).")
    return path


@contextlib.contextmanager
def open_round(ws: Workspace, period: Period, *, values: bool = True) -> Iterator[RoundFacts]:
    """The facts of ``period`` from the workspace's ledger (refused when it has none for the period)."""
    path = find_ledger(ws, period)
    with workspace_lock(path.with_suffix(".lock")):
        ledger = Ledger(path)
        try:
            known = sorted(p for p in ledger.periods() if p)
            if str(period) not in known:
                others = f" Các kỳ đã có trong sổ: {', '.join(known)}." if known else " Sổ chưa có kỳ nào."
                raise ReportError(f"Sổ theo dõi {path} chưa có báo cáo nào của kỳ {period} ({period.label}).{others}")
            data = build_rollup_data(ws, ledger, period, values=values)
            cat = default_catalogue()
            areas = default_areas()
            outlines = {}
            for obl in ws.province.expected(period):
                if obl.outline and obl.outline in cat.by_code:
                    outlines[obl.submission_key] = cat.by_code[obl.outline]
            facts = RoundFacts(ws, period, data, province_tables(data, areas=areas) if values else [],
                               _narratives(ledger, data, cat) if values else [], cat, areas, path, outlines)
            yield facts
        finally:
            ledger.close()


def _narratives(ledger: Ledger, data: RollupData, cat: Catalogue) -> list[Narrative]:
    """The outline texts of the counted submissions, in the registry's order of units."""
    out = []
    for s in data.submissions:
        if s.status not in COUNTED or not s.file_hash:
            continue
        for appendix, _sheet, row_key, _col, _cell, _num, text, role in ledger.values(s.file_hash):
            bp = cat.by_code.get(appendix)
            if bp is None or bp.kind != "outline" or role != "input" or not isinstance(text, str):
                continue
            body = clean_text(text)
            if body:
                out.append(Narrative(s.unit_code, s.unit_name, s.unit_type, s.part, s.owner, appendix, row_key, body))
    return out
