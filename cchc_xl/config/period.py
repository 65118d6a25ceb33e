"""Reporting periods: ``YYYY-Q1``, ``YYYY-6M``, ``YYYY-9M``, ``YYYY-Y`` and ``YYYY-PLAN``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import CchcError

KINDS = ("Q1", "6M", "9M", "Y", "PLAN")
KIND_LABELS = {
    "Q1": "Quý I năm {y}",
    "6M": "6 tháng đầu năm {y}",
    "9M": "9 tháng năm {y}",
    "Y": "Năm {y}",
    "PLAN": "Kế hoạch CCHC năm {y}",
}
# Cumulative periods in order; a quarter-only figure is the difference of two of them.
CUMULATIVE = ("Q1", "6M", "9M", "Y")


class PeriodError(CchcError, ValueError):
    """A period a user typed that is not one (2026-Q5, 26-Y)."""


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str

    def __str__(self) -> str:
        return f"{self.year}-{self.kind}"

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind].format(y=self.year)

    @property
    def is_plan(self) -> bool:
        return self.kind == "PLAN"

    def previous(self) -> Period | None:
        """The previous cumulative period of the same year (6M -> Q1), or None."""
        if self.kind not in CUMULATIVE or self.kind == "Q1":
            return None
        return Period(self.year, CUMULATIVE[CUMULATIVE.index(self.kind) - 1])

    def previous_year(self) -> Period:
        return Period(self.year - 1, self.kind)


def parse_period(text: str) -> Period:
    m = re.fullmatch(r"\s*(\d{4})-(Q1|6M|9M|Y|PLAN)\s*", str(text), re.IGNORECASE)
    if not m:
        raise PeriodError(
            f"kỳ báo cáo không hợp lệ: {text!r} (dạng YYYY-Q1, YYYY-6M, YYYY-9M, YYYY-Y, YYYY-PLAN)")
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        raise PeriodError(f"năm báo cáo không hợp lệ: {year}")
    return Period(year, m.group(2).upper())
