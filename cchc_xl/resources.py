"""Where the embedded data lives: the repository's ``blueprints/`` (also installed as package data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def blueprints_dir() -> Path:
    here = Path(__file__).resolve().parent
    repo = here.parent / "blueprints"
    if (repo / "tables").is_dir():
        return repo
    return Path(str(resources.files("cchc_xl._blueprints")))


def provinces_dir() -> Path:
    return blueprints_dir() / "provinces"
