"""Figures as a Vietnamese reader writes them: "." between thousands, "," before decimals."""

from __future__ import annotations

import datetime as dt
import math

from ..blueprint.model import CellType

DECIMALS = {CellType.percent: 1, CellType.decimal: 2}


def vi_number(value: object, ctype: CellType | None = None) -> str:
    """``1234`` → ``1.234``; a percentage with one decimal (``85,3``); blank for no value."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%d/%m/%Y}"
    if not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    places = DECIMALS.get(ctype, 0)
    if places == 0 and isinstance(value, float) and abs(value - round(value)) > 1e-9:
        places = 2                      # a sum of fractions in a count column: shown, not rounded away
    text = f"{value:,.{places}f}"
    if places:
        whole, frac = text.split(".")
        frac = frac.rstrip("0") if ctype not in DECIMALS else frac
        text = whole if not frac else f"{whole}.{frac}"
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text.replace(",", ".")


def parse_vi_number(text: str) -> float:
    """The inverse of :func:`vi_number` (for readers of a written report)."""
    return float(text.replace(".", "").replace(",", "."))
