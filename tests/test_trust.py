"""Trust: only files whose identity is proven supply figures; the secretariat decides the rest on the
record; receipt times are facts; the inbox and the ledger fail safe. One test per kind, through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cchc_xl.cli import main
from cchc_xl.config.period import parse_period
from cchc_xl.merge.inbox import RECEIPT_REGISTER
from cchc_xl.merge.ledger import LEDGER_VERSION
from cchc_xl.merge.receipts import record_receipt
from cchc_xl.merge.run import LEDGER_NAME
from tests.helpers import workspace
from tests.test_validate import filled

PERIOD = "2024-Y"


@pytest.fixture
def ws(tmp_path):
    return workspace(tmp_path)


def run(*args) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


def merge_json(ws, *extra) -> dict:
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", PERIOD, "--json", *extra)
    assert code == 0, out
    return json.loads(out)


def good(ws, tmp_path, unit="S-XD", name=None, seed=1, edits=None) -> Path:
    src = filled(tmp_path / "src", unit=unit, ws=ws, seed=seed, edits=edits)
    target = ws.inbox / (name or f"{unit}.xlsx")
    shutil.copyfile(src, target)
    return target


def on_time(ws):
    return dt.datetime.combine(ws.province.dates(parse_period(PERIOD)).deadline, dt.time(9)) - dt.timedelta(days=2)


def counted_units(ws) -> set[str]:
    res = merge_json(ws)
    return set(res["on_time"]) | set(res["late"])


def _rewrite_meta(path: Path, **changes) -> None:
    """Edit the hidden metadata sheet (as a person with openpyxl would), leaving the properties."""
    wb = openpyxl.load_workbook(path)
    sheet = wb["_cchc"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value in changes:
            row[1].value = changes[row[0].value]
    wb.save(path)


def _meta(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {r[0]: r[1] for r in wb["_cchc"].iter_rows(min_row=2, values_only=True)}


# -- admission -----------------------------------------------------------------------------------


def test_a_file_of_another_province_is_held_never_counted(ws, tmp_path):
    other = workspace(tmp_path, "thua-thien-hue-3-cap-2021")
    src = filled(tmp_path / "hue", unit="STP", ws=other, period=PERIOD)
    shutil.copyfile(src, ws.inbox / "tu-hue.xlsx")
    res = merge_json(ws)
    assert "STP" not in res["on_time"] + res["late"]
    held = {h["submission"]: h for h in res["held"]}
    assert "identity.province_mismatch" in held["STP"]["reasons"] or "identity.tag_invalid" in held["STP"]["reasons"]
    code, out = run("validate", ws.inbox / "tu-hue.xlsx", "--workspace", ws.root)
    assert code == 1 and "Tạm giữ" in out and "Biểu mẫu của tỉnh khác" in out
    # listed, with the reason in words, by status and on the roll-up's status and problem sheets
    code, out = run("status", ws.inbox, "--workspace", ws.root, "--period", PERIOD)
    line = next(x for x in out.splitlines() if "Tạm giữ (STP)" in x)
    assert "tu-hue.xlsx" in line and "identity.province_mismatch" in line and "Biểu mẫu của tỉnh khác" in line
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    status = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "STP")
    assert status[5] == "Tạm giữ"
    problems = [r for r in wb["Lỗi"].iter_rows(values_only=True) if r and r[1] == "STP"]
    assert any(r[7] == "identity.province_mismatch" and "tu-hue.xlsx" in str(r[3]) for r in problems)


def test_a_tag_that_does_not_verify_is_held_and_accept_admits_it_on_the_record(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    _rewrite_meta(p, tag="0" * 64)
    res = merge_json(ws)
    assert "S-XD" not in res["on_time"] + res["late"]
    assert [h["submission"] for h in res["held"]] == ["S-XD"]
    code, out = run("accept", p, "--reason", "Đơn vị xác nhận qua điện thoại", "--workspace", ws.root)
    assert code == 0, out
    assert "S-XD" in counted_units(ws)
    # the decision survives a full re-validation, and shows in the roll-up
    res = merge_json(ws, "--full")
    assert "S-XD" in res["late"]          # first seen today, and --full keeps that receipt time
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    rows = [r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD"]
    assert "Chấp nhận" in rows[0][14] and "điện thoại" in rows[0][14]
    # reversible: undone, the file is held again
    assert run("accept", p, "--reason", "nhầm", "--undo", "--workspace", ws.root)[0] == 0
    assert "S-XD" not in counted_units(ws)


def test_an_identity_transplanted_from_another_file_is_held(ws, tmp_path):
    a = filled(tmp_path / "a", unit="S-YT", ws=ws, seed=1)
    b = good(ws, tmp_path, "S-XD", seed=2)
    ma = _meta(a)
    # the other unit's code and tag copied into this file's hidden sheet
    _rewrite_meta(b, unit=ma["unit"], unit_name=ma["unit_name"], tag=ma["tag"])
    res = merge_json(ws)
    assert "S-YT" not in res["on_time"] + res["late"] and "S-XD" not in res["on_time"] + res["late"]
    reasons = {r for h in res["held"] for r in h["reasons"]}
    assert reasons & {"identity.metadata_conflict", "identity.tag_invalid"}


def _transplant(path: Path, pairs: dict, keys) -> None:
    """Copy the given metadata keys into both copies (hidden sheet and properties), as a careful forger would."""
    from openpyxl.packaging.custom import StringProperty
    wb = openpyxl.load_workbook(path)
    for row in wb["_cchc"].iter_rows(min_row=2):
        if row[0].value in keys:
            row[1].value = pairs[row[0].value]
    props = wb.custom_doc_props
    for key in keys:
        name = f"cchc_{key}"
        if name in props.names:
            del props[name]
        props.append(StringProperty(name=name, value=str(pairs[key])))
    wb.save(path)


@pytest.mark.parametrize("source, keys, reason", [
    # everything another unit's file says about itself: the tag verifies, the visible unit line does not agree
    ("other_unit", "all", "identity.transplanted"),
    # the same unit's file of another period, copied whole into this period's figures
    ("other_period", "all", "identity.transplanted"),
    # only the unit code and the tag: the tag binds the unit's name too
    ("other_unit", ("unit", "tag"), "identity.tag_invalid"),
    # the code, name, issue time and tag: the tag verifies, the sheets still name this unit
    ("other_unit", ("unit", "unit_name", "generated_at", "tag"), "identity.transplanted"),
    # the code, name and tag only: the tag binds the issue time, which differs from file to file
    ("other_unit_later", ("unit", "unit_name", "tag"), "identity.tag_invalid"),
])
def test_an_identity_copied_whole_into_both_copies_is_held(ws, tmp_path, source, keys, reason):
    if source.startswith("other_unit"):
        a = filled(tmp_path / "a", unit="S-YT", ws=ws, seed=1)
    else:
        a = filled(tmp_path / "a", unit="S-XD", ws=ws, seed=1, period="2024-6M")
    b = good(ws, tmp_path, "S-XD", seed=2)
    if source == "other_unit_later":        # this file was issued at another moment than the tag's
        _transplant(b, {"generated_at": "2000-01-01T00:00:00"}, ["generated_at"])
    pairs = _meta(a)
    _transplant(b, pairs, [k for k in pairs if k != "key"] if keys == "all" else keys)
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", pairs["period"], "--json")
    res = json.loads(out)
    assert not set(res["on_time"]) | set(res["late"])
    assert [h["submission"] for h in res["held"]] == [pairs["unit"] if keys == "all" else "S-YT"]
    assert reason in res["held"][0]["reasons"]
    code, out = run("validate", b, "--workspace", ws.root, "--json")
    rep = json.loads(out)["files"][0]
    assert reason in rep["held"]
    if reason == "identity.transplanted":
        where = [p for p in rep["problems"] if p["code"] == reason][0]
        assert where["cell"] == "A3" and "tag_invalid" not in str(rep["held"])


def _versions(pairs: dict, change) -> dict:
    """The metadata with each table stamp's version changed by ``change`` (text ``code:bp:ver:…``)."""
    out = dict(pairs)
    for k, v in pairs.items():
        if k.startswith("tables") and v:
            out[k] = ";".join(change(stamp) for stamp in str(v).split(";"))
    return out


