"""cchc_xl.read.package: structure of returned files, read safely (real files, no mocks)."""

from __future__ import annotations

import datetime as dt
import os
import random
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from cchc_xl.read.package import (
    LIMITS,
    Limits,
    PackageInfo,
    UnreadableFile,
    a1_to_index,
    index_to_a1,
    inspect_package,
    odf_formula_to_a1,
    quote_sheet_name,
    shift_formula,
    sniff_format,
)
from tests.libreoffice import SYSTEM_PYTHON, convert, require_libreoffice

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# The formulas of the fixture workbook, as Excel stores them (no leading "=").
FORMULAS = {
    "E7": "SUM(C7:D7)",
    "F7": "C7+'02 Data'!A1",
    "G7": "$C$7*2",
    "H7": 'IF(C7>0,"có; [.x]",D7&"x")',
    "I7": "SUM('02 Data'!A1:B2)",
    "J7": "Data2!A1",
    "K7": "SUM(C:C)",
    "L7": "ROUND(C$7/$D7,2)",
}
SHARED_SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN_NS}"><sheetData>
<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row>
<row r="7"><c r="A7"><v>1</v></c><c r="B7"><v>2</v></c>
<c r="C7"><f t="shared" ref="C7:C10" si="0">A7+$B$1*B7</f><v>0</v></c>
<c r="D7"><f t="shared" ref="D7:F7" si="1">SUM(A$1:A7)+'02 Data'!B2</f><v>0</v></c>
<c r="E7"><f t="shared" si="1"/><v>0</v></c><c r="F7"><f t="shared" si="1"/><v>0</v></c></row>
<row r="8"><c r="C8"><f t="shared" si="0"/><v>0</v></c></row>
<row r="9"><c r="C9"><f t="shared" si="0"/><v>0</v></c></row>
<row r="10"><c r="C10"><f t="shared" si="0"/><v>0</v></c></row>
</sheetData></worksheet>"""
SHARED_EXPECTED = {
    "C7": "A7+$B$1*B7",
    "C8": "A8+$B$1*B8",
    "C9": "A9+$B$1*B9",
    "C10": "A10+$B$1*B10",
    "D7": "SUM(A$1:A7)+'02 Data'!B2",
    "E7": "SUM(B$1:B7)+'02 Data'!C2",
    "F7": "SUM(C$1:C7)+'02 Data'!D2",
}


class _ProtectedWorkbook(xlsxwriter.Workbook):
    """XlsxWriter writes no workbook-structure protection: add the element."""

    def _write_workbook_pr(self):
        super()._write_workbook_pr()
        password = Worksheet._encode_password(None, "x")
        self._xml_empty_tag("workbookProtection", [("workbookPassword", password), ("lockStructure", 1)])


def make_book(path: Path, protect_structure: bool = True) -> Path:
    wb = (_ProtectedWorkbook if protect_structure else xlsxwriter.Workbook)(str(path))
    ws = wb.add_worksheet("01-S")
    ws.merge_range("A1:D1", "Báo cáo cải cách hành chính")
    ws.merge_range("B3:C5", "gộp")
    ws.write("C7", 1)
    ws.write("D7", 2)
    for cell, formula in FORMULAS.items():
        ws.write_formula(cell, "=" + formula)
    ws.protect("pw")
    data = wb.add_worksheet("02 Data")
    data.write("A1", 5)
    data.hide()
    meta = wb.add_worksheet("_cchc")
    meta.write("A1", "meta")
    meta.very_hidden()
    wb.add_worksheet("Data2")
    wb.set_custom_property("unit", "Sở Nội vụ")
    wb.set_custom_property("count", 3)
    wb.set_custom_property("ratio", 2.5)
    wb.set_custom_property("final", True)
    wb.set_custom_property("when", dt.datetime(2024, 1, 2, 3, 4, 5))
    wb.close()
    return path


def rezip(src: Path, dst: Path, replace: dict[str, bytes | str | None]) -> Path:
    """Copy a zip, replacing (bytes/str), dropping (None) or adding entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                continue
            zout.writestr(info, zin.read(info))
        for name, data in replace.items():
            if data is not None:
                zout.writestr(name, data)
    return dst


def expect_unreadable(path: Path, code: str, limits: Limits = LIMITS) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as err:
        inspect_package(path, limits)
    assert err.value.code == code, err.value.detail
    return err.value


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return make_book(tmp_path / "book.xlsx")


# ------------------------------------------------------------ A1 helpers


