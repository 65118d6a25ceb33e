"""The ledger and the outputs survive what the machine does to a merge: a ``kill -9`` at any moment,
mid-write or not, and a disk that fills up. Each run after leaves no debris and loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl.atomic import DEBRIS_PREFIX
from cchc_xl.cli import main
from cchc_xl.merge.mail import MAIL_DIR
from cchc_xl.merge.run import LEDGER_NAME
from tests.helpers import workspace
from tests.test_validate import filled

PERIOD = "2024-Y"
UNITS = ["S-XD", "S-YT", "S-CT", "H-TPLS", "H-CAOLOC", "STP", "STC", "S-GTVT"]

# Runs the CLI in a fresh interpreter; with a target word, the process SIGKILLs itself at the moment
# a file whose name holds that word would replace its predecessor: written whole, not yet in place.
DRIVER = textwrap.dedent("""
    import os, signal, sys
    word = sys.argv[1]
    if word:
        real = os.replace
        def replace(src, dst, *a, **k):
            if word in str(dst):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *a, **k)
        os.replace = replace
    from cchc_xl.cli import main
    sys.argv = ["cchc_xl", *sys.argv[3:]]
    main()
""")


def run(*args) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


def merge_json(ws) -> dict:
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", PERIOD, "--json")
    assert code == 0, out
    return json.loads(out)


def put(ws, tmp_path, units) -> None:
    for i, unit in enumerate(units):
        src = filled(tmp_path / "src" / unit, unit=unit, ws=ws, seed=i)
        shutil.copyfile(src, ws.inbox / f"{unit}.xlsx")


def mailed(ws, tmp_path, unit: str) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Date"], msg["Subject"] = "Mon, 02 Dec 2024 09:00:00 +0700", f"Báo cáo {unit}"
    msg.set_content("Kính gửi Sở Nội vụ")
    data = filled(tmp_path / "mail" / unit, unit=unit, ws=ws).read_bytes()
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=f"{unit}.xlsx")
    (ws.inbox / f"thu-{unit}.eml").write_bytes(bytes(msg))


def debris(root: Path) -> list[Path]:
    return [p for p in root.rglob(DEBRIS_PREFIX + "*")]


def outputs(ws) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(ws.rollup.glob("*"))
            if p.is_file() and not p.name.startswith(DEBRIS_PREFIX)}


def ledger_sound(ws) -> set[str]:
    """The ledger's integrity check passes; the hashes of the contents it holds."""
    db = sqlite3.connect(ws.root / LEDGER_NAME)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {h for (h,) in db.execute("SELECT hash FROM contents")}
    finally:
        db.close()


def driven(ws, word: str, marker: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, word, marker, "merge", str(ws.inbox), "--workspace",
                             str(ws.root), "--period", PERIOD, "--workers", "2", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})


def survivors(marker: str) -> list[int]:
    """Processes still running whose command line carries ``marker`` (the merge and its workers)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (d / "cmdline").read_bytes() and (d / "stat").read_text().split()[2] != "Z":
                    out.append(int(d.name))
    return out


def gone(marker: str, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while survivors(marker) and time.monotonic() < end:
        time.sleep(0.1)
    return not survivors(marker)


@pytest.mark.slow
@pytest.mark.parametrize("word", ["tong-hop_", "tidy_", MAIL_DIR])
def test_a_merge_killed_mid_write_leaves_the_last_outputs_and_no_debris_after_the_next_run(tmp_path, word):
    ws = workspace(tmp_path)
    put(ws, tmp_path, UNITS[:3])
    first = merge_json(ws)
    before = outputs(ws)
    put(ws, tmp_path, UNITS[3:5])
    mailed(ws, tmp_path, UNITS[5])
    marker = uuid.uuid4().hex
    proc = driven(ws, word, marker)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert debris(ws.root), "the kill must land while a file is half in place"
    assert outputs(ws) == before                    # the last roll-up and export as they were
    assert gone(marker)                             # no worker outlives its merge
    res = merge_json(ws)
    assert debris(ws.root) == []
    assert set(first["on_time"]) < set(res["on_time"]) | set(res["late"])
    assert set(UNITS[:6]) <= set(res["on_time"]) | set(res["late"])
    openpyxl.load_workbook(res["rollup"], read_only=True).close()
    ledger_sound(ws)


@pytest.mark.slow
def test_a_merge_killed_at_any_moment_loses_nothing(tmp_path):
    """SIGKILL at staggered moments of full merges (start-up, reading in workers, ledger writes,
    roll-up): after each the ledger is sound, and the next run ends exactly as a clean merge."""
    ws = workspace(tmp_path / "a")
    put(ws, tmp_path, UNITS)
    mailed(ws, tmp_path, "S-TNMT")
    shutil.copytree(ws.root, tmp_path / "clean")         # same workspace key: the same verdicts
    expected = merge_json(_reopen(tmp_path / "clean"))
    merge_json(ws)
    for delay in (0.3, 0.45, 0.6, 0.75, 0.9, 1.1, 1.4):
        marker = uuid.uuid4().hex
        proc = driven(ws, "", marker, "--full")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert gone(marker)
        ledger_sound(ws)
    res = merge_json(ws)
    assert debris(ws.root) == []
    for key in ("on_time", "late", "missing", "rejected", "with_errors"):
        assert res[key] == expected[key], key
    assert ledger_sound(ws) == ledger_sound(_reopen(tmp_path / "clean"))


def _reopen(root: Path):
    from cchc_xl.config.workspace import load_workspace

    return load_workspace(root, None)


# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB file system of its own (tmpfs): filling it fills nothing else."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the file system up to ``leave`` bytes free."""
    ballast = disk / "ballast"
    st = os.statvfs(disk)
    size = max(0, st.f_bavail * st.f_frsize - leave)
    with open(ballast, "wb") as f:
        with contextlib.suppress(OSError):
            while size > 0:
                n = min(size, 1 << 20)
                f.write(b"\0" * n)
                size -= n
    return ballast


@pytest.mark.slow
@pytest.mark.parametrize("leave", [0, 40_000, 400_000, 700_000, 1_000_000, 1_500_000])
def test_a_full_disk_is_a_message_and_the_ledger_and_last_rollup_stay_as_they_were(small_disk, tmp_path, leave):
    ws = workspace(small_disk)
    put(ws, tmp_path, UNITS[:2])
    merge_json(ws)
    before_out, before_ledger, before_bytes = outputs(ws), ledger_sound(ws), ledger_bytes(ws)
    put(ws, tmp_path, UNITS[2:6])
    ballast = fill(small_disk, leave)
    code, out = run("merge", ws.inbox, "--workspace", ws.root, "--period", PERIOD)
    assert code == 1 or leave > 0, out
    if code == 0:           # the space left was enough after all: then everything is complete
        assert debris(ws.root) == []
    else:
        assert code == 1 and "hết chỗ trống" in out and "Traceback" not in out, out
        assert outputs(ws) == before_out
        assert debris(ws.root) == []
        if leave == 0:
            assert ledger_bytes(ws) == before_bytes
    ballast.unlink()
    assert before_ledger <= ledger_sound(ws)        # what it held, it holds; no transaction half-done
    res = merge_json(ws)
    assert set(UNITS[:6]) <= set(res["on_time"]) | set(res["late"])
    assert debris(ws.root) == []


def ledger_bytes(ws) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in ws.root.glob(LEDGER_NAME + "*")}
