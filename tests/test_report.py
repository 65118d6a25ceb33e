"""``cchc_xl report`` and ``cchc_xl remind``: a small round (generate, sample-fill, merge), then the
documents read back with python-docx and compared with what the round holds — the outline's
order, each unit's own text under its section, the roll-up workbook's province totals (openpyxl),
merge's own counts of who reported — and the layout of Nghị định 30/2020/NĐ-CP. LibreOffice
turns both documents into PDF, read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from cchc_xl.blueprint.catalogue import default_catalogue
from cchc_xl.blueprint.expr import Ref
from cchc_xl.blueprint.model import CellType
from cchc_xl.cli import main
from cchc_xl.config.period import parse_period
from cchc_xl.generate.round import Builder
from cchc_xl.layout import OUTLINE_COL
from cchc_xl.merge.receipts import record_receipt
from cchc_xl.merge.rollup import BLOCK_HEADERS, PROVINCE_SCOPE
from cchc_xl.merge.run import merge
from cchc_xl.report.admin_document import FONT, MOTTO, MOTTO_LINE2, PAGE_MM
from cchc_xl.report.numbers import parse_vi_number, vi_number
from cchc_xl.validate.annotate import ERRORS_SHEET
from tests.helpers import workspace
from tests.libreoffice import convert, require_libreoffice
from tests.test_validate import addr_of, filled

PERIOD = "2024-Y"
# unit -> days after the deadline it was received (negative: before)
SENT = {"H-TPLS": -3, "S-XD": 4, "STP": -1, "S-YT": -2, "TTPVHCC": -5}
TEXTS = {
    ("S-XD", "DC-S", "kho_khan_vuong_mac"): "Sở Xây dựng thiếu 02 biên chế làm công tác một cửa trong năm.",
    ("STP", "DC-STP", "tong_hop_linh_vuc_toan_tinh"): "Toàn tỉnh đã rà soát 117 văn bản quy phạm pháp luật.",
    ("H-TPLS", "DC-H", "chi_dao_dieu_hanh"): "Thành phố ban hành 3 kế hoạch CCHC.\nTổ chức 2 hội nghị giao ban.",
}


def _outline_addr(ws, unit: str, code: str, section: str) -> str:
    b = Builder(ws, parse_period(PERIOD))
    return b.layout(code, ws.province.unit(unit)).addr(Ref(section, OUTLINE_COL))


@pytest.fixture(scope="module")
def round_(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    ws = workspace(tmp)
    deadline = dt.datetime.combine(ws.province.dates(parse_period(PERIOD)).deadline, dt.time(9))
    for i, (unit, days) in enumerate(SENT.items()):
        edits = {(code, _outline_addr(ws, u, code, sec)): text for (u, code, sec), text in TEXTS.items() if u == unit}
        if unit == "H-TPLS":        # an error the unit must fix: a negative count
            edits[("02-H", addr_of("02-H", "dat_dai", "truoc_han"))] = -7
        src = filled(tmp / "src", unit=unit, ws=ws, seed=i, edits=edits)
        target = ws.inbox / f"bao cao {i}.xlsx"
        shutil.copyfile(src, target)
        record_receipt(ws.inbox, target, deadline + dt.timedelta(days=days))
    res = merge(ws, ws.inbox, period=parse_period(PERIOD))
    runner = CliRunner()
    rep = runner.invoke(main, ["report", "--period", PERIOD, "--workspace", str(ws.root), "--json"])
    assert rep.exit_code == 0, rep.output
    rem = runner.invoke(main, ["remind", "--period", PERIOD, "--workspace", str(ws.root), "--json"])
    assert rem.exit_code == 0, rem.output
    return {"ws": ws, "merge": res, "report": Path(json.loads(rep.stdout)["path"]),
            "remind": json.loads(rem.stdout)}


def _paragraphs(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def _all_text(doc) -> str:
    parts = _paragraphs(doc)
    for t in doc.tables:
        parts += [c.text for row in t.rows for c in row.cells]
    for s in doc.sections:
        parts += [p.text for p in s.footer.paragraphs]
    return "\n".join(parts)


def _heading(section) -> str:
    return f"{section.number}. {section.title}"


def test_report_is_written_into_the_rollup_folder_and_prints_its_path(round_):
    path = round_["report"]
    assert path.parent == round_["ws"].rollup and path.suffix == ".docx" and path.is_file()
    res = CliRunner().invoke(main, ["report", "--period", PERIOD, "--workspace", str(round_["ws"].root)])
    assert res.exit_code == 0 and res.stdout.strip() == str(path)


def test_sections_follow_the_outline_in_order(round_):
    doc = Document(round_["report"])
    paras = _paragraphs(doc)
    outline = default_catalogue().by_code["DC-S"]       # the outline of the province's regime (DC-S, DC-H)
    positions = [paras.index(_heading(s)) for s in outline.sections]
    assert positions == sorted(positions) and len(set(positions)) == len(outline.sections)


def test_each_text_is_under_its_section_attributed_to_its_unit(round_):
    ws = round_["ws"]
    doc = Document(round_["report"])
    paras = _paragraphs(doc)
    cat = default_catalogue()
    outline = cat.by_code["DC-S"]
    headings = [paras.index(_heading(s)) for s in outline.sections]
    for (unit, _code, key), text in TEXTS.items():
        name = ws.province.unit(unit).name
        first_line = text.split("\n")[0]
        hits = [i for i, p in enumerate(paras) if p.endswith(first_line)]
        assert len(hits) == 1, (unit, hits)
        i = hits[0]
        if key in {s.key for s in outline.sections}:
            sec = next(s for s in outline.sections if s.key == key)
            start = paras.index(_heading(sec))
            after = [h for h in headings if h > start]
            assert start < i < (after[0] if after else len(paras))
            assert paras[i] == f"{name}: {first_line}"
        else:                     # a lead agency's field synthesis, labelled with the agency
            lead_line = next(j for j in range(i, -1, -1) if paras[j].startswith("Tổng hợp lĩnh vực"))
            assert name in paras[lead_line]
            assert paras[i].endswith(f"{name}: {first_line}")
        for more in text.split("\n")[1:]:
            assert paras[i + 1] == more


def _rollup_province_lines(path: Path, sheet: str) -> list[tuple[str, dict[str, object]]]:
    """The roll-up's "Toàn tỉnh" block, in order: (line label, column header -> value), read with openpyxl."""
    wb = openpyxl.load_workbook(path, data_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == BLOCK_HEADERS[0])
    header = rows[head]
    out = []
    for r in rows[head + 1:]:
        if r[0] != PROVINCE_SCOPE:
            break
        out.append((r[BLOCK_HEADERS.index("Nội dung")], {header[c]: r[c] for c in range(len(BLOCK_HEADERS), len(header))}))
    return out


