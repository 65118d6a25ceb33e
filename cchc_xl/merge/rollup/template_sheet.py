"""One sheet per table template: the summary blocks (what prints) above the detail table."""

from __future__ import annotations

from ...blueprint.model import CellType
from ..formats import SUMMABLE
from ..pieces import C_LABEL, C_NAME, C_PARENT, C_ROW, C_TYPE, DATA_HEADERS, TRAIL_HEADERS, VALUE_COL0
from .cells import Widths, fit_row, print_setup, put_formula, put_text
from .context import Context
from .names import (
    BLOCK_HEADERS,
    DETAIL_BLOCK,
    PROVINCE_SCOPE,
    SUMMARY_KEY_HEADER,
    TEMPLATE_KEY_WIDTH,
    column_header,
)
from .template import SummaryBlock, Template, template_title


def build(ctx: Context, tpl: Template) -> None:
    """Summaries first (what prints), then the detail table (screen and filters, not printed)."""
    ws = ctx.plan.add_sheet(tpl.sheet)
    f = ctx.f
    lay = tpl.layout
    codes = ", ".join(tpl.codes)
    subtitle = (lay.blueprint.subtitle or "").rstrip(".")
    headers_block = [*BLOCK_HEADERS, *(column_header(c) for c in tpl.cols)]
    widths = Widths()
    for p in tpl.parts:
        for c, w in p.widths.items():
            widths.see_width(c, w)
    fixed = {C_TYPE: 16, C_PARENT: 14, C_ROW: TEMPLATE_KEY_WIDTH, C_LABEL: 42,
             tpl.trail0 + 1: max(14, TEMPLATE_KEY_WIDTH)}
    for lc in tpl.cols:
        c = tpl.col_index[lc.key]
        fixed[c] = (
            14
            if (lc.spec.type or CellType.count) in SUMMABLE | {CellType.percent}
            else max(16, min(40, (lc.spec.width or 24)))
        )
    widths.see(C_NAME, "Tên đơn vị, nhóm", cap=40)
    fixed[C_NAME] = max(24, min(36, widths.get(C_NAME, 24)))
    widths.see(0, PROVINCE_SCOPE, cap=30)   # the block's scope column: type names, unit codes
    for _title, blocks in tpl.groups:
        for b in blocks:
            widths.see(0, b.value, cap=30)
    fixed[0] = max(12, widths.get(0, 12))
    print_width = sum(fixed.get(c, 8) for c in range(tpl.trail0))
    label_width = fixed[C_ROW] + fixed[C_LABEL]
    ctx.title(ws, f"Phụ lục {codes}: {template_title(tpl)}", (tpl.trail0 - 1, print_width))

    n_sections = 1 + len(tpl.groups)
    roman = ["I", "II", "III", "IV", "V", "VI"]
    note = (
        f"Số đơn vị có số liệu: {len(tpl.units)}. "
        + (f"{subtitle}. " if subtitle else "")
        + "Số tổng hợp là công thức SUMIFS trên bảng dữ liệu chi tiết ở cuối trang; các cột tính toán "
        "(tổng, tỷ lệ) được tính lại từ số tổng theo đúng công thức của biểu, không lấy trung bình các tỷ lệ."
    )
    n_printed = 1 + tpl.printed_groups
    screen = [f"{roman[i]} (theo từng đơn vị)" for i in range(n_printed, n_sections)]
    screen.append(f"{roman[n_sections]} (dữ liệu chi tiết)")
    printed = (
        f"Trang in gồm phần tổng hợp {roman[0]}" + (f"–{roman[n_printed - 1]}" if n_printed > 1 else "")
        + f"; phần {', '.join(screen)} để xem và lọc trên màn hình, không in."
        + (f" {tpl.apart_note()}" if tpl.apart else "")
    )
    ctx.note(ws, 2, note, tpl.trail0 - 1, print_width)
    ctx.note(ws, 3, printed, tpl.trail0 - 1, print_width)

    # -- plan the rows: province block, subtotal blocks, detail table
    r = 5
    sections: list[tuple[int, str, int, list[SummaryBlock]]] = []  # (heading row, title, header row, blocks)
    sections.append((r, "I. TỔNG HỢP TOÀN TỈNH", r + 1, [tpl.province]))
    r += 2
    for ln in tpl.province.lines:
        tpl.province.rows[ln.key] = r
        r += 1
    for i, (title, blocks) in enumerate(tpl.groups):
        r += 1
        sections.append((r, f"{roman[i + 1]}. {title}", r + 1, blocks))
        r += 2
        for b in blocks:
            for ln in b.lines:
                b.rows[ln.key] = r
                r += 1
    last_summary = r - 1
    r += 1
    printed_last = (sections[n_printed][0] - 2) if n_printed < len(sections) else last_summary
    detail_heading = r
    detail_head = r + 1
    tpl.data_first = detail_head + 1
    tpl.data_last = detail_head + max(1, tpl.n_rows)

    # -- summary blocks
    for heading_row, title, header_row, blocks in sections:
        ws.write_string(heading_row, 0, title, f.section)
        for c, h in enumerate(headers_block):
            if c == C_ROW:
                ws.merge_range(header_row, C_ROW, header_row, C_LABEL, headers_block[C_ROW], f.header)
            elif c != C_LABEL:
                ws.write_string(header_row, c, h, f.header)
        ws.write_string(header_row, tpl.key_col, SUMMARY_KEY_HEADER, f.header)
        fit_row(ws, header_row, [(h, fixed.get(c, 14)) for c, h in enumerate(headers_block)
                                  if c not in (C_ROW, C_LABEL)])
        for b in blocks:
            b.values = tpl.evaluate(b)
            _write_block(ctx, ws, tpl, b, fixed, label_width)
            rows = list(b.rows.values())
            ws.add_block(f"{title} › {b.value}", min(rows), max(rows), 0, tpl.key_col)
    if not tpl.units:
        ws.write_string(sections[0][2] + 1, C_NAME, "Chưa đơn vị nào gửi số liệu của biểu này.", f.note)

    # -- detail table
    ws.write_string(
        detail_heading,
        0,
        f"{roman[n_sections]}. DỮ LIỆU CHI TIẾT THEO ĐƠN VỊ "
        "(mỗi dòng là một dòng của biểu do một đơn vị gửi; để xem và lọc, không in)",
        f.section,
    )
    data_headers = [*DATA_HEADERS, *(column_header(c) for c in tpl.cols), *TRAIL_HEADERS]
    ctx.add_table(ws, detail_head, 0, tpl.n_rows, data_headers, tpl.sheet)
    fit_row(ws, detail_head, [(h, 14) for h in data_headers[VALUE_COL0 : tpl.trail0]])
    # the rows themselves were rendered with each submission (pieces.py): spliced in on closing
    ws.add_detail(tpl.data_first + 1, tpl.parts, len(data_headers))
    ws.add_block(DETAIL_BLOCK, detail_head, tpl.data_last, 0, len(data_headers) - 1)
    widths.apply(ws, fixed=fixed)
    ws.freeze_panes(7, 0)
    ws.set_print_area(0, 0, printed_last, tpl.trail0 - 1)
    print_setup(ws, (6, 6))


