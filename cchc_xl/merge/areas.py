"""Reform areas and the province-wide field each lead agency synthesises (``blueprints/areas.yaml``).

The roll-up groups its province totals by reform area and writes one sheet per lead agency's
field; both come from this file, never from code, so that a 2021–2030 province can bring its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ..blueprint.model import Source
from ..resources import blueprints_dir
from ..yamlfile import ConfigError, load_model, read_yaml

AREAS_FILE = "areas.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _LeadFieldModel(_Strict):
    label: str
    areas: list[str] = Field(min_length=1)
    row_filter: str | None = Field(None, description="Keep only rows whose label contains this text")


class _ProgrammeModel(_Strict):
    areas: dict[str, str] = Field(min_length=1)   # the same keys, as the programme names them
    lead_fields: dict[str, str] = Field(default_factory=dict)   # lead unit type -> its field as the programme names it
    source: Source | None = None


class _AreasModel(_Strict):
    areas: dict[str, str] = Field(min_length=1)
    lead_fields: dict[str, _LeadFieldModel] = Field(default_factory=dict)
    programmes: dict[str, _ProgrammeModel] = Field(default_factory=dict)


class LeadField(NamedTuple):
    """The field a lead agency synthesises: its label, the reform areas, an optional row filter."""

    label: str
    areas: tuple[str, ...]
    row_filter: str | None = None


@dataclass(frozen=True)
class Areas:
    areas: dict[str, str]  # area key -> label, in file order
    lead_fields: dict[str, LeadField]  # lead unit type -> its field
    # programme -> area key -> the label that programme gives the area (2021–2030: "Cải cách chế độ công vụ")
    programmes: dict[str, dict[str, str]] = field(default_factory=dict)
    # programme -> lead unit type -> the label that programme gives its field
    programme_leads: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_programme(self, programme: str | None) -> Areas:
        """The areas and lead fields as ``programme`` names them (same keys, so blueprints of both
        programmes agree)."""
        labels = self.programmes.get(programme or "")
        leads = self.programme_leads.get(programme or "", {})
        if not labels and not leads:
            return self
        return replace(self, areas={**self.areas, **(labels or {})},
                       lead_fields={k: v._replace(label=leads[k]) if k in leads else v
                                    for k, v in self.lead_fields.items()})

    def label(self, key: str | None) -> str | None:
        return self.areas.get(area_key(key)) if key else None

    def heading(self, key: str | None) -> str:
        """ "II. Cải cách thủ tục hành chính"; the key itself for an unknown area."""
        k = area_key(key)
        if not k:
            return "Chưa xếp lĩnh vực cải cách hành chính"
        label = self.areas.get(k)
        return f"{k}. {label}" if label else f"Lĩnh vực {k}"

    def order(self, key: str | None) -> int:
        keys = list(self.areas)
        k = area_key(key)
        return keys.index(k) if k in keys else len(keys)


def area_key(raw: str | None) -> str | None:
    """An area key as a blueprint gives it, without stray quotes, escapes or blanks."""
    if raw is None:
        return None
    key = re.sub(r"[\\\"'\s]", "", str(raw))
    return key or None


def load_areas(path: Path | str | None = None) -> Areas:
    """Read ``areas.yaml``; raise :class:`ConfigError` naming file, line and key on any problem."""
    path = Path(path) if path else blueprints_dir() / AREAS_FILE
    data, lines = read_yaml(path)
    model = load_model(path, _AreasModel, data, lines)
    problems = []
    for unit_type, lead in model.lead_fields.items():
        for i, a in enumerate(lead.areas):
            if a not in model.areas:
                line = lines.get(
                    ("lead_fields", unit_type, "areas", i), lines.get(("lead_fields", unit_type), 1)
                )
                problems.append(
                    f"{line}: lead_fields.{unit_type}.areas: unknown area {a!r} "
                    f"(known: {', '.join(model.areas)})"
                )
    for prog, pm in model.programmes.items():
        for a in pm.areas:
            if a not in model.areas:
                line = lines.get(("programmes", prog, "areas", a), lines.get(("programmes", prog), 1))
                problems.append(f"{line}: programmes.{prog}.areas: unknown area {a!r} (known: {', '.join(model.areas)})")
        for t in pm.lead_fields:
            if t not in model.lead_fields:
                line = lines.get(("programmes", prog, "lead_fields", t), lines.get(("programmes", prog), 1))
                problems.append(f"{line}: programmes.{prog}.lead_fields: unknown lead unit type {t!r} "
                                f"(known: {', '.join(model.lead_fields)})")
    if problems:
        raise ConfigError(path, problems)
    return Areas(
        areas=dict(model.areas),
        lead_fields={
            k: LeadField(v.label, tuple(v.areas), v.row_filter) for k, v in model.lead_fields.items()
        },
        programmes={k: dict(v.areas) for k, v in model.programmes.items()},
        programme_leads={k: dict(v.lead_fields) for k, v in model.programmes.items() if v.lead_fields},
    )


@lru_cache(maxsize=4)
def default_areas(root: str | None = None) -> Areas:
    return load_areas(Path(root) / AREAS_FILE if root else None)


def programme_areas(programme: str | None) -> Areas:
    """The default areas as ``programme`` names them (the roll-up's and the report's headings)."""
    return default_areas().for_programme(programme)
