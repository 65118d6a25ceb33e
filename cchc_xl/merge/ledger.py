"""The ledger: an embedded SQLite database of every file ever received, so nothing is lost.

Each distinct content (by SHA-256) is validated once and stored with its verdict, problems and
values; every path it was seen at is kept, even after the file leaves the inbox. Re-sends are
versions: the latest non-rejected content per submission and period counts, earlier ones stay
queryable. Every file is recorded in one transaction, so a crash or kill at any moment and a
re-run neither lose nor double anything.

The ledger keeps what was read of each file (its cells, verdict and problems), not the file's
bytes: the received file stays where it was received (the inbox; a saved e-mail's attachments in
``MAIL_DIR``), and every path it was seen at is kept. A content's cells are one row of ``cells``
(zlib-compressed JSON, in the order they were read) rather than a row per cell: layout 3 of the
ledger, a quarter of the size (issue 17); a ledger of layout 2 is converted when first opened.

``state`` holds a token that every write to any table replaces (triggers, so that an edit by hand
replaces it too): a roll-up recorded under the current token was made from the ledger as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .. import clock
from ..atomic import check_writable
from ..errors import CchcError
from .model import CellRow

if TYPE_CHECKING:       # the pieces' renderer (and the catalogue under it) is imported where a piece is read
    from .pieces import Pack, Piece

SCHEMA = """
CREATE TABLE IF NOT EXISTS contents (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    validated_at TEXT NOT NULL,
    unit TEXT, unit_name TEXT, part TEXT, submission TEXT, period TEXT,
    blueprints TEXT,
    status TEXT NOT NULL,
    n_errors INTEGER NOT NULL, n_warnings INTEGER NOT NULL,
    report TEXT NOT NULL,
    first_path TEXT NOT NULL,
    hold TEXT,
    receipt_source TEXT,
    judged TEXT          -- the configuration and catalogue the verdict was reached under
);
CREATE INDEX IF NOT EXISTS contents_by_submission ON contents(period, submission, received_at);
CREATE TABLE IF NOT EXISTS paths (
    path TEXT PRIMARY KEY,
    hash TEXT NOT NULL REFERENCES contents(hash),
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    present INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS path_history (
    path TEXT NOT NULL, hash TEXT NOT NULL, seen_at TEXT NOT NULL,
    PRIMARY KEY (path, hash)
);
-- a content's n cells (model.CellRow: appendix, sheet, row_key, col_key, cell, num, text, role) as
-- zlib-compressed JSON: the texts its unit typed in texts ([position, *cell]: the outline sections the
-- roll-up and the report read), every other cell in rows, in the order read
CREATE TABLE IF NOT EXISTS cells (
    hash TEXT PRIMARY KEY REFERENCES contents(hash),
    n INTEGER NOT NULL, rows BLOB NOT NULL, texts BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
    hash TEXT NOT NULL REFERENCES contents(hash),
    code TEXT NOT NULL, severity TEXT NOT NULL, sheet TEXT, cell TEXT, appendix TEXT,
    row_key TEXT, col_key TEXT, message TEXT NOT NULL, hint TEXT
);
CREATE INDEX IF NOT EXISTS problems_by_hash ON problems(hash);
-- what a file declares of a table: "nil" = "Không phát sinh" (a nil return, not a blank table)
CREATE TABLE IF NOT EXISTS declarations (
    hash TEXT NOT NULL REFERENCES contents(hash), appendix TEXT NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY (hash, appendix, kind)
);
-- the secretariat's decisions, on the record: accept a held file, withdraw a counted one (or undo)
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('accept', 'withdraw')),
    hash TEXT NOT NULL REFERENCES contents(hash),
    reason TEXT NOT NULL,
    undone_at TEXT, undo_reason TEXT
);
-- derived from the values (merge/pieces.py), rendered again whenever the stamp is not current
CREATE TABLE IF NOT EXISTS packs (
    hash TEXT PRIMARY KEY REFERENCES contents(hash),
    stamp TEXT NOT NULL, codes TEXT NOT NULL, inputs_digest TEXT, tidy BLOB NOT NULL
);
-- meta: the piece's data (zlib-compressed, Piece.dumps); dcrc: CRC-32 of meta then deflated as written
CREATE TABLE IF NOT EXISTS pieces (
    hash TEXT NOT NULL REFERENCES contents(hash), template TEXT NOT NULL, appendix TEXT NOT NULL,
    meta BLOB NOT NULL, deflated BLOB NOT NULL, dcrc INTEGER,
    PRIMARY KEY (hash, template, appendix)
);
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), token BLOB NOT NULL);
INSERT OR IGNORE INTO state(id, token) VALUES (1, randomblob(16));
"""
DERIVED_TABLES = ("pieces", "packs")
TRACKED_TABLES = ("contents", "paths", "path_history", "cells", "problems", "declarations", "decisions", "packs",
                  "pieces")
# any write replaces the state token (see the module's docstring)
TRIGGERS = "".join(f"CREATE TRIGGER IF NOT EXISTS state_{t}_{op.lower()} AFTER {op} ON {t} "
                   "BEGIN UPDATE state SET token = randomblob(16); END;\n"
                   for t in TRACKED_TABLES for op in ("INSERT", "UPDATE", "DELETE"))
# PRAGMA user_version of the layout this code writes; a ledger of a newer one is never touched
LEDGER_VERSION = 3
CELLS_LEVEL = 6
META_LEVEL = 6
CONTENT_COLUMNS = ("hash, size, received_at, unit, unit_name, part, submission, period, status, n_errors, "
                   "n_warnings, first_path, hold, receipt_source")


class LedgerError(CchcError):
    """The ledger cannot be used safely (damaged, written by a newer version, disk full)."""


class LedgerBusy(LedgerError):
    """Another merge holds the workspace."""


LEDGER_NAME = "cchc_ledger.sqlite"     # in the workspace (or beside an inbox outside one)


class LedgerDamaged(LedgerError):
    """The ledger lacks what it should hold (edited or damaged by hand): re-run with --full."""


@dataclass(frozen=True)
class Decision:
    id: int
    at: str
    action: str           # accept | withdraw
    hash: str
    reason: str
    undone_at: str | None
    undo_reason: str | None


@dataclass(frozen=True)
class ContentRow:
    hash: str
    size: int
    received_at: dt.datetime
    unit: str | None
    unit_name: str | None
    part: str | None
    submission: str | None
    period: str | None
    status: str
    n_errors: int
    n_warnings: int
    first_path: str
    hold: tuple[str, ...] = ()   # why the file's identity is not proven (problems.HOLD_CODES)
    receipt_source: str | None = None   # where received_at comes from (labels.RECEIPT_SOURCES)


def _now() -> str:
    return clock.now().isoformat(timespec="seconds")


def _drop_empty_sidecars(sidecars: list[Path], had: list[bool]) -> None:
    """Remove the write-ahead log and its index that a failed first open created (an empty log holds
    nothing; SQLite leaves both behind when the open fails), so the ledger is as it was."""
    wal = sidecars[0]
    with contextlib.suppress(OSError):
        if not had[0] and wal.stat().st_size == 0:
            for p, existed in zip(sidecars, had):
                if not existed:
                    p.unlink(missing_ok=True)


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sidecars = [Path(f"{self.path}{s}") for s in ("-wal", "-shm")]
        had = [p.exists() for p in sidecars]
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.db.close()
            _drop_empty_sidecars(sidecars, had)
            check_writable(self.path.parent)        # a full disk is not a damaged ledger
            raise LedgerError(f"Sổ theo dõi {self.path} bị hỏng, không đọc được ({exc}); sổ được giữ nguyên. "
                              "Hãy khôi phục bản sao lưu của sổ rồi chạy lại.") from None
        if version > LEDGER_VERSION:
            self.db.close()
            raise LedgerError(f"Sổ theo dõi {self.path} do phiên bản cchc_xl mới hơn ghi (định dạng {version}, "
                              f"phiên bản này đọc được đến {LEDGER_VERSION}); sổ được giữ nguyên. Hãy cập nhật "
                              "cchc_xl rồi chạy lại.")
        try:
            self._migrate(version)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            check_writable(self.path.parent)
            raise LedgerError(f"Sổ theo dõi {self.path} bị hỏng ({exc}); sổ được giữ nguyên. Hãy khôi phục bản "
                              "sao lưu của sổ rồi chạy lại.") from None

    def _migrate(self, version: int) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(pieces)")]
        if cols and "deflated" not in cols:     # derived data of an older layout: rendered again
            for table in DERIVED_TABLES:
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        if cols and "deflated" in cols and "dcrc" not in cols:
            self.db.execute("ALTER TABLE pieces ADD COLUMN dcrc INTEGER")     # filled by _to_layout_3
        content_cols = [r[1] for r in self.db.execute("PRAGMA table_info(contents)")]
        if content_cols and "hold" not in content_cols:
            # ledgers before admission: their contents were validated without a hold verdict; derive
            # it from the stored problems
            self.db.execute("ALTER TABLE contents ADD COLUMN hold TEXT")
            self.db.execute("ALTER TABLE contents ADD COLUMN receipt_source TEXT")
            self._backfill_hold()
        if content_cols and "judged" not in content_cols:   # judged under an unknown configuration
            self.db.execute("ALTER TABLE contents ADD COLUMN judged TEXT")
        self.db.executescript(SCHEMA + TRIGGERS)
        if version != LEDGER_VERSION:
            if self._to_layout_3():
                with contextlib.suppress(sqlite3.OperationalError):    # a full disk: converted, not shrunk
                    self.db.execute("VACUUM")
            self.db.execute(f"PRAGMA user_version={LEDGER_VERSION}")

    def _to_layout_3(self) -> bool:
        """Layout 2 to 3, in one transaction: each content's ``cell_values`` rows become its row of
        ``cells``; each piece's meta is compressed and its ``dcrc`` recorded, once its rows are checked
        against its CRC (a damaged piece keeps no ``dcrc``: it is reported, as before). True when
        there was anything to convert."""
        from .pieces import Piece

        with self.transaction() as db:
            old = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='cell_values'").fetchone()
            if old:
                rows: dict[str, list] = {}
                for h, *v in db.execute("SELECT hash, appendix, sheet, row_key, col_key, cell, num, text, role "
                                        "FROM cell_values ORDER BY rowid"):
                    rows.setdefault(h, []).append(v)
                db.executemany("INSERT OR IGNORE INTO cells(hash, n, rows, texts) VALUES(?,?,?,?)",
                               [(h, *pack_cells(v)) for h, v in rows.items()])
                db.execute("DROP TABLE cell_values")
            todo = db.execute("SELECT rowid, meta, deflated FROM pieces WHERE dcrc IS NULL").fetchall()
            for rowid, meta, deflated in todo:
                try:
                    piece = Piece.loads(meta)
                    xml = zlib.decompressobj(-15).decompress(deflated)
                    intact = zlib.crc32(xml) == piece.crc and len(xml) == piece.size
                except Exception:   # noqa: BLE001 - a damaged piece: left to be reported when used
                    intact = False
                packed = zlib.compress(meta, META_LEVEL)
                db.execute("UPDATE pieces SET meta=?, dcrc=? WHERE rowid=?",
                           (packed, piece_crc(packed, deflated) if intact else None, rowid))
        return bool(old or todo)

    def _backfill_hold(self) -> None:
        from ..problems import HOLD_CODES

        held: dict[str, set[str]] = {}
        for h, code in self.db.execute("SELECT hash, code FROM problems"):
            if code in HOLD_CODES:
                held.setdefault(h, set()).add(code)
        self.db.executemany("UPDATE contents SET hold=? WHERE hash=?",
                            [(json.dumps(sorted(v)), h) for h, v in held.items()])

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------------

    def known_hashes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT hash FROM contents")}

    def judged_otherwise(self, stamp: Callable[[str | None], str]) -> set[str]:
        """Contents whose verdict was reached under another configuration (``stamp(unit)`` differs:
        a unit added, removed or given another type since): their verdict is reached again."""
        return {h for h, unit, judged in self.db.execute("SELECT hash, unit, judged FROM contents")
                if judged != stamp(unit)}

    def path_state(self) -> dict[str, tuple[str, int, float]]:
        return {p: (h, s, m) for p, h, s, m in self.db.execute("SELECT path, hash, size, mtime FROM paths")}

    def content(self, digest: str) -> ContentRow | None:
        r = self.db.execute(f"SELECT {CONTENT_COLUMNS} FROM contents WHERE hash=?", (digest,)).fetchone()
        return _content(r) if r else None

    def contents(self, period: str | None = None) -> list[ContentRow]:
        q = f"SELECT {CONTENT_COLUMNS} FROM contents"
        rows = self.db.execute(q + (" WHERE period=?" if period else "") + " ORDER BY received_at, hash",
                               (period,) if period else ())
        return [_content(r) for r in rows]

    def counted(self, period: str) -> dict[str, ContentRow]:
        """The content that counts per submission: the latest received that was not rejected, whose
        identity is proven (or that the secretariat accepted), and that was not withdrawn."""
        accepted, withdrawn = self.standing_decisions()
        out: dict[str, ContentRow] = {}
        for c in self.contents(period):
            if self.admitted(c, accepted, withdrawn):
                prev = out.get(c.submission)
                if prev is None or (c.received_at, c.hash) >= (prev.received_at, prev.hash):
                    out[c.submission] = c
        return out

    @staticmethod
    def admitted(c: ContentRow, accepted: set[str], withdrawn: set[str]) -> bool:
        if not c.submission or c.hash in withdrawn:
            return False
        if c.hash in accepted:
            return True
        return c.status != "rejected" and not c.hold

    def standing_decisions(self) -> tuple[set[str], set[str]]:
        """(hashes accepted, hashes withdrawn) by decisions not undone; a later decision on a hash
        replaces an earlier one."""
        last: dict[str, str] = {}
        for d in self.decisions():
            if d.undone_at is None:
                last[d.hash] = d.action
            elif last.get(d.hash) == d.action:
                del last[d.hash]
        return ({h for h, a in last.items() if a == "accept"}, {h for h, a in last.items() if a == "withdraw"})

    def decisions(self, digest: str | None = None) -> list[Decision]:
        q = "SELECT id, at, action, hash, reason, undone_at, undo_reason FROM decisions"
        rows = self.db.execute(q + (" WHERE hash=?" if digest else "") + " ORDER BY id", (digest,) if digest else ())
        return [Decision(*r) for r in rows]

    def decide(self, digest: str, action: str, reason: str) -> Decision:
        """Record a decision (accept | withdraw) on a content; it replaces a standing one on that content."""
        now = _now()
        with self.transaction() as db:
            db.execute("UPDATE decisions SET undone_at=?, undo_reason=? WHERE hash=? AND undone_at IS NULL",
                       (now, f"thay bằng quyết định mới: {reason}", digest))
            db.execute("INSERT INTO decisions(at, action, hash, reason) VALUES(?,?,?,?)",
                       (now, action, digest, reason))
        return self.decisions(digest)[-1]

    def undo(self, digest: str, action: str, reason: str) -> Decision | None:
        """Reverse the standing ``action`` decision on a content (kept on the record as undone)."""
        now = _now()
        with self.transaction() as db:
            row = db.execute("SELECT id FROM decisions WHERE hash=? AND action=? AND undone_at IS NULL "
                             "ORDER BY id DESC LIMIT 1", (digest, action)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE decisions SET undone_at=?, undo_reason=? WHERE id=?", (now, reason, row[0]))
        return next(d for d in self.decisions(digest) if d.id == row[0])

    def versions(self, period: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for (sub, n) in self.db.execute("SELECT submission, COUNT(*) FROM contents WHERE period=? "
                                        "GROUP BY submission", (period,)):
            out[sub] = n
        return out

    RECEIPT_RANK = {"first_seen": 0, "email": 1, "register": 2, "stated": 3}

    def receipt(self, digest: str) -> tuple[dt.datetime, str] | None:
        r = self.db.execute("SELECT received_at, receipt_source FROM contents WHERE hash=?", (digest,)).fetchone()
        return (dt.datetime.fromisoformat(r[0]), r[1] or "first_seen") if r else None

    def set_receipt(self, digest: str, when: dt.datetime, source: str) -> bool:
        """A receipt time stated for a content already recorded: it replaces one from a source of lower
        or equal precedence (stated > register > e-mail > first seen)."""
        cur = self.receipt(digest)
        if cur is None or cur == (when, source) or self.RECEIPT_RANK[cur[1]] > self.RECEIPT_RANK[source]:
            return False
        with self.transaction() as db:
            db.execute("UPDATE contents SET received_at=?, receipt_source=? WHERE hash=?",
                       (when.isoformat(timespec="seconds"), source, digest))
        return True

    def values(self, digest: str) -> list[CellRow]:
        """A content's cells, in the order they were read."""
        r = self.db.execute("SELECT n, rows, texts FROM cells WHERE hash=?", (digest,)).fetchone()
        if r is None:
            return []
        rows, texts = _unzip(digest, r[1]), _unzip(digest, r[2])
        out = list(rows)
        for pos, *cell in texts:            # ascending positions: each goes where it was read
            out.insert(pos, cell)
        if len(out) != r[0]:
            raise _damaged_cells(digest)
        return [CellRow(*c) for c in out]

    def input_texts(self, digest: str) -> list[tuple[str, str, str]]:
        """(appendix, row, text) of the texts a content's unit typed (its outline sections among them)."""
        r = self.db.execute("SELECT texts FROM cells WHERE hash=?", (digest,)).fetchone()
        return [(c[1], c[3], c[7]) for c in _unzip(digest, r[0])] if r else []

    def input_numbers(self, digest: str) -> list[tuple[str, str, str, float]]:
        """(appendix, row, column, number) of the figures a content's unit typed."""
        r = self.db.execute("SELECT rows FROM cells WHERE hash=?", (digest,)).fetchone()
        return [(c[0], c[2], c[3], c[5]) for c in _unzip(digest, r[0]) if c[7] == "input" and c[5] is not None] \
            if r else []

    def state_token(self) -> str:
        """The token every write replaces: equal tokens, the same ledger (see the module's docstring)."""
        return self.db.execute("SELECT hex(token) FROM state WHERE id=1").fetchone()[0]

    def schema_version(self) -> int:
        """SQLite's count of schema changes: a table dropped or made again, even by hand, changes it
        (row triggers do not see that)."""
        return self.db.execute("PRAGMA schema_version").fetchone()[0]

    def check_stored_pieces(self, digests) -> int:
        """Every stored piece of the contents ``digests`` against the CRC recorded when it was written
        (``LedgerDamaged`` otherwise, as :func:`~.splice.check_pieces` reports it): its meta and rows are
        the bytes that were checked then. Returns how many pieces."""
        n = 0
        for digest in digests:
            for meta, deflated, dcrc in self.db.execute("SELECT meta, deflated, dcrc FROM pieces WHERE hash=?",
                                                        (digest,)):
                n += 1
                if dcrc is None or piece_crc(meta, deflated) != dcrc:
                    raise LedgerDamaged(f"sổ theo dõi thiếu dữ liệu đã dựng của tệp {digest[:12]}; "
                                        "hãy chạy lại với --full")
        return n

    def nil_tables(self, digest: str) -> list[str]:
        """The appendices a content declares "Không phát sinh" (nil returns) and leaves blank."""
        return [r[0] for r in self.db.execute("SELECT appendix FROM declarations WHERE hash=? AND kind='nil' "
                                              "ORDER BY appendix", (digest,))]

    def problems(self, digest: str) -> list[tuple]:
        return self.db.execute("SELECT code, severity, sheet, cell, appendix, row_key, col_key, message, hint "
                               "FROM problems WHERE hash=? ORDER BY rowid", (digest,)).fetchall()

    def pack_info(self, digest: str) -> tuple[str, list[str], str | None] | None:
        """(stamp, appendices, inputs digest) of a content's pack, if one was stored."""
        r = self.db.execute("SELECT stamp, codes, inputs_digest FROM packs WHERE hash=?", (digest,)).fetchone()
        return (r[0], json.loads(r[1]), r[2]) if r else None

    def pieces(self, digest: str) -> list[Piece]:
        """A content's pieces, without their rows (see :meth:`piece_rows`)."""
        from .pieces import Piece

        out = []
        for (m,) in self.db.execute("SELECT meta FROM pieces WHERE hash=? ORDER BY rowid", (digest,)):
            try:
                out.append(Piece.loads(zlib.decompress(m)))
            except (zlib.error, ValueError, EOFError, TypeError):
                raise LedgerDamaged(f"sổ theo dõi thiếu dữ liệu đã dựng của tệp {digest[:12]}; "
                                    "hãy chạy lại với --full") from None
        return out

    def piece_rows(self, digest: str, template: str, appendix: str) -> bytes:
        """A piece's rows, deflated (see ``pieces.Piece``)."""
        r = self.db.execute("SELECT deflated FROM pieces WHERE hash=? AND template=? AND appendix=?",
                            (digest, template, appendix)).fetchone()
        return r[0] if r else b""

    def tidy_member(self, digest: str) -> bytes:
        r = self.db.execute("SELECT tidy FROM packs WHERE hash=?", (digest,)).fetchone()
        return r[0] if r else b""

    def paths_of(self, digest: str) -> list[tuple[str, int]]:
        return self.db.execute("SELECT path, present FROM paths WHERE hash=? ORDER BY first_seen", (digest,)).fetchall()

    def periods(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT period FROM contents WHERE period IS NOT NULL")]

    # -- writing ---------------------------------------------------------------------------------

    def record_path(self, path: str, digest: str, size: int, mtime: float) -> None:
        now = _now()
        with self.transaction() as db:
            db.execute("INSERT INTO paths(path, hash, size, mtime, first_seen, last_seen, present) "
                       "VALUES(?,?,?,?,?,?,1) ON CONFLICT(path) DO UPDATE SET hash=excluded.hash, "
                       "size=excluded.size, mtime=excluded.mtime, last_seen=excluded.last_seen, present=1",
                       (path, digest, size, mtime, now, now))
            db.execute("INSERT OR IGNORE INTO path_history(path, hash, seen_at) VALUES(?,?,?)", (path, digest, now))

    def save_pack(self, digest: str, pack: Pack) -> None:
        with self.transaction() as db:
            self._save_pack(db, digest, pack)

    @staticmethod
    def _save_pack(db, digest: str, pack: Pack) -> None:
        for table in DERIVED_TABLES:
            db.execute(f"DELETE FROM {table} WHERE hash=?", (digest,))
        db.execute("INSERT INTO packs(hash, stamp, codes, inputs_digest, tidy) VALUES(?,?,?,?,?)",
                   (digest, pack.stamp, json.dumps(pack.codes), pack.inputs_digest, pack.tidy))
        rows = []
        for p in pack.pieces:
            meta, deflated = zlib.compress(p.dumps(), META_LEVEL), p.deflated or b""
            rows.append((digest, p.template, p.appendix, meta, deflated, piece_crc(meta, deflated)))
        db.executemany("INSERT INTO pieces(hash, template, appendix, meta, deflated, dcrc) VALUES(?,?,?,?,?,?)", rows)

    def record_content(self, digest: str, path: str, size: int, mtime: float, received_at: dt.datetime,
                       report: dict, cells: PackedCells, meta: dict, pack: Pack | None = None, *,
                       receipt_source: str = "first_seen", judged: str | None = None) -> None:
        """One validated file, with its values and problems, in one transaction (idempotent)."""
        now = _now()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM contents WHERE hash=?", (digest,)).fetchone() is None:
                counts = report.get("counts", {})
                db.execute(
                    "INSERT INTO contents(hash, size, received_at, validated_at, unit, unit_name, part, submission, "
                    "period, blueprints, status, n_errors, n_warnings, report, first_path, hold, receipt_source, "
                    "judged) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (digest, size, received_at.isoformat(timespec="seconds"), now, meta.get("unit"),
                     meta.get("unit_name"), meta.get("part"), meta.get("submission"), meta.get("period"),
                     json.dumps(meta.get("blueprints", []), ensure_ascii=False), report["status"],
                     counts.get("error", 0), counts.get("warning", 0), json.dumps(report, ensure_ascii=False,
                                                                                    default=str), path,
                     json.dumps(report["held"]) if report.get("held") else None, receipt_source, judged))
                db.execute("INSERT INTO cells(hash, n, rows, texts) VALUES(?,?,?,?)", (digest, *cells))
                db.executemany(
                    "INSERT INTO problems(hash, code, severity, sheet, cell, appendix, row_key, col_key, message, "
                    "hint) VALUES(?,?,?,?,?,?,?,?,?,?)",
                    [(digest, p["code"], p["severity"], p.get("sheet"), p.get("cell"), p.get("table"), p.get("row"),
                      p.get("column"), p["message"], p.get("hint")) for p in report.get("problems", [])])
                db.executemany("INSERT OR IGNORE INTO declarations(hash, appendix, kind) VALUES(?,?,'nil')",
                               [(digest, a) for a in meta.get("nil", [])])
                if pack is not None:
                    self._save_pack(db, digest, pack)
            db.execute("INSERT INTO paths(path, hash, size, mtime, first_seen, last_seen, present) "
                       "VALUES(?,?,?,?,?,?,1) ON CONFLICT(path) DO UPDATE SET hash=excluded.hash, "
                       "size=excluded.size, mtime=excluded.mtime, last_seen=excluded.last_seen, present=1",
                       (path, digest, size, mtime, now, now))
            db.execute("INSERT OR IGNORE INTO path_history(path, hash, seen_at) VALUES(?,?,?)", (path, digest, now))

    def mark_absent(self, present_paths: set[str], under: str) -> int:
        """Paths under the inbox that are gone: kept, flagged absent (never forgotten)."""
        gone = [p for (p,) in self.db.execute("SELECT path FROM paths WHERE present=1")
                if p.startswith(under) and p not in present_paths]
        if gone:
            with self.transaction() as db:
                db.executemany("UPDATE paths SET present=0 WHERE path=?", [(p,) for p in gone])
        return len(gone)


