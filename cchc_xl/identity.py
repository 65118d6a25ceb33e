"""Who a workbook belongs to: metadata written by the generator, read back by the validator.

The metadata lives twice — on a (very) hidden sheet ``_cchc`` and in custom document
properties — always as text, because a LibreOffice re-save turns a very-hidden sheet into a
hidden one and integers in document properties into floats. An HMAC-SHA256 tag over unit,
unit name, period, province, generation time and the tables' ids, versions and layout
fingerprints, keyed by the workspace's secret, means a file cannot be passed off as another
unit's. The tag travels with the metadata, so the validator also checks the metadata against
what the clerk sees: the locked "Đơn vị báo cáo: … Kỳ báo cáo: …" line of every table sheet
(:func:`unit_line`). Metadata and tag copied whole from another file then disagree with it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

META_SHEET = "_cchc"
CHUNK = 240  # Excel caps a custom property value at 255 characters
FORMAT = "cchc_xl/2"
# cchc_xl/1 signed neither the unit's name nor the generation time; its files still verify.
FORMATS = frozenset({"cchc_xl/1", FORMAT})
UNIT_LINE = "Đơn vị báo cáo: "
PERIOD_LINE = ". Kỳ báo cáo: "
PROP_PREFIX = "cchc_"


@dataclass(frozen=True)
class TableStamp:
    code: str
    blueprint: str
    version: int
    sheet: str
    fingerprint: str


@dataclass(frozen=True)
class Metadata:
    unit: str
    unit_name: str
    part: str
    period: str
    province: str
    tables: tuple[TableStamp, ...]
    generator: str
    generated_at: str
    tag: str = ""
    format: str = FORMAT
    extra: dict = field(default_factory=dict)

    @property
    def submission_key(self) -> str:
        return self.unit if self.part == "main" else f"{self.unit}-{self.part}"

    def signed_payload(self) -> bytes:
        tables = ",".join(f"{t.code}:{t.blueprint}:{t.version}:{t.fingerprint}" for t in self.tables)
        fields = [self.format, self.unit, self.part, self.period, self.province, tables]
        if self.format != "cchc_xl/1":
            fields += [self.unit_name, self.generated_at]
        return "|".join(fields).encode()

    def sign(self, secret: bytes) -> Metadata:
        tag = hmac.new(secret, self.signed_payload(), hashlib.sha256).hexdigest()
        return Metadata(**{**self._fields(), "tag": tag})

    def verify(self, secret: bytes) -> bool:
        want = hmac.new(secret, self.signed_payload(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, self.tag or "")

    def _fields(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def as_pairs(self) -> list[tuple[str, str]]:
        """Key/value text pairs, the form both the hidden sheet and the properties hold."""
        return [
            ("format", self.format), ("unit", self.unit), ("unit_name", self.unit_name),
            ("part", self.part), ("period", self.period), ("province", self.province),
            *_chunks("tables", ";".join(_encode_stamp(t) for t in self.tables)),
            ("generator", self.generator), ("generated_at", self.generated_at), ("tag", self.tag),
        ]

    @classmethod
    def from_pairs(cls, pairs: dict[str, object]) -> Metadata:
        """Rebuild from text pairs; tolerant of floats and whitespace a re-save may bring."""

        def text(key: str) -> str:
            v = pairs.get(key)
            if v is None:
                raise KeyError(key)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return str(v).strip()

        joined = text("tables") + "".join(
            str(pairs[k]) for k in sorted((k for k in pairs if k.startswith("tables_")),
                                          key=lambda k: int(k.split("_")[1])))
        tables = tuple(_decode_stamp(t) for t in joined.split(";") if t)
        return cls(unit=text("unit"), unit_name=text("unit_name"), part=text("part"),
                   period=text("period"), province=text("province"), tables=tables,
                   generator=text("generator"), generated_at=text("generated_at"),
                   tag=text("tag"), format=text("format"))


def unit_line(unit_name: str, owner: str, period_label: str) -> str:
    """The start of the line under each table's title that names the unit and the period."""
    return f"{UNIT_LINE}{unit_name}{f' — {owner}' if owner else ''}{PERIOD_LINE}{period_label}"


def names_unit(text: object, unit_name: str, period_label: str) -> bool:
    """Whether a sheet's unit line (see :func:`unit_line`) names this unit and period."""
    if not isinstance(text, str) or not text.startswith(UNIT_LINE):
        return False
    head, sep, tail = text.rpartition(PERIOD_LINE)
    who = head[len(UNIT_LINE):]
    return bool(sep) and (who == unit_name or who.startswith(unit_name + " — ")) and (
        tail == period_label or tail.startswith(period_label + " ("))


def find_unit_line(grid: list[list[object]], rows: int = 8) -> tuple[int, str] | None:
    """Row index and text of the unit line among the first rows of a sheet's first column."""
    for i, row in enumerate(grid[:rows]):
        if row and isinstance(row[0], str) and row[0].startswith(UNIT_LINE):
            return i, row[0]
    return None


def pairs_from_grid(grid: list[list[object]]) -> dict[str, object]:
    """The key/value pairs of a metadata sheet read back as a grid (first row is a header)."""
    out: dict[str, object] = {}
    for row in grid[1:]:
        if len(row) >= 2 and isinstance(row[0], str) and row[0].strip():
            out[row[0].strip()] = row[1]
    return out


def pairs_from_properties(props: dict[str, object]) -> dict[str, object]:
    return {k[len(PROP_PREFIX):]: v for k, v in props.items() if k.startswith(PROP_PREFIX)}


def _encode_stamp(t: TableStamp) -> str:
    return "|".join([t.code, t.blueprint, str(t.version), t.sheet, t.fingerprint])


def _decode_stamp(text: str) -> TableStamp:
    code, blueprint, version, sheet, fingerprint = text.split("|")
    return TableStamp(code, blueprint, int(float(version)), sheet, fingerprint)


def _chunks(key: str, value: str) -> list[tuple[str, str]]:
    parts = [value[i:i + CHUNK] for i in range(0, len(value), CHUNK)] or [""]
    return [(key if i == 0 else f"{key}_{i + 1}", p) for i, p in enumerate(parts)]