@pytest.mark.parametrize(
    ("formula", "rows", "cols", "expected"),
    [
        ("A7+$B$1*B7", 1, 0, "A8+$B$1*B8"),
        ("SUM(A$1:A7)", 0, 2, "SUM(C$1:C7)"),
        ("$A1+A$1+$A$1", 3, 3, "$A4+D$1+$A$1"),
        ("SUM(C:C)+SUM($D:E)", 5, 1, "SUM(D:D)+SUM($D:F)"),
        ("SUM(7:9)+SUM($2:3)", 2, 4, "SUM(9:11)+SUM($2:5)"),
        ("'02 Data'!B2+Data2!A1", 1, 1, "'02 Data'!C3+Data2!B2"),
        ("'It''s A1'!A1", 1, 0, "'It''s A1'!A2"),
        ('IF(A1>0,"A1 stays",LOG10(A1))', 1, 0, 'IF(A2>0,"A1 stays",LOG10(A2))'),
        ('"say ""B2"""&B2', 0, 1, '"say ""B2"""&C2'),
        ("Table1[Col1]+ATAN2(A1,B1)", 1, 0, "Table1[Col1]+ATAN2(A2,B2)"),
        ("[1]Sheet1!A1*2", 1, 0, "[1]Sheet1!A2*2"),
        ("1E5+A1*1.5", 1, 1, "1E5+B2*1.5"),
        ("XFD1+A1", 0, 1, "#REF!+B1"),
        ("A2-A1", -1, 0, "A1-#REF!"),
        ("SUM(A1:B2)", -1, 0, "SUM(#REF!)"),
        ("myName+A1", 1, 0, "myName+A2"),
        ("A1", 0, 0, "A1"),
    ],
)
def test_shift_formula(formula, rows, cols, expected):
    assert shift_formula(formula, rows, cols) == expected


@pytest.mark.parametrize(
    ("odf", "excel"),
    [
        ("of:=SUM([.C7:.C20])", "SUM(C7:C20)"),
        ("of:=[.C7]+[.D7]", "C7+D7"),
        ("of:=[$'01-S'.A1]", "'01-S'!A1"),
        ("of:=['01-S'.A1]", "'01-S'!A1"),
        ("of:=[$Sheet2.A1]", "Sheet2!A1"),
        ("of:=SUM([$'02 Data'.A1:.B2])", "SUM('02 Data'!A1:B2)"),
        ("of:=[.$C$7]*2", "$C$7*2"),
        ("of:=SUM([.C:.C])+SUM([.7:.7])", "SUM(C:C)+SUM(7:7)"),
        ('of:=IF([.C7]>0;"a;b [.x]";[.D7]&"x")', 'IF(C7>0,"a;b [.x]",D7&"x")'),
        ("of:=SUM({1;2|3;4})", "SUM({1,2;3,4})"),
        ("of:=IFERROR([.A1]/[.B1];#DIV/0!)", "IFERROR(A1/B1,#DIV/0!)"),
        ("of:=[.#REF!]+1", "#REF!+1"),
        ("of:=SUM([$'It''s'.A1:$Other.B2])", "SUM('It''s:Other'!A1:B2)"),
        ("of:=SUM([$Jan.A1:$Mar.B2])", "SUM(Jan:Mar!A1:B2)"),
        ("of:=SUM([$S1.A1:$S3.B2])", "SUM('S1:S3'!A1:B2)"),
        ("of:=SUM([.A1:.B2]![.B1:.C3])", "SUM(A1:B2 B1:C3)"),
        ("of:=SUM([.A1]~[.B1])", "SUM(A1,B1)"),
        ("msoxl:=SUM(A1:B1)", "SUM(A1:B1)"),
        ("=[.A1]", "A1"),
    ],
)
def test_odf_formula_to_a1(odf, excel):
    assert odf_formula_to_a1(odf) == excel


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("Data2", "Data2"),
        ("_cchc", "_cchc"),
        ("Dữliệu", "Dữliệu"),
        ("02 Data", "'02 Data'"),
        ("01-S", "'01-S'"),
        ("2019", "'2019'"),
        ("A1", "'A1'"),
        ("R1C1", "'R1C1'"),
        ("It's", "'It''s'"),
    ],
)
def test_quote_sheet_name(name, quoted):
    assert quote_sheet_name(name) == quoted


def test_a1_index_round_trip():
    for row, col in [(1, 1), (7, 3), (1048576, 16384), (26, 26), (27, 27), (100, 703)]:
        assert a1_to_index(index_to_a1(row, col)) == (row, col)
    assert a1_to_index("$AB$12") == (12, 28)
    for bad in ("A0", "XFE1", "A1048577", "1A", ""):
        with pytest.raises(ValueError):
            a1_to_index(bad)


# ----------------------------------------------------- xlsx written by us


