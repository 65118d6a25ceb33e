"""Today's configuration of a province: two tiers, the 2021–2030 programme, the official communes.

``render(p)`` gives the four YAML files (province, units, calendar, regime) that ``cchc_xl init``
writes into a workspace and that an embedded province of the official list is loaded from. The
regime, calendar and department list are templates in ``blueprints/today/``; the communes and
the province's name, code and predecessors come from the official list (config/official.py).
"""

from __future__ import annotations

import datetime as dt
import json

from ..resources import blueprints_dir
from ..yamlfile import read_yaml
from .official import DATA_LABEL, OfficialProvince

# the first day of two-tier local government: every commune of the official list dates from it
TWO_TIERS_SINCE = dt.date(2025, 7, 1)
REFORM_DATE = dt.date(2025, 6, 12)   # Nghị quyết 202/2025/QH15: the 34 provinces
FILES = ("province.yaml", "units.yaml", "calendar.yaml", "regime.yaml")


def template_dir():
    return blueprints_dir() / "today"


def _province(p: OfficialProvince) -> str:
    preds = [{"code": x["code"], "name": x["name"], "until": REFORM_DATE.isoformat()}
             for x in p.predecessors() if len(p.predecessors()) > 1]
    info = {
        "id": p.slug,
        "name": p.name,
        "secretariat": f"Sở Nội vụ {p.name[0].lower() + p.name[1:]}",
        "contact": "Phòng Cải cách hành chính, Sở Nội vụ — điện thoại, thư điện tử (Sở Nội vụ điền)",
        "tiers": 2,
        "programme": "2021-2030",
        "code": p.code,
        "data": DATA_LABEL,
        "source": {"seed": "domain.md", "section": "Since 2025: the structure users live in today",
                   "line": 178, "quote": "communes report to the province directly",
                   "note": f"Danh mục đơn vị hành chính cấp xã theo {DATA_LABEL}."},
    }
    if preds:
        info["predecessors"] = preds
    head = (f"# {p.name}: chính quyền địa phương hai cấp (tỉnh, xã) từ 01/7/2025, Chương trình tổng thể\n"
            "# cải cách hành chính giai đoạn 2021-2030. Written by `cchc_xl init`; edit freely.\n")
    return head + "\n".join(_yaml_line(k, v) for k, v in info.items()) + "\n"


def _yaml_line(key: str, value) -> str:
    if isinstance(value, list):
        return f"{key}:\n" + "\n".join(f"  - {_flow(x)}" for x in value)
    if isinstance(value, dict):
        return f"{key}: {_flow(value)}"
    if isinstance(value, int):
        return f"{key}: {value}"
    return f"{key}: {json.dumps(value, ensure_ascii=False)}"


def _flow(item: dict) -> str:
    """One registry entry on one line, as the embedded registries write them (JSON is YAML)."""
    def value(v) -> str:     # a bool or number as itself, anything else as a JSON string (a name may say "True")
        return json.dumps(v if isinstance(v, bool | int) else str(v), ensure_ascii=False)

    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in item.items()) + "}"


def _units(p: OfficialProvince) -> str:
    departments = read_yaml(template_dir() / "departments.yaml")[0]["units"]
    communes = [{"code": c.code, "name": c.name, "type": "X", "official": True,
                 "since": TWO_TIERS_SINCE.isoformat()} for c in p.communes()]
    head = ("# Đơn vị báo cáo. Các sở, ban, ngành: danh sách chung sau sắp xếp năm 2025, Sở Nội vụ sửa cho\n"
            "# đúng với tỉnh (thêm, bớt, đổi tên; cơ quan Trung ương trên địa bàn: loại TW).\n"
            f"# Xã, phường, đặc khu: {len(communes)} đơn vị theo danh mục chính thức ({DATA_LABEL});\n"
            "# mã là mã đơn vị hành chính của Tổng cục Thống kê. Một đơn vị kế thừa đơn vị cũ ghi\n"
            "# succeeds: [mã cũ, …]; số liệu các kỳ trước ngày 'since' được so sánh qua các đơn vị đó.\n")
    lines = ["units:", "  # --- sở, ban, ngành; Văn phòng UBND tỉnh; Trung tâm Phục vụ hành chính công"]
    lines += [f"  - {_flow(u)}" for u in departments]
    lines.append("  # --- xã, phường, đặc khu (danh mục chính thức)")
    lines += [f"  - {_flow(u)}" for u in communes]
    return head + "\n".join(lines) + "\n"


def render(p: OfficialProvince) -> dict[str, str]:
    """The four configuration files of today's ``p``, as YAML text."""
    tpl = template_dir()
    return {
        "province.yaml": _province(p),
        "units.yaml": _units(p),
        "calendar.yaml": (tpl / "calendar.yaml").read_text(encoding="utf-8"),
        "regime.yaml": (tpl / "regime.yaml").read_text(encoding="utf-8"),
    }
