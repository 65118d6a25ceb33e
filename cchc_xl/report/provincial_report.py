"""``cchc_xl report``: the draft provincial report (.docx) of one period.

Heading and end after Nghị định 30/2020/NĐ-CP (:mod:`.admin_document`), issued in the name of the
provincial People's Committee (UBND tỉnh, "Số: …/BC-UBND", signed TM. Ủy ban nhân dân, Chủ tịch),
marked DỰ THẢO. The body: how the units reported (expected, received, on time, late, missing,
held), then the outline's sections in order with the units' texts, the province totals and the
lead agencies' syntheses (:mod:`.report_content`). Figures are the roll-up's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..blueprint.model import CellType
from ..config.period import Period
from ..config.workspace import Workspace
from ..labels import STATUS_LABELS
from ..merge.formats import is_number
from ..merge.rollup import ProvinceTable, column_header
from .admin_document import TEXT_WIDTH_MM, AdminDocument, DocumentHeading
from .numbers import vi_number
from .report_content import Completeness, LeadSynthesis, ReportContent, ReportSection, build_content
from .round_facts import Narrative, ReportError, RoundFacts, open_round

REPORT_SYMBOL = "BC-UBND"
NO_TEXT = "(Chưa có cơ quan, đơn vị nào báo cáo nội dung này.)"
END_MARK = "./."


@dataclass
class ReportResult:
    path: str
    period: str
    outline: str
    sections: int
    tables: int
    narratives: int

    def as_dict(self) -> dict:
        return {"path": self.path}


# -- names of the province's bodies ---------------------------------------------------------------


def place_name(province_name: str) -> str:
    """"Tỉnh Lạng Sơn" → "Lạng Sơn" (the place of the date line)."""
    for prefix in ("Tỉnh ", "Thành phố ", "tỉnh ", "thành phố "):
        if province_name.startswith(prefix):
            return province_name[len(prefix):]
    return province_name


def committee(province_name: str) -> str:
    """"Tỉnh Lạng Sơn" → "Ủy ban nhân dân tỉnh Lạng Sơn"."""
    return f"Ủy ban nhân dân {_lower_first(province_name)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def period_phrase(period: Period) -> str:
    """"Năm 2024" → "năm 2024"; "Quý I năm 2024" → "quý I năm 2024" (inside a sentence)."""
    return _lower_first(period.label)


# -- the document ------------------------------------------------------------------------------------


def report_path(facts: RoundFacts) -> Path:
    ws = facts.workspace
    base = ws.rollup if ws.root else facts.ledger_file.parent / "rollup"
    return base / f"bao-cao_{ws.province.id}_{facts.period}.docx"


def write_report(ws: Workspace, period: Period, out: Path | None = None) -> ReportResult:
    """Write the draft report of ``period`` from the workspace's ledger; returns where."""
    if period.is_plan:
        raise ReportError(f"Kỳ {period} là kỳ kế hoạch CCHC năm: không có báo cáo kết quả theo đề cương "
                          "(hãy chọn kỳ YYYY-Q1, YYYY-6M, YYYY-9M hoặc YYYY-Y).")
    with open_round(ws, period) as facts:
        content = build_content(facts)
        path = Path(out) if out else report_path(facts)
        doc = _document(content, path)
        doc.save(path)
    return ReportResult(str(path), str(period), content.outline.id, len(content.sections),
                        len(facts.tables), len(facts.narratives))