def test_xlsxwriter_workbook(book: Path):
    assert sniff_format(book) == "xlsx"
    info = inspect_package(book)
    assert isinstance(info, PackageInfo)
    assert info.path == str(book)
    assert info.format == "xlsx"
    assert [(s.name, s.state) for s in info.sheets] == [
        ("01-S", "visible"),
        ("02 Data", "hidden"),
        ("_cchc", "veryHidden"),
        ("Data2", "visible"),
    ]
    main = info.sheet("01-S")
    assert main is not None
    assert main.protected is True
    assert main.formulas == FORMULAS
    assert main.merged == ["A1:D1", "B3:C5"]
    data = info.sheet("02 Data")
    assert data is not None
    assert (data.protected, data.formulas, data.merged) == (False, {}, [])
    assert info.sheet("nope") is None
    assert info.workbook_protected is True
    assert info.custom_properties == {
        "unit": "Sở Nội vụ",
        "count": 3,
        "ratio": 2.5,
        "final": True,
        "when": "2024-01-02T03:04:05Z",
    }
    assert type(info.custom_properties["count"]) is int
    assert type(info.custom_properties["ratio"]) is float


def test_unprotected_workbook_and_path_object(tmp_path: Path):
    path = make_book(tmp_path / "plain.xlsx", protect_structure=False)
    info = inspect_package(path)
    assert info.workbook_protected is False
    # An empty <workbookProtection/> (as LibreOffice writes it) is no protection either.
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/workbook.xml").decode()
    xml = xml.replace("<bookViews>", "<workbookProtection/><bookViews>")
    assert (
        inspect_package(rezip(path, tmp_path / "p2.xlsx", {"xl/workbook.xml": xml})).workbook_protected
        is False
    )


def test_xlsm_detected_by_content(book: Path, tmp_path: Path):
    with zipfile.ZipFile(book) as zf:
        types = zf.read("[Content_Types].xml").decode()
    types = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    # Named .xlsx on purpose: the content decides, not the extension.
    xlsm = rezip(
        book, tmp_path / "macro.xlsx", {"[Content_Types].xml": types, "xl/vbaProject.bin": b"\0" * 64}
    )
    assert sniff_format(xlsm) == "xlsm"
    info = inspect_package(xlsm)
    assert info.format == "xlsm"
    assert info.sheet("01-S").formulas == FORMULAS
    renamed = tmp_path / "book.ods"
    renamed.write_bytes(book.read_bytes())
    assert sniff_format(renamed) == "xlsx"


def test_shared_formulas_expanded(book: Path, tmp_path: Path):
    path = rezip(book, tmp_path / "shared.xlsx", {"xl/worksheets/sheet1.xml": SHARED_SHEET})
    info = inspect_package(path)
    main = info.sheet("01-S")
    assert main.formulas == SHARED_EXPECTED
    assert main.protected is False
    assert main.merged == []


def test_cells_without_addresses(book: Path, tmp_path: Path):
    sheet = f"""<worksheet xmlns="{MAIN_NS}"><sheetData>
        <row><c><v>1</v></c><c><f>A1*2</f></c></row>
        <row><c/><c/><c><f>SUM(A1:B1)</f><v>3</v></c></row>
        <row r="5"><c r="B5"/><c><f>B5</f></c></row>
        </sheetData><sheetProtection sheet="0"/></worksheet>"""
    info = inspect_package(rezip(book, tmp_path / "norefs.xlsx", {"xl/worksheets/sheet1.xml": sheet}))
    main = info.sheet("01-S")
    assert main.formulas == {"B1": "A1*2", "C2": "SUM(A1:B1)", "C5": "B5"}
    assert main.protected is False


def test_shared_formula_without_master_is_corrupt(book: Path, tmp_path: Path):
    sheet = f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1"><f t="shared" si="3"/></c></row></sheetData></worksheet>'
    expect_unreadable(
        rezip(book, tmp_path / "orphan.xlsx", {"xl/worksheets/sheet1.xml": sheet}), "file.corrupt"
    )


def test_bad_sheet_state_and_missing_part(book: Path, tmp_path: Path):
    with zipfile.ZipFile(book) as zf:
        xml = zf.read("xl/workbook.xml").decode()
    odd = rezip(book, tmp_path / "odd.xlsx", {"xl/workbook.xml": xml.replace('"veryHidden"', '"invisible"')})
    expect_unreadable(odd, "file.corrupt")
    missing = rezip(book, tmp_path / "missing.xlsx", {"xl/worksheets/sheet2.xml": None})
    expect_unreadable(missing, "file.corrupt")
    broken = rezip(
        book, tmp_path / "broken.xlsx", {"xl/worksheets/sheet1.xml": "<worksheet><sheetData><row>"}
    )
    expect_unreadable(broken, "file.corrupt")


