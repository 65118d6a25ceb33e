"""A merge with nothing new answered from its record (``merge/quick.py``, issue 17): the answer is
the full merge's, field for field, and any change to what it was made from means a full merge."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchc_xl.config.period import parse_period
from cchc_xl.config.workspace import load_workspace
from cchc_xl.errors import CchcError
from cchc_xl.merge import quick
from cchc_xl.merge.decide import decide
from cchc_xl.merge.ledger import LEDGER_NAME, Ledger
from cchc_xl.merge.receipts import record_receipt
from cchc_xl.merge.run import merge
from cchc_xl.merge.stamp import stamp_path
from tests.helpers import workspace
from tests.test_validate import filled

PERIOD = "2024-Y"
UNITS = ["H-TPLS", "S-XD", "STP"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A workspace and filled files of a few of its units (two versions each), made once for the
    module; each test works on a copy of the workspace (the same key: the files are its own)."""
    tmp = tmp_path_factory.mktemp("base")
    ws = workspace(tmp)
    return ws.root, {(u, seed): filled(tmp / f"src{seed}", unit=u, ws=ws, seed=seed) for u in UNITS for seed in (0, 1)}


@pytest.fixture
def sources(base):
    return base[1]


def _copy(base, dest: Path):
    shutil.copytree(base[0], dest)
    return load_workspace(dest)


@pytest.fixture
def ws(tmp_path, base, sources):
    w = _copy(base, tmp_path / "ws")
    for i, u in enumerate(UNITS):
        shutil.copyfile(sources[(u, 0)], w.inbox / f"bao cao {i}.xlsx")
    return w


def _snap(ws, **kw):
    args = {"period": PERIOD, "out": None, "tidy": None, "province": None, **kw}
    return quick.snapshot(ws.root, ws.inbox, **args)


def _full(ws, **kw):
    """The full merge, recording its answer for the call (as the command line runs it)."""
    return merge(ws, ws.inbox, period=parse_period(PERIOD), quick=_snap(ws), **kw)


def _plain(res) -> dict:
    d = res.as_dict()
    d.pop("seconds")
    return d


def _answer(ws):
    snap = _snap(ws)
    return quick.answer(snap) if snap is not None else None


def test_the_recorded_answer_is_what_the_full_merge_says_for_nothing_new(ws, tmp_path):
    foreign = workspace(tmp_path / "khac")          # another province office's key: the file is held
    shutil.copyfile(filled(tmp_path / "khac-src", unit="S-YT", ws=foreign, seed=3), ws.inbox / "khong ro.xlsx")
    first = _full(ws)
    assert first.new_files == len(UNITS) + 1 and not first.rollup_unchanged
    assert first.accepted == len(UNITS) and [h["submission"] for h in first.held] == ["S-YT"]
    got = _answer(ws)
    assert got is not None and got.rollup_unchanged and got.new_files == 0
    full = merge(ws, ws.inbox, period=parse_period(PERIOD))     # the full path, nothing new
    assert full.rollup_unchanged
    assert _plain(got) == _plain(full)


def test_the_command_line_answers_from_the_record_without_loading_the_configuration(ws):
    """A fresh process: the second merge imports neither pydantic nor the catalogue, and prints what
    the first merge's nothing-new answer is."""
    code = ("import sys, json; from cchc_xl.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('pydantic', 'yaml', 'cchc_xl.blueprint.model')))))")
    args = ["merge", str(ws.inbox), "--workspace", str(ws.root), "--period", PERIOD, "--json"]

    def run():
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
        text, _, loaded = out.rstrip().rpartition("\n")
        return json.loads(text), json.loads(loaded)

    first, loaded_first = run()
    second, loaded_second = run()
    assert "pydantic" in loaded_first and loaded_second == []
    assert second["rollup_unchanged"] and second["new_files"] == 0
    full = merge(ws, ws.inbox, period=parse_period(PERIOD))
    expected = _plain(full)
    second.pop("seconds")
    assert second == json.loads(json.dumps(expected, default=str))


def _add_file(ws, sources):
    shutil.copyfile(sources[("H-TPLS", 1)], ws.inbox / "gui lai.xlsx")


def _remove_file(ws, sources):
    (ws.inbox / "bao cao 1.xlsx").unlink()


def _rename_file(ws, sources):
    (ws.inbox / "bao cao 1.xlsx").rename(ws.inbox / "doi ten.xlsx")


def _touch_file(ws, sources):
    p = ws.inbox / "bao cao 0.xlsx"
    st_ = p.stat()
    os.utime(p, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000))


def _subfolder_file(ws, sources):
    (ws.inbox / "dot 2").mkdir()
    shutil.copyfile(sources[("S-XD", 1)], ws.inbox / "dot 2" / "so xd.xlsx")