def _table_after(doc, caption_part: str):
    body = doc.element.body
    found = False
    for el in body.iterchildren():
        if el.tag.endswith("}p") and caption_part in "".join(t.text or "" for t in el.iter() if t.tag.endswith("}t")):
            found = True
        elif found and el.tag.endswith("}tbl"):
            return next(t for t in doc.tables if t._tbl is el)
    raise AssertionError(f"no table after {caption_part!r}")


def _same(cell_text: str, value) -> bool:
    if value in (None, ""):
        return cell_text == ""
    return parse_vi_number(cell_text) == pytest.approx(value, abs=0.051)      # shown with one decimal at least


def test_province_totals_and_rates_are_the_rollups(round_):
    """Tables with one province line (here 02-H, 01-TTPVHCC) are shown one row per column."""
    doc = Document(round_["report"])
    compared = 0
    for code in ("02-H", "01-TTPVHCC"):
        want = dict(_rollup_province_lines(round_["merge"].rollup, code))
        table = _table_after(doc, f"Phụ lục {code}:")
        lines = [c.text for c in table.rows[0].cells[2:]]          # one column per province line
        for row in table.rows[1:]:
            column = row.cells[1].text                             # the roll-up's column header
            for line, cell in zip(lines, row.cells[2:]):
                assert _same(cell.text, want[line][column]), (code, line, column, cell.text)
                compared += cell.text != ""
        assert any("Tỷ lệ" in row.cells[1].text and row.cells[2].text for row in table.rows[1:])
    assert compared >= 20


