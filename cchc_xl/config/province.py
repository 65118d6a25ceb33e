"""A province's configuration: province, units registry, calendar and regime (YAML files)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..blueprint.model import Source
from ..resources import provinces_dir
from ..yamlfile import ConfigError, load_model
from .period import KINDS, Period

UNIT_TYPES = ("S", "H", "STP", "VP", "STC", "STTTT", "SKHCN", "SNV", "TTPVHCC", "TW", "X")
UNIT_TYPE_LABELS = {
    "S": "Sở, ban, ngành", "H": "UBND cấp huyện", "STP": "Sở Tư pháp", "VP": "Văn phòng UBND tỉnh",
    "STC": "Sở Tài chính", "STTTT": "Sở Thông tin và Truyền thông", "SKHCN": "Sở Khoa học và Công nghệ",
    "SNV": "Sở Nội vụ", "TTPVHCC": "Trung tâm Phục vụ hành chính công", "TW": "Cơ quan Trung ương",
    "X": "UBND cấp xã",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProvinceInfo(_Strict):
    id: str = Field(pattern=r"^[a-z0-9\-]+$")
    name: str
    secretariat: str
    contact: str
    tiers: Literal[2, 3] = 3
    programme: Literal["2011-2020", "2021-2030"]
    source: Source


class Unit(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9\-]*$")
    name: str
    type: Literal[UNIT_TYPES]  # type: ignore[valid-type]
    parent: str | None = None
    sample: bool = False

    @property
    def row_key(self) -> str:
        """The unit as a row key of a table (03-H has a row per commune)."""
        return "u_" + self.code.lower().replace("-", "_")


class Units(_Strict):
    units: list[Unit] = Field(min_length=1)


_MD = r"^\d{2}-\d{2}(@-1)?$"


class KindDates(_Strict):
    label: str
    window: tuple[str, str]
    deadline: str
    note: str
    source: Source
    window_assumed: bool = False


class Override(_Strict):
    window: tuple[dt.date, dt.date]
    deadline: dt.date
    note: str
    source: Source | None = None


class FieldReport(_Strict):
    deadline: str
    note: str
    source: Source | None = None


class Calendar(_Strict):
    kinds: dict[Literal[KINDS], KindDates]  # type: ignore[valid-type]
    overrides: dict[str, Override] = Field(default_factory=dict)
    field_reports: dict[str, FieldReport] = Field(default_factory=dict)


class Part(_Strict):
    key: str
    owner: str
    outline: str | None = None
    tables: dict[Literal["Q1", "6M", "9M", "Y"], list[str]]  # type: ignore[valid-type]


class UnitTypeRegime(_Strict):
    name: str
    parts: list[Part] = Field(min_length=1)


class PlanRegime(_Strict):
    tables: list[str]
    unit_types: list[str]


class Regime(_Strict):
    source: Source
    plan: PlanRegime
    unit_types: dict[str, UnitTypeRegime]

    def all_codes(self) -> set[str]:
        codes = set(self.plan.tables)
        for ut in self.unit_types.values():
            for p in ut.parts:
                if p.outline:
                    codes.add(p.outline)
                for lst in p.tables.values():
                    codes.update(lst)
        return codes


@dataclass(frozen=True)
class PeriodDates:
    period: Period
    window_start: dt.date
    window_end: dt.date
    deadline: dt.date
    note: str
    assumed: bool

    def days_late(self, received: dt.date) -> int:
        return max(0, (received - self.deadline).days)


@dataclass(frozen=True)
class Obligation:
    """What one unit (or one owning office of it) owes for a period."""

    unit: Unit
    part: str
    owner: str
    outline: str | None
    tables: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return ((self.outline,) if self.outline else ()) + self.tables

    @property
    def submission_key(self) -> str:
        return self.unit.code if self.part == "main" else f"{self.unit.code}-{self.part}"


@dataclass
class Province:
    root: Path
    info: ProvinceInfo
    units: list[Unit]
    calendar: Calendar
    regime: Regime

    @property
    def id(self) -> str:
        return self.info.id

    @cached_property
    def unit_by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    def unit(self, code: str) -> Unit:
        try:
            return self.unit_by_code[code]
        except KeyError:
            raise KeyError(f"đơn vị {code!r} không có trong danh mục đơn vị của {self.info.name}") from None

    @cached_property
    def _communes(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {}
        for u in self.units:
            if u.type == "X" and u.parent:
                out.setdefault(u.parent, []).append(u)
        return out

    def communes_of(self, code: str) -> list[Unit]:
        return list(self._communes.get(code, []))

    def reporting_units(self) -> list[Unit]:
        return [u for u in self.units if u.type in self.regime.unit_types]

    # -- calendar -----------------------------------------------------------------------------

    def dates(self, period: Period) -> PeriodDates:
        ov = self.calendar.overrides.get(str(period))
        kd = self.calendar.kinds.get(period.kind)
        if kd is None:
            raise KeyError(f"lịch báo cáo của {self.info.name} không có kỳ {period.kind}")
        if ov:
            return PeriodDates(period, ov.window[0], ov.window[1], ov.deadline, ov.note, False)
        return PeriodDates(period, _md(kd.window[0], period.year), _md(kd.window[1], period.year),
                           _md(kd.deadline, period.year), kd.note, kd.window_assumed)

    # -- regime -------------------------------------------------------------------------------

    def obligations(self, unit: Unit, period: Period) -> list[Obligation]:
        if period.is_plan:
            if unit.type not in self.regime.plan.unit_types:
                return []
            return [Obligation(unit, "main", "", None, tuple(self.regime.plan.tables))]
        ut = self.regime.unit_types.get(unit.type)
        if ut is None:
            return []
        out = []
        for p in ut.parts:
            tables = tuple(p.tables.get(period.kind, []))
            if tables or p.outline:
                out.append(Obligation(unit, p.key, p.owner, p.outline, tables))
        return out

    def expected(self, period: Period) -> list[Obligation]:
        return [o for u in self.reporting_units() for o in self.obligations(u, period)]


def _md(text: str, year: int) -> dt.date:
    m = re.fullmatch(r"(\d{2})-(\d{2})(@-1)?", text)
    if not m:
        raise ValueError(f"ngày {text!r} không đúng dạng MM-DD (tháng-ngày, thêm @-1 cho năm trước)")
    return dt.date(year - (1 if m.group(3) else 0), int(m.group(1)), int(m.group(2)))


def load_province(ref: str | Path) -> Province:
    """Load a province by id (embedded default) or from a folder of the four YAML files."""
    root = Path(ref)
    if not (root / "province.yaml").exists():
        root = provinces_dir() / str(ref)
        if not (root / "province.yaml").exists():
            known = sorted(p.name for p in provinces_dir().iterdir() if (p / "province.yaml").exists())
            raise ConfigError(ref, [f" tỉnh không có trong cấu hình; có: {', '.join(known)}"])
    info = load_model(root / "province.yaml", ProvinceInfo)
    units = load_model(root / "units.yaml", Units).units
    calendar = load_model(root / "calendar.yaml", Calendar)
    regime = load_model(root / "regime.yaml", Regime)
    prov = Province(root, info, units, calendar, regime)
    _check(prov)
    return prov


def _check(prov: Province) -> None:
    problems = []
    seen = set()
    for u in prov.units:
        if u.code in seen:
            problems.append(f"units.yaml: mã đơn vị {u.code} bị trùng")
        seen.add(u.code)
    for u in prov.units:
        if u.parent and u.parent not in seen:
            problems.append(f"units.yaml: đơn vị {u.code} có đơn vị cấp trên {u.parent} không có trong danh sách")
        if u.type == "X" and not u.parent:
            problems.append(f"units.yaml: xã {u.code} chưa ghi huyện (parent)")
    for kind, kd in prov.calendar.kinds.items():
        try:
            start, end = _md(kd.window[0], 2024), _md(kd.window[1], 2024)
            _md(kd.deadline, 2024)
        except ValueError as exc:
            problems.append(f"calendar.yaml: {kind}: {exc}")
            continue
        if not start <= end or (end - start).days > 400:
            problems.append(f"calendar.yaml: {kind}: khoảng lấy số liệu {kd.window} không hợp lệ")
    for key, ov in prov.calendar.overrides.items():
        if not ov.window[0] <= ov.window[1] or (ov.window[1] - ov.window[0]).days > 400:
            problems.append(f"calendar.yaml: ngoại lệ {key}: khoảng lấy số liệu {ov.window} không hợp lệ")
    for t in prov.regime.unit_types:
        if t not in UNIT_TYPES:
            problems.append(f"regime.yaml: loại đơn vị {t} không có; các loại: {', '.join(UNIT_TYPES)}")
    if problems:
        raise ConfigError(prov.root, [f" {p}" for p in problems])
