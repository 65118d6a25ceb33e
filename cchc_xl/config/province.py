"""A province's configuration: province, units registry, calendar and regime (YAML files)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..blueprint.model import Source
from ..errors import NotFound
from ..resources import provinces_dir
from ..yamlfile import ConfigError, load_model, parse_yaml_cached
from .defaults import DEFAULT_EMBEDDED, SEED_CONFIGS  # noqa: F401 - public here too
from .period import KINDS, Period

# Unit types are data: each province's regime.yaml declares its own (name, parts, parent type).


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Predecessor(_Strict):
    code: str
    name: str
    until: dt.date | None = None    # last day it existed as such


class ProvinceInfo(_Strict):
    id: str = Field(pattern=r"^[a-z0-9\-]+$")
    name: str
    secretariat: str
    contact: str
    tiers: Literal[2, 3] = 3
    programme: Literal["2011-2020", "2021-2030"]
    source: Source
    code: str | None = Field(None, pattern=r"^\d{2}$")   # official (GSO) code, when known
    data: str | None = None      # where the unit list comes from (package and data version)
    # the provinces this one continues (Nghị quyết 202/2025/QH15), for comparisons across the merger
    predecessors: list[Predecessor] = Field(default_factory=list)


class Unit(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9\-]*$")
    name: str
    type: str = Field(pattern=r"^[A-Z][A-Z0-9]*$")   # declared in regime.yaml's unit_types
    parent: str | None = None
    sample: bool = False
    official: bool = False      # name and code taken from the official list (config/official.py)
    # first day the unit exists in this form (a merged commune: 2025-07-01); figures of periods
    # that end before it are its predecessors', never those of an older unit with the same code
    since: dt.date | None = None
    succeeds: list[str] = Field(default_factory=list)   # codes of the former units it continues

    @property
    def row_key(self) -> str:
        """The unit as a row key of a table (03-H has a row per commune)."""
        return unit_row_key(self.code)


def unit_row_key(code: str) -> str:
    """A unit code as the row key of a table with a row per unit (a district's 03-H: its communes)."""
    return "u_" + code.lower().replace("-", "_")


class Units(_Strict):
    units: list[Unit] = Field(min_length=1)


_MD = r"^\d{2}-\d{2}(@-1)?$"


class EarlierRule(_Strict):
    """The deadline of a period kind under an earlier guideline, for the years up to ``until_year``
    (seed 001: plans from 2013 on are due by 31/12 of the year before)."""

    until_year: int
    deadline: str
    note: str
    source: Source
    assumed: bool = False      # the years it covers are an assumption (shown as such)


class KindDates(_Strict):
    label: str
    window: tuple[str, str]
    deadline: str
    note: str
    source: Source
    window_assumed: bool = False
    earlier: list[EarlierRule] = Field(default_factory=list)


class Override(_Strict):
    window: tuple[dt.date, dt.date]
    deadline: dt.date
    note: str
    source: Source | None = None


class FieldReport(_Strict):
    """The lead agencies' thematic (province-wide field) report of a period kind: due on its own
    deadline, earlier than the periodic report (seed 002: 05/12 against 15/12)."""

    deadline: str
    note: str
    unit_types: list[str] = Field(default_factory=list, description="The unit types that owe it")
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
    # empty: the type is known but sends no report (a commune of a three-tier province is a row
    # of its district's 03-H)
    parts: list[Part] = Field(default_factory=list)
    parent: str | None = None   # the unit type every unit of this type belongs to (X under H)
    by_unit: bool = False       # the roll-up shows each unit's own totals (communes of two tiers)


class PlanRegime(_Strict):
    tables: list[str]
    unit_types: list[str]
    outline: str | None = None     # the plan's narrative outline (đề cương kế hoạch), or none


class Regime(_Strict):
    source: Source
    plan: PlanRegime
    unit_types: dict[str, UnitTypeRegime]

    def all_codes(self) -> set[str]:
        codes = set(self.plan.tables) | ({self.plan.outline} if self.plan.outline else set())
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
    assumed: bool                  # the window is an assumption (the guideline states none)
    deadline_assumed: bool = False  # the deadline comes from a rule whose reach is an assumption

    def days_late(self, received: dt.date) -> int:
        return days_late(received, self.deadline)


@dataclass(frozen=True)
class FieldReportDates:
    period: Period
    deadline: dt.date
    note: str

    def days_late(self, received: dt.date) -> int:
        return days_late(received, self.deadline)


def days_late(received: dt.date, deadline: dt.date) -> int:
    """Whole days after the deadline (0 on or before it): the one rule of lateness."""
    return max(0, (received - deadline).days)


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
    texts: dict[str, str] = field(default_factory=dict, repr=False)   # the YAML it was read from

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
            raise NotFound(f"đơn vị {code!r} không có trong danh mục đơn vị của {self.info.name}") from None

    def judging_stamp(self, code: str | None) -> str:
        """What a file's verdict depends on in this configuration: the unit's entry (its existence,
        type, parent, start) and what its type owes. A verdict reached under another stamp is
        reached again; a renamed unit keeps its verdicts (a name is not judged)."""
        u = self.unit_by_code.get(code or "")
        if u is None:
            return "absent"
        key = json.dumps([u.parent, str(u.since), self._type_stamp(u.type)])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _type_stamp(self, unit_type: str) -> str:
        """What a unit type owes (its regime entry and the annual plan's), as text: once per type."""
        cache = self.__dict__.setdefault("_type_stamps", {})
        if unit_type not in cache:
            ut = self.regime.unit_types.get(unit_type)
            cache[unit_type] = json.dumps([self.info.id, unit_type, ut.model_dump() if ut else None,
                                           self.regime.plan.model_dump()], sort_keys=True, ensure_ascii=False)
        return cache[unit_type]

    @cached_property
    def type_labels(self) -> dict[str, str]:
        """Unit type -> its name, in the regime's order (the order of every breakdown)."""
        return {t: ut.name for t, ut in self.regime.unit_types.items()}

    @cached_property
    def by_unit_types(self) -> frozenset[str]:
        """The unit types whose units the roll-up totals one by one (the communes of two tiers)."""
        return frozenset(t for t, ut in self.regime.unit_types.items() if ut.by_unit)

    @cached_property
    def _communes(self) -> dict[str, list[Unit]]:
        """A district's communes: the units whose type belongs under the district's type."""
        out: dict[str, list[Unit]] = {}
        for u in self.units:
            ut = self.regime.unit_types.get(u.type)
            if u.parent and ut is not None and ut.parent:
                out.setdefault(u.parent, []).append(u)
        return out

    def communes_of(self, code: str) -> list[Unit]:
        return list(self._communes.get(code, []))

    def reporting_units(self) -> list[Unit]:
        types = self.regime.unit_types
        return [u for u in self.units if u.type in types and types[u.type].parts]

    # -- calendar -----------------------------------------------------------------------------

    def dates(self, period: Period) -> PeriodDates:
        ov = self.calendar.overrides.get(str(period))
        kd = self.calendar.kinds.get(period.kind)
        if kd is None:
            raise NotFound(f"lịch báo cáo của {self.info.name} không có kỳ {period.kind}")
        if ov:
            return PeriodDates(period, ov.window[0], ov.window[1], ov.deadline, ov.note, False)
        deadline, note, deadline_assumed = kd.deadline, kd.note, False
        rule = min((r for r in kd.earlier if period.year <= r.until_year), key=lambda r: r.until_year, default=None)
        if rule is not None:
            deadline, note, deadline_assumed = rule.deadline, rule.note, rule.assumed
        return PeriodDates(period, _md(kd.window[0], period.year), _md(kd.window[1], period.year),
                           _md(deadline, period.year), note, kd.window_assumed, deadline_assumed)

    def field_report(self, unit_type: str, period: Period) -> FieldReportDates | None:
        """The thematic field report ``unit_type`` owes for ``period`` (its own deadline), if any."""
        fr = self.calendar.field_reports.get(period.kind)
        if fr is None or unit_type not in fr.unit_types:
            return None
        return FieldReportDates(period, _md(fr.deadline, period.year), fr.note)

    # -- regime -------------------------------------------------------------------------------

    def obligations(self, unit: Unit, period: Period) -> list[Obligation]:
        if period.is_plan:
            if unit.type not in self.regime.plan.unit_types:
                return []
            plan = self.regime.plan
            return [Obligation(unit, "main", "", plan.outline, tuple(plan.tables))]
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
        """What every unit owes for ``period``; a unit that only exists from after the period's window
        (a commune formed on 1 July 2025, for 2025-Q1) owes nothing for it."""
        try:
            end = self.dates(period).window_end
        except KeyError:
            end = None
        return [o for u in self.reporting_units() if not (end and u.since and u.since > end)
                for o in self.obligations(u, period)]


def _md(text: str, year: int) -> dt.date:
    m = re.fullmatch(r"(\d{2})-(\d{2})(@-1)?", text)
    if not m:
        raise ValueError(f"ngày {text!r} không đúng dạng MM-DD (tháng-ngày, thêm @-1 cho năm trước)")
    return dt.date(year - (1 if m.group(3) else 0), int(m.group(1)), int(m.group(2)))


def load_province(ref: str | Path, cache_dir: Path | None = None) -> Province:
    """A province's configuration: a folder of the four YAML files, an embedded seed configuration
    by name, or any province of the official list (slug, name or code) as it is today.

    With ``cache_dir`` (a workspace's), a folder's parsed YAML is cached there, keyed on each file's
    text (``yamlfile.parse_yaml_cached``): the configuration is validated exactly as without it."""
    root = Path(ref)
    if (root / "province.yaml").exists():
        return _from_texts(root, {n: (root / n).read_text(encoding="utf-8") for n in CONFIG_FILES}, cache_dir)
    if str(ref) in SEED_CONFIGS:
        return load_province(provinces_dir() / str(ref))
    from . import official, today  # the official list is read only when a province is built from it

    p = official.find_province(str(ref))
    if p is None:
        former = official.successor_of(str(ref))
        if former:
            raise ConfigError(ref, [f" {former[0]} đã được sắp xếp vào {former[1].name} (Nghị quyết 202/2025/QH15); "
                                    f"dùng --province {former[1].slug}"])
        raise ConfigError(ref, [" không có tỉnh, thành phố này trong danh mục chính thức hay cấu hình nhúng sẵn; "
                                "xem danh sách bằng 'cchc_xl provinces'"])
    return _from_texts(today.template_dir() / p.slug, today.render(p))


CONFIG_FILES = ("province.yaml", "units.yaml", "calendar.yaml", "regime.yaml")


def _from_texts(root: Path, texts: dict[str, str], cache_dir: Path | None = None) -> Province:
    def model(name, cls):
        data, lines = parse_yaml_cached(texts[name], root / name,
                                        cache_dir / f"{name}.json" if cache_dir else None)
        return load_model(root / name, cls, data, lines)

    prov = Province(root, model("province.yaml", ProvinceInfo), model("units.yaml", Units).units,
                    model("calendar.yaml", Calendar), model("regime.yaml", Regime))
    prov.texts = texts
    _check(prov)
    return prov


def _check(prov: Province) -> None:
    problems = []
    seen = set()
    for u in prov.units:
        if u.code in seen:
            problems.append(f"units.yaml: mã đơn vị {u.code} bị trùng")
        seen.add(u.code)
    types = prov.regime.unit_types
    for t, ut in types.items():
        if ut.parent and ut.parent not in types:
            problems.append(f"regime.yaml: loại đơn vị {t} thuộc loại {ut.parent} không có trong unit_types")
        if ut.parent and prov.info.tiers == 2:
            problems.append(f"regime.yaml: tỉnh hai cấp (tiers: 2) không có cấp trung gian: loại {t} "
                            f"không thể thuộc loại {ut.parent}")
    for u in prov.units:
        ut = types.get(u.type)
        if ut is None:
            problems.append(f"units.yaml: đơn vị {u.code} có loại {u.type} không khai báo trong regime.yaml "
                            f"(các loại: {', '.join(types)})")
            continue
        if u.parent and u.parent not in seen:
            problems.append(f"units.yaml: đơn vị {u.code} có đơn vị cấp trên {u.parent} không có trong danh sách")
        elif ut.parent and not u.parent:
            problems.append(f"units.yaml: đơn vị {u.code} ({ut.name}) chưa ghi đơn vị cấp trên (parent)")
        elif ut.parent and prov.unit_by_code[u.parent].type != ut.parent:
            problems.append(f"units.yaml: đơn vị cấp trên {u.parent} của {u.code} không phải loại {ut.parent}")
    for kind, kd in prov.calendar.kinds.items():
        try:
            start, end = _md(kd.window[0], 2024), _md(kd.window[1], 2024)
            _md(kd.deadline, 2024)
        except ValueError as exc:
            problems.append(f"calendar.yaml: {kind}: {exc}")
            continue
        if not start <= end or (end - start).days > 400:
            problems.append(f"calendar.yaml: {kind}: khoảng lấy số liệu {kd.window} không hợp lệ")
        for rule in kd.earlier:
            try:
                _md(rule.deadline, 2024)
            except ValueError as exc:
                problems.append(f"calendar.yaml: {kind}: earlier: {exc}")
    for kind, fr in prov.calendar.field_reports.items():
        try:
            _md(fr.deadline, 2024)
        except ValueError as exc:
            problems.append(f"calendar.yaml: field_reports.{kind}: {exc}")
        for t in fr.unit_types:
            if t not in types:
                problems.append(f"calendar.yaml: field_reports.{kind}: loại đơn vị {t} không có trong regime.yaml")
    for key, ov in prov.calendar.overrides.items():
        if not ov.window[0] <= ov.window[1] or (ov.window[1] - ov.window[0]).days > 400:
            problems.append(f"calendar.yaml: ngoại lệ {key}: khoảng lấy số liệu {ov.window} không hợp lệ")
    if problems:
        raise ConfigError(prov.root, [f" {p}" for p in problems])
