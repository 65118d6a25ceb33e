"""The ledger's layout 3 (issue 17): a content's cells in one compressed row, each piece's CRC as
written, a state token every write replaces; a layout-2 ledger is converted without losing a cell."""

from __future__ import annotations

import sqlite3
import zlib

import pytest

from cchc_xl.config.period import parse_period
from cchc_xl.merge.ledger import LEDGER_VERSION, TRACKED_TABLES, Ledger, LedgerDamaged
from cchc_xl.merge.run import LEDGER_NAME, merge
from tests.helpers import read_tidy
from tests.test_merge import PERIOD, _inbox

UNITS = ["H-TPLS", "S-XD", "STP"]


@pytest.fixture
def ws(tmp_path):
    from tests.helpers import workspace

    return workspace(tmp_path)


def _snapshot(path):
    led = Ledger(path)
    try:
        hashes = sorted(led.known_hashes())
        return {h: (led.values(h), led.problems(h), led.pieces(h), led.nil_tables(h)) for h in hashes}
    finally:
        led.close()


def _to_layout_2(path) -> None:
    """The ledger as cchc_xl 0.1.0 before issue 17 wrote it: a row per cell, pieces' meta plain."""
    led = Ledger(path)
    rows = [(h, *c) for h in sorted(led.known_hashes()) for c in led.values(h)]
    led.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE state")
    db.execute("DROP TABLE cells")
    db.execute("CREATE TABLE cell_values (hash TEXT NOT NULL REFERENCES contents(hash), appendix TEXT NOT NULL, "
               "sheet TEXT NOT NULL, row_key TEXT NOT NULL, col_key TEXT NOT NULL, cell TEXT NOT NULL, num REAL, "
               "text TEXT, role TEXT NOT NULL)")
    db.execute("CREATE INDEX cell_values_by_hash ON cell_values(hash)")
    db.executemany("INSERT INTO cell_values VALUES(?,?,?,?,?,?,?,?,?)", rows)
    for rowid, meta in db.execute("SELECT rowid, meta FROM pieces").fetchall():
        db.execute("UPDATE pieces SET meta=? WHERE rowid=?", (zlib.decompress(meta), rowid))
    db.execute("ALTER TABLE pieces DROP COLUMN dcrc")
    db.execute("COMMIT")
    db.execute("PRAGMA user_version=2")
    db.close()


def test_a_layout_2_ledger_is_converted_and_keeps_every_cell(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    first = merge(ws, inbox, period=parse_period(PERIOD))
    path = ws.root / LEDGER_NAME
    before = _snapshot(path)
    assert all(v[0] for v in before.values())            # cells were kept
    _to_layout_2(path)
    again = merge(ws, inbox, period=parse_period(PERIOD))
    assert again.new_files == 0 and again.accepted == first.accepted
    assert read_tidy(again.tidy) == read_tidy(first.tidy)
    assert _snapshot(path) == before
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == LEDGER_VERSION == 3
    assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='cell_values'").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM pieces WHERE dcrc IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == len(UNITS)


def test_a_damaged_piece_of_a_layout_2_ledger_is_still_reported(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    merge(ws, inbox, period=parse_period(PERIOD))
    path = ws.root / LEDGER_NAME
    _to_layout_2(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE pieces SET deflated = x'00' WHERE rowid = (SELECT MIN(rowid) FROM pieces)")
    db.commit()
    db.close()
    with pytest.raises(LedgerDamaged, match="--full"):
        merge(ws, inbox, period=parse_period(PERIOD))
    assert merge(ws, inbox, period=parse_period(PERIOD), full=True).accepted == len(UNITS)


def test_damaged_cells_are_reported_never_read_as_fewer_cells(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    merge(ws, inbox, period=parse_period(PERIOD))
    path = ws.root / LEDGER_NAME
    db = sqlite3.connect(path)
    h, blob = db.execute("SELECT hash, rows FROM cells LIMIT 1").fetchone()
    db.execute("UPDATE cells SET rows=? WHERE hash=?", (blob[: len(blob) // 2], h))
    db.commit()
    db.close()
    led = Ledger(path)
    try:
        with pytest.raises(LedgerDamaged, match="--full"):
            led.values(h)
    finally:
        led.close()


def test_every_write_replaces_the_state_token_and_reading_does_not(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    merge(ws, inbox, period=parse_period(PERIOD))
    path = ws.root / LEDGER_NAME
    led = Ledger(path)
    token = led.state_token()
    led.counted(PERIOD)
    led.values(next(iter(led.known_hashes())))
    assert led.state_token() == token
    led.close()
    db = sqlite3.connect(path)
    triggers = {r[0] for r in db.execute("SELECT tbl_name FROM sqlite_master WHERE type='trigger'")}
    assert triggers == set(TRACKED_TABLES)
    seen = {token}
    for sql in ("UPDATE contents SET unit_name = unit_name || '' WHERE rowid = 1",     # by hand, even a no-op
                "UPDATE pieces SET deflated = deflated WHERE rowid = 1",
                "DELETE FROM paths WHERE rowid = 1"):
        db.execute(sql)
        db.commit()
        now = db.execute("SELECT hex(token) FROM state").fetchone()[0]
        assert now not in seen
        seen.add(now)
    db.close()


def test_the_ledger_is_much_smaller_than_a_row_per_cell(ws, tmp_path):
    """Layout 3 against the same contents in layout 2 (issue 17: 140 KB per file before)."""
    inbox = _inbox(ws, tmp_path, units=UNITS)
    merge(ws, inbox, period=parse_period(PERIOD))
    path = ws.root / LEDGER_NAME

    def size() -> int:
        db = sqlite3.connect(path)
        db.execute("VACUUM")
        n = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
        db.close()
        return n

    new = size()
    _to_layout_2(path)
    old = size()
    assert new < old / 2
