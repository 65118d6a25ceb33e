"""The stamp beside a roll-up: what it was written from, and each file's hash as written.

Light on purpose (no configuration models, no catalogue): ``unchanged.py`` decides with it whether
a roll-up would come out the same; ``quick.py`` answers a merge with nothing new from it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from ..read.digest import file_hash

STAMP_FORMAT = "2"


def stamp_path(rollup: Path) -> Path:
    return rollup.with_name(f".{rollup.name}.stamp.json")


def file_digest(path: Path) -> str | None:
    """A written file's SHA-256, or None when it cannot be read (gone, or no longer a file)."""
    try:
        return file_hash(path)
    except OSError:
        return None


def self_digest(stamp: dict) -> str:
    body = {k: v for k, v in stamp.items() if k != "check"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def read_stamp(targets: list[Path]) -> dict | None:
    """The stamp beside ``targets[0]``, if it is whole (its own digest holds)."""
    try:
        stamp = json.loads(stamp_path(targets[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT or stamp.get("check") != self_digest(stamp):
        return None
    return stamp


def as_written(stamp: dict, targets: list[Path]) -> bool:
    """The files are those the stamp names, each still as written (SHA-256 of its bytes)."""
    files = stamp.get("files")
    return isinstance(files, dict) and sorted(files) == sorted(str(t) for t in targets) and \
        all(files[str(t)] == file_digest(t) for t in targets)


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """This program's source files as they are on disk (name, size, modification time): a roll-up
    made by other code is made again, whatever the version number says."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(root.rglob("*.py"))
    return hashlib.sha256(repr([(f.relative_to(root).as_posix(), f.stat().st_size, f.stat().st_mtime_ns)
                                for f in files]).encode()).hexdigest()
