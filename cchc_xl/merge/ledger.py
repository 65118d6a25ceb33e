"""The ledger: an embedded SQLite database of every file ever received, so nothing is lost.

Each distinct content (by SHA-256) is validated once and stored with its verdict, problems and
values; every path it was seen at is kept, even after the file leaves the inbox. Re-sends are
versions: the latest non-rejected content per submission and period counts, earlier ones stay
queryable. Every file is recorded in one transaction, so a crash or kill at any moment and a
re-run neither lose nor double anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

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
    first_path TEXT NOT NULL
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
CREATE TABLE IF NOT EXISTS cell_values (
    hash TEXT NOT NULL REFERENCES contents(hash),
    appendix TEXT NOT NULL, sheet TEXT NOT NULL, row_key TEXT NOT NULL, col_key TEXT NOT NULL,
    cell TEXT NOT NULL, num REAL, text TEXT, role TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cell_values_by_hash ON cell_values(hash);
CREATE TABLE IF NOT EXISTS problems (
    hash TEXT NOT NULL REFERENCES contents(hash),
    code TEXT NOT NULL, severity TEXT NOT NULL, sheet TEXT, cell TEXT, appendix TEXT,
    row_key TEXT, col_key TEXT, message TEXT NOT NULL, hint TEXT
);
CREATE INDEX IF NOT EXISTS problems_by_hash ON problems(hash);
-- derived from the values (merge/pieces.py), rendered again whenever the stamp is not current
CREATE TABLE IF NOT EXISTS packs (
    hash TEXT PRIMARY KEY REFERENCES contents(hash),
    stamp TEXT NOT NULL, codes TEXT NOT NULL, inputs_digest TEXT, tidy BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pieces (
    hash TEXT NOT NULL REFERENCES contents(hash), template TEXT NOT NULL, appendix TEXT NOT NULL,
    meta BLOB NOT NULL, deflated BLOB NOT NULL,
    PRIMARY KEY (hash, template, appendix)
);
"""
DERIVED_TABLES = ("pieces", "packs")


class LedgerBusy(RuntimeError):
    """Another merge holds the workspace."""


class LedgerDamaged(RuntimeError):
    """The ledger lacks what it should hold (edited or damaged by hand): re-run with --full."""


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


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(pieces)")]
        if cols and "deflated" not in cols:     # derived data of an older layout: rendered again
            for table in DERIVED_TABLES:
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.executescript(SCHEMA)

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

    def path_state(self) -> dict[str, tuple[str, int, float]]:
        return {p: (h, s, m) for p, h, s, m in self.db.execute("SELECT path, hash, size, mtime FROM paths")}

    def content(self, digest: str) -> ContentRow | None:
        r = self.db.execute("SELECT hash, size, received_at, unit, unit_name, part, submission, period, status, "
                            "n_errors, n_warnings, first_path FROM contents WHERE hash=?", (digest,)).fetchone()
        return _content(r) if r else None

    def contents(self, period: str | None = None) -> list[ContentRow]:
        q = ("SELECT hash, size, received_at, unit, unit_name, part, submission, period, status, n_errors, "
             "n_warnings, first_path FROM contents")
        rows = self.db.execute(q + (" WHERE period=?" if period else "") + " ORDER BY received_at, hash",
                               (period,) if period else ())
        return [_content(r) for r in rows]

    def counted(self, period: str) -> dict[str, ContentRow]:
        """The content that counts per submission: the latest received that was not rejected."""
        out: dict[str, ContentRow] = {}
        for c in self.contents(period):
            if c.submission and c.status != "rejected":
                prev = out.get(c.submission)
                if prev is None or (c.received_at, c.hash) >= (prev.received_at, prev.hash):
                    out[c.submission] = c
        return out

    def versions(self, period: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for (sub, n) in self.db.execute("SELECT submission, COUNT(*) FROM contents WHERE period=? "
                                        "GROUP BY submission", (period,)):
            out[sub] = n
        return out

    def values(self, digest: str) -> list[tuple]:
        return self.db.execute("SELECT appendix, sheet, row_key, col_key, cell, num, text, role FROM cell_values "
                               "WHERE hash=? ORDER BY rowid", (digest,)).fetchall()

    def input_numbers(self, digest: str) -> list[tuple[str, str, str, float]]:
        """(appendix, row, column, number) of the figures a content's unit typed."""
        return self.db.execute("SELECT appendix, row_key, col_key, num FROM cell_values WHERE hash=? "
                               "AND role='input' AND num IS NOT NULL ORDER BY rowid", (digest,)).fetchall()

    def problems(self, digest: str) -> list[tuple]:
        return self.db.execute("SELECT code, severity, sheet, cell, appendix, row_key, col_key, message, hint "
                               "FROM problems WHERE hash=? ORDER BY rowid", (digest,)).fetchall()

    def pack_info(self, digest: str) -> tuple[str, list[str], str | None] | None:
        """(stamp, appendices, inputs digest) of a content's pack, if one was stored."""
        r = self.db.execute("SELECT stamp, codes, inputs_digest FROM packs WHERE hash=?", (digest,)).fetchone()
        return (r[0], json.loads(r[1]), r[2]) if r else None

    def pieces(self, digest: str) -> list[Piece]:
        """A content's pieces, without their rows (see :meth:`piece_rows`)."""
        return [Piece.loads(m) for (m,) in self.db.execute("SELECT meta FROM pieces WHERE hash=? ORDER BY rowid",
                                                              (digest,))]

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
        db.executemany("INSERT INTO pieces(hash, template, appendix, meta, deflated) VALUES(?,?,?,?,?)",
                       [(digest, p.template, p.appendix, p.dumps(), p.deflated or b"") for p in pack.pieces])

    def record_content(self, digest: str, path: str, size: int, mtime: float, received_at: dt.datetime,
                       report: dict, values: list[tuple], meta: dict, pack: Pack | None = None) -> None:
        """One validated file, with its values and problems, in one transaction (idempotent)."""
        now = _now()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM contents WHERE hash=?", (digest,)).fetchone() is None:
                counts = report.get("counts", {})
                db.execute(
                    "INSERT INTO contents(hash, size, received_at, validated_at, unit, unit_name, part, submission, "
                    "period, blueprints, status, n_errors, n_warnings, report, first_path) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (digest, size, received_at.isoformat(timespec="seconds"), now, meta.get("unit"),
                     meta.get("unit_name"), meta.get("part"), meta.get("submission"), meta.get("period"),
                     json.dumps(meta.get("blueprints", []), ensure_ascii=False), report["status"],
                     counts.get("error", 0), counts.get("warning", 0), json.dumps(report, ensure_ascii=False,
                                                                                    default=str), path))
                db.executemany("INSERT INTO cell_values(hash, appendix, sheet, row_key, col_key, cell, num, text, "
                               "role) VALUES(?,?,?,?,?,?,?,?,?)", [(digest, *v) for v in values])
                db.executemany(
                    "INSERT INTO problems(hash, code, severity, sheet, cell, appendix, row_key, col_key, message, "
                    "hint) VALUES(?,?,?,?,?,?,?,?,?,?)",
                    [(digest, p["code"], p["severity"], p.get("sheet"), p.get("cell"), p.get("table"), p.get("row"),
                      p.get("column"), p["message"], p.get("hint")) for p in report.get("problems", [])])
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


def _content(r) -> ContentRow:
    return ContentRow(r[0], r[1], dt.datetime.fromisoformat(r[2]), *r[3:])


@contextlib.contextmanager
def workspace_lock(path: Path, wait: float = 10.0):
    """One merge at a time per workspace: the second waits, then refuses with a clear message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
