"""A merge with nothing new takes its summary from the roll-up's stamp (issue 17) only when the
roll-up was made from this very ledger, configuration and program, and still checks what it counts."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from cchc_xl.config.period import parse_period
from cchc_xl.config.workspace import load_workspace
from cchc_xl.layout import TableLayout
from cchc_xl.merge import run, unchanged
from cchc_xl.merge.decide import decide
from cchc_xl.merge.ledger import LedgerDamaged
from cchc_xl.merge.run import LEDGER_NAME, merge
from cchc_xl.merge.stamp import self_digest
from tests.test_merge import PERIOD, _inbox


def _canonical_reference(obj):
    """What ``unchanged._canonical`` computes, written plainly (the test below compares the two)."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, dict):
        return {k: _canonical_reference(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_canonical_reference(v) for v in obj) if not hasattr(obj, "_fields") else obj
    if isinstance(obj, TableLayout):       # its formula cache is keyed by id(): its fingerprint instead
        return ("layout", obj.code, obj.sheet, obj.blueprint.id, obj.blueprint.version, obj.fingerprint())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if unchanged._flat(type(obj)):      # plain fields only: their values, in field order
            return (type(obj).__qualname__, tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)))
        return (type(obj).__qualname__, {f.name: _canonical_reference(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    return obj

UNITS = ["H-TPLS", "S-XD", "STP"]
SAME = ("period", "rollup", "tidy", "ledger", "expected", "accepted", "with_errors", "rejected", "held", "withdrawn",
        "skipped", "notes", "missing", "late", "on_time", "files", "outside", "findings", "field_workbooks")


@pytest.fixture
def ws(tmp_path):
    from tests.helpers import workspace

    return workspace(tmp_path)


@pytest.fixture
def builds(monkeypatch):
    """How many times the roll-up's data was built."""
    calls = []
    real = run.build_rollup_data

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "build_rollup_data", counting)
    return calls


def _same(a, b) -> None:
    da, db = a.as_dict(), b.as_dict()
    assert {k: da[k] for k in SAME} == {k: db[k] for k in SAME}


def _merge(ws, inbox):
    return merge(ws, inbox, period=parse_period(PERIOD))


def test_nothing_new_reports_what_building_the_data_reports_without_building_it(ws, tmp_path, builds):
    inbox = _inbox(ws, tmp_path, units=UNITS, days_late={"S-XD": 4})
    first = _merge(ws, inbox)
    assert len(builds) == 1 and first.late == ["S-XD"]
    kept = _merge(ws, inbox)
    assert len(builds) == 1 and kept.rollup_unchanged and kept.new_files == 0
    _same(kept, first)
    # the same merge, building the data (no stamp): the same report
    unchanged.stamp_path(ws.rollup / f"tong-hop_{ws.province.id}_{PERIOD}.xlsx").unlink()
    built = _merge(ws, inbox)
    assert len(builds) == 2 and built.rollup_unchanged is False
    _same(built, first)


def test_a_decision_or_an_edit_of_the_ledger_builds_the_data_again(ws, tmp_path, builds):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    first = _merge(ws, inbox)
    h = next(f["hash"] for f in first.files if f["unit"] == "STP")
    decide(ws, "withdraw", "STP", "thử", period=parse_period(PERIOD))
    res = _merge(ws, inbox)
    assert len(builds) == 2 and res.withdrawn == ["STP"] and not res.rollup_unchanged
    assert _merge(ws, inbox).withdrawn == ["STP"] and len(builds) == 2
    db = sqlite3.connect(ws.root / LEDGER_NAME)          # by hand, outside cchc_xl
    db.execute("UPDATE decisions SET undone_at='2025-01-01T00:00:00', undo_reason='tay' WHERE hash=?", (h,))
    db.commit()
    db.close()
    res = _merge(ws, inbox)
    assert len(builds) == 3 and res.withdrawn == [] and "STP" in res.on_time


def test_a_registry_edit_builds_the_data_again(ws, tmp_path, builds):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    _merge(ws, inbox)
    units = ws.root / "config" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace("Sở Xây dựng", "Sở Xây dựng (mới)"), encoding="utf-8")
    res = _merge(load_workspace(ws.root), inbox)
    assert len(builds) == 2 and not res.rollup_unchanged


@pytest.mark.parametrize("damage", ["summary", "inputs", "json", "rollup"])
def test_a_damaged_stamp_or_an_edited_rollup_is_never_believed(ws, tmp_path, builds, damage):
    inbox = _inbox(ws, tmp_path, units=UNITS, days_late={"S-XD": 4})
    first = _merge(ws, inbox)
    stamp = unchanged.stamp_path(ws.rollup / f"tong-hop_{ws.province.id}_{PERIOD}.xlsx")
    data = json.loads(stamp.read_text(encoding="utf-8"))
    if damage == "summary":
        data["summary"]["late"] = []
        stamp.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "inputs":
        data["inputs"] = "0" * 64
        data["check"] = self_digest(data)      # a whole stamp, of other inputs
        stamp.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "json":
        stamp.write_text("{", encoding="utf-8")
    else:
        with open(first.rollup, "ab") as fh:
            fh.write(b"\0")
    res = _merge(ws, inbox)
    assert len(builds) == 2 and res.late == ["S-XD"]
    _same(res, first)
    assert _merge(ws, inbox).late == ["S-XD"] and len(builds) == 2     # the stamp was made whole again


def test_tables_made_again_by_hand_are_not_taken_for_the_same_ledger(ws, tmp_path, builds):
    inbox = _inbox(ws, tmp_path, units=UNITS)
    first = _merge(ws, inbox)
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    db.execute("DROP TABLE packs")                            # no row trigger sees a table dropped
    db.commit()
    db.close()
    res = _merge(ws, inbox)
    assert len(builds) == 2
    _same(res, first)


def test_damaged_pieces_are_found_even_when_the_ledger_looks_unchanged(ws, tmp_path, builds):
    """Bytes changed without any trigger (as a disk might): the counted pieces are still checked."""
    inbox = _inbox(ws, tmp_path, units=UNITS)
    _merge(ws, inbox)
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    token = db.execute("SELECT token FROM state").fetchone()[0]
    db.execute("UPDATE pieces SET deflated = x'00' WHERE rowid = (SELECT MIN(rowid) FROM pieces)")
    db.execute("UPDATE state SET token = ?", (token,))       # as if nothing had been written
    db.commit()
    db.close()
    with pytest.raises(LedgerDamaged, match="--full"):       # the kept summary is not used: built, and
        _merge(ws, inbox)                                    # reported as a merge that writes reports it
    assert len(builds) == 2
    assert merge(ws, inbox, period=parse_period(PERIOD), full=True).accepted == len(UNITS)


def test_the_fast_canonical_form_is_the_reference_one(ws, tmp_path):
    """unchanged._canonical (the roll-up's fingerprint) against its plain reference, on real data."""
    import dataclasses
    import pickle

    from cchc_xl.merge.ledger import Ledger

    inbox = _inbox(ws, tmp_path, units=UNITS, days_late={"S-XD": 4})
    _merge(ws, inbox)
    led = Ledger(ws.root / LEDGER_NAME)
    try:
        data = run.build_rollup_data(ws, led, parse_period(PERIOD))
    finally:
        led.close()
    shown = dataclasses.replace(data, generated_at=None, piece_rows=None, tidy_members=None)
    extra = [{"b", "a"}, frozenset({2, 1}), (1, [2, {3: {4}}]), parse_period(PERIOD), ws.province.units[:3]]
    assert shown.narratives, "the round has outline texts (the flat objects the fast form reads at once)"
    for obj in (shown, extra):
        assert pickle.dumps(unchanged._canonical(obj), protocol=5) == \
            pickle.dumps(_canonical_reference(obj), protocol=5)


def test_only_frozen_dataclasses_of_plain_fields_count_as_flat():
    from cchc_xl.merge.model import Submission
    from cchc_xl.merge.narratives import Narrative

    @dataclasses.dataclass
    class Loose:
        text: str

    @dataclasses.dataclass(frozen=True)
    class Holding:
        text: str
        codes: set[str]

    assert unchanged._flat(Narrative)
    assert not unchanged._flat(Submission) and not unchanged._flat(Loose) and not unchanged._flat(Holding)
    assert unchanged._canonical(Holding("a", {"y", "x"})) == (Holding.__qualname__, {"text": "a", "codes": ["x", "y"]})

    @dataclasses.dataclass(frozen=True)
    class One:
        text: str

    assert unchanged._flat(One) and unchanged._canonical(One("a")) == (One.__qualname__, ("a",))
