"""Checking one typed input against its cell type: the value the rules will use, and problems.

The one judge of a single cell: the validator calls it on every returned input, and the generator
on the values it writes, for the cached results of the workbook's own Kiểm tra lines."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .blueprint.expr import XLError
from .blueprint.model import CellType
from .config.province import PeriodDates
from .layout import CellSpec
from .read.text import legacy_encoding, normalise_text, parse_number

EXCEL_EPOCH = dt.date(1899, 12, 30)
MONTH_RANGE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{4})\s*[-–—]\s*(\d{1,2})\s*/\s*(\d{4})\s*$")
DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*$")
LEAD_SPLIT = re.compile(r"[,;\n+]|\s(?:và|với|cùng)\s", re.IGNORECASE)


NUMBER_TYPES = (CellType.count, CellType.amount, CellType.decimal, CellType.percent, CellType.yesno)


def is_blank(raw: object) -> bool:
    """Nothing typed: no value, or only whitespace."""
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


@dataclass
class Checked:
    value: object = None                        # the value the figures use (None = blank or invalid)
    problems: list[tuple[str, dict]] = field(default_factory=list)   # (code, params)
    seen: object = None                         # what Excel's formulas see in the cell (see ``rule_input``)

    @property
    def rule_input(self) -> object:
        """The value the table's rules are judged on: what the workbook's own formulas see, so that
        a rule's verdict here is its Kiểm tra line's (a negative that still adds up passes the sum,
        and is a problem of its own at its cell). Repaired text gives its number."""
        return self.value if self.value is not None else self.seen

    def add(self, code: str, **params) -> None:
        self.problems.append((code, params))


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def check_value(raw: object, spec: CellSpec, dates: PeriodDates, vocab: list[str] | None = None,
                error: str | None = None) -> Checked:
    """``error``: the error value (``#DIV/0!``) the package holds at the cell, which calamine reads as
    a blank (python-calamine issue #105); it is a problem at the cell, never a blank."""
    out = Checked()
    if isinstance(raw, (str, int, float)):
        out.seen = raw                  # a rejected text or number is still what a formula sees
    elif isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        out.seen = _serial(raw)
    if error is not None:
        out.add("value.error_value", value=error)
        out.seen = XLError(error)
        return out
    if is_blank(raw):
        if spec.required:
            out.add("value.required_blank")
        out.seen = raw or None          # spaces are text to a formula (a sum of them is #VALUE!)
        return out
    t = spec.type
    if t in NUMBER_TYPES:
        return _number(raw, spec, out)
    if t == CellType.date:
        return _date(raw, dates, out)
    if t == CellType.month_range:
        return _month_range(raw, dates, out)
    text = str(raw) if not isinstance(raw, float) else _fmt(raw)
    text, changed = normalise_text(text)
    if changed:
        out.add("outline.nfd_normalised")
    enc = legacy_encoding(text)
    if enc:
        out.add("outline.legacy_encoding", encoding=enc)
    if t in (CellType.choice, CellType.unit_ref) and vocab is not None:
        if text.strip() not in vocab:
            out.add("value.choice_unknown", value=text, expected=", ".join(vocab[:8]) + ("…" if len(vocab) > 8 else ""))
    out.value = text
    return out


def _number(raw: object, spec: CellSpec, out: Checked) -> Checked:
    t = spec.type
    integer = t in (CellType.count, CellType.amount, CellType.yesno)
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        # a date-formatted cell: never converted to its serial number (formulas see the serial)
        shown = raw.strftime("%d/%m/%Y %H:%M:%S" if isinstance(raw, dt.datetime) else
                             "%d/%m/%Y" if isinstance(raw, dt.date) else "%H:%M:%S") \
            if not isinstance(raw, dt.timedelta) else str(raw)
        out.add("value.date_in_number_cell", value=shown)
        out.seen = _serial(raw)
        return out
    if isinstance(raw, str):
        parsed = parse_number(raw, integer=integer)
        if not parsed.ok or parsed.value is None:
            out.add("value.not_a_number", value=raw)
            out.seen = raw
            return out
        out.add("value.text_repaired", value=raw, repaired=_fmt(parsed.value))
        v = parsed.value
    elif isinstance(raw, bool):
        v = int(raw)
    else:
        v = raw
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    out.seen = v
    if t == CellType.yesno:
        if v not in (0, 1):
            out.add("value.yesno_invalid", value=_fmt(v))
            return out
    elif t == CellType.percent:
        if 0 < v < 1:
            out.add("value.percent_as_fraction", value=_fmt(v), expected=_fmt(round(v * 100, 4)))
        elif v < 0 or v > 100:
            out.add("value.percent_out_of_range", value=_fmt(v))
            return out
    else:
        if v < 0 and (spec.min is None or spec.min >= 0):
            out.add("value.negative", value=_fmt(v))
            return out
        if integer and isinstance(v, float):
            out.add("value.not_integer", value=_fmt(v))
            return out
        lo, hi = spec.min, spec.max
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            out.add("value.out_of_range", value=_fmt(v),
                    expected=f"{_fmt(lo) if lo is not None else '…'} – {_fmt(hi) if hi is not None else '…'}")
            return out
    out.value = v
    return out


def _serial(raw: dt.date | dt.datetime | dt.time | dt.timedelta) -> float:
    """The number Excel stores for a date, time or duration (days since 1899-12-30)."""
    if isinstance(raw, dt.timedelta):
        return raw.total_seconds() / 86400
    if isinstance(raw, dt.time):
        return (raw.hour * 3600 + raw.minute * 60 + raw.second) / 86400
    if isinstance(raw, dt.datetime):
        return (raw - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    return float((raw - EXCEL_EPOCH).days)


def _date(raw: object, dates: PeriodDates, out: Checked) -> Checked:
    d = None
    if isinstance(raw, dt.datetime):
        d = raw.date()
    elif isinstance(raw, dt.date):
        d = raw
    elif isinstance(raw, (int, float)) and 1 < raw < 80000:
        d = EXCEL_EPOCH + dt.timedelta(days=int(raw))
    elif isinstance(raw, str) and (m := DATE_TEXT.match(raw)):
        try:
            d = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            out.add("value.text_repaired", value=raw, repaired=d.strftime("%d/%m/%Y"))
        except ValueError:
            d = None
    if d is None:
        out.add("value.date_invalid", value=_fmt(raw))
        return out
    if not dates.window_start <= d <= dates.window_end:
        out.add("value.date_outside_window", value=d.strftime("%d/%m/%Y"),
                expected=f"{dates.window_start:%d/%m/%Y} – {dates.window_end:%d/%m/%Y}")
    out.value = d
    return out


def _month_range(raw: object, dates: PeriodDates, out: Checked) -> Checked:
    text = str(raw)
    m = MONTH_RANGE.match(text)
    year = dates.period.year
    if not m:
        out.add("value.month_range_invalid", value=text, expected=f"01/{year} - 06/{year}")
        return out
    m1, y1, m2, y2 = (int(x) for x in m.groups())
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12 and y1 == year and y2 == year and (y1, m1) <= (y2, m2)):
        out.add("value.month_range_invalid", value=text, expected=f"trong năm {year}, tháng đầu ≤ tháng cuối")
        return out
    out.value = f"{m1:02d}/{y1} - {m2:02d}/{y2}"
    return out


AGENCY_START = re.compile(r"^(sở|phòng|ubnd|ủy ban|uỷ ban|văn phòng|ban|trung tâm|thanh tra|cục|chi cục|"
                          r"bảo hiểm|đài|báo|công an|bộ chỉ huy|hội|liên đoàn|đoàn|kho bạc|ngân hàng|"
                          r"các phòng|các sở|các cơ quan|cơ quan|đơn vị)\b", re.IGNORECASE)


def several_agencies(text: object) -> bool:
    """A lead-agency cell naming more than one agency ("không … một việc giao cho nhiều cơ quan").

    Agency names themselves contain "và" (Sở Tài nguyên và Môi trường): a part counts only when
    it starts like an agency name."""
    if not isinstance(text, str):
        return False
    parts = [p.strip() for p in LEAD_SPLIT.split(text) if p and p.strip()]
    named = [p for p in parts if AGENCY_START.match(p)]
    return len(named) > 1