def piece_crc(meta: bytes, deflated: bytes) -> int:
    """The CRC-32 of a stored piece: its meta, then its rows, as written."""
    return zlib.crc32(deflated, zlib.crc32(meta))


def _is_text(cell) -> bool:
    """A text the unit typed (role input, a text): kept apart, for the readers of texts only."""
    return cell[7] == "input" and cell[6] is not None


def _zip(items: list) -> bytes:
    return zlib.compress(json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode(), CELLS_LEVEL)


class PackedCells(NamedTuple):
    """A content's cells as the ``cells`` table keeps them: how many, then the rows and the texts,
    each compressed JSON."""

    n: int
    rows: bytes
    texts: bytes


def pack_cells(values) -> PackedCells:
    """A content's cells (``CellRow``s) packed for :meth:`Ledger.record_content`. The validating
    worker packs them (JSON and zlib were 2.9 s of the parent's 5 s of CPU in a cold 1,000-file
    merge, competing with the workers for the cores; the rows also cross the pipe much smaller)."""
    return PackedCells(len(values), _zip([list(v) for v in values if not _is_text(v)]),
                       _zip([[i, *v] for i, v in enumerate(values) if _is_text(v)]))


def _damaged_cells(digest: str) -> LedgerDamaged:
    return LedgerDamaged(f"sổ theo dõi không đọc được các ô của tệp {digest[:12]}; hãy chạy lại với --full")


