"""The catalogue: every blueprint and vocabulary of a blueprints directory, indexed by code."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import __version__
from ..atomic import replacing
from ..resources import blueprints_dir
from ..yamlfile import ConfigError, load_model
from .model import Blueprint, Vocabulary
from .stamp import catalogue_stamp

# the programmes in order: a code that exists in several versions serves, by default (a caller that
# names no province), its earliest programme's version
PROGRAMMES = ("2011-2020", "2021-2030")


@dataclass
class Catalogue:
    root: Path
    blueprints: dict[str, Blueprint] = field(default_factory=dict)   # by id
    files: dict[str, Path] = field(default_factory=dict)             # blueprint id -> file
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    by_code: dict[str, Blueprint] = field(default_factory=dict)
    stamp: str = ""     # digest of the YAML files' contents: what was derived from them is current
    # code -> programme -> blueprint: the same appendix code may exist in one version per programme
    versions: dict[str, dict[str, Blueprint]] = field(default_factory=dict)
    programme: str | None = None   # the programme this view serves (None: every code's default)

    def for_programme(self, programme: str | None) -> Catalogue:
        """The catalogue as a province on ``programme`` sees it: every code that has a version of that
        programme is served by it; the others by their only (or default) version."""
        if programme is None or programme == self.programme:
            return self
        by_code = dict(self.by_code)
        for code, versions in self.versions.items():
            if programme in versions:
                by_code[code] = versions[programme]
        return dataclasses.replace(self, by_code=by_code, programme=programme)

    def for_code(self, code: str) -> Blueprint:
        try:
            return self.by_code[code]
        except KeyError:
            raise KeyError(f"no blueprint serves appendix code {code!r}") from None

    def vocabulary(self, vid: str) -> Vocabulary:
        try:
            return self.vocabularies[vid]
        except KeyError:
            raise KeyError(f"unknown vocabulary {vid!r}") from None

    def codes(self) -> list[str]:
        return sorted(self.by_code)


def load_catalogue(root: Path | None = None) -> Catalogue:
    """Load ``root/tables/*.yaml`` and ``root/vocabularies/*.yaml``; raise ConfigError on any problem."""
    root = Path(root) if root else blueprints_dir()
    cat = Catalogue(root=root, stamp=catalogue_stamp(root))
    problems: list[str] = []
    for path in sorted((root / "vocabularies").glob("*.yaml")):
        try:
            v = load_model(path, Vocabulary)
        except ConfigError as exc:
            problems += [str(exc)]
            continue
        if v.id in cat.vocabularies:
            problems.append(f"{path}: duplicate vocabulary id {v.id!r}")
        cat.vocabularies[v.id] = v
    for path in sorted((root / "tables").glob("*.yaml")):
        try:
            bp = load_model(path, Blueprint)
        except ConfigError as exc:
            problems += [str(exc)]
            continue
        if bp.id in cat.blueprints:
            problems.append(f"{path}: duplicate blueprint id {bp.id!r} (also in {cat.files[bp.id]})")
        cat.blueprints[bp.id] = bp
        cat.files[bp.id] = path
        for code in bp.code_list:
            other = cat.versions.setdefault(code, {}).get(bp.programme)
            if other is not None:
                problems.append(f"{path}: code {code} is served by both {other.id} and {bp.id} "
                                f"(programme {bp.programme})")
            cat.versions[code][bp.programme] = bp
    for bid, bp in list(cat.blueprints.items()):
        if bp.columns_from:
            base = cat.blueprints.get(bp.columns_from)
            if base is None or base.columns_from:
                problems.append(f"{cat.files[bid]}: columns_from {bp.columns_from!r} is not a blueprint "
                                "with its own columns")
                continue
            update = {"columns": bp.columns or base.columns, "rules": list(base.rules) + list(bp.rules)}
            cat.blueprints[bid] = bp = bp.model_copy(update=update)
            for code in bp.code_list:
                cat.versions[code][bp.programme] = bp
    for code, versions in cat.versions.items():
        cat.by_code[code] = versions[min(versions, key=PROGRAMMES.index)]
    if problems:
        raise ConfigError(root, [f" {p}" for p in problems])
    return cat


@lru_cache(maxsize=8)
def default_catalogue(root: str | None = None) -> Catalogue:
    """The catalogue, loaded once per process; parsed YAML is cached on disk by the files' stamps
    (every worker process of a merge would otherwise re-parse ~30 YAML files)."""
    base = Path(root) if root else blueprints_dir()
    # the stamp covers the data and the code that shapes the cached objects
    files = sorted(base.glob("*/*.yaml")) + [Path(__file__), Path(__file__).with_name("model.py")]
    stamp = hashlib.sha256(repr([(str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files]).encode())
    # a per-user directory (never a shared temp dir: a planted pickle would run code)
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cchc_xl"
    cache = cache_dir / f"catalogue-{__version__}-{stamp.hexdigest()[:20]}.pickle"
    try:
        with open(cache, "rb") as fh:
            cat = pickle.load(fh)
        if isinstance(cat, Catalogue):
            return cat
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    cat = load_catalogue(base)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replacing(cache) as tmp, open(tmp, "wb") as fh:
            pickle.dump(cat, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass
    return cat