def test_fixed_table_rows_carry_the_rollups_totals(round_):
    """A table with a row per item (01-S and its variants): the same lines, in order, same values."""
    doc = Document(round_["report"])
    want = _rollup_province_lines(round_["merge"].rollup, "01-S")
    table = _table_after(doc, "Phụ lục 01-S, 01-H")
    n_head = sum(1 for r in table.rows if r._tr.trPr is not None and "tblHeader" in r._tr.trPr.xml)
    headers = {}
    for col in range(2, len(table.columns)):
        top, low = table.rows[0].cells[col].text, table.rows[n_head - 1].cells[col].text
        headers[col] = top if top == low else f"{top} › {low}"
    body = table.rows[n_head:]
    assert [r.cells[1].text for r in body] == [label for label, _ in want]
    compared = 0
    for row, (_label, values) in zip(body, want):
        for col, header in headers.items():
            assert _same(row.cells[col].text, values[header]), (row.cells[1].text, header)
            compared += row.cells[col].text != ""
    assert compared >= 5


def test_completeness_numbers_are_merges(round_):
    res = round_["merge"]
    doc = Document(round_["report"])
    table = _table_after(doc, "Trong kỳ có")
    got = {r.cells[0].text: r.cells[1].text for r in table.rows[1:]}
    assert int(got["Số báo cáo phải gửi"]) == res.expected
    assert int(got["Đã nhận và tổng hợp"]) == res.accepted == len(SENT)
    assert int(got["Trong đó: đúng hạn"]) == len(res.on_time)
    assert int(got["Trong đó: trễ hạn"]) == len(res.late) == 1
    assert int(got["Chưa nộp"]) == len(res.missing)
    assert int(got["Báo cáo còn lỗi (đã tổng hợp)"]) == res.with_errors == 1
    assert got["Tỷ lệ gửi đúng hạn (%)"] == vi_number(len(res.on_time) / res.expected * 100, CellType.percent)
    text = "\n".join(_paragraphs(doc))
    assert f"{round_['ws'].province.unit('S-XD').name} (4 ngày)" in text


def _check_decree_layout(doc, number: str, *, issuer: str, authority: list[str]) -> None:
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == PAGE_MM
    decree = {"top": (20, 25), "bottom": (20, 25), "left": (30, 35), "right": (15, 20)}   # mm, Phụ lục I
    for side, (lo, hi) in decree.items():
        assert lo <= round(getattr(s, f"{side}_margin").mm, 1) <= hi, side
    normal = doc.styles["Normal"].font
    assert normal.name == FONT and 13 <= normal.size.pt <= 14
    runs = [r for p in doc.paragraphs for r in p.runs if r.text.strip()]
    assert runs and all(r.font.name == FONT for r in runs)
    body = [r for p in doc.paragraphs if p.paragraph_format.first_line_indent for r in p.runs if r.text.strip()]
    assert body and all(13 <= (r.font.size or normal.size).pt <= 14 for r in body)
    heading = doc.tables[0]
    left, right = (c.text for c in heading.rows[0].cells)
    assert issuer in left and f"Số: …/{number}" in left
    assert MOTTO in right and MOTTO_LINE2 in right and "ngày      tháng      năm" in right
    end = doc.tables[-1]
    assert end.rows[0].cells[0].text.startswith("Nơi nhận:")
    assert all(a in end.rows[0].cells[1].text for a in authority)
    assert doc.paragraphs[0].text.strip() == "DỰ THẢO"
    assert "DỰ THẢO" in s.footer.paragraphs[0].text and s.different_first_page_header_footer
    assert "PAGE" in s.header._element.xml                 # page numbers from the second page


