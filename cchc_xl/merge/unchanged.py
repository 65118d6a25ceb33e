"""Skip rewriting a roll-up that would come out the same (``merge`` with nothing new).

Writing the roll-up is most of a merge that finds nothing new (5.5 of 7.0 s for a 300-unit round,
cProfile). Its content is a function of the roll-up's data (:class:`~.model.RollupData`: every
submission's status, verdict and receipt, the pieces, problems, narratives, findings, the other
periods' totals), of the reform areas it groups by, of the program's version and of where it is
written. A merge hashes all of these (everything but the time it was made) and, when the hash and
the files' own hashes equal those recorded beside the roll-up, keeps the files as they are: the
roll-up then still says when it was made, which is when its figures last changed. Any difference,
a missing or edited file, or a stamp that cannot be read means writing everything again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from pathlib import Path

from .. import __version__
from ..atomic import replacing
from ..layout import TableLayout
from .model import RollupData

STAMP_FORMAT = "1"


def stamp_path(rollup: Path) -> Path:
    return rollup.with_name(f".{rollup.name}.stamp.json")


def _canonical(obj):
    """Sets in a fixed order (pickle keeps a set's iteration order, which changes between processes)."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, dict):
        return {k: _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_canonical(v) for v in obj) if not hasattr(obj, "_fields") else obj
    if isinstance(obj, TableLayout):       # its formula cache is keyed by id(): its fingerprint instead
        return ("layout", obj.code, obj.sheet, obj.blueprint.id, obj.blueprint.version, obj.fingerprint())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__qualname__, {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    return obj


def fingerprint(data: RollupData, *extra: object) -> str:
    """The hash of what the roll-up shows, but for the time it was made."""
    shown = dataclasses.replace(data, generated_at=None, piece_rows=None, tidy_members=None)
    digest = hashlib.sha256()
    digest.update(f"{STAMP_FORMAT}:{__version__}:".encode())
    digest.update(pickle.dumps((_canonical(shown), _canonical(list(extra))), protocol=5))
    return digest.hexdigest()


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def unchanged(key: str, targets: list[Path]) -> bool:
    """True when the files were written for ``key`` and are still as written."""
    try:
        stamp = json.loads(stamp_path(targets[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("key") != key:
        return False
    files = stamp.get("files")
    return isinstance(files, dict) and sorted(files) == sorted(str(t) for t in targets) and \
        all(files[str(t)] == _file_hash(t) for t in targets)


def record(key: str, targets: list[Path]) -> None:
    """Remember that ``targets`` were written for ``key`` (a stamp that fails to write costs a rewrite)."""
    stamp = {"key": key, "files": {str(t): _file_hash(t) for t in targets}}
    with replacing(stamp_path(targets[0])) as tmp:
        Path(tmp).write_text(json.dumps(stamp, ensure_ascii=False, indent=1), encoding="utf-8")
