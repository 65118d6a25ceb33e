"""``cchc_xl merge`` when nothing changed since the last merge: its answer, from its record.

A merge that finds nothing new still pays for loading the configuration (the registry's models),
the catalogue and most of the merge stage: some 0.45 of its 0.75 s for a 1,000-unit workspace on
2 cores (``make bench``), before it learns from the roll-up's stamp (``unchanged.py``) that the
files already say everything. Each merge run from a workspace therefore leaves a record in the
workspace's derived-data folder (``.cache/merge/``, one file per way of calling it): its result and
the digest of everything that result was made from, taken as bytes and listings, without parsing
anything:

* this program (``stamp.code_digest``), the call (workspace, inbox, period, ``--out``, ``--tidy``,
  ``--province``, the working directory), the workspace's settings file and every YAML file of its
  configuration folder, the catalogue's YAML files (``blueprint.stamp``);
* the inbox as the merge listed it: every file's path, size and modification time (``inbox.scan``);
* the ledger's state token and schema version, which every write to the ledger changes.

The next merge with the same call digests the same things (``snapshot`` then ``answer``): when all
are equal, the roll-up's stamp is the one recorded and its files are as written, and every piece the
roll-up shows still matches the CRC it was written with (``Ledger.check_stored_pieces``, as the
full path checks them), the recorded result is the answer: the same, field for field, as the full
path gives for nothing new (tests/test_merge_quick.py). Any difference, doubt or damage, and the
full merge runs as before, and records again.

A call that depends on anything else is never answered here: ``--full``, ``--split-by-field``,
``--received``, a saved e-mail in the inbox, an entry the merge would skip and report, a file whose
modification time is in the future, a receipt register (``so-tiep-nhan.csv``) that cannot be read
or states a time in the future (a merge notes these), or a merge run outside a workspace. Such a
merge leaves no record either. The receipt register itself is in the digest: its bytes and its
listing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, clock
from ..atomic import replacing, sweep
from ..blueprint.stamp import catalogue_stamp
from ..config.defaults import CACHE_DIR, WORKSPACE_FILE
from .inbox import FUTURE_SLACK, RECEIPT_REGISTER, display_path, scan
from .ledger import LEDGER_NAME, Ledger, LedgerDamaged, workspace_lock
from .mail import is_mail
from .receipts import ReceiptError, stated_receipts
from .result import MergeResult
from .stamp import as_written, code_digest, read_stamp, self_digest

RECORD_FORMAT = "1"
RECORD_DIR = "merge"        # under the workspace's CACHE_DIR


@dataclass(frozen=True)
class Snapshot:
    """A merge call as it finds the workspace and the inbox before anything is loaded."""

    root: Path                                  # the workspace
    call: tuple[str | None, ...]                # what was asked, and from where
    listing: tuple[tuple[str, int, int], ...]   # (path, size, mtime in ns) of every file of the inbox
    register: tuple[int, int] | None = None     # (size, mtime in ns) of its receipt register, if any

    @property
    def record(self) -> Path:
        name = hashlib.sha256(json.dumps(self.call).encode()).hexdigest()[:24]
        return self.root / CACHE_DIR / RECORD_DIR / f"{name}.json"

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER_NAME


def snapshot(workspace: Path | None, inbox: Path, *, period: str | None, out: Path | None, tidy: Path | None,
             province: str | None) -> Snapshot | None:
    """The call and the inbox's listing, or None when the answer could depend on anything else (see
    the module's docstring)."""
    root = Path(workspace) if workspace is not None else Path.cwd()
    if not (root / WORKSPACE_FILE).is_file():
        return None
    inbox_dir = Path(inbox).resolve()
    future = clock.now() + FUTURE_SLACK
    try:        # a register the full merge refuses, or a stated time it notes as in the future
        if any(when > future for when, _, _ in stated_receipts(inbox_dir, None).values()):
            return None
    except (ReceiptError, OSError, UnicodeDecodeError, csv.Error):
        return None
    skipped: list[dict] = []
    paths = scan(inbox_dir, skipped)
    if skipped:
        return None
    listing = []
    for p in paths:
        if is_mail(p):
            return None
        st = p.stat()
        if dt.datetime.fromtimestamp(st.st_mtime) > future:
            return None
        listing.append((display_path(p), st.st_size, st.st_mtime_ns))
    call = (str(root.resolve()), os.getcwd(), str(inbox_dir), period, *(str(p) if p else None for p in (out, tidy)),
            province)
    register = inbox_dir / RECEIPT_REGISTER
    st = register.stat() if register.exists() else None
    return Snapshot(root, call, tuple(sorted(listing)), (st.st_size, st.st_mtime_ns) if st else None)


