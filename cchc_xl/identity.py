"""Who a workbook belongs to: metadata written by the generator, read back by the validator.

The metadata lives twice — on a (very) hidden sheet ``_cchc`` and in custom document
properties — always as text, because a LibreOffice re-save turns a very-hidden sheet into a
hidden one and integers in document properties into floats. An HMAC-SHA256 tag over unit,
period, province and the tables' ids, versions and layout fingerprints, keyed by the
workspace's secret, means a file cannot be passed off as another unit's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field

META_SHEET = "_cchc"
FORMAT = "cchc_xl/1"
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
        return "|".join([self.format, self.unit, self.part, self.period, self.province, tables]).encode()

    def sign(self, secret: bytes) -> "Metadata":
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
            ("tables", json.dumps([asdict(t) for t in self.tables], ensure_ascii=False)),
            ("generator", self.generator), ("generated_at", self.generated_at), ("tag", self.tag),
        ]

    @classmethod
    def from_pairs(cls, pairs: dict[str, object]) -> "Metadata":
        """Rebuild from text pairs; tolerant of floats and whitespace a re-save may bring."""

        def text(key: str) -> str:
            v = pairs.get(key)
            if v is None:
                raise KeyError(key)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return str(v).strip()

        tables = tuple(
            TableStamp(t["code"], t["blueprint"], int(float(t["version"])), t["sheet"], t["fingerprint"])
            for t in json.loads(text("tables"))
        )
        return cls(unit=text("unit"), unit_name=text("unit_name"), part=text("part"),
                   period=text("period"), province=text("province"), tables=tables,
                   generator=text("generator"), generated_at=text("generated_at"),
                   tag=text("tag"), format=text("format"))