def _unzip(digest: str, blob: bytes) -> list:
    try:
        items = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError, TypeError):
        items = None
    if not isinstance(items, list) or not all(isinstance(c, list) and len(c) >= 8 for c in items):
        raise _damaged_cells(digest)
    return items


def _content(r) -> ContentRow:
    return ContentRow(r[0], r[1], dt.datetime.fromisoformat(r[2]), *r[3:12], tuple(json.loads(r[12] or "[]")), r[13])


# lock descriptors this process holds: a forked worker closes its copies (``release_inherited_locks``),
# so that a merge killed with SIGKILL leaves no worker holding its workspace locked
HELD_LOCKS: set[int] = set()


def release_inherited_locks() -> None:
    for fd in list(HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    HELD_LOCKS.clear()


@contextlib.contextmanager
def workspace_lock(path: Path, wait: float = 10.0):
    """One merge at a time per workspace: the second waits, then refuses with a clear message.

    Hand-written rather than ``filelock``: the merge forks reader workers, and a forked child that
    keeps an inherited descriptor of an flock'ed file keeps the lock when the parent dies (a killed
    merge whose workers hang on then blocks every later one). Each descriptor is recorded in
    :data:`HELD_LOCKS` so that a worker closes its copies at start (``release_inherited_locks``);
    filelock keeps its descriptor private (tests/test_crash_safety.py kills merges mid-write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    HELD_LOCKS.add(fd)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                _lock(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise LedgerBusy(
                        f"Một lần tổng hợp khác đang chạy trên thư mục làm việc này (khóa {path}); "
                        "hãy chờ nó xong rồi chạy lại.") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            _unlock(fd)
        HELD_LOCKS.discard(fd)
        os.close(fd)


try:  # POSIX
    import fcntl

    def _lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd):
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd):
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