def _document(content: ReportContent, path: Path) -> AdminDocument:
    facts = content.facts
    prov = facts.workspace.province.info
    d = facts.data
    heading = DocumentHeading(
        superior=None, issuer=["Ủy ban nhân dân", prov.name], symbol=REPORT_SYMBOL, place=place_name(prov.name),
        year=d.generated_at.year, kind="Báo cáo",
        summary=f"Kết quả thực hiện công tác cải cách hành chính {period_phrase(d.period)}",
        recipients=["Bộ Nội vụ (b/c)", "Thường trực Tỉnh ủy (b/c)", "Thường trực HĐND tỉnh (b/c)",
                    "Chủ tịch, các Phó Chủ tịch UBND tỉnh", prov.secretariat,
                    "Các cơ quan, đơn vị thuộc diện báo cáo", "Lưu: VT"],
        authority=["TM. Ủy ban nhân dân", "Chủ tịch"],
        draft_note=(f"Dự thảo do cchc_xl lập lúc {d.generated_at:%H:%M} ngày {d.generated_at:%d/%m/%Y} từ sổ theo dõi "
                    f"({content.completeness.received} báo cáo được tổng hợp); số liệu khớp bảng tổng hợp "
                    f"tong-hop_{prov.id}_{d.period}.xlsx. {prov.secretariat} rà soát, hoàn chỉnh trước khi trình ký."))
    doc = AdminDocument(heading)
    w0, w1 = d.window
    doc.paragraph(
        f"Thực hiện chế độ báo cáo công tác cải cách hành chính (CCHC), trên cơ sở báo cáo của các cơ quan, đơn vị "
        f"(số liệu từ ngày {w0:%d/%m/%Y} đến ngày {w1:%d/%m/%Y}; hạn gửi báo cáo ngày {d.deadline:%d/%m/%Y}), "
        f"{committee(prov.name)} báo cáo kết quả thực hiện công tác CCHC {period_phrase(d.period)} như sau:")
    _completeness(doc, content.completeness, facts)
    counter = [0]
    open_area: ReportSection | None = None
    for rs in content.sections:
        if open_area is not None and rs.section.level <= open_area.section.level:
            _area_end(doc, open_area, counter, facts)
            open_area = None
        _section(doc, rs)
        if rs.section.area and (rs.tables or rs.leads):
            open_area = rs
    if open_area is not None:
        _area_end(doc, open_area, counter, facts)
    if content.other_tables or content.other_leads or content.other_narratives:
        doc.heading("", "SỐ LIỆU VÀ NỘI DUNG KHÁC", 0)
        for t in content.other_tables:
            _figures(doc, t, counter)
            _comparison(doc, t, facts)
        for syn in content.other_leads:
            _lead(doc, syn)
        for key, n in content.other_narratives:
            _narrative(doc, n, prefix=f"{_section_title(facts, n.outline_code, key)} — ")
    doc.paragraph(f"Trên đây là báo cáo kết quả thực hiện công tác cải cách hành chính {period_phrase(d.period)} "
                  f"của {committee(prov.name)}{END_MARK}", before=6)
    doc.closing()
    return doc


def _section_title(facts: RoundFacts, outline_code: str, key: str) -> str:
    bp = facts.catalogue.by_code.get(outline_code)
    sec = next((s for s in bp.sections if s.key == key), None) if bp else None
    return f"{sec.number} {sec.title}".strip() if sec else key


