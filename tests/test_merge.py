"""merge: the ledger never loses a submission; the roll-up's totals are the sources' sums."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cchc_xl.cli import main
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder
from cchc_xl.merge.ledger import Ledger, LedgerBusy, workspace_lock
from cchc_xl.merge.receipts import record_receipt
from cchc_xl.merge.run import LEDGER_NAME, merge
from tests.helpers import read_tidy, workspace
from tests.test_validate import addr_of, filled


def _cells(db_path) -> dict[str, list]:
    """Each content's cells as the ledger keeps them (``Ledger.values``)."""
    led = Ledger(db_path)
    try:
        return {h: led.values(h) for h in led.known_hashes()}
    finally:
        led.close()


def _duplicate_cells(db_path) -> int:
    """Cells kept twice for one content (same appendix and cell)."""
    return sum(len(v) - len({(c.appendix, c.cell) for c in v}) for v in _cells(db_path).values())

PERIOD = "2024-Y"
UNITS = ["H-TPLS", "H-CAOLOC", "S-XD", "S-YT", "STP"]


def _touch(path: Path, when: dt.datetime) -> None:
    """The receipt register of the inbox the file is in (the officer's statement)."""
    record_receipt(path.parent, path, when)


@pytest.fixture
def ws(tmp_path):
    return workspace(tmp_path)


def _inbox(ws, tmp_path, units=UNITS, days_late=None, edits=None) -> Path:
    inbox = ws.inbox
    deadline = dt.datetime.combine(ws.province.dates(parse_period(PERIOD)).deadline, dt.time(9))
    for i, u in enumerate(units):
        p = filled(tmp_path / "src", unit=u, ws=ws, seed=i, edits=(edits or {}).get(u))
        target = inbox / f"bao cao {i}.xlsx"      # names are free
        shutil.copyfile(p, target)
        _touch(target, deadline + dt.timedelta(days=(days_late or {}).get(u, -3)))
    return inbox


def _input_sums_from_sources(paths: list[Path], ws, code: str) -> dict[tuple[str, str], float]:
    """Independent sums, read with openpyxl (not the merger's reader)."""
    b = Builder(ws, parse_period(PERIOD))
    sums: dict[tuple[str, str], float] = {}
    for p in paths:
        wb = openpyxl.load_workbook(p, data_only=True)
        meta = {r[0].value: r[1].value for r in wb["_cchc"].iter_rows(min_row=2)}
        if code not in wb.sheetnames:
            continue
        lay = b.layout(code, ws.province.unit(meta["unit"]))
        for spec in lay.input_cells:
            v = wb[code][spec.addr].value
            if isinstance(v, (int, float)):
                sums[(spec.ref.row, spec.ref.col)] = sums.get((spec.ref.row, spec.ref.col), 0) + v
    return sums


def test_merge_counts_units_and_classifies_lateness_by_the_calendar(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, days_late={"S-XD": 4})
    res = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    assert res.accepted == len(UNITS)
    assert res.late == ["S-XD"]
    expected = {o.submission_key for o in ws.province.expected(parse_period(PERIOD))}
    assert res.expected == len(expected)
    assert set(res.missing) == expected - set(UNITS)
    assert {f["unit"] for f in res.files} == set(UNITS)


def test_rerun_is_idempotent_and_unchanged_files_are_not_read_again(ws, tmp_path):
    inbox = _inbox(ws, tmp_path)
    first = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    again = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    assert first.new_files == len(UNITS) and again.new_files == 0
    assert (again.accepted, again.missing, again.late) == (first.accepted, first.missing, first.late)
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    assert db.execute("SELECT COUNT(*) FROM contents").fetchone()[0] == len(UNITS)
    n_values = sum(map(len, _cells(ws.root / LEDGER_NAME).values()))
    assert n_values > 0
    merge(ws, inbox, period=parse_period(PERIOD), write=False)
    assert sum(map(len, _cells(ws.root / LEDGER_NAME).values())) == n_values