def test_custom_property_types(book: Path, tmp_path: Path):
    vt = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
    props = [
        ("s", "<vt:lpwstr>chuỗi</vt:lpwstr>", "chuỗi"),
        ("empty", "<vt:lpwstr/>", ""),
        ("i4", "<vt:i4>-7</vt:i4>", -7),
        ("i8", "<vt:i8>9007199254740993</vt:i8>", 9007199254740993),
        ("r8", "<vt:r8>3</vt:r8>", 3.0),
        ("t", "<vt:bool>1</vt:bool>", True),
        ("f", "<vt:bool>false</vt:bool>", False),
        ("ft", "<vt:filetime>2024-05-06T07:08:09Z</vt:filetime>", "2024-05-06T07:08:09Z"),
        ("bad", "<vt:i4>x</vt:i4>", "x"),
    ]
    body = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i + 2}" name="{n}">{v}</property>'
        for i, (n, v, _) in enumerate(props)
    )
    xml = (
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        f'xmlns:vt="{vt}">{body}</Properties>'
    )
    info = inspect_package(rezip(book, tmp_path / "props.xlsx", {"docProps/custom.xml": xml}))
    assert info.custom_properties == {n: expected for n, _, expected in props}
    assert type(info.custom_properties["r8"]) is float
    no_props = rezip(book, tmp_path / "noprops.xlsx", {"docProps/custom.xml": None})
    assert inspect_package(no_props).custom_properties == {}


def test_xlsb_and_docx(book: Path, tmp_path: Path):
    xlsb = tmp_path / "book.xlsb"
    with zipfile.ZipFile(xlsb, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/xl/workbook.bin" '
            'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>',
        )
        zf.writestr("xl/workbook.bin", b"\0" * 10)
    expect_unreadable(xlsb, "file.unsupported")
    docx = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        zf.writestr("word/document.xml", "<document/>")
    expect_unreadable(docx, "file.not_spreadsheet")
    odt = tmp_path / "text.ods"
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<x/>")
    expect_unreadable(odt, "file.not_spreadsheet")
    other = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.jpg", b"\xff\xd8")
    expect_unreadable(other, "file.not_spreadsheet")


# ----------------------------------------------------------- ods by hand

ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
)
ODS_CONTENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ODS_NS} office:version="1.3">
<office:automatic-styles>
 <style:style style:name="ta1" style:family="table"><style:table-properties table:display="true"/></style:style>
 <style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style>
 <style:style style:name="ce1" style:family="table-cell"/>
</office:automatic-styles>
<office:body><office:spreadsheet table:structure-protected="true">
<table:table table:name="01-S" table:style-name="ta1" table:protected="true">
 <table:table-column table:number-columns-repeated="16384"/>
 <table:table-header-rows>
  <table:table-row><table:table-cell table:number-columns-spanned="3" table:number-rows-spanned="2"
    office:value-type="string"><text:p>Tiêu đề</text:p></table:table-cell>
   <table:covered-table-cell table:number-columns-repeated="2"/><table:table-cell/></table:table-row>
 </table:table-header-rows>
 <table:table-row><table:covered-table-cell table:number-columns-repeated="3"/><table:table-cell/></table:table-row>
 <table:table-row table:number-rows-repeated="4"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
 <table:table-row>
  <table:table-cell table:number-columns-repeated="2"/>
  <table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>
  <table:table-cell/>
  <table:table-cell table:formula="of:=SUM([.C7:.D7])" office:value-type="float" office:value="1"/>
  <table:table-cell table:formula="of:=[.C7]+[$'02 Data'.A1]"><text:p>6</text:p><office:annotation><text:p>n</text:p></office:annotation></table:table-cell>
 </table:table-row>
 <table:table-row-group><table:table-row>
  <table:table-cell table:formula='of:=IF([.C7]&gt;0;"a;b";1)'/>
  <table:table-cell table:number-columns-spanned="2"><text:p>m</text:p></table:table-cell><table:covered-table-cell/>
 </table:table-row></table:table-row-group>
 <table:table-row table:number-rows-repeated="1048568"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
</table:table>
<table:table table:name="02 Data" table:style-name="ta2">
 <table:table-row><table:table-cell office:value-type="float" office:value="5"/></table:table-row>
</table:table>
</office:spreadsheet></office:body></office:document-content>"""
ODS_META = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta {ODS_NS}><office:meta>
<meta:user-defined meta:name="s" meta:value-type="string">chuỗi</meta:user-defined>
<meta:user-defined meta:name="f" meta:value-type="float">2.5</meta:user-defined>
<meta:user-defined meta:name="b" meta:value-type="boolean">false</meta:user-defined>
<meta:user-defined meta:name="d" meta:value-type="date">2024-01-02T03:04:05</meta:user-defined>
<meta:user-defined meta:name="plain">x</meta:user-defined>
</office:meta></office:document-meta>"""


