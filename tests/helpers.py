"""Shared helpers for tests: workspaces, generated rounds, reading back with openpyxl."""

from __future__ import annotations

import warnings
from pathlib import Path

from cchc_xl.config.period import parse_period
from cchc_xl.config.workspace import PublicKeyWarning, init_workspace, load_workspace
from cchc_xl.generate import generate_round


def embedded(province: str = "lang-son-3-cap-2011-2020"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PublicKeyWarning)
        return load_workspace(None, province)


def workspace(tmp_path: Path, province: str = "lang-son-3-cap-2011-2020"):
    return init_workspace(tmp_path / f"ws-{province}", province)


def generate(ws, period: str, units=None, out: Path | None = None, **kw):
    return generate_round(ws, parse_period(period), units, out=out, workers=1, **kw)


def read_tidy(path) -> list[dict]:
    """The rows of a tidy export (.csv or the workspace's .csv.gz), with pandas — not our reader."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return df.to_dict("records")


def summary_line(rows: list, scope: str, key: str):
    """The roll-up summary line of ``scope`` (column A: "Toàn tỉnh", a unit type, a unit) whose row key
    (the technical column headed ``SUMMARY_KEY_HEADER``, after the values) is ``key``."""
    from cchc_xl.merge.rollup import SUMMARY_KEY_HEADER

    header = next(r for r in rows if r and r[0] == "Phạm vi tổng hợp")
    k = list(header).index(SUMMARY_KEY_HEADER)
    return next(r for r in rows if r and r[0] == scope and len(r) > k and r[k] == key)