def test_resend_replaces_counted_values_and_keeps_the_old_version(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["H-TPLS"])
    merge(ws, inbox, period=parse_period(PERIOD), write=False)
    c = addr_of("02-H", "ho_tich", "ky_truoc")
    v2 = filled(tmp_path / "v2", unit="H-TPLS", ws=ws, seed=0, edits={("02-H", c): 777})
    target = inbox / "gui lai.xlsx"
    shutil.copyfile(v2, target)
    _touch(target, dt.datetime.combine(ws.province.dates(parse_period(PERIOD)).deadline, dt.time(8)))
    (inbox / "bao cao 0.xlsx").unlink()                  # the first file leaves the inbox …
    merge(ws, inbox, period=parse_period(PERIOD), write=False)
    led = Ledger(ws.root / LEDGER_NAME)
    try:
        assert len(led.contents(PERIOD)) == 2              # … but is not forgotten
        counted = led.counted(PERIOD)["H-TPLS"]
        vals = {(r[0], r[4]): r[5] for r in led.values(counted.hash)}
        assert vals[("02-H", c)] == 777
        absent = [p for h in (x.hash for x in led.contents(PERIOD)) for p in led.paths_of(h) if p[1] == 0]
        assert absent and absent[0][0].endswith("bao cao 0.xlsx")
    finally:
        led.close()


def test_byte_identical_duplicates_are_recognised(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["S-XD"])
    shutil.copyfile(inbox / "bao cao 0.xlsx", inbox / "ban sao.xlsx")
    res = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    assert res.new_files == 1 and len(res.files) == 2
    assert len({f["hash"] for f in res.files}) == 1


def test_bad_files_are_recorded_and_the_batch_goes_on(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["S-XD"])
    (inbox / "ghi chu.txt").write_text("không phải bảng tính", encoding="utf-8")
    (inbox / "hong.xlsx").write_bytes(b"PK\x03\x04broken")
    res = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    assert res.accepted == 1
    statuses = sorted(f["status"] for f in res.files)
    assert statuses == ["ok", "rejected", "rejected"]


def test_second_merge_waits_then_refuses(ws, tmp_path):
    lock = (ws.root / LEDGER_NAME).with_suffix(".lock")
    with workspace_lock(lock):
        with pytest.raises(LedgerBusy, match="đang chạy"):
            with workspace_lock(lock, wait=0.5):
                pass