def _key(snap: Snapshot, config: Path, catalogue: str, ledger: Ledger) -> str:
    """The digest of everything a merge's result is made from (see the module's docstring);
    ``catalogue``: the catalogue's stamp (``blueprint.stamp``)."""
    digest = hashlib.sha256()
    digest.update(f"{RECORD_FORMAT}:{__version__}:{code_digest()}:".encode())
    digest.update(json.dumps([snap.call, snap.listing, snap.register, str(config), catalogue,
                              ledger.state_token(), ledger.schema_version()]).encode())
    register = Path(snap.call[2]) / RECEIPT_REGISTER
    for path in [snap.root / WORKSPACE_FILE, *sorted(config.glob("*.yaml")), *([register] if register.exists() else [])]:
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _read(path: Path) -> dict | None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT or rec.get("check") != self_digest(rec):
        return None
    return rec


def answer(snap: Snapshot) -> MergeResult | None:
    """The recorded result when nothing it was made from changed, and its files and pieces hold;
    None otherwise (the full merge then runs)."""
    start = time.perf_counter()
    rec = _read(snap.record)
    if rec is None or not snap.ledger.is_file():
        return None
    with workspace_lock(snap.ledger.with_suffix(".lock")):
        sweep(*rec["sweep"])            # a killed writer's debris, as the full merge clears it first
        targets = [Path(t) for t in rec["targets"]]
        stamp = read_stamp(targets)
        if stamp is None or stamp.get("check") != rec["stamp"] or not as_written(stamp, targets):
            return None
        ledger = Ledger(snap.ledger)
        try:
            if _key(snap, Path(rec["config"]), catalogue_stamp(Path(rec["blueprints"])), ledger) != rec["key"]:
                return None
            try:
                if ledger.check_stored_pieces(rec["shown"]) != rec["pieces"]:
                    return None
            except LedgerDamaged:       # the full merge says what is damaged
                return None
        except OSError:                 # a configuration file gone: the full merge says so
            return None
        finally:
            ledger.close()
    res = MergeResult(**rec["result"])
    res.new_files, res.rollup_unchanged = 0, True
    res.seconds = time.perf_counter() - start
    return res


def remember(snap: Snapshot, ledger: Ledger, res: MergeResult, *, config: Path, blueprints: Path,
             catalogue: str, targets: list[Path], swept: list[str], shown: list[str], pieces: int,
             seen: list[tuple[str, int, int]]) -> None:
    """Record a merge's result for the next call like it (under the merge's workspace lock, after its
    last write to the ledger). Nothing is recorded when the merge did not see the inbox as ``snap``
    did, or left notes or skipped entries of its own; a record that fails to write costs a full
    merge next time."""
    if tuple(sorted(seen)) != snap.listing or res.skipped or res.field_workbooks:
        return
    stamp = read_stamp(targets)
    if stamp is None:
        return
    result = res.as_dict()
    result.pop("seconds")
    try:        # a configuration file gone meanwhile: no record (the merge itself is done)
        key = _key(snap, config, catalogue, ledger)
        rec = {"format": RECORD_FORMAT, "key": key, "config": str(config), "blueprints": str(blueprints),
               "targets": [str(t) for t in targets], "stamp": stamp["check"], "sweep": swept, "shown": shown,
               "pieces": pieces, "result": result}
        rec["check"] = self_digest(rec)
        snap.record.parent.mkdir(parents=True, exist_ok=True)
        with replacing(snap.record) as tmp:
            Path(tmp).write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    except OSError:
        pass