def _completeness(doc: AdminDocument, c: Completeness, facts: RoundFacts) -> None:
    doc.heading("", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ", 0)
    rate = c.on_time_rate
    doc.paragraph(
        f"Trong kỳ có {c.expected} báo cáo phải gửi; đã nhận và tổng hợp {c.received} báo cáo "
        f"({c.counts['on_time']} đúng hạn, {c.counts['late']} trễ hạn); {c.counts['missing']} báo cáo chưa gửi"
        + (f"; {c.counts['held']} tệp đang tạm giữ do chưa xác thực được" if c.counts["held"] else "")
        + (f"; {c.counts['rejected']} tệp bị từ chối" if c.counts["rejected"] else "")
        + (f". Tỷ lệ gửi đúng hạn đạt {vi_number(rate, CellType.percent)}%." if rate is not None else "."))
    rows = [["Số báo cáo phải gửi", str(c.expected)],
            ["Đã nhận và tổng hợp", str(c.received)],
            [f"Trong đó: {STATUS_LABELS['on_time'].lower()}", str(c.counts["on_time"])],
            [f"Trong đó: {STATUS_LABELS['late'].lower()}", str(c.counts["late"])],
            [STATUS_LABELS["missing"], str(c.counts["missing"])],
            ["Tạm giữ (chưa xác thực)", str(c.counts["held"])],
            [STATUS_LABELS["rejected"], str(c.counts["rejected"])],
            [STATUS_LABELS["withdrawn"], str(c.counts["withdrawn"])],
            ["Báo cáo còn lỗi (đã tổng hợp)", str(c.with_errors)],
            ["Tỷ lệ gửi đúng hạn (%)", vi_number(rate, CellType.percent) if rate is not None else ""]]
    doc.table([[("Nội dung", 1), ("Số lượng", 1)]], rows, (TEXT_WIDTH_MM - 40, 40), size=12,
              bold_rows={0, 1})
    lists = [("Các cơ quan, đơn vị gửi trễ hạn", [f"{n} ({days} ngày)" for n, days in c.late]),
             ("Các cơ quan, đơn vị chưa gửi báo cáo", c.missing),
             ("Tệp đang tạm giữ (chưa xác thực)", c.held),
             ("Tệp bị từ chối (không đọc được)", c.rejected)]
    for label, names in lists:
        if names:
            doc.paragraph([(f"{label}: ", {"bold": True}), ("; ".join(names) + ".", {})])


def _section(doc: AdminDocument, rs: ReportSection) -> None:
    s = rs.section
    doc.heading(s.number, s.title, s.level)
    if rs.is_heading and not rs.narratives:
        return
    if not rs.narratives:
        doc.paragraph(NO_TEXT, italic=True)
        return
    for n in rs.narratives:
        _narrative(doc, n)


def _narrative(doc: AdminDocument, n: Narrative, prefix: str = "") -> None:
    lines = [ln.strip() for ln in n.text.split("\n") if ln.strip()]
    doc.paragraph([(f"{prefix}{n.author}: ", {"bold": True}), (lines[0], {})])
    for ln in lines[1:]:
        doc.paragraph(ln)


def _area_end(doc: AdminDocument, rs: ReportSection, counter: list[int], facts: RoundFacts) -> None:
    for t in rs.tables:
        _figures(doc, t, counter)
        _comparison(doc, t, facts)
    for syn in rs.leads:
        _lead(doc, syn)


def _lead(doc: AdminDocument, syn: LeadSynthesis) -> None:
    doc.paragraph([(f"Tổng hợp lĩnh vực {_lower_first(syn.field_label)} trên địa bàn toàn tỉnh "
                    f"(cơ quan chủ trì: {syn.unit_name})", {"bold": True, "italic": True})], keep_with_next=True)
    if not syn.parts:
        why = "chưa gửi báo cáo" if syn.status not in ("on_time", "late") else "chưa có nội dung tổng hợp lĩnh vực"
        doc.paragraph(f"({syn.unit_name} {why}; trạng thái: {STATUS_LABELS.get(syn.status, syn.status)}.)", italic=True)
        return
    for title, n in syn.parts:
        _narrative(doc, n, prefix=f"{title} — ")


MAX_COLUMNS = 6          # value columns a portrait A4 table holds at a readable size


def _figures(doc: AdminDocument, t: ProvinceTable, counter: list[int]) -> None:
    counter[0] += 1
    doc.paragraph([(f"Bảng {counter[0]}. Phụ lục {', '.join(t.codes)}: {t.title}", {"bold": True}),
                   (f" (tổng hợp toàn tỉnh từ {len(t.units)} đơn vị có số liệu; chi tiết tại bảng tổng hợp, "
                    f"trang “{t.sheet}”; tỷ lệ tính lại từ số tổng)", {"italic": True})],
                  indent=False, size=12, keep_with_next=True, before=4, after=3)
    if len(t.columns) > MAX_COLUMNS and len([ln for ln in t.lines if ln.kind != "heading"]) <= 3:
        _transposed(doc, t)
        return
    chunks, cur = [], []
    for lc in t.columns:            # wide tables: several tables of whole column groups
        group = lc.header[0] if lc.header else None
        if cur and len(cur) >= MAX_COLUMNS and not (group and cur[-1].header and cur[-1].header[0] == group
                                                     and len(cur) < MAX_COLUMNS + 3):
            chunks.append(cur)
            cur = []
        cur.append(lc)
    if cur or not chunks:
        chunks.append(cur)
    for cols in chunks:
        _columns_table(doc, t, cols)


COMPARED_TYPES = (CellType.count, CellType.amount, CellType.decimal, CellType.percent)
MAX_COMPARED = 12        # rows of a comparison: the table's totals, not every line


def _comparison(doc: AdminDocument, t: ProvinceTable, facts: RoundFacts) -> None:
    """The table's totals beside the previous period's and the same period's of last year, as the
    roll-up's "So sánh" sheet computes them (the same ledger totals, the same formulas)."""
    d = facts.data
    others = [(label, values) for label, values in
              ((d.previous_period.label if d.previous_period else None, t.previous),
               (d.last_year_period.label if d.last_year_period else None, t.last_year)) if values and label]
    if not others:
        return
    lines = [ln for ln in t.lines if ln.kind in ("total", "pooled")] or \
        [ln for ln in t.lines if ln.kind != "heading"][:3]
    rows = []
    for ln in lines:
        for lc in t.columns:
            k = (ln.key, lc.key)
            ctype = t.types.get(k)
            cur = t.values.get(k)
            if ctype not in COMPARED_TYPES or not any(is_number(v) for v in (cur, *(o.get(k) for _, o in others))):
                continue
            label = column_header(lc) if len(lines) == 1 else f"{ln.label} › {column_header(lc)}"
            row = [str(len(rows) + 1), label, vi_number(cur, ctype)]
            for _, o in others:
                row += [vi_number(o.get(k), ctype), _change(cur, o.get(k), ctype)]
            rows.append(row)
    if not rows:
        return
    rows = rows[:MAX_COMPARED]
    names = "; ".join(label for label, _ in others)
    doc.paragraph([(f"So sánh với {_lower_first(names)}", {"bold": True, "italic": True}),
                   ((f" (số liệu lấy từ biểu {', '.join(t.continued)} mà biểu kỳ này kế tục)" if t.continued else "")
                    + "; tỷ lệ so sánh theo điểm phần trăm.", {"italic": True})],
                  indent=False, size=12, keep_with_next=True, before=4, after=3)
    header = [("TT", 1), ("Chỉ tiêu", 1), (d.period.label, 1)]
    for label, _ in others:
        header += [(label, 1), ("Tăng (+), giảm (−)", 1)]
    value_w = 22.0
    widths = (10, TEXT_WIDTH_MM - 10 - value_w * (1 + 2 * len(others)), *([value_w] * (1 + 2 * len(others))))
    doc.table([header], rows, widths, size=10, align_right_from=2)


def _change(cur, other, ctype) -> str:
    """"+12", "−3", "+2,5 điểm" (a rate changes by percentage points); blank without both figures."""
    if not (is_number(cur) and is_number(other)):
        return ""
    diff = cur - other
    text = vi_number(abs(diff), ctype)
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    return f"{sign}{text}" + (" điểm" if ctype == CellType.percent else "")


def _transposed(doc: AdminDocument, t: ProvinceTable) -> None:
    """One row per column of the table, one column per line (a table with few lines, many columns)."""
    lines = [ln for ln in t.lines if ln.kind != "heading"]
    rows = [[str(i + 1), column_header(lc), *(vi_number(t.values.get((ln.key, lc.key)), t.types.get((ln.key, lc.key)))
                                              for ln in lines)] for i, lc in enumerate(t.columns)]
    value_w = 32.0
    label_w = TEXT_WIDTH_MM - 10 - value_w * len(lines)
    doc.table([[("TT", 1), ("Chỉ tiêu", 1), *((ln.label, 1) for ln in lines)]], rows,
              (10, label_w, *([value_w] * len(lines))), size=11, align_right_from=2)


def _columns_table(doc: AdminDocument, t: ProvinceTable, cols: list) -> None:
    n = len(cols)
    size = 11 if n <= 4 else 10
    avail = TEXT_WIDTH_MM - 10
    label_w = max(50.0, avail - n * 24) if n else avail
    col_w = (avail - label_w) / n if n else 0
    grouped = any(lc.header for lc in cols)
    top: list[tuple[str, int]] = [("TT", 1), ("Nội dung", 1)]
    second: list[tuple[str, int]] = [("", 0), ("", 0)]
    i = 0
    while i < n:
        group = cols[i].header[0] if cols[i].header else None
        j = i
        while j + 1 < n and group and cols[j + 1].header and cols[j + 1].header[0] == group:
            j += 1
        if group:
            top.append((group, j - i + 1))
            second += [(" › ".join([*lc.header[1:], lc.label]), 1) for lc in cols[i:j + 1]]
        else:
            top.append((cols[i].label, 1))
            second.append(("", 0))
        i = j + 1
    header = [top, second] if grouped else [top]
    rows, bold = [], set()
    for k, ln in enumerate(t.lines):
        rows.append([ln.stt, ln.label, *(vi_number(t.values.get((ln.key, lc.key)), t.types.get((ln.key, lc.key)))
                                          for lc in cols)])
        if ln.kind in ("total", "pooled", "heading"):
            bold.add(k)
    doc.table(header, rows, (10, label_w, *([col_w] * n)), size=size, bold_rows=bold, align_right_from=2)