def make_ods(
    path: Path, content: str = ODS_CONTENT, meta: str = ODS_META, manifest: str | None = None
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr(
            "META-INF/manifest.xml",
            manifest
            or f'<manifest:manifest {ODS_NS}><manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
        zf.writestr("content.xml", content)
        zf.writestr("meta.xml", meta)
    return path


def test_ods_written_by_hand(tmp_path: Path):
    path = make_ods(tmp_path / "hand.xlsx")
    assert sniff_format(path) == "ods"
    info = inspect_package(path)
    assert info.format == "ods"
    assert info.workbook_protected is True
    assert [(s.name, s.state, s.protected) for s in info.sheets] == [
        ("01-S", "visible", True),
        ("02 Data", "hidden", False),
    ]
    main = info.sheet("01-S")
    assert main.formulas == {"E7": "SUM(C7:D7)", "F7": "C7+'02 Data'!A1", "A8": 'IF(C7>0,"a;b",1)'}
    assert main.merged == ["A1:C2", "B8:C8"]
    assert info.custom_properties == {
        "s": "chuỗi",
        "f": 2.5,
        "b": False,
        "d": "2024-01-02T03:04:05",
        "plain": "x",
    }


def test_ods_repeated_formula_cells(tmp_path: Path):
    content = ODS_CONTENT.replace(
        '<table:table-cell table:formula="of:=SUM([.C7:.D7])" office:value-type="float" office:value="1"/>',
        '<table:table-cell table:formula="of:=SUM([.C7:.D7])" table:number-columns-repeated="2"/>',
    ).replace(
        '<table:table-row table:number-rows-repeated="4">',
        '<table:table-row table:number-rows-repeated="2"><table:table-cell table:formula="of:=[.Z1]"/>'
        '</table:table-row><table:table-row table:number-rows-repeated="2">',
    )
    info = inspect_package(make_ods(tmp_path / "rep.ods", content))
    formulas = info.sheet("01-S").formulas
    # Copies of a repeated cell carry the same ODF addresses, hence the same text (as in Calc).
    assert formulas["E7"] == formulas["F7"] == "SUM(C7:D7)"
    assert formulas["A3"] == formulas["A4"] == "Z1"
    assert formulas["G7"] == "C7+'02 Data'!A1"
    expect_unreadable(make_ods(tmp_path / "rep2.ods", content), "file.too_large", Limits(max_items=5))


def test_ods_formula_repeats_are_capped(tmp_path: Path):
    content = ODS_CONTENT.replace(
        '<table:table-row table:number-rows-repeated="1048568"><table:table-cell table:number-columns-repeated="16384"/>',
        '<table:table-row table:number-rows-repeated="1048568">'
        '<table:table-cell table:formula="of:=1" table:number-columns-repeated="16384"/>',
    )
    expect_unreadable(make_ods(tmp_path / "huge.ods", content), "file.too_large")


def test_ods_encrypted_manifest(tmp_path: Path):
    manifest = (
        f'<manifest:manifest {ODS_NS}><manifest:file-entry manifest:full-path="content.xml" '
        'manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="x" '
        'manifest:checksum="y"/></manifest:file-entry></manifest:manifest>'
    )
    expect_unreadable(make_ods(tmp_path / "enc.ods", manifest=manifest), "file.encrypted")


# ---------------------------------------------------- hostile and broken


def test_not_spreadsheets(tmp_path: Path):
    cases = {
        "empty.xlsx": b"",
        "text.xlsx": "Họ tên,Số\nA,1\n".encode(),
        "data.csv": b"a,b\n1,2\n",
        "doc.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        "page.xls": b"<html><body><table><tr><td>1</td></tr></table></body></html>",
        "pk.xlsx": b"PK",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UnreadableFile) as err:
            sniff_format(path)
        assert err.value.code == "file.not_spreadsheet", name
        expect_unreadable(path, "file.not_spreadsheet")


def test_missing_path_is_an_oserror(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        inspect_package(tmp_path / "nothing.xlsx")


def test_truncated_and_damaged_zip(book: Path, tmp_path: Path):
    data = book.read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    expect_unreadable(truncated, "file.corrupt")
    with pytest.raises(UnreadableFile) as err:
        sniff_format(truncated)
    assert err.value.code == "file.corrupt"
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    expect_unreadable(garbage, "file.corrupt")


def test_random_damage_never_escapes(book: Path, tmp_path: Path):
    """Truncations and flipped bytes: a PackageInfo or an UnreadableFile, nothing else."""
    rng = random.Random(20240611)
    sources = [book, make_ods(tmp_path / "fuzz.ods")]
    path = tmp_path / "fuzzed.xlsx"
    outcomes = set()
    for source in sources:
        data = source.read_bytes()
        variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 40))]
        for _ in range(120):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            path.write_bytes(variant)
            try:
                inspect_package(path)
                outcomes.add("ok")
            except UnreadableFile as exc:
                outcomes.add(exc.code)
    assert "file.corrupt" in outcomes


