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


def _clean(name: str, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    text = re.sub(r"cchc_xl \d+\.\d+\.\d+\S*", "cchc_xl X", text)
    return text.encode()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: _clean(n, z.read(n)) for n in sorted(z.namelist())}


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
