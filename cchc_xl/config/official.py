"""The official list of provinces and communes since 1 July 2025 (package ``vietnam-provinces``).

The package is pinned to one release (pyproject.toml): its data version is part of every registry
written from it (``province.yaml: data``) and shown by ``cchc_xl provinces``. The list is read from
the package's nested JSON (one file, 34 provinces and their 3,321 communes) rather than its Python
lookup module, which builds every ward object at import.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import vietnam_provinces

from ..resources import blueprints_dir
from ..yamlfile import read_yaml

DATA_LABEL = (f"vietnam-provinces {vietnam_provinces.__version__} "
              f"(dữ liệu ngày {vietnam_provinces.__data_version__})")
CITY = "thành phố trung ương"


@dataclass(frozen=True)
class OfficialCommune:
    code: str       # five digits, as the statistics office writes it (06040)
    name: str       # "Xã Thất Khê", "Phường Lương Văn Tri", "Đặc khu Vân Đồn"
    kind: str       # xã | phường | đặc khu


@dataclass(frozen=True)
class OfficialProvince:
    code: str       # two digits (20)
    short: str      # "Lạng Sơn"
    kind: str       # tỉnh | thành phố trung ương
    slug: str       # lang-son

    @property
    def name(self) -> str:
        """The full name: "Tỉnh Lạng Sơn", "Thành phố Hà Nội"."""
        if self.short.startswith("Thành phố "):
            return self.short
        return ("Thành phố " if self.kind == CITY else "Tỉnh ") + self.short

    @property
    def plain(self) -> str:
        return self.short.removeprefix("Thành phố ")

    def communes(self) -> list[OfficialCommune]:
        return list(_communes()[self.code])

    def predecessors(self) -> list[dict]:
        """The provinces this one continues (Nghị quyết 202/2025/QH15), itself included if it was one."""
        return list(_reform()["provinces"][self.code]["predecessors"])


def fold(text: str) -> str:
    """Text compared without case, accents or spacing: "Lạng Sơn" ~ "lang son" ~ "LANG-SON"."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(text.replace("-", " ").replace("_", " ").split())


@lru_cache(maxsize=1)
def _raw() -> list[dict]:
    return json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _communes() -> dict[str, tuple[OfficialCommune, ...]]:
    return {f"{p['code']:02d}": tuple(OfficialCommune(f"{w['code']:05d}", w["name"], w["division_type"])
                                      for w in p["wards"])
            for p in _raw()}


@lru_cache(maxsize=1)
def _reform() -> dict:
    return read_yaml(blueprints_dir() / "reform" / "provinces-2025.yaml")[0]


@lru_cache(maxsize=1)
def provinces() -> tuple[OfficialProvince, ...]:
    out = []
    for p in sorted(_raw(), key=lambda p: p["code"]):
        out.append(OfficialProvince(f"{p['code']:02d}", p["name"], p["division_type"],
                                    p["codename"].replace("_", "-")))
    return tuple(out)


def find_province(text: str) -> OfficialProvince | None:
    """The province a user means by slug, Vietnamese name (with or without "Tỉnh"/"Thành phố")
    or official code; None when nothing matches."""
    key = fold(str(text))
    if key.startswith(("tp ", "tp. ", "t.p. ")):       # "TP Hồ Chí Minh", "Tp. Huế"
        key = "thanh pho " + key.split(" ", 1)[1]
    if key.isdigit():
        key = f"{int(key):02d}"
    for p in provinces():
        aliases = _reform()["provinces"][p.code].get("aliases", [])
        names = {p.code, fold(p.slug), fold(p.short), fold(p.plain), fold(p.name),
                 *(fold(a) for a in aliases), *(fold(a.removeprefix("Tỉnh ")) for a in aliases)}
        if key in names:
            return p
    return None


def successor_of(text: str) -> tuple[str, OfficialProvince] | None:
    """A province that no longer exists by this name (Hà Giang) and the province that continues it."""
    key = fold(str(text))
    for p in provinces():
        for old in p.predecessors():
            plain = old["name"].removeprefix("Tỉnh ").removeprefix("Thành phố ")
            if key in {fold(old["name"]), fold(plain)} and fold(plain) != fold(p.plain):
                return old["name"], p
    return None