def test_zip_bomb_by_ratio(book: Path, tmp_path: Path):
    bomb = rezip(book, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": b"\0" * (20 * 2**20)})
    assert bomb.stat().st_size < 200_000
    err = expect_unreadable(bomb, "file.hostile")
    assert "ratio" in err.detail


def test_zip_declared_total_too_large(book: Path, tmp_path: Path):
    limits = Limits(max_uncompressed_bytes=8_000)
    expect_unreadable(book, "file.too_large", limits)
    big = rezip(book, tmp_path / "big.xlsx", {"xl/media/image1.bin": os.urandom(3 * 2**20)})
    expect_unreadable(big, "file.too_large", Limits(max_uncompressed_bytes=2 * 2**20))
    assert inspect_package(big).sheet("01-S").formulas == FORMULAS


def test_zip_too_many_entries(book: Path, tmp_path: Path):
    expect_unreadable(book, "file.hostile", Limits(max_entries=5))
    many = rezip(book, tmp_path / "many.xlsx", {f"junk/{i}.txt": b"" for i in range(2001)})
    expect_unreadable(many, "file.hostile")


def test_file_too_large(book: Path):
    expect_unreadable(book, "file.too_large", Limits(max_file_bytes=1000))
    with pytest.raises(UnreadableFile) as err:
        sniff_format(book, Limits(max_file_bytes=1000))
    assert err.value.code == "file.too_large"


def test_lying_declared_size_is_not_decompressed(book: Path, tmp_path: Path):
    """An entry that declares 2 KB but inflates to 5 MB yields 2 KB at most, then fails its CRC."""
    sheet = (
        f"<worksheet xmlns='{MAIN_NS}'><sheetData>"
        + "<!--"
        + "x" * (5 * 2**20)
        + "--></sheetData></worksheet>"
    )
    path = rezip(book, tmp_path / "liar.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(b"PK\x01\x02")
    patched = False
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + name_len]) == name:
            struct.pack_into("<I", data, at + 24, 2048)
            patched = True
        at = data.find(b"PK\x01\x02", at + 4)
    assert patched
    path.write_bytes(bytes(data))
    expect_unreadable(path, "file.corrupt")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


@pytest.mark.parametrize(
    ("part", "body"),
    [
        (
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN_NS}"><sheets><sheet name="&lol9;"/></sheets></workbook>',
        ),
        (
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{MAIN_NS}"><sheetData>&lol9;</sheetData></worksheet>',
        ),
        ("docProps/custom.xml", "<Properties>&lol9;</Properties>"),
        ("[Content_Types].xml", "<Types>&lol9;</Types>"),
    ],
)
def test_entity_bombs_are_hostile(book: Path, tmp_path: Path, part: str, body: str):
    path = rezip(book, tmp_path / "lol.xlsx", {part: BILLION_LAUGHS + body})
    expect_unreadable(path, "file.hostile")


def test_external_entity_and_bare_dtd_are_hostile(book: Path, tmp_path: Path):
    xxe = '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    path = rezip(
        book,
        tmp_path / "xxe.xlsx",
        {"xl/worksheets/sheet1.xml": xxe + f'<worksheet xmlns="{MAIN_NS}">&e;</worksheet>'},
    )
    expect_unreadable(path, "file.hostile")
    dtd = '<?xml version="1.0"?><!DOCTYPE worksheet SYSTEM "http://example.invalid/x.dtd">'
    path = rezip(
        book, tmp_path / "dtd.xlsx", {"xl/worksheets/sheet1.xml": dtd + f'<worksheet xmlns="{MAIN_NS}"/>'}
    )
    expect_unreadable(path, "file.hostile")
    expect_unreadable(
        make_ods(tmp_path / "lol.ods", BILLION_LAUGHS + ODS_CONTENT.split("?>", 1)[1]), "file.hostile"
    )
    expect_unreadable(
        make_ods(tmp_path / "lolmeta.ods", meta=BILLION_LAUGHS + "<x>&lol9;</x>"), "file.hostile"
    )


