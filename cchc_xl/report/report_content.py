"""The provincial report's content, in the order of the outline (đề cương) it follows.

The outline is the one the province's regime gives most of its reporting parts for the period
(for Lạng Sơn: ``de-cuong-dinh-ky``, codes DC-S and DC-H). Under each of its sections come the
units' texts for that section (whatever outline code they filled: the lead agencies' outline
shares its section keys), and under a section that names a reform area (``area`` in the outline
blueprint, keys of ``blueprints/areas.yaml``) the province totals of that area's tables and the
field synthesis of the lead agency for that area. A lead agency's synthesis is the text of the
sections of its own outline that the report's outline does not have (``tong_hop_linh_vuc_toan_tinh``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..blueprint.model import Blueprint, Section
from ..labels import STATUS_LABELS
from ..merge.rollup import ProvinceTable
from .round_facts import Narrative, ReportError, RoundFacts, submission_key


@dataclass
class LeadSynthesis:
    """A lead agency's province-wide synthesis of its field, or its absence."""

    unit_type: str
    unit_name: str
    field_label: str
    status: str                     # the submission's status (labels.STATUS_LABELS)
    parts: list[tuple[str, Narrative]] = field(default_factory=list)   # (section title, text)


@dataclass
class ReportSection:
    section: Section
    narratives: list[Narrative] = field(default_factory=list)
    tables: list[ProvinceTable] = field(default_factory=list)
    leads: list[LeadSynthesis] = field(default_factory=list)

    @property
    def is_heading(self) -> bool:
        return not self.section.input


@dataclass
class Completeness:
    """Who was expected, who reported, on time or late, who is missing or held."""

    expected: int
    counts: dict[str, int]          # status -> number of submissions
    with_errors: int
    late: list[tuple[str, int]]     # (name, days late)
    missing: list[str]
    held: list[str]
    rejected: list[str]

    @property
    def received(self) -> int:
        return self.counts["on_time"] + self.counts["late"]

    @property
    def on_time_rate(self) -> float | None:
        return self.counts["on_time"] / self.expected * 100 if self.expected else None


@dataclass
class ReportContent:
    facts: RoundFacts
    outline: Blueprint
    sections: list[ReportSection]
    completeness: Completeness
    other_tables: list[ProvinceTable]             # tables of areas no section of the outline names
    other_leads: list[LeadSynthesis]
    other_narratives: list[tuple[str, Narrative]]  # texts of sections the outline does not have


def report_outline(facts: RoundFacts) -> Blueprint:
    """The outline most of the period's reporting parts fill (ties: the first one met)."""
    counts = Counter(bp.id for bp in facts.outlines.values())
    if not counts:
        raise ReportError(f"Chế độ báo cáo của {facts.workspace.province.info.name} không giao đề cương nào cho kỳ "
                          f"{facts.period}: không có đề cương để lập báo cáo.")
    best = max(counts.values())
    first = next(bp for bp in facts.outlines.values() if counts[bp.id] == best)
    return first


def completeness(facts: RoundFacts) -> Completeness:
    subs = facts.data.submissions
    counts = {k: sum(1 for s in subs if s.status == k) for k in STATUS_LABELS}

    def name(s):
        return s.unit_name if s.part == "main" else f"{s.unit_name} ({s.owner})"

    return Completeness(
        len(subs), counts, sum(1 for s in subs if s.status in ("on_time", "late") and s.verdict == "errors"),
        [(name(s), s.days_late) for s in subs if s.status == "late"],
        [name(s) for s in subs if s.status == "missing"],
        [name(s) for s in subs if s.status == "held"],
        [name(s) for s in subs if s.status == "rejected"])


def _lead_syntheses(facts: RoundFacts, outline_keys: set[str]) -> dict[str, LeadSynthesis]:
    """Lead unit type -> its synthesis, for the lead agencies whose outline has a part the report's
    outline does not (their field synthesis) or who wrote such a part."""
    out: dict[str, LeadSynthesis] = {}
    by_sub = {}
    for n in facts.narratives:
        by_sub.setdefault((n.unit_code, n.part), []).append(n)
    for s in facts.data.submissions:
        lead = facts.areas.lead_fields.get(s.unit_type)
        if lead is None:
            continue
        own = facts.outlines.get(submission_key(s))
        extra = [sec for sec in (own.sections if own else []) if sec.key not in outline_keys and sec.input]
        texts = [n for n in by_sub.get((s.unit_code, s.part), []) if n.section not in outline_keys]
        if not extra and not texts:
            continue
        titles = {sec.key: f"{sec.number}. {sec.title}" if sec.number else sec.title for sec in extra}
        syn = out.setdefault(s.unit_type, LeadSynthesis(s.unit_type, s.unit_name, lead.label, s.status))
        syn.parts += [(titles.get(n.section, n.section), n) for n in texts]
    return out


def build_content(facts: RoundFacts) -> ReportContent:
    outline = report_outline(facts)
    keys = {s.key for s in outline.sections}
    sections = [ReportSection(s) for s in outline.sections]
    by_key = {rs.section.key: rs for rs in sections}
    by_area = {rs.section.area: rs for rs in sections if rs.section.area}
    others: list[tuple[str, Narrative]] = []
    for n in facts.narratives:
        if n.section in keys:
            by_key[n.section].narratives.append(n)
        elif facts.areas.lead_fields.get(n.unit_type) is None:
            others.append((n.section, n))
    other_tables = []
    for t in facts.tables:
        rs = by_area.get(t.area)
        (rs.tables if rs else other_tables).append(t)
    other_leads = []
    for unit_type, syn in _lead_syntheses(facts, keys).items():
        lead = facts.areas.lead_fields[unit_type]
        rs = next((by_area[a] for a in lead.areas if a in by_area), None)
        (rs.leads if rs else other_leads).append(syn)
    return ReportContent(facts, outline, sections, completeness(facts), other_tables, other_leads, others)
