"""What one reporting round holds, read from the ledger through merge's own code.

:func:`open_round` checks that the period has a ledger and submissions, takes the workspace lock
(as ``merge`` does) and yields :class:`RoundFacts`: the roll-up's data (``build_rollup_data``), the
province totals as the roll-up computes them (``province_tables``) and each counted unit's
narrative texts — the cells of its outline sheet (đề cương), read by ``merge.narratives`` into the
roll-up's data (one reader for the roll-up's "Nội dung báo cáo" sheet and the report).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..blueprint.catalogue import Catalogue
from ..blueprint.model import Blueprint
from ..config.period import Period
from ..config.workspace import Workspace
from ..errors import CchcError
from ..merge.areas import Areas
from ..merge.ledger import Ledger, workspace_lock
from ..merge.model import RollupData, Submission
from ..merge.narratives import COUNTED, Narrative, clean_text  # noqa: F401  (one reader, re-exported)
from ..merge.rollup import ProvinceTable, province_tables
from ..merge.run import build_rollup_data, ledger_path, programme_catalogue, province_areas


class ReportError(CchcError):
    """A report or reminder that cannot be written (no ledger, no submissions for the period …)."""


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
            cat = programme_catalogue(ws.province)
            areas = province_areas(ws.province)
            outlines = {}
            for obl in ws.province.expected(period):
                if obl.outline and obl.outline in cat.by_code:
                    outlines[obl.submission_key] = cat.by_code[obl.outline]
            facts = RoundFacts(ws, period, data, province_tables(data, areas=areas) if values else [],
                               data.narratives if values else [], cat, areas, path, outlines)
            yield facts
        finally:
            ledger.close()
