"""Golden files: representative generated workbooks compared part by part with stored copies.

After removing what always differs (the generator version), every XML part must be identical.
Regenerate deliberately with ``CCHC_UPDATE_GOLDEN=1 make test`` and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.helpers import embedded, generate

GOLDEN = Path(__file__).parent / "data" / "golden"
CASES = [("2024-Y", "H-TPLS"), ("2024-Q1", "TTPVHCC"), ("2024-PLAN", "S-XD"), ("2024-6M", "SNV")]


def _clean(name: str, data: bytes, root: str | None = None) -> bytes:
    text = data.decode("utf-8", errors="replace")
    text = re.sub(r"cchc_xl \d+\.\d+\.\d+\S*", "cchc_xl X", text)
    if root:        # the workspace's folder, in the roll-up's source column
        text = text.replace(root, "{WS}")
    return text.encode()


def _parts(path: Path, root: str | None = None) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: _clean(n, z.read(n), root) for n in sorted(z.namelist())}


@pytest.mark.parametrize("period, unit", CASES)
def test_generated_workbooks_match_golden_files(tmp_path, period, unit):
    ws = embedded()
    res = generate(ws, period, [unit], out=tmp_path, fixed_time=True)
    for f in res.files:
        got = Path(f["path"])
        want = GOLDEN / got.name
        if os.environ.get("CCHC_UPDATE_GOLDEN") == "1":
            shutil.copyfile(got, want)
        assert want.exists(), f"no golden file {want.name}: run with CCHC_UPDATE_GOLDEN=1"
        a, b = _parts(got), _parts(want)
        assert list(a) == list(b), f"{got.name}: parts differ"
        for name in a:
            assert a[name] == b[name], f"{got.name}: part {name} differs from the golden file"


EPOCH = "1735725600"        # 2025-01-01 10:00 UTC: the roll-up's "generated at" and the ledger's times


def _rollup(tmp_path: Path, monkeypatch) -> Path:
    """A small 2024-Q1 round (a department, a district, the public-service centre; one with an
    error), received at fixed times, merged with the clock fixed by SOURCE_DATE_EPOCH."""
    import datetime as dt

    from cchc_xl.config.period import parse_period
    from cchc_xl.merge.receipts import record_receipt
    from cchc_xl.merge.run import merge
    from tests.helpers import workspace
    from tests.test_validate import addr_of, filled

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    ws = workspace(tmp_path / "ws")
    period = parse_period("2024-Q1")
    deadline = dt.datetime.combine(ws.province.dates(period).deadline, dt.time(9))
    for i, unit in enumerate(("S-XD", "H-TPLS", "TTPVHCC")):
        edits = {("02-H", addr_of("02-H", "dat_dai", "truoc_han", period="2024-Q1")): -3} if unit == "H-TPLS" else None
        src = filled(tmp_path / "src", unit=unit, period="2024-Q1", ws=ws, seed=i, edits=edits)
        target = ws.inbox / src.name
        shutil.copyfile(src, target)
        record_receipt(ws.inbox, target, deadline + dt.timedelta(days=i - 1))
    return Path(merge(ws, ws.inbox, period=period).rollup), str(ws.root)


def test_the_rollup_matches_its_golden_file_part_by_part_and_is_reproducible(tmp_path, monkeypatch):
    """With SOURCE_DATE_EPOCH the roll-up is a function of its inputs: two merges in two workspaces
    write the same parts (but for the workspace's folder in the source column), and every XML part
    equals the stored golden roll-up's (as XlsxWriter's own comparison tests compare files)."""
    first, root = _rollup(tmp_path / "a", monkeypatch)
    second, root2 = _rollup(tmp_path / "b", monkeypatch)
    assert _parts(first, root) == _parts(second, root2)
    want = GOLDEN / "rollup" / first.name
    if os.environ.get("CCHC_UPDATE_GOLDEN") == "1":      # stored with the folder already replaced
        want.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(first) as src, zipfile.ZipFile(want, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info, _clean(info.filename, src.read(info), root))
    assert want.exists(), f"no golden file {want}: run with CCHC_UPDATE_GOLDEN=1"
    a, b = _parts(first, root), _parts(want)
    assert list(a) == list(b), f"{first.name}: parts differ"
    for name in a:
        assert a[name] == b[name], f"{first.name}: part {name} differs from the golden file"
