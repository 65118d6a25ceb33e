"""The provincial roll-up workbook: what the secretariat and the analysts open in Excel.

``write_rollup(data, path)`` writes, atomically, one workbook from a :class:`RollupData`, in three
stages: :func:`build_plan` makes the workbook as data (``plan.py``: sheets, blocks and cells, each
formula with its cached value), one module per sheet; ``xlsx.py``, the one module that drives
XlsxWriter, renders the plan; ``splice.py`` puts the pre-rendered rows in (detail tables, narratives) and
packages it.
The sheets:

* ``Tình hình nộp báo cáo`` (``status_sheet.py``) — COUNTIF summaries, the breakdown by unit type, two charts and the units
  to chase (what prints, one or two A4 pages), above one row per expected submission (screen only);
* one sheet per table template (``template_sheet.py``, its model and formulas in ``template.py``) — a "Tổng hợp" block (province totals as SUMIFS over the detail
  table, computed columns recompiled from the blueprint's own expressions so that rates come from
  totals; codes marked ``sums_into_province: false`` left out of them; subtotals by unit type and,
  for commune tables, by district) above the detail table (one row per unit and table row, with the
  file and cells each figure came from; screen only, outside the print area);
* ``Tổng hợp toàn tỉnh`` (``totals_sheets.py``) — province totals grouped by reform area;
* ``Lĩnh vực <unit type>`` — what each lead agency synthesises for its field;
* ``Nội dung báo cáo`` (``narratives_sheet.py``) — the units' outline texts by section (``narratives.read_narratives``),
  rendered as sheet XML and spliced in as the detail rows are (``pieces.text_rows``);
* ``So sánh`` (``compare_sheet.py``) — this period against the previous period and the same period last year;
* the figures to check (``findings_sheet.py``) and ``Lỗi`` (``problems_sheet.py``) — every problem found in the files.

Every sheet prints on A4 landscape fitted to the width, header rows repeated, its name in the page
header; a note on each sheet says what its print area holds.

Every formula carries the value Python computed with the same expressions as its cached value,
so a reader that does not recalculate (pandas, a previewer) sees the right numbers. Every text a
unit typed is written with ``write_string``: nothing a unit sends becomes a formula or a link.
"""


from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ...atomic import replacing
from ..areas import Areas, programme_areas
from ..model import RollupData
from ..pieces import DATA_HEADERS
from ..splice import write_package
from . import (
    compare_sheet,
    findings_sheet,
    narratives_sheet,
    problems_sheet,
    status_sheet,
    template_sheet,
    totals_sheets,
)
from .compare_sheet import quarter_basis
from .context import Context
from .names import (
    BLOCK_HEADERS,
    COMPARE_SHEET,
    NARRATIVES_SHEET,
    PROBLEMS_SHEET,
    PROVINCE_SCOPE,
    PROVINCE_SHEET,
    STATUS_NAMES_WIDTH,
    STATUS_SHEET,
    SUMMARY_KEY_HEADER,
    column_header,
    field_sheet_name,
)
from .plan import WorkbookPlan
from .template import lead_fields, template_title, type_order
from .totals import ProvinceLine, ProvinceTable, other_period_values, province_tables
from .xlsx import render

__all__ = [
    "BLOCK_HEADERS",
    "COMPARE_SHEET",
    "DATA_HEADERS",
    "NARRATIVES_SHEET",
    "PROBLEMS_SHEET",
    "PROVINCE_SCOPE",
    "PROVINCE_SHEET",
    "STATUS_NAMES_WIDTH",
    "STATUS_SHEET",
    "SUMMARY_KEY_HEADER",
    "ProvinceLine",
    "ProvinceTable",
    "build_plan",
    "column_header",
    "field_sheet_name",
    "other_period_values",
    "province_tables",
    "quarter_basis",
    "template_title",
    "type_order",
    "write_field_workbooks",
    "write_rollup",
]


def build_plan(data: RollupData, *, only_field: str | None = None, areas: Areas | None = None) -> WorkbookPlan:
    """The roll-up workbook as data (see ``plan.py``), sheet by sheet.

    With ``only_field`` (a lead unit type, e.g. ``"STP"``) the workbook holds only the submission
    status and that field's sheet, with values in place of cross-sheet formulas."""
    areas = areas or programme_areas(data.programme)
    fields = lead_fields(data, areas)
    if only_field is not None and only_field not in fields:
        raise ValueError(
            f"không có lĩnh vực của cơ quan chủ trì {only_field!r}; "
            f"các lĩnh vực: {', '.join(fields) or '(không có)'}"
        )
    ctx = Context(data, areas, fields, only_field)
    created = data.generated_at.replace(tzinfo=None) if isinstance(data.generated_at, dt.datetime) else None
    ctx.plan.properties = {
        "title": f"Tổng hợp báo cáo cải cách hành chính {data.period.label}",
        "subject": f"{data.province_name} — {data.period.label}",
        "company": data.province_name,
        "comments": "Tạo bởi cchc_xl",
        **({"created": created} if created else {}),
    }
    status_sheet.build(ctx)
    if only_field is not None:
        totals_sheets.build_field(ctx, only_field, fields[only_field], formulas=False)
        return ctx.plan
    for tpl in ctx.templates:
        template_sheet.build(ctx, tpl)
    totals_sheets.build_province(ctx)
    for key, lead in fields.items():
        totals_sheets.build_field(ctx, key, lead, formulas=True)
    narratives_sheet.build(ctx)
    compare_sheet.build(ctx)
    findings_sheet.build(ctx)
    problems_sheet.build(ctx)
    return ctx.plan


def write_rollup(
    data: RollupData, path: Path, *, only_field: str | None = None, areas: Areas | None = None
) -> Path:
    """Write the roll-up workbook to ``path`` (atomically) and return the path (``only_field``: see
    :func:`build_plan`)."""
    path = Path(path)
    package, details = render(build_plan(data, only_field=only_field, areas=areas))
    with replacing(path) as tmp:
        write_package(package, tmp, details, data.piece_rows)
    return path


def write_field_workbooks(data: RollupData, out_dir: Path, *, areas: Areas | None = None) -> list[Path]:
    """One workbook per lead agency's field (``--split-by-field``): status sheet + the field sheet."""
    out_dir = Path(out_dir)
    areas = areas or programme_areas(data.programme)
    out = []
    for key in lead_fields(data, areas):
        name = _safe_file_part(f"tong-hop-{data.province_id}-{data.period}-linh-vuc-{key}") + ".xlsx"
        out.append(write_rollup(data, out_dir / name, only_field=key, areas=areas))
    return out


def _safe_file_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "-", text).strip("-")