def test_kill_during_merge_then_rerun_loses_and_doubles_nothing(ws, tmp_path):
    units = ["H-TPLS", "H-CAOLOC", "H-CHILANG", "S-XD", "S-YT", "S-CT", "STP", "STC"]
    inbox = _inbox(ws, tmp_path, units=units)
    cmd = [sys.executable, "-m", "cchc_xl.cli", "merge", str(inbox), "--workspace", str(ws.root),
           "--period", PERIOD, "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = ws.root / LEDGER_NAME
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:       # kill -9 once some files are recorded, not all
        time.sleep(0.05)
        try:
            n = sqlite3.connect(db_path, timeout=1).execute("SELECT COUNT(*) FROM contents").fetchone()[0]
        except sqlite3.Error:
            continue
        if n >= 2:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    res = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM contents").fetchone()[0] == len(units)
    per_hash = db.execute("SELECT hash, n FROM cells").fetchall()
    assert len(per_hash) == len(units)
    assert len({n for _, n in per_hash if n}) >= 1
    assert _duplicate_cells(db_path) == 0
    assert res.accepted == len(units)


def test_rollup_totals_equal_independent_sums_and_text_stays_text(ws, tmp_path):
    ws_ = ws
    inbox = _inbox(ws_, tmp_path)
    res = merge(ws_, inbox, period=parse_period(PERIOD))
    assert Path(res.rollup).exists() and Path(res.tidy).exists()
    sources = sorted(inbox.glob("*.xlsx"))
    sums = _input_sums_from_sources(sources, ws_, "02-H")
    assert sums
    # the tidy export: every value equals its source cell
    rows = read_tidy(res.tidy)
    assert list(rows[0].keys()) == ["period", "unit_code", "unit_name", "unit_type", "appendix", "table", "row_key",
                                    "row_label", "column_key", "column_label", "value", "state", "source_file",
                                    "source_sheet", "source_cell", "submitted_at", "file_hash"]
    tidy_sums: dict = {}
    for r in rows:
        if r["appendix"] == "02-H" and r["value"] != "" and (r["row_key"], r["column_key"]) in sums:
            tidy_sums[(r["row_key"], r["column_key"])] = tidy_sums.get((r["row_key"], r["column_key"]), 0) + float(r["value"])
    assert tidy_sums == pytest.approx(sums)
    checked = 0
    for r in rows[:200]:
        wb = openpyxl.load_workbook(r["source_file"], data_only=True)
        v = wb[r["source_sheet"]][r["source_cell"]].value
        if r["value"] != "" and isinstance(v, (int, float)) and r["column_key"] not in ("ty_le_dung_han",):
            assert float(r["value"]) == pytest.approx(v), r
            checked += 1
    assert checked > 20


def test_formula_injection_arrives_as_text(ws, tmp_path):
    from cchc_xl.generate.round import Builder as B

    b = B(ws, parse_period("2024-PLAN"))
    lay = b.layout("KH-CCHC", ws.province.unit("S-XD"))
    cell = next(c for c in lay.input_cells if c.ref.col == "san_pham")
    text = '=HYPERLINK("http://example.invalid","bấm vào đây")'
    p = filled(tmp_path / "src", unit="S-XD", period="2024-PLAN", ws=ws, edits={("KH-CCHC", cell.addr): text})
    shutil.copyfile(p, ws.inbox / "kh.xlsx")
    res = merge(ws, ws.inbox, period=parse_period("2024-PLAN"))
    wb = openpyxl.load_workbook(res.rollup)
    found = [c for sh in wb.worksheets for row in sh.iter_rows() for c in row if c.value == text]
    assert found and all(c.data_type == "s" for c in found)
    cal = CalamineWorkbook.from_path(res.rollup)
    assert any(text in row for name in cal.sheet_names for row in cal.get_sheet_by_name(name).to_python())


def test_the_merge_progress_bar_counts_the_files_it_validates(ws, tmp_path, monkeypatch):
    """The bar is sized by the files about to be validated, known once the inbox is compared with the
    ledger: every file the first time, none (no bar) when nothing is new."""
    import click

    sizes = []
    real_bar = click.progressbar

    def bar(*args, **kwargs):
        sizes.append(kwargs["length"])
        return real_bar(*args, **kwargs)

    monkeypatch.setattr(click, "progressbar", bar)
    inbox = _inbox(ws, tmp_path, units=["S-XD", "STP", "H-TPLS"])
    argv = ["merge", str(inbox), "--workspace", str(ws.root), "--period", PERIOD]
    first = CliRunner().invoke(main, argv)
    assert first.exit_code == 0, first.output
    assert sizes == [3]
    again = CliRunner().invoke(main, argv)
    assert again.exit_code == 0, again.output
    assert sizes == [3]                         # nothing new: no bar at all
    shutil.copyfile(filled(tmp_path / "again", unit="STP", ws=ws, seed=5), inbox / "gui-lai.xlsx")
    assert CliRunner().invoke(main, argv).exit_code == 0
    assert sizes == [3]                         # one new file: one step, no bar either
    for i, unit in enumerate(("S-XD", "H-TPLS")):
        shutil.copyfile(filled(tmp_path / "more", unit=unit, ws=ws, seed=7 + i), inbox / f"lan-2-{i}.xlsx")
    assert CliRunner().invoke(main, argv).exit_code == 0
    assert sizes == [3, 2]


def test_cli_merge_json_summary_shape(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["S-XD", "STP"])
    res = CliRunner().invoke(main, ["merge", str(inbox), "--workspace", str(ws.root), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) >= {"period", "rollup", "tidy", "expected", "accepted", "rejected", "missing", "late", "files"}
    assert data["period"] == PERIOD and data["accepted"] == 2
    assert all(set(f) >= {"path", "unit", "status"} for f in data["files"])
    st = CliRunner().invoke(main, ["status", str(inbox), "--workspace", str(ws.root), "--json"])
    assert st.exit_code == 0 and json.loads(st.stdout)["accepted"] == 2


def test_the_same_figures_sent_by_two_units_are_flagged(ws, tmp_path):
    # S-YT filled its template with exactly S-XD's figures (same seed → same inputs)
    a = filled(tmp_path / "a", unit="S-XD", ws=ws, seed=7)
    b = filled(tmp_path / "b", unit="S-YT", ws=ws, seed=7)
    shutil.copyfile(a, ws.inbox / "a.xlsx")
    shutil.copyfile(b, ws.inbox / "b.xlsx")
    from cchc_xl.merge.run import build_rollup_data

    merge(ws, ws.inbox, period=parse_period(PERIOD), write=False)
    led = Ledger(ws.root / LEDGER_NAME)
    try:
        data = build_rollup_data(ws, led, parse_period(PERIOD))
    finally:
        led.close()
    dups = [p for p in data.problems if p.code == "identity.duplicate_submission"]
    assert len(dups) == 1 and dups[0].severity == "warning"
    assert {dups[0].unit_code} <= {"S-XD", "S-YT"}


def test_full_revalidation_keeps_one_record_per_content(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["S-XD", "STP"])
    first = merge(ws, inbox, period=parse_period(PERIOD), write=False)
    again = merge(ws, inbox, period=parse_period(PERIOD), write=False, full=True)
    assert again.new_files == 2 and again.accepted == first.accepted
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    assert db.execute("SELECT COUNT(*) FROM contents").fetchone()[0] == 2
    assert _duplicate_cells(ws.root / LEDGER_NAME) == 0


def test_cli_split_by_field_and_tidy_formats(ws, tmp_path):
    inbox = _inbox(ws, tmp_path, units=["H-TPLS", "STP"])
    runner = CliRunner()
    res = runner.invoke(main, ["merge", str(inbox), "--workspace", str(ws.root), "--json",
                               "--split-by-field", str(tmp_path / "linh-vuc"), "--tidy", str(tmp_path / "x.csv")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["field_workbooks"]) == 6 and all(Path(p).exists() for p in data["field_workbooks"])
    assert data["tidy"] == str(tmp_path / "x.csv") and (tmp_path / "x.csv").exists()
    import importlib.util

    if not importlib.util.find_spec("pyarrow"):
        res = runner.invoke(main, ["merge", str(inbox), "--workspace", str(ws.root), "--tidy", str(tmp_path / "x.parquet")])
        assert res.exit_code == 1 and "pyarrow" in res.output


def test_a_merge_with_nothing_new_keeps_the_rollup_and_any_change_writes_it_again(ws, tmp_path, monkeypatch):
    """Nothing the roll-up shows changed: the files are kept as they are (the same bytes a rewrite
    gives, under a fixed clock). A new file, a decision, an edited or deleted roll-up: written again."""
    from cchc_xl.merge.decide import decide
    from cchc_xl.merge.unchanged import stamp_path

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735725600")
    inbox = _inbox(ws, tmp_path, units=UNITS[:3])
    per = parse_period(PERIOD)
    first = merge(ws, inbox, period=per)
    rollup = Path(first.rollup)
    written = rollup.read_bytes()
    assert not first.rollup_unchanged and stamp_path(rollup).is_file()
    again = merge(ws, inbox, period=per)
    assert again.rollup_unchanged and rollup.read_bytes() == written
    stamp_path(rollup).unlink()                                   # a rewrite gives the same bytes
    assert not merge(ws, inbox, period=per).rollup_unchanged and rollup.read_bytes() == written
    # a decision changes what the roll-up shows
    decide(ws, "withdraw", inbox / "bao cao 0.xlsx", "gửi nhầm")
    after = merge(ws, inbox, period=per)
    assert not after.rollup_unchanged and rollup.read_bytes() != written
    assert UNITS[0] in after.withdrawn
    # an edited or a deleted roll-up (or tidy export) is written again
    for damage in (lambda p: p.write_bytes(b"x"), lambda p: p.unlink()):
        for target in (rollup, Path(after.tidy)):
            damage(target)
            res = merge(ws, inbox, period=per)
            assert not res.rollup_unchanged and zipfile.is_zipfile(rollup) and Path(res.tidy).stat().st_size > 10
    # a new file
    kept = rollup.read_bytes()
    src = filled(tmp_path / "src", unit=UNITS[3], ws=ws, seed=9)
    shutil.copyfile(src, inbox / "moi.xlsx")
    res = merge(ws, inbox, period=per)
    assert not res.rollup_unchanged and res.new_files == 1 and rollup.read_bytes() != kept
