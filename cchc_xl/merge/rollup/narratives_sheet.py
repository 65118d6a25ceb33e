"""The "Nội dung báo cáo" sheet: each unit's outline texts, section by section."""

from __future__ import annotations

from ...blueprint.catalogue import default_catalogue
from ..formats import style_indices
from ..pieces import text_rows
from .cells import chunks, fit_row, fitted_height, print_setup
from .context import Context
from .names import NARRATIVE_WIDTH, NARRATIVES_SHEET


def build(ctx: Context) -> None:
    """Each unit's outline texts, section by section (merge.narratives reads them, as for the report)."""
    ws = ctx.plan.add_sheet(NARRATIVES_SHEET)
    f = ctx.f
    ctx.title(ws, "NỘI DUNG BÁO CÁO CỦA CÁC ĐƠN VỊ THEO ĐỀ CƯƠNG")
    widths = {0: 8, 1: 34, 2: 30, 3: NARRATIVE_WIDTH}
    cat = default_catalogue().for_programme(ctx.data.programme)
    sections: dict[str, tuple[tuple[int, int], str, str]] = {}   # key -> (order, number, title)
    outlines: list[str] = []
    by_section: dict[str, list] = {}
    for n in ctx.data.narratives:
        bp = cat.by_code.get(n.outline_code)
        if bp is not None and bp.id not in outlines:
            outlines.append(bp.id)
        if n.section not in sections:
            sec = next((x for x in (bp.sections if bp else []) if x.key == n.section), None)
            if sec is None:      # a file made under another programme's version of the outline
                sec = next((x for v in cat.versions.get(n.outline_code, {}).values() for x in v.sections
                            if x.key == n.section), None)
            idx = next((i for i, x in enumerate(bp.sections) if x.key == n.section), 999) if bp else 999
            order = (outlines.index(bp.id) if bp else len(outlines), idx)
            sections[n.section] = (order, sec.number if sec else "", sec.title if sec else n.section)
        by_section.setdefault(n.section, []).append(n)
    authors = {n.author for n in ctx.data.narratives}
    ctx.note(
        ws, 2,
        f"{len(ctx.data.narratives)} đoạn nội dung của {len(authors)} đơn vị, theo mục của đề cương (trang "
        "Đề cương của từng tệp đã được tính). Văn bản đúng như đơn vị đã viết; dự thảo báo cáo toàn tỉnh "
        "(cchc_xl report) dùng cùng nội dung này.",
        3, sum(widths.values()))
    ctx.note(
        ws, 3,
        "Trang này để đọc và lọc trên màn hình (lọc theo Mục hoặc Đơn vị); lệnh In chỉ in phần ghi chú "
        "này. Bản in của nội dung là dự thảo báo cáo toàn tỉnh (cchc_xl report), xếp theo mục đề cương; "
        "muốn in một mục: lọc rồi chọn vùng cần in và in vùng chọn.",
        3, sum(widths.values()))
    headers = ["Mục", "Tên mục", "Đơn vị", "Nội dung"]
    head = 5
    for c, h in enumerate(headers):
        ws.write_string(head, c, h, f.header)
    r = head + 1
    if not ctx.data.narratives:
        ws.merge_range(r, 0, r, 3, "Chưa đơn vị nào gửi nội dung đề cương trong kỳ báo cáo (chưa có tệp được "
                       "tính, hoặc trang Đề cương của các tệp đã nhận còn để trống).", f.note_wrap)
        fit_row(ws, r, [("Chưa đơn vị nào gửi nội dung đề cương trong kỳ báo cáo (chưa có tệp được tính, "
                          "hoặc trang Đề cương của các tệp đã nhận còn để trống).", sum(widths.values()))])
        r += 1
    # the texts, rendered as sheet XML and spliced in on closing (pieces.text_rows: XlsxWriter took
    # most of a merge after one new file to write them); the section's title in a bold cell whose
    # text runs on over the empty cells beside it, in place of a merged row
    style = style_indices()
    heading, text, wrap = style["section_row"], style["text"], style["wrap"]
    rows: list[tuple[float | None, tuple[tuple[int, str], ...]]] = []
    for key in sorted(by_section, key=lambda k: sections[k][0]):
        _order, number, title = sections[key]
        rows.append((None, ((heading, number), (heading, title))))
        for n in by_section[key]:
            for i, chunk in enumerate(chunks(n.text, widths[3])):
                part = title if i == 0 else f"{title} (tiếp)"
                rows.append((fitted_height([(chunk, widths[3]), (part, widths[1]), (n.author, widths[2])], cap=409),
                             ((text, number), (wrap, part), (wrap, n.author), (wrap, chunk))))
    if rows:
        ws.add_detail(head + 2, text_rows(NARRATIVES_SHEET, rows), None)
        r += len(rows)
    for c, w in widths.items():
        ws.set_column(c, c, w)
    ws.freeze_panes(head + 1, 0)
    ws.set_autofilter(head, 0, max(r - 1, head + 1), 3)
    ws.set_print_area(0, 0, 3, 3)             # the texts are for the screen; the report prints them
    print_setup(ws, None)