@pytest.mark.parametrize("kind, edit, reasons", [
    ("unknown format", lambda m: {**m, "format": "cchc_xl/9"}, {"identity.format_unknown"}),
    ("unknown blueprint version", lambda m: _versions(m, lambda t: t.replace("|1|", "|99|", 1)),
     {"identity.blueprint_unknown", "identity.blueprint_outdated", "identity.tag_invalid"}),
])
def test_an_unknown_format_or_blueprint_version_is_held(ws, tmp_path, kind, edit, reasons):
    b = good(ws, tmp_path, "S-XD", seed=2)
    pairs = _meta(b)
    changed = edit(pairs)
    _transplant(b, changed, [k for k in changed if changed[k] != pairs.get(k)])
    res = merge_json(ws)
    assert "S-XD" not in res["on_time"] + res["late"], kind
    held = {r for h in res["held"] for r in h["reasons"]}
    assert held & reasons, (kind, held)
    code, out = run("validate", b, "--workspace", ws.root, "--json")
    assert set(json.loads(out)["files"][0]["held"]) & reasons


@pytest.mark.parametrize("key, value", [("period", "quý năm"), ("period", "2024-Q9"), ("unit", "KHONG-CO")])
def test_metadata_that_names_no_known_period_or_unit_is_rejected_and_kept(ws, tmp_path, key, value):
    """Nothing an officer could accept on the record: rejected with the reason, kept in the ledger."""
    b = good(ws, tmp_path, "S-XD", seed=2)
    _transplant(b, {key: value}, [key])
    res = merge_json(ws)
    assert "S-XD" not in res["on_time"] + res["late"]
    files = {Path(f["path"]).name: f for f in res["files"]}
    assert files["S-XD.xlsx"]["status"] == "rejected" and files["S-XD.xlsx"]["hash"]
    code, out = run("validate", b, "--workspace", ws.root, "--json")
    rep = json.loads(out)["files"][0]
    assert code == 1 and rep["status"] == "rejected" and rep["problems"][0]["code"].startswith("identity.")