# ------------------------------------------------------ OLE2 containers

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def make_cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, one FAT sector) with ``streams`` at its root.

    Streams are padded with zero bytes to the 4096-byte mini-stream cutoff so that
    no mini stream is needed.
    """
    names = list(streams)
    assert len(names) <= 3
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    fat = [FATSECT, ENDOFCHAIN]  # sector 0: this FAT, sector 1: the directory
    starts = []
    for data in datas:
        count = -(-len(data) // 512)
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
    assert len(fat) <= 128
    fat += [FREESECT] * (128 - len(fat))

    def entry(name, kind, child=NOSTREAM, right=NOSTREAM, start=ENDOFCHAIN, size=0):
        raw = (name + "\0").encode("utf-16-le")
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw,
            len(raw),
            kind,
            1,
            NOSTREAM,
            right,
            child,
            b"\0" * 16,
            0,
            0,
            0,
            start,
            size,
        )

    dirs = [entry("Root Entry", 5, child=1 if names else NOSTREAM)]
    for i, (name, data) in enumerate(zip(names, datas, strict=True)):
        right = i + 2 if i + 1 < len(names) else NOSTREAM
        dirs.append(entry(name, 2, right=right, start=starts[i], size=len(data)))
    while len(dirs) < 4:
        dirs.append(b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM) + b"\0" * 48)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        1,
        1,
        0,
        4096,
        ENDOFCHAIN,
        0,
        ENDOFCHAIN,
        0,
    )
    header += struct.pack("<109I", 0, *([FREESECT] * 108))
    sectors = b"".join(d.ljust(-(-len(d) // 512) * 512, b"\0") for d in datas)
    return header + struct.pack("<128I", *fat) + b"".join(dirs) + sectors


BOF = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0)


def test_ole_encrypted_ooxml(tmp_path: Path):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(
        make_cfb({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"x" * 5000})
    )
    with pytest.raises(UnreadableFile) as err:
        sniff_format(path)
    assert err.value.code == "file.encrypted"
    expect_unreadable(path, "file.encrypted")


def test_ole_xls_with_filepass(tmp_path: Path):
    filepass = struct.pack("<HH", 0x002F, 6) + b"\x00\x00\x01\x00\x01\x00"
    path = tmp_path / "locked.xls"
    path.write_bytes(make_cfb({"Workbook": BOF + filepass}))
    expect_unreadable(path, "file.encrypted")
    # A workbook stream that is no real workbook: sniffed as xls, then refused.
    path.write_bytes(make_cfb({"Workbook": BOF}))
    assert sniff_format(path) == "xls"
    expect_unreadable(path, "file.corrupt")


def test_ole_without_workbook_and_damaged_ole(tmp_path: Path):
    path = tmp_path / "letter.xls"
    path.write_bytes(make_cfb({"WordDocument": b"\xec\xa5" + b"\0" * 100}))
    expect_unreadable(path, "file.not_spreadsheet")
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4)
    expect_unreadable(path, "file.corrupt")
    good = make_cfb({"Workbook": BOF})
    path.write_bytes(good[:700])
    expect_unreadable(path, "file.corrupt")


# ------------------------------------------------------------ speed


def make_report_book(path: Path) -> Path:
    """About 50 KB: 12 protected sheets of 45 rows x 14 columns, ~1,200 formulas, a very hidden sheet."""
    wb = _ProtectedWorkbook(str(path))
    for s in range(12):
        ws = wb.add_worksheet(f"{s + 1:02d}-S")
        ws.merge_range("A1:N1", "Báo cáo cải cách hành chính")
        ws.merge_range("A2:N2", "Đơn vị")
        for r in range(4, 49):
            ws.write(r, 0, f"Dòng {r}")
            for c in range(1, 12):
                ws.write_number(r, c, r * c)
            ws.write_formula(r, 12, f"=SUM(B{r + 1}:L{r + 1})")
            ws.write_formula(r, 13, f"=IF(M{r + 1}>0,M{r + 1}/$M$50,0)")
        for c in range(1, 14):
            col = xlsxwriter.utility.xl_col_to_name(c)
            ws.write_formula(49, c, f"=SUM({col}5:{col}49)")
        ws.protect("pw")
    meta = wb.add_worksheet("_cchc")
    meta.very_hidden()
    meta.write("A1", "meta")
    wb.set_custom_property("unit", "X01")
    wb.close()
    return path


def test_report_sized_file_structure(tmp_path: Path):
    # speed is measured in `make bench`, never asserted in a test
    path = make_report_book(tmp_path / "report.xlsx")
    assert 40_000 < path.stat().st_size < 70_000
    info = inspect_package(path)
    assert sum(len(s.formulas) for s in info.sheets) == 12 * (45 * 2 + 13)


# ------------------------------------------------------- LibreOffice

ENCRYPT_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import uno
from com.sun.star.beans import PropertyValue
import uno_driver


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


office = uno_driver.Office()
office.start()
try:
    args = sys.argv[2:]
    for src, dst, filt in zip(args[0::3], args[1::3], args[2::3]):
        doc = office.desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, (prop("Hidden", True),))
        try:
            doc.storeToURL(uno.systemPathToFileUrl(dst),
                           (prop("FilterName", filt), prop("Password", "x"), prop("Overwrite", True)))
        finally:
            doc.close(True)
finally:
    office.stop()
"""


