"""The catalogue's stamp: a digest of its YAML files' names and contents (no model is loaded)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def catalogue_stamp(root: Path) -> str:
    """What was derived from the blueprints (a pack, a verdict, a roll-up) is current while this holds."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).glob("*/*.yaml")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]