def test_report_has_the_layout_of_an_administrative_document(round_):
    doc = Document(round_["report"])
    _check_decree_layout(doc, "BC-UBND", issuer="ỦY BAN NHÂN DÂN\nTỈNH LẠNG SƠN",
                         authority=["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"])
    paras = _paragraphs(doc)
    title = paras.index("BÁO CÁO")
    assert paras[title + 1] == "Kết quả thực hiện công tác cải cách hành chính năm 2024"


# -- remind ----------------------------------------------------------------------------------------


def test_remind_lists_the_missing_the_late_and_those_with_errors(round_):
    res, got = round_["merge"], round_["remind"]
    by_reason: dict[str, set[str]] = {}
    for u in got["units"]:
        for r in u["reasons"]:
            by_reason.setdefault(r, set()).add(u["submission"])
    assert by_reason["missing"] == set(res.missing)
    assert by_reason["late"] == set(res.late) == {"S-XD"}
    assert by_reason["errors"] == {"H-TPLS"}
    errs = next(u for u in got["units"] if u["submission"] == "H-TPLS")
    annotated = Path(errs["annotated"])
    assert annotated.parent == round_["ws"].inbox / "kiem-tra" and annotated.is_file()
    wb = openpyxl.load_workbook(annotated)
    assert ERRORS_SHEET in wb.sheetnames
    assert any("02-H" in str(c) for row in wb[ERRORS_SHEET].iter_rows(values_only=True) for c in row)
    assert next(u for u in got["units"] if u["submission"] == "S-XD")["annotated"] is None


def test_remind_letter_names_each_unit_with_its_state_and_annotated_copy(round_):
    ws, got = round_["ws"], round_["remind"]
    doc = Document(got["path"])
    _check_decree_layout(doc, "SNV-CCHC", issuer="SỞ NỘI VỤ", authority=["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"])
    left = doc.tables[0].rows[0].cells[0].text
    assert "UBND TỈNH LẠNG SƠN" in left and "V/v đôn đốc gửi báo cáo cải cách hành chính năm 2024" in left
    table = _table_after(doc, "Các cơ quan, đơn vị sau")
    rows = {r.cells[1].text: r for r in table.rows[1:]}
    assert len(rows) == len({u["submission"] for u in got["units"]})
    for u in got["units"]:
        name = u["unit_name"] if u["submission"] == u["unit_code"] else f"{u['unit_name']} ({u['owner']})"
        row = rows[name]
        for reason in u["reasons_text"]:
            assert reason in row.cells[2].text
        assert row.cells[4].text == (Path(u["annotated"]).name if u["annotated"] else "—")
    text = _all_text(doc)
    assert "Kính gửi:" in text and ws.province.unit("S-XD").name in text


def test_remind_prints_the_list_with_the_annotated_copies(round_):
    ws = round_["ws"]
    res = CliRunner().invoke(main, ["remind", "--period", PERIOD, "--workspace", str(ws.root)])
    assert res.exit_code == 0, res.output
    errs = next(u for u in round_["remind"]["units"] if u["submission"] == "H-TPLS")
    lines = res.stdout.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.strip().startswith("H-TPLS"))
    assert "Báo cáo còn lỗi" in lines[i] and lines[i + 1].strip() == f"Bản đánh dấu lỗi: {errs['annotated']}"
    assert lines[-1] == f"Công văn đôn đốc: {round_['remind']['path']}"


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "remind"])
def test_no_ledger_unknown_or_bad_period_is_one_vietnamese_line(tmp_path, round_, command):
    runner = CliRunner()
    fresh = workspace(tmp_path)
    cases = [([command, "--period", PERIOD, "--workspace", str(fresh.root)], "Chưa có sổ theo dõi"),
             ([command, "--period", "2023-Y", "--workspace", str(round_["ws"].root)], "chưa có báo cáo nào của kỳ 2023-Y"),
             ([command, "--period", "2024-Q7", "--workspace", str(round_["ws"].root)], "kỳ báo cáo không hợp lệ")]
    for args, words in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 1, res.output
        assert res.stdout == ""
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Lỗi: ") and words in lines[0], res.stderr
        assert "Traceback" not in res.output
    assert not (fresh.root / "cchc_ledger.sqlite").exists()      # looking did not create a ledger