def _receipt_register(ws, sources):
    record_receipt(ws.inbox, ws.inbox / "bao cao 0.xlsx", dt.datetime(2024, 12, 10, 9, 0))


def _saved_email(ws, sources):
    (ws.inbox / "thu.eml").write_text("From: a@b\nSubject: x\n\nno attachment\n", encoding="utf-8")


def _link_outside(ws, sources):
    (ws.inbox / "ra ngoai.xlsx").symlink_to(sources[("STP", 1)])


def _future_file(ws, sources):
    p = ws.inbox / "bao cao 2.xlsx"
    later = dt.datetime.now() + dt.timedelta(days=3)
    os.utime(p, (later.timestamp(), later.timestamp()))


def _edit_units(ws, sources):
    p = ws.province.root / "units.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "\n# sửa tay\n", encoding="utf-8")


def _edit_settings(ws, sources):
    p = ws.root / "cchc.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "\n# sửa tay\n", encoding="utf-8")


def _new_config_file(ws, sources):
    (ws.province.root / "ghi-chu.yaml").write_text("a: 1\n", encoding="utf-8")


def _decision(ws, sources):
    decide(ws, "withdraw", ws.inbox / "bao cao 2.xlsx", "đơn vị xin rút", period=parse_period(PERIOD))


def _ledger_write(ws, sources):
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    db.execute("UPDATE contents SET received_at = received_at")
    db.commit()
    db.close()


def _damage_piece(ws, sources):
    """Rows damaged as a disk damages them: the state token does not see it (set back by hand)."""
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    with db:
        (token,) = db.execute("SELECT token FROM state WHERE id=1").fetchone()
        rowid, deflated = db.execute("SELECT rowid, deflated FROM pieces LIMIT 1").fetchone()
        db.execute("UPDATE pieces SET deflated=? WHERE rowid=?", (bytes([deflated[0] ^ 1]) + deflated[1:], rowid))
        db.execute("UPDATE state SET token=? WHERE id=1", (token,))
    db.close()


def _rollup_edited(ws, sources):
    p = next(ws.rollup.glob("tong-hop_*.xlsx"))
    p.write_bytes(p.read_bytes() + b"\0")


def _rollup_removed(ws, sources):
    next(ws.rollup.glob("tidy_*.csv.gz")).unlink()


def _stamp_removed(ws, sources):
    stamp_path(next(ws.rollup.glob("tong-hop_*.xlsx"))).unlink()


def _record_tampered(ws, sources):
    rec = _snap(ws).record
    data = json.loads(rec.read_text(encoding="utf-8"))
    data["result"]["late"] = ["S-XD"]
    rec.write_text(json.dumps(data), encoding="utf-8")


def _code_changed(ws, sources):
    quick.code_digest.cache_clear()
    src = Path(quick.__file__)
    st_ = src.stat()
    os.utime(src, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1))    # the program as it is on disk


CHANGES = [_add_file, _remove_file, _rename_file, _touch_file, _subfolder_file, _receipt_register, _saved_email,
           _link_outside, _future_file, _edit_units, _edit_settings, _new_config_file, _decision, _ledger_write,
           _damage_piece, _rollup_edited, _rollup_removed, _stamp_removed, _record_tampered, _code_changed]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_any_change_to_what_the_answer_is_made_of_means_a_full_merge(ws, sources, change):
    _full(ws)
    assert _answer(ws) is not None
    change(ws, sources)
    try:
        assert _answer(ws) is None
    finally:
        quick.code_digest.cache_clear()


@pytest.mark.parametrize("kind", ["out", "tidy", "period", "cwd"])
def test_another_call_has_its_own_record(ws, tmp_path, kind, monkeypatch):
    _full(ws)
    other = {"out": {"out": tmp_path / "khac.xlsx"}, "tidy": {"tidy": tmp_path / "khac.csv"},
             "period": {"period": "2024-6M"}, "cwd": {}}[kind]
    recorded = _snap(ws).record
    if kind == "cwd":
        monkeypatch.chdir(tmp_path)
    snap = _snap(ws, **other)
    assert snap is not None and snap.record != recorded
    assert quick.answer(snap) is None


def test_what_the_merge_skips_or_notes_leaves_no_snapshot_and_no_record(ws, sources):
    _link_outside(ws, sources)
    assert _snap(ws) is None
    res = merge(ws, ws.inbox, period=parse_period(PERIOD))
    assert res.skipped
    assert not (ws.root / ".cache" / "merge").exists() or not any((ws.root / ".cache" / "merge").iterdir())


def _remove_calendar(ws, sources):
    (ws.province.root / "calendar.yaml").unlink()