@pytest.fixture(scope="module")
def lo_files(tmp_path_factory) -> dict[str, Path]:
    """The fixture workbooks re-saved by LibreOffice as xlsx, xls and ods (one batch per format)."""
    require_libreoffice()
    root = tmp_path_factory.mktemp("lo_package")
    book = make_book(root / "book.xlsx")
    shared = rezip(book, root / "shared.xlsx", {"xl/worksheets/sheet1.xml": SHARED_SHEET})
    out: dict[str, Path] = {"book": book, "shared": shared}
    for fmt in ("xlsx", "xls", "ods"):
        converted = convert([book, shared], fmt, root / fmt)
        out[fmt], out[f"shared.{fmt}"] = converted
    return out


def _check_lo_common(info: PackageInfo, fmt: str):
    assert info.format == fmt
    # veryHidden does not survive a LibreOffice re-save: it becomes hidden.
    assert [(s.name, s.state) for s in info.sheets] == [
        ("01-S", "visible"),
        ("02 Data", "hidden"),
        ("_cchc", "hidden"),
        ("Data2", "visible"),
    ]
    props = info.custom_properties
    assert props["unit"] == "Sở Nội vụ"
    assert props["count"] == 3 and isinstance(props["count"], (int, float))
    assert props["ratio"] == 2.5
    assert props["final"] is True
    assert str(props["when"]).startswith("2024-01-02T03:04:05")


@pytest.mark.libreoffice
def test_libreoffice_xlsx(lo_files):
    info = inspect_package(lo_files["xlsx"])
    _check_lo_common(info, "xlsx")
    main = info.sheet("01-S")
    assert main.protected is True
    assert main.formulas == FORMULAS
    assert main.merged == ["A1:D1", "B3:C5"]
    assert info.workbook_protected is False  # LibreOffice drops structure protection


@pytest.mark.libreoffice
def test_libreoffice_ods(lo_files):
    assert sniff_format(lo_files["ods"]) == "ods"
    info = inspect_package(lo_files["ods"])
    _check_lo_common(info, "ods")
    main = info.sheet("01-S")
    assert main.protected is True
    assert main.formulas == FORMULAS
    assert main.merged == ["A1:D1", "B3:C5"]
    assert info.workbook_protected is False


@pytest.mark.libreoffice
def test_libreoffice_xls(lo_files):
    assert sniff_format(lo_files["xls"]) == "xls"
    info = inspect_package(lo_files["xls"])
    _check_lo_common(info, "xls")
    assert info.workbook_protected is None
    for sheet in info.sheets:
        assert (sheet.protected, sheet.formulas, sheet.merged) == (None, None, None)


@pytest.mark.libreoffice
def test_libreoffice_reads_shared_formulas_as_we_do(lo_files):
    """Calc expands our hand-written shared formulas itself: its re-saves must match our expansion."""
    assert inspect_package(lo_files["shared"]).sheet("01-S").formulas == SHARED_EXPECTED
    for key in ("shared.xlsx", "shared.ods"):
        assert inspect_package(lo_files[key]).sheet("01-S").formulas == SHARED_EXPECTED, key


@pytest.mark.libreoffice
def test_libreoffice_password_encrypted_files(lo_files, tmp_path: Path):
    xls, ods = tmp_path / "secret.xls", tmp_path / "secret.ods"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}
    script = tmp_path / "encrypt.py"
    script.write_text(ENCRYPT_SCRIPT, encoding="utf-8")
    lo_dir = Path(__file__).resolve().parent / "lo"
    src = str(lo_files["book"])
    subprocess.run(
        [SYSTEM_PYTHON, str(script), str(lo_dir), src, str(xls), "MS Excel 97", src, str(ods), "calc8"],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
        env=env,
    )
    for path in (xls, ods):
        expect_unreadable(path, "file.encrypted")
    with pytest.raises(UnreadableFile) as err:
        sniff_format(xls)
    assert err.value.code == "file.encrypted"


@pytest.mark.libreoffice
def test_libreoffice_xls_damage_never_escapes(lo_files, tmp_path: Path):
    rng = random.Random(7)
    data = lo_files["xls"].read_bytes()
    path = tmp_path / "damaged.xls"
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path.write_bytes(bytes(damaged))
        try:
            inspect_package(path)
        except UnreadableFile:
            pass
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableFile):
        inspect_package(path)


def test_fast_worksheet_scan_matches_the_parser(tmp_path: Path):
    """The regex path and the defused parser read the same formulas, merges, protection and errors."""
    from cchc_xl.read import package as pk

    path = make_report_book(tmp_path / "report.xlsx")
    with zipfile.ZipFile(path) as zf:
        parts = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        for part in parts:
            data = zf.read(part)
            fast = pk._scan_fast(data, pk._Budget(pk.LIMITS))
            assert fast is not None, part
            scan = pk._SheetScan(part, pk._Budget(pk.LIMITS))
            import io

            pk._feed(io.BytesIO(data), scan)
            assert fast == (scan.protected, scan.formulas, scan.merged, scan.errors), part