def test_a_salvaged_copy_without_metadata_is_held_until_accepted(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    wb = openpyxl.load_workbook(p)
    del wb["_cchc"]
    wb.custom_doc_props.props.clear()
    wb.save(p)
    res = merge_json(ws)
    held = {h["submission"]: h for h in res["held"]}
    assert held["S-XD"]["reasons"] == ["identity.salvaged"]
    assert "S-XD" not in res["on_time"] + res["late"]
    run("accept", p, "--reason", "Bản chép lại, đơn vị đã xác nhận", "--workspace", ws.root)
    assert "S-XD" in counted_units(ws)


def test_a_held_resend_never_replaces_the_counted_file(ws, tmp_path):
    first = good(ws, tmp_path, "S-XD", seed=1)
    record_receipt(ws.inbox, first, on_time(ws))
    merge_json(ws)
    second = good(ws, tmp_path, "S-XD", name="gui-lai.xlsx", seed=5)
    _rewrite_meta(second, tag="f" * 64)
    record_receipt(ws.inbox, second, on_time(ws) + dt.timedelta(hours=1))
    res = merge_json(ws)
    assert "S-XD" in res["on_time"]
    assert [h["file"].endswith("gui-lai.xlsx") for h in res["held"]] == [True]
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    row = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD")
    assert row[12].endswith("S-XD.xlsx") and "Tạm giữ" in row[14]


def test_withdraw_by_unit_takes_the_figures_out_and_undo_restores_them(ws, tmp_path):
    good(ws, tmp_path, "S-XD")
    assert "S-XD" in counted_units(ws)
    code, out = run("withdraw", "S-XD", "--period", PERIOD, "--reason", "Đơn vị xin gửi lại", "--workspace", ws.root)
    assert code == 0, out
    res = merge_json(ws, "--full")
    assert res["withdrawn"] == ["S-XD"]
    run("withdraw", "S-XD", "--period", PERIOD, "--reason", "Giữ bản cũ", "--undo", "--workspace", ws.root)
    assert "S-XD" in counted_units(ws)


def test_a_decision_needs_a_reason_and_a_known_file(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    code, out = run("accept", p, "--reason", "x", "--workspace", ws.root)
    assert code == 1 and "sổ theo dõi" in out and "Traceback" not in out
    merge_json(ws)
    code, out = run("accept", p, "--reason", "x", "--workspace", ws.root)
    assert code == 1 and "không bị tạm giữ" in out
    code, out = run("withdraw", "KHONG-CO", "--reason", "x", "--workspace", ws.root)
    assert code == 1 and "KHONG-CO" in out


# -- receipt times -------------------------------------------------------------------------------


def test_lateness_never_comes_from_the_modification_time(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    old = on_time(ws).timestamp()
    os.utime(p, (old, old))           # a file date before the deadline proves nothing
    res = merge_json(ws)
    assert "S-XD" in res["late"]      # first seen today: long after the 2024 deadline
    record_receipt(ws.inbox, p, on_time(ws))
    res = merge_json(ws)
    assert "S-XD" in res["on_time"]
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    row = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD")
    assert row[15] == "Sổ tiếp nhận"


def test_received_option_for_a_folder_and_precedence_over_the_register(ws, tmp_path):
    sub = ws.inbox / "thu-ngay-1"
    sub.mkdir()
    p = good(ws, tmp_path, "S-XD", name="thu-ngay-1/S-XD.xlsx")
    late = on_time(ws) + dt.timedelta(days=10)
    record_receipt(ws.inbox, p, late)
    res = merge_json(ws, "--received", f"{sub}={on_time(ws):%Y-%m-%d %H:%M}")
    assert "S-XD" in res["on_time"]


def test_a_receipt_time_in_the_future_is_flagged_not_used(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    record_receipt(ws.inbox, p, dt.datetime.now() + dt.timedelta(days=30))
    res = merge_json(ws)
    assert any("tương lai" in n for n in res["notes"])


def test_a_file_modified_in_the_future_is_flagged_and_its_date_never_used(ws, tmp_path):
    p = good(ws, tmp_path, "S-XD")
    future = (dt.datetime.now() + dt.timedelta(days=400)).timestamp()
    os.utime(p, (future, future))
    res = merge_json(ws)
    assert any("S-XD.xlsx" in n and "ngày sửa tệp" in n and "tương lai" in n for n in res["notes"])
    assert "S-XD" in res["late"]       # received when first seen (today), not at the file's date


def test_two_copies_with_no_order_between_them_are_flagged(ws, tmp_path):
    a = good(ws, tmp_path, "S-XD", seed=1)
    b = good(ws, tmp_path, "S-XD", name="ban-khac.xlsx", seed=9)
    for p in (a, b):
        record_receipt(ws.inbox, p, on_time(ws))
    res = merge_json(ws)
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    row = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD")
    assert "chưa rõ bản nào mới hơn" in row[14]


def test_a_bad_receipt_register_is_a_message_not_a_traceback(ws, tmp_path):
    good(ws, tmp_path, "S-XD")
    (ws.inbox / RECEIPT_REGISTER).write_text("tep,thoi_gian\nS-XD.xlsx,hôm qua\n", encoding="utf-8")
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", PERIOD)
    assert code == 1 and RECEIPT_REGISTER in out and "dòng 2" in out and "Traceback" not in out


# -- the inbox holds only what it can -------------------------------------------------------------


def test_only_regular_files_inside_the_inbox_are_opened(ws, tmp_path):
    good(ws, tmp_path, "S-XD")
    os.mkfifo(ws.inbox / "ong-dan.xlsx")
    (ws.inbox / "lien-ket-hong.xlsx").symlink_to(tmp_path / "khong-co.xlsx")
    outside = filled(tmp_path / "ngoai", unit="S-YT", ws=ws)
    (ws.inbox / "ra-ngoai.xlsx").symlink_to(outside)
    (ws.inbox / "thu-muc-ngoai").symlink_to(tmp_path / "ngoai", target_is_directory=True)
    shutil.copyfile(outside, ws.inbox / "~$S-YT.xlsx")          # an office lock file
    res = merge_json(ws)
    skipped = {Path(s["path"]).name: s["reason"] for s in res["skipped"]}
    assert set(skipped) == {"ong-dan.xlsx", "lien-ket-hong.xlsx", "ra-ngoai.xlsx", "thu-muc-ngoai"}
    assert "S-YT" not in res["on_time"] + res["late"]
    assert "S-XD" in res["on_time"] + res["late"]


def test_a_file_name_that_is_not_utf8_works(ws, tmp_path):
    src = filled(tmp_path / "src", unit="S-XD", ws=ws)
    name = os.fsdecode(b"bao-cao-\xff\xfe.xlsx")
    shutil.copyfile(src, os.path.join(os.fsencode(ws.inbox), b"bao-cao-\xff\xfe.xlsx"))
    assert os.path.exists(ws.inbox / name)
    res = merge_json(ws)
    assert "S-XD" in res["on_time"] + res["late"]
    assert any("\\xff" in f["path"] for f in res["files"])


def test_a_reply_on_the_annotated_copy_is_a_resend(ws, tmp_path):
    first = good(ws, tmp_path, "S-XD", seed=1)
    record_receipt(ws.inbox, first, on_time(ws))
    merge_json(ws)
    again = good(ws, tmp_path, "S-XD", name="S-XD_kiem-tra.xlsx", seed=4)
    record_receipt(ws.inbox, again, on_time(ws) + dt.timedelta(hours=2))
    res = merge_json(ws)
    files = {Path(f["path"]).name: f for f in res["files"]}
    assert files["S-XD_kiem-tra.xlsx"]["unit"] == "S-XD"
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    row = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD")
    assert row[12].endswith("S-XD_kiem-tra.xlsx") and row[11] == 2


# -- the ledger fails safe -----------------------------------------------------------------------


def _snapshot(ws) -> dict[str, bytes]:
    files = [ws.root / LEDGER_NAME, *sorted(ws.rollup.glob("*"))]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


def test_a_ledger_written_by_a_newer_version_is_left_untouched(ws, tmp_path):
    good(ws, tmp_path, "S-XD")
    merge_json(ws)
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    db.execute(f"PRAGMA user_version={LEDGER_VERSION + 1}")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = _snapshot(ws)
    good(ws, tmp_path, "S-YT")
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", PERIOD)
    assert code == 1 and "phiên bản cchc_xl mới hơn" in out and "Traceback" not in out
    assert _snapshot(ws) == before


def test_a_corrupt_ledger_is_a_message_and_stays_as_it_is(ws, tmp_path):
    good(ws, tmp_path, "S-XD")
    merge_json(ws)
    for suffix in ("-wal", "-shm"):
        Path(str(ws.root / LEDGER_NAME) + suffix).unlink(missing_ok=True)
    (ws.root / LEDGER_NAME).write_bytes(b"this is not a database" * 200)
    before = _snapshot(ws)
    for cmd in (("merge", ws.inbox), ("status", ws.inbox)):
        code, out = run(*cmd, "--workspace", ws.root, "--period", PERIOD)
        assert code == 1 and "bị hỏng" in out and "Traceback" not in out
    assert _snapshot(ws) == before


# -- one file, one fate --------------------------------------------------------------------------


FAULTS = {
    # kind of reader fault: (problem code, words of its message)
    "abort": ("file.corrupt", "bị dừng đột ngột"),
    "hang": ("file.too_large", "quá 2 giây"),
    "memory": ("file.too_large", "bộ nhớ"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_reader_that_aborts_hangs_or_runs_out_of_memory_fails_only_that_file(ws, tmp_path, monkeypatch, fault):
    from cchc_xl.validate import pool

    code, words = FAULTS[fault]
    monkeypatch.setattr(pool, "FILE_SECONDS", 2)        # workers are forked: they see the bound
    for i, unit in enumerate(["S-XD", "S-YT", "S-CT", "H-TPLS", "H-CAOLOC", "STP", "STC"]):
        good(ws, tmp_path, unit, seed=i)
    monkeypatch.setenv(pool.FAULT_ENV, f"{fault}:S-CT.xlsx")
    rc, out = run("validate", ws.inbox, "--workspace", ws.root, "--json")
    reports = {Path(r["path"]).name: r for r in json.loads(out)["files"]}
    assert rc == 1 and len(reports) == 7
    assert reports["S-CT.xlsx"]["status"] == "rejected"
    assert [p["code"] for p in reports["S-CT.xlsx"]["problems"]] == [code]
    assert words in reports["S-CT.xlsx"]["problems"][0]["message"]
    assert all(r["status"] in ("ok", "warnings") for name, r in reports.items() if name != "S-CT.xlsx")
    res = merge_json(ws, "--workers", "2")
    files = {Path(f["path"]).name: f for f in res["files"]}
    assert files["S-CT.xlsx"]["status"] == "rejected"
    assert {"S-XD", "S-YT", "H-TPLS", "H-CAOLOC", "STP", "STC"} <= set(res["on_time"]) | set(res["late"])
    assert "S-CT" not in res["on_time"] + res["late"]
    monkeypatch.delenv(pool.FAULT_ENV)
    rc, out = run("validate", ws.inbox / "S-CT.xlsx", "--workspace", ws.root)
    assert rc == 0 and "S-CT.xlsx" in out      # the file itself was sound: the fault was its reader's


PANIC_XLS = Path(__file__).parent / "data" / "hostile" / "calamine-panic.xls"


def test_a_file_that_panics_the_value_reader_is_that_files_problem(ws, tmp_path):
    """A legacy .xls whose records make calamine (Rust) panic: pyo3 raises ``PanicException``, a
    ``BaseException`` that no ``except Exception`` catches (bytes found by mutating a LibreOffice .xls)."""
    from python_calamine import CalamineWorkbook

    with pytest.raises(BaseException) as info:
        CalamineWorkbook.from_path(str(PANIC_XLS))
    assert type(info.value).__name__ == "PanicException"      # still the kind this test is about
    shutil.copyfile(PANIC_XLS, ws.inbox / "S-YT.xls")
    good(ws, tmp_path, "S-XD")
    rc, out = run("validate", ws.inbox, "--workspace", ws.root, "--json")
    reports = {Path(r["path"]).name: r for r in json.loads(out)["files"]}
    assert rc == 1 and [p["code"] for p in reports["S-YT.xls"]["problems"]] == ["file.corrupt"]
    assert reports["S-XD.xlsx"]["status"] in ("ok", "warnings")
    res = merge_json(ws)
    assert "S-XD" in res["on_time"] + res["late"]


def _rezip(src: Path, dest: Path, part: str, change) -> Path:
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zo:
        for it in zi.infolist():
            data = zi.read(it.filename)
            zo.writestr(it, change(data) if it.filename == part else data)
    return dest


HOSTILE = {
    # kind: (part, change, expected code)
    "undefined-entity": ("xl/sharedStrings.xml", lambda d: d.replace(b"<t>", b"<t>&nbsp;", 1), "file.hostile"),
    "undefined-entity-in-sheet": ("xl/worksheets/sheet2.xml",
                                  lambda d: d.replace(b"</sheetData>", b'<row r="900"><c r="A900" t="inlineStr">'
                                                      b"<is><t>&eacute;</t></is></c></row></sheetData>"),
                                  "file.hostile"),
    "doctype-shared-strings": ("xl/sharedStrings.xml",
                               lambda d: d.replace(b"?>", b'?><!DOCTYPE sst [<!ENTITY a "aaaaaaaa">]>', 1),
                               "file.hostile"),
    "doctype-styles": ("xl/styles.xml", lambda d: d.replace(b"?>", b"?><!DOCTYPE x>", 1), "file.hostile"),
    "doctype-workbook": ("xl/workbook.xml", lambda d: d.replace(b"?>", b'?><!DOCTYPE w SYSTEM "http://x/">', 1),
                         "file.hostile"),
    "doctype-content-types": ("[Content_Types].xml", lambda d: d.replace(b"?>", b"?><!DOCTYPE t>", 1),
                              "file.hostile"),
    "billion-laughs-custom-props": ("docProps/custom.xml", lambda d: d.replace(
        b"?>", b'?><!DOCTYPE p [<!ENTITY a "1234567890"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>', 1), "file.hostile"),
    "cell-at-XFD1048576": ("xl/worksheets/sheet2.xml", lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'), "file.hostile"),
    "cell-far-after-a-line-break": ("xl/worksheets/sheet2.xml", lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c\nr="XFD1048576"><v>1</v></c></row></sheetData>'), "file.hostile"),
    "cell-beyond-the-grid": ("xl/worksheets/sheet2.xml", lambda d: d.replace(
        b"</sheetData>", b'<row r="7"><c r="XFE7"><v>1</v></c></row></sheetData>'), "file.hostile"),
    "absurd-dimension": ("xl/worksheets/sheet2.xml",
                         lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', d)
                         if b"<dimension" in d else d.replace(b"<sheetData", b'<dimension ref="A1:XFD1048576"/>'
                                                               b"<sheetData", 1), "file.hostile"),
    "invalid-xml-shared-strings": ("xl/sharedStrings.xml", lambda d: d.replace(b"</sst>", b"<si><t>x</si></sst>"),
                                   "file.corrupt"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_or_broken_package_is_that_files_problem_and_the_batch_goes_on(ws, tmp_path, kind):
    part, change, code = HOSTILE[kind]
    src = filled(tmp_path / "src", unit="S-YT", ws=ws)
    _rezip(src, ws.inbox / f"{kind}.xlsx", part, change)
    good(ws, tmp_path, "S-XD")
    rc, out = run("validate", ws.inbox, "--workspace", ws.root, "--json")
    assert rc == 1
    reports = {Path(r["path"]).name: r for r in json.loads(out)["files"]}
    assert reports[f"{kind}.xlsx"]["status"] == "rejected"
    assert [p["code"] for p in reports[f"{kind}.xlsx"]["problems"]] == [code]
    assert reports["S-XD.xlsx"]["status"] in ("ok", "warnings")
    res = merge_json(ws)
    assert "S-XD" in res["on_time"] + res["late"] and "S-YT" not in res["on_time"] + res["late"]


def test_a_truncated_package_and_a_bad_crc_are_corrupt(ws, tmp_path):
    src = filled(tmp_path / "src", unit="S-YT", ws=ws)
    data = src.read_bytes()
    (ws.inbox / "cut.xlsx").write_bytes(data[: len(data) // 2])
    bad = bytearray(data)
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("xl/sharedStrings.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    bad[start + 5] ^= 0xFF
    (ws.inbox / "crc.xlsx").write_bytes(bytes(bad))
    good(ws, tmp_path, "S-XD")
    rc, out = run("validate", ws.inbox, "--workspace", ws.root, "--json")
    reports = {Path(r["path"]).name: r for r in json.loads(out)["files"]}
    for name in ("cut.xlsx", "crc.xlsx"):
        assert reports[name]["status"] == "rejected"
        assert reports[name]["problems"][0]["code"].startswith("file.")
    assert reports["S-XD.xlsx"]["status"] in ("ok", "warnings")


# -- formula-like text stays text ----------------------------------------------------------------


@given(st.text(max_size=30))
def test_neutralised_csv_fields_read_back_as_the_raw_text_or_its_quoted_form(text):
    import csv
    import io

    from cchc_xl.merge.tidy import _csv_value, restore

    field = next(csv.reader(io.StringIO(_csv_value(text)), strict=True), [""])
    got = field[0] if field else ""
    dangerous = text.lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r")
    assert got == ("'" + text if dangerous else text) or (text in ("\r",) and got == "")
    assert restore(got) == text or text == "\r"


INJECTIONS = ['=HYPERLINK("http://x","bấm")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "'=1"]


def test_formula_like_text_is_neutralised_in_the_csv_and_stays_text_in_the_rollup(ws, tmp_path):
    edits = {("02-S", f"H{9 + i}"): text for i, text in enumerate(INJECTIONS)}     # the "Ghi chú" texts
    good(ws, tmp_path, "S-XD", edits=edits)
    res = merge_json(ws, "--tidy", tmp_path / "chi-tiet.csv")
    import csv

    with open(tmp_path / "chi-tiet.csv", encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["appendix"] == "02-S" and r["value"]]
    got = {r["source_cell"]: r["value"] for r in rows}
    for i, text in enumerate(INJECTIONS):
        assert got[f"H{9 + i}"] == "'" + text
    wb = openpyxl.load_workbook(res["rollup"])
    texts = [c for s in wb.worksheets for row in s.iter_rows() for c in row if c.value in INJECTIONS]
    assert texts and all(c.data_type == "s" for c in texts)


@pytest.mark.parametrize("shift", range(0, 6))
def test_the_screen_never_takes_a_known_entity_cut_by_its_read_buffer_for_a_hostile_one(tmp_path, shift):
    from cchc_xl.read.guard import _CHUNK, _HEAD, screen_package

    pad = b"a" * (_HEAD + _CHUNK - 3 - shift - len(b'<?xml version="1.0"?><sst><si><t>'))
    body = b'<?xml version="1.0"?><sst><si><t>' + pad + b"&gt;&amp;&#10;&lt;</t></si></sst>"
    p = tmp_path / "x.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("xl/sharedStrings.xml", body)
    screen_package(str(p))


def test_a_saved_email_brings_its_attachments_received_at_its_date(ws, tmp_path):
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "vanthu@sxd.example", "cchc@snv.example", "Báo cáo CCHC"
    msg["Date"] = format_datetime(on_time(ws).astimezone())
    msg.set_content("Kính gửi Sở Nội vụ")
    for unit in ("S-XD", "S-YT"):
        data = filled(tmp_path / unit, unit=unit, ws=ws).read_bytes()
        msg.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename=f"Báo cáo {unit}.xlsx")
    (ws.inbox / "thu-den.eml").write_bytes(bytes(msg))
    empty = EmailMessage()
    empty["Date"] = format_datetime(on_time(ws).astimezone())
    empty.set_content("quên đính kèm")
    (ws.inbox / "thu-trong.eml").write_bytes(bytes(empty))
    res = merge_json(ws)
    assert {"S-XD", "S-YT"} <= set(res["on_time"])
    assert any("thu-trong.eml" in n and "đính kèm" in n for n in res["notes"])
    paths = {f["path"] for f in res["files"]}
    assert any(p.endswith("thu-den.eml#Báo cáo S-XD.xlsx") for p in paths)
    wb = openpyxl.load_workbook(res["rollup"], read_only=True)
    row = next(r for r in wb["Tình hình nộp báo cáo"].iter_rows(values_only=True) if r and r[1] == "S-XD")
    assert row[15] == "Thư điện tử (Date)"
    # the attachment is kept by the ledger even when the e-mail leaves the inbox
    (ws.inbox / "thu-den.eml").unlink()
    res = merge_json(ws)
    assert {"S-XD", "S-YT"} <= set(res["on_time"])


def _email(ws, attachments: dict[str, bytes]) -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"], msg["Subject"] = "vanthu@example.vn", "Báo cáo CCHC"
    msg["Date"] = format_datetime(on_time(ws).astimezone())
    msg.set_content("Kính gửi Sở Nội vụ")
    for name, data in attachments.items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(msg)


def test_odd_emails_are_each_their_own_case_and_the_batch_goes_on(ws, tmp_path):
    """Bytes that are no e-mail, an attachment claiming folders, an attachment that is no workbook:
    each is reported for itself; the sound submissions beside them are counted."""
    sound = filled(tmp_path / "S-YT", unit="S-YT", ws=ws).read_bytes()
    (ws.inbox / "rac.eml").write_bytes(os.urandom(5000))
    (ws.inbox / "duong-dan.eml").write_bytes(_email(ws, {"../../../etc/S-YT.xlsx": sound}))
    (ws.inbox / "khong-phai-bang-tinh.eml").write_bytes(_email(ws, {"S-CT.xlsx": "PK hỏng".encode()}))
    good(ws, tmp_path, "S-XD")
    res = merge_json(ws)
    assert "S-YT" in res["on_time"] and "S-XD" in res["on_time"] + res["late"]
    assert any("rac.eml" in n and "đính kèm" in n for n in res["notes"])
    paths = {f["path"]: f for f in res["files"]}
    assert any(p.endswith("duong-dan.eml#S-YT.xlsx") for p in paths)     # the name, never its folders
    assert not any(ws.root.parent.rglob("etc"))
    broken = next(f for p, f in paths.items() if p.endswith("khong-phai-bang-tinh.eml#S-CT.xlsx"))
    assert broken["status"] == "rejected"


def test_an_email_that_cannot_be_read_is_skipped_with_its_reason(tmp_path):
    """A saved e-mail the merge may not open (its permissions) is listed as skipped; the rest is
    merged."""
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="cchc-eml-"))
    try:
        ws = workspace(base)
        good(ws, tmp_path, "S-XD")
        (ws.inbox / "thu-khoa.eml").write_bytes(_email(ws, {"S-YT.xlsx": b"x"}))
        (ws.inbox / "thu-khoa.eml").chmod(0)

        # root reads whatever the permissions say: drop the two capabilities that let it (util-linux)
        unprivileged = (["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                         "--inh-caps=-dac_override,-dac_read_search"] if os.geteuid() == 0 else [])
        proc = subprocess.run([*unprivileged, sys.executable, "-m", "cchc_xl.cli", "merge", str(ws.inbox),
                               "--workspace", str(ws.root), "--period", PERIOD, "--json"],
                              capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=300)
        assert proc.returncode == 0, proc.stderr
        res = json.loads(proc.stdout)
        assert "S-XD" in res["on_time"] + res["late"]
        skipped = {Path(s["path"]).name: s["reason"] for s in res["skipped"]}
        assert "không đọc được thư điện tử" in skipped["thu-khoa.eml"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_tag_judged_with_the_public_test_key_never_says_a_unit_tampered(ws, tmp_path, monkeypatch):
    """Outside a workspace the embedded public key judges tags: a province's genuine file fails it, and the
    message must say loudly that this is only a test configuration, not that the unit altered its file."""
    path = good(ws, tmp_path)
    elsewhere = tmp_path / "not-a-workspace"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out = run("validate", path, "--json")
    assert "khóa xác thực là công khai" in out          # the warning about the embedded public key
    problems = [p for f in json.loads(out[out.index("{"):])["files"] for p in f["problems"]]
    codes = {p["code"] for p in problems}
    assert "identity.tag_public_key" in codes and "identity.tag_invalid" not in codes, out
    code, out = run("validate", path)
    assert code == 1
    assert "CHỈ LÀ CẤU HÌNH THỬ" in out and "KHÔNG cho biết tệp có bị sửa" in out
    assert "đã bị sửa:" not in out
    # inside the workspace the same file is authenticated by the workspace's own key
    code, out = run("validate", path, "--workspace", ws.root, "--json")
    assert "CHỈ LÀ CẤU HÌNH THỬ" not in out and "identity.tag" not in out
    # and there a tag that does not match that key is what it says: the identity was altered
    forged = ws.inbox / "S-XD-forged.xlsx"
    shutil.copyfile(path, forged)
    wb = openpyxl.load_workbook(forged)
    for row in wb["_cchc"].iter_rows(min_row=2):
        if row[0].value == "tag":
            row[1].value = "0" * 64
    wb.save(forged)
    code, out = run("validate", forged, "--workspace", ws.root)
    assert code == 1 and "đã bị sửa" in out and "CHỈ LÀ CẤU HÌNH THỬ" not in out
