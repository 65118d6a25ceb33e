"""Skip rewriting a roll-up that would come out the same (``merge`` with nothing new).

Writing the roll-up is most of a merge that finds nothing new (5.5 of 7.0 s for a 300-unit round,
cProfile). Its content is a function of the roll-up's data (:class:`~.model.RollupData`: every
submission's status, verdict and receipt, the pieces, problems, narratives, findings, the other
periods' totals), of the reform areas it groups by, of the program's version and of where it is
written. A merge hashes all of these (everything but the time it was made) and, when the hash and
the files' own hashes equal those recorded beside the roll-up, keeps the files as they are: the
roll-up then still says when it was made, which is when its figures last changed. Any difference,
a missing or edited file, or a stamp that cannot be read means writing everything again.

Building that data is itself most of a merge with nothing new (reading every counted file's pieces,
problems and texts back from the ledger). So the stamp also records what the data was built from
(:func:`inputs_key`: the ledger's state token, which every write to the ledger replaces, the
configuration's texts, the catalogue, the areas, this program's source files, the period and the
paths) and the merge's summary of it (:func:`summary_of` in ``run.py``). A merge whose inputs are
those recorded, and whose files are still as written, takes the summary from the stamp without
building the data; it still checks every counted piece of the ledger (``Ledger.check_stored_pieces``).
The stamp carries a digest of itself: a damaged stamp is no stamp.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import operator
import pickle
import typing
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..atomic import replacing
from ..layout import TableLayout
from .model import RollupData
from .stamp import STAMP_FORMAT, as_written, code_digest, file_digest, read_stamp, self_digest, stamp_path

_PLAIN = frozenset({str, int, float, bool, type(None), bytes})
_PLAIN_HINTS = frozenset({str, int, float, bool, bytes, str | None, int | None, float | None})
_FIELDS: dict[type, tuple[str, ...] | None] = {}     # a dataclass's field names (None: not a dataclass)
_FLAT: dict[type, bool] = {}


def _fields_of(t: type) -> tuple[str, ...] | None:
    if t not in _FIELDS:
        _FIELDS[t] = tuple(f.name for f in dataclasses.fields(t)) if dataclasses.is_dataclass(t) else None
    return _FIELDS[t]


@functools.cache
def _getter(t: type) -> Callable[[object], tuple]:
    """Every field of a dataclass at once, as a tuple (``operator.attrgetter``)."""
    names = _fields_of(t) or ()
    get = operator.attrgetter(*names)
    return get if len(names) > 1 else (lambda obj: (get(obj),))


def _flat(t: type) -> bool:
    """A frozen dataclass whose fields are all declared plain values (``merge.narratives.Narrative``:
    some 28,000 of them in a 1,000-unit round, most of the fingerprint's time): its field values are
    taken as they are, without looking into each. (Pickling the objects themselves gave each of them
    a ``__dict__`` for good: 1.7 MB more held for the rest of a 1,000-unit merge.) A field
    holding a set against its declared type would only make the next merge write the roll-up again."""
    if t not in _FLAT:
        try:
            hints = typing.get_type_hints(t)
        except Exception:       # an annotation that does not resolve: not known to be flat
            hints = None
        params = getattr(t, "__dataclass_params__", None)
        _FLAT[t] = bool(hints) and params is not None and params.frozen and \
            all(hints.get(name) in _PLAIN_HINTS for name in _fields_of(t) or ())
    return _FLAT[t]


def _canonical(obj):
    """Sets in a fixed order (pickle keeps a set's iteration order, which changes between processes).

    The same as the plain reference in tests/test_merge_kept.py, in a fraction of the time (a roll-up's data is some
    half a million objects): plain values first, a dataclass's fields looked up once per class."""
    t = type(obj)
    if t in _PLAIN:
        return obj
    if t is list:
        return [_canonical(v) for v in obj]
    if t is dict:
        return {k: _canonical(v) for k, v in obj.items()}
    if t is tuple:
        return tuple(_canonical(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, dict):
        return {k: _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_canonical(v) for v in obj) if not hasattr(obj, "_fields") else obj
    if isinstance(obj, TableLayout):
        return ("layout", obj.code, obj.sheet, obj.blueprint.id, obj.blueprint.version, obj.fingerprint())
    names = None if isinstance(obj, type) else _fields_of(t)
    if names is not None and _flat(t):
        return (t.__qualname__, _getter(t)(obj))
    if names is not None:
        return (t.__qualname__, {n: _canonical(getattr(obj, n)) for n in names})
    return obj



def fingerprint(data: RollupData, *extra: object) -> str:
    """The hash of what the roll-up shows, but for the time it was made."""
    shown = dataclasses.replace(data, generated_at=None, piece_rows=None, tidy_members=None)
    digest = hashlib.sha256()
    digest.update(f"{STAMP_FORMAT}:{__version__}:".encode())
    # pickled straight into the hash: the bytes of a 1,000-unit round (some 30 MB) are never held
    # (pickle still leaves each non-ASCII text its UTF-8 form, which CPython keeps: about 6 MB)
    pickle.Pickler(_HashWriter(digest), protocol=5).dump((_canonical(shown), _canonical(list(extra))))
    return digest.hexdigest()


class _HashWriter:
    """A file that hashes what is written to it."""

    def __init__(self, digest):
        self.write = digest.update


def unchanged(key: str, targets: list[Path]) -> bool:
    """True when the files were written for ``key`` and are still as written."""
    stamp = read_stamp(targets)
    return stamp is not None and stamp.get("key") == key and as_written(stamp, targets)


def kept_summary(inputs: str, targets: list[Path]) -> dict | None:
    """The summary recorded with the files when they were made from ``inputs`` and are still as
    written; None otherwise."""
    stamp = read_stamp(targets)
    if stamp is None or stamp.get("inputs") != inputs or not isinstance(stamp.get("summary"), dict):
        return None
    return stamp["summary"] if as_written(stamp, targets) else None


def record(key: str, targets: list[Path], *, inputs: str | None = None, summary: dict | None = None) -> None:
    """Remember that ``targets`` were written for ``key``, from ``inputs``, and the merge's ``summary``
    of them (a stamp that fails to write costs a rewrite)."""
    stamp = {"format": STAMP_FORMAT, "key": key, "files": {str(t): file_digest(t) for t in targets},
             "inputs": inputs, "summary": summary}
    stamp["check"] = self_digest(stamp)
    with replacing(stamp_path(targets[0])) as tmp:
        Path(tmp).write_text(json.dumps(stamp, ensure_ascii=False, indent=1), encoding="utf-8")


def inputs_key(*parts: object) -> str:
    """The hash of what the roll-up's data is built from (see the module's docstring)."""
    digest = hashlib.sha256()
    digest.update(f"{STAMP_FORMAT}:{__version__}:{code_digest()}:".encode())
    digest.update(pickle.dumps(_canonical(list(parts)), protocol=5))
    return digest.hexdigest()
