"""``blueprints check``: a catalogue that loads, compiles and covers the regime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..layout import build_layout
from ..yamlfile import ConfigError
from .catalogue import load_catalogue
from .expr import ExprError


@dataclass
class CheckResult:
    root: str
    problems: list[str] = field(default_factory=list)
    blueprints: int = 0
    codes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_catalogue(root: Path | None = None, regimes: list[tuple[Path, object]] | None = None) -> CheckResult:
    """Load every file, bind every expression, check vocabularies and regime coverage."""
    try:
        cat = load_catalogue(root)
    except ConfigError as exc:
        return CheckResult(str(root or ""), problems=str(exc).splitlines())
    res = CheckResult(str(cat.root), blueprints=len(cat.blueprints), codes=len(cat.by_code))
    areas_file = cat.root / "areas.yaml"
    area_keys = set((yaml.safe_load(areas_file.read_text(encoding="utf-8")) or {}).get("areas", {})) \
        if areas_file.exists() else None
    for bid, bp in cat.blueprints.items():
        where = cat.files[bid]
        if bp.area is not None and area_keys is not None and bp.area not in area_keys:
            res.problems.append(f"{where}: unknown area {bp.area!r} (areas.yaml has {sorted(area_keys)})")
        for sec in bp.sections or []:
            if sec.area is not None and area_keys is not None and sec.area not in area_keys:
                res.problems.append(f"{where}: section {sec.key}: unknown area {sec.area!r} "
                                    f"(areas.yaml has {sorted(area_keys)})")
        vocabs = [c.vocabulary for c in bp.columns if c.vocabulary]
        if bp.row_source and bp.row_source.vocabulary:
            vocabs.append(bp.row_source.vocabulary)
        if bp.groups:
            vocabs.append(bp.groups.vocabulary)
        for v in vocabs:
            if v not in cat.vocabularies:
                res.problems.append(f"{where}: unknown vocabulary {v!r}")
        if any(v not in cat.vocabularies for v in vocabs):
            continue
        try:
            build_layout(bp, bp.code_list[0], cat, communes=[("x1", "Xã mẫu")])
        except (ExprError, ValueError, KeyError) as exc:
            res.problems.append(f"{where}: {exc}")
    for path, regime in regimes or []:
        for code in sorted(regime.all_codes()):
            if code not in cat.by_code:
                res.problems.append(f"{path}: code {code} has no blueprint")
    return res