# -- LibreOffice -------------------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_both_documents_open_in_libreoffice_as_pdf(round_, tmp_path):
    require_libreoffice(writer=True)
    if not (shutil.which("pdftotext") and shutil.which("pdfinfo")):
        pytest.skip("poppler-utils (pdftotext, pdfinfo) not installed")
    ws = round_["ws"]
    pdfs = convert([round_["report"], Path(round_["remind"]["path"])], "pdf", tmp_path / "pdf")
    want = {
        pdfs[0]: [MOTTO, "BÁO CÁO", "DỰ THẢO", "Nơi nhận:", ws.province.unit("S-XD").name,
                  TEXTS[("S-XD", "DC-S", "kho_khan_vuong_mac")][:40]],
        pdfs[1]: [MOTTO, "SỞ NỘI VỤ", "Kính gửi:", "DỰ THẢO", ws.province.unit("H-TPLS").name],
    }
    for pdf, words in want.items():
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        pages = int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))
        assert pages >= 1
        size = next(ln for ln in info.splitlines() if ln.startswith("Page size:"))
        w, h = (float(x) for x in size.split()[2:5:2])
        assert (round(w / 72 * 25.4), round(h / 72 * 25.4)) == PAGE_MM
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        for word in words:
            assert " ".join(word.split()) in text, (pdf.name, word)
    assert int(next(ln.split()[-1] for ln in subprocess.run(["pdfinfo", str(pdfs[0])], capture_output=True,
                                                             text=True).stdout.splitlines()
                    if ln.startswith("Pages:"))) > 1


def test_the_rollup_narratives_sheet_holds_what_the_units_wrote(round_):
    """The roll-up's "Nội dung báo cáo" sheet: each unit's outline texts by section, equal to the texts of
    the "Đề cương" sheet of the files it sent (read here with openpyxl, not through the ledger)."""
    from cchc_xl.merge.rollup import NARRATIVES_SHEET

    ws = round_["ws"]
    wrote = []
    for i, unit in enumerate(SENT):
        wb = openpyxl.load_workbook(ws.inbox / f"bao cao {i}.xlsx")
        name = ws.province.unit(unit).name
        for sheet in (wb[n] for n in wb.sheetnames if n.startswith("Đề cương")):
            for (cell,) in sheet.iter_rows(min_col=3, max_col=3):
                if cell.protection.locked is False and isinstance(cell.value, str) and cell.value.strip():
                    wrote.append((name, cell.value.strip()))     # what the unit typed in a text cell
    wb = openpyxl.load_workbook(round_["merge"].rollup, read_only=True)
    rows = [r for r in wb[NARRATIVES_SHEET].iter_rows(values_only=True)]
    wb.close()
    head = next(i for i, r in enumerate(rows) if r[:4] == ("Mục", "Tên mục", "Đơn vị", "Nội dung"))
    shown: dict[tuple, list[str]] = {}
    for r in rows[head + 1:]:
        if r[2] and r[3]:                               # a text line (a long text continues on the next)
            title = str(r[1]).removesuffix(" (tiếp)")
            shown.setdefault((r[2], title), []).append(r[3])
    got = sorted((author, "\n".join(parts)) for (author, _title), parts in shown.items())
    assert got == sorted(wrote)
    assert len(wrote) > len(TEXTS)
    for (unit, code, section), text in TEXTS.items():
        sec = next(s for s in default_catalogue().by_code[code].sections if s.key == section)
        assert shown[(ws.province.unit(unit).name, sec.title)] == [text]


# -- comparison with earlier periods ------------------------------------------------------------------