def _new_password(ws, sources):
    """A setting that differs (a comment alone leaves the settings the merge used, and is recorded)."""
    p = ws.root / "cchc.yaml"
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace(f"sheet_password: {ws.sheet_password}", "sheet_password: mat-khau-moi"),
                 encoding="utf-8")
    assert p.read_text(encoding="utf-8") != text


@pytest.mark.parametrize("change", [_edit_units, _new_password, _remove_calendar], ids=lambda f: f.__name__.strip("_"))
def test_a_configuration_changed_during_the_merge_is_not_recorded(ws, monkeypatch, change):
    """The record's digest is of the files as they are after the merge: one edited meanwhile would
    pair the old result with the new text, so the merge records nothing (and still succeeds)."""
    from cchc_xl.merge import run

    snap = _snap(ws)
    real = run.build_rollup_data

    def editing(*args, **kwargs):
        change(ws, None)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "build_rollup_data", editing)
    res = merge(ws, ws.inbox, period=parse_period(PERIOD), quick=snap)
    assert res.rollup and not snap.record.exists()


def test_the_key_covers_every_blueprint_file(ws, tmp_path):
    from cchc_xl.blueprint.stamp import catalogue_stamp
    from cchc_xl.resources import blueprints_dir

    copy = tmp_path / "blueprints"
    shutil.copytree(blueprints_dir(), copy)
    _full(ws)
    snap, led = _snap(ws), Ledger(ws.root / LEDGER_NAME)
    try:
        before = quick._key(snap, ws.province.root, catalogue_stamp(copy), led)
        table = sorted((copy / "tables").glob("*.yaml"))[0]
        table.write_text(table.read_text(encoding="utf-8") + "\n# sửa\n", encoding="utf-8")
        assert quick._key(snap, ws.province.root, catalogue_stamp(copy), led) != before
    finally:
        led.close()


# -- any sequence of what happens to an inbox --------------------------------------------------------

STEPS = st.lists(st.sampled_from(["add", "resend", "remove", "touch", "register", "withdraw", "merge"]),
                 min_size=1, max_size=5)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_after_any_sequence_an_answer_is_the_full_merges_answer(tmp_path_factory, base, sources, steps):
    """Whatever happened since the last merge, the record answers only when the full merge (run
    next, with nothing new) says the same; after a full merge it answers."""
    ws = _copy(base, tmp_path_factory.mktemp("seq") / "ws")
    shutil.copyfile(sources[("STP", 0)], ws.inbox / "stp.xlsx")
    _full(ws)
    n = 0
    for step in steps:
        n += 1
        if step == "add":
            shutil.copyfile(sources[(UNITS[n % len(UNITS)], 0)], ws.inbox / f"moi {n}.xlsx")
        elif step == "resend":
            shutil.copyfile(sources[("STP", n % 2)], ws.inbox / f"gui lai {n}.xlsx")
        elif step == "remove":
            files = sorted(ws.inbox.glob("*.xlsx"))
            if files:
                files[-1].unlink()
        elif step == "touch":
            for p in ws.inbox.glob("*.xlsx"):
                os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 1_000))
        elif step == "register":
            files = sorted(ws.inbox.glob("*.xlsx"))
            if files:
                record_receipt(ws.inbox, files[0], dt.datetime(2024, 12, 1, 8, n))
        elif step == "withdraw":
            files = sorted(ws.inbox.glob("*.xlsx"))
            if files:
                with contextlib.suppress(CchcError):     # a file not merged yet: nothing to withdraw
                    decide(ws, "withdraw", files[0], "rút thử", period=parse_period(PERIOD))
        else:
            _full(ws)
        got = _answer(ws)
        full = merge(ws, ws.inbox, period=parse_period(PERIOD), quick=_snap(ws))
        if got is not None:
            assert _plain(got) == {**_plain(full), "new_files": 0, "rollup_unchanged": True}
            assert full.new_files == 0 and full.rollup_unchanged
        again = _answer(ws)
        assert again is not None and _plain(again) == {**_plain(full), "new_files": 0, "rollup_unchanged": True}


def test_the_summary_printed_from_the_record_is_the_full_merges(ws):
    from click.testing import CliRunner

    from cchc_xl.cli import main

    args = ["merge", str(ws.inbox), "--workspace", str(ws.root), "--period", PERIOD]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    answered = CliRunner().invoke(main, args)
    assert answered.exit_code == 0 and "không có gì thay đổi" in answered.output
    shutil.rmtree(ws.root / ".cache" / "merge")         # derived data: the full merge answers
    full = CliRunner().invoke(main, args)
    assert full.exit_code == 0
    assert answered.output == full.output