def _write_block(ctx: Context, ws, tpl: Template, block: SummaryBlock, fixed: dict[int, float], label_width: float) -> None:
    f = ctx.f
    for ln in block.lines:
        r = block.rows[ln.key]
        bold = ln.kind in ("total", "pooled")
        put_text(ws, r, 0, block.value, f.label[0])
        put_text(ws, r, 1, block.name, f.label[0])
        put_text(ws, r, 2, ln.stt, f.center)
        if block.units:
            ws.write_number(r, 3, block.units, f.int)
        else:
            ws.write_blank(r, 3, None, f.int)
        put_text(ws, r, tpl.key_col, ln.row_key, f.text)       # the SUMIFS criterion (technical)
        label_fmt = (
            f.label_bold if ln.kind in ("heading", "total", "pooled") else f.label[min(ln.level, 3)]
        )
        label = ln.label
        if ln.kind == "pooled" and tpl.mode == "pooled" and tpl.communes:
            label = f"{ln.label} (các xã, phường, thị trấn)"
        ws.merge_range(r, C_ROW, r, C_LABEL, label, label_fmt)
        # the merged label cells less their padding (2), less the indent of the level
        fit_row(ws, r, [(label, label_width - 2 - 2 * ln.level), (block.value, fixed.get(0, 12)),
                         (block.name, fixed.get(C_NAME, 24))])
        for col in tpl.col_keys:
            c = tpl.col_index[col]
            formula = tpl.formula(block, ln, col) if ln.kind != "heading" else None
            if formula is None:
                ws.write_blank(r, c, None, f.text if ln.kind != "heading" else f.label_bold)
                continue
            put_formula(
                ws,
                r,
                c,
                formula,
                f.sum(tpl.cell_type(ln, col), bold=bold),
                block.values.get((ln.key, col)),
            )