def _body_in_order(doc):
    """Paragraph texts and tables in document order: ("p", text) or ("t", rows of cell texts)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for el in doc.element.body.iterchildren():
        if el.tag.endswith("}p"):
            yield "p", Paragraph(el, doc).text
        elif el.tag.endswith("}tbl"):
            yield "t", [[c.text for c in row.cells] for row in Table(el, doc).rows]


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    """Two yearly rounds of the same units in one ledger, 2023 and 2024, with different figures."""
    tmp = tmp_path_factory.mktemp("two-years")
    ws = workspace(tmp)
    for year, seed in (("2023-Y", 11), ("2024-Y", 12)):
        deadline = dt.datetime.combine(ws.province.dates(parse_period(year)).deadline, dt.time(9))
        for i, unit in enumerate(("S-XD", "H-TPLS", "TTPVHCC")):
            src = filled(tmp / "src" / year, unit=unit, period=year, ws=ws, seed=seed + i)
            target = ws.inbox / f"{year} {unit}.xlsx"
            shutil.copyfile(src, target)
            record_receipt(ws.inbox, target, deadline - dt.timedelta(days=1))
        res = merge(ws, ws.inbox, period=parse_period(year))
    rep = CliRunner().invoke(main, ["report", "--period", "2024-Y", "--workspace", str(ws.root), "--json"])
    assert rep.exit_code == 0, rep.output
    return ws, Path(json.loads(rep.stdout)["path"]), Path(res.rollup)


def test_the_report_compares_the_totals_with_the_same_period_last_year_as_the_rollup_does(two_years):
    """Under each table of figures, its totals beside last year's: every pair (this year, last year)
    is a line of the roll-up's "So sánh" sheet for that appendix (read with openpyxl), and the
    change is their difference."""
    from cchc_xl.merge.rollup import COMPARE_SHEET

    _ws, report, rollup = two_years
    wb = openpyxl.load_workbook(rollup, data_only=True)
    rows = list(wb[COMPARE_SHEET].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "Biểu")
    cols = {name: j for j, name in enumerate(rows[head]) if name}
    cur_c = next(j for name, j in cols.items() if str(name).startswith("Kỳ này"))
    ly_c = cols["Năm 2023"]
    shown: dict[tuple[str, str], dict[str, tuple]] = {}     # (line, column) -> appendix -> (this, last year)

    def number(v):
        return v if isinstance(v, (int, float)) else None

    for r in rows[head + 1:]:       # one year may be blank (a rate of no units in scope): None
        if r[0] and (number(r[cur_c]) is not None or number(r[ly_c]) is not None):
            shown.setdefault((r[1], r[2]), {})[r[0]] = (number(r[cur_c]), number(r[ly_c]))
    apart = {c.code for bp in default_catalogue().blueprints.values() for c in bp.codes if not c.sums_into_province}
    codes, compared, checked = None, None, 0
    for kind, item in _body_in_order(Document(report)):
        if kind == "p" and item.startswith("Bảng "):
            codes = [c for c in item.split("Phụ lục ", 1)[1].split(":", 1)[0].split(", ")
                     if c not in apart]         # the codes kept out of the province total (01-H)
        elif kind == "p":
            compared = item.startswith("So sánh với năm 2023")
        elif compared:
            assert item[0][:5] == ["TT", "Chỉ tiêu", "Năm 2024", "Năm 2023", "Tăng (+), giảm (−)"], item[0]
            for line in item[1:]:
                if not (line[2] and line[3]):
                    continue
                cur, ly = parse_vi_number(line[2]), parse_vi_number(line[3])
                # the sheet compares each appendix; the report the table's province total (their sum)
                hits = [by_code for (ln, col), by_code in shown.items()
                        if line[1] in (col, f"{ln} › {col}") and set(by_code) & set(codes)]
                rate = line[4].endswith(" điểm")

                def agrees(h, i, value, rate=rate):
                    parts = [v[i] for c, v in h.items() if c in codes and v[i] is not None]
                    if rate and len(parts) > 1:    # a pooled rate lies between the appendices' rates
                        return min(parts) - 0.051 <= value <= max(parts) + 0.051
                    return abs(sum(parts) - value) < 0.051

                assert any(agrees(h, 0, cur) and agrees(h, 1, ly) for h in hits), (codes, line, hits)
                change = line[4].removesuffix(" điểm").replace("−", "-")
                assert abs(parse_vi_number(change.lstrip("+")) - (cur - ly)) < 0.051, line
                checked += 1
            compared = False
    assert checked >= 5, checked
