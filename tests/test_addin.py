"""The Excel add-in: the functions behind its buttons (with a fake book and real files), the built
.xlam (zip, ribbon XML, VBA read back with oletools), and ``cchc_xl addin`` on the command line.

What cannot be tested here: the xlwings glue (``cchc_xl.addin.entry``) and the ribbon inside a real
Excel; see docs/addin.md.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from click.testing import CliRunner

from cchc_xl import __version__
from cchc_xl.addin import actions, entry
from cchc_xl.addin import build as addin_build
from cchc_xl.addin.actions import STATUS_HEADER, STATUS_SHEET, BookLike
from cchc_xl.addin.build import ADDIN_FILE, VBA_MODULE, _compress, _decompress, build, build_addin
from cchc_xl.addin.cli import addin_group
from cchc_xl.addin.install import config_path, config_text, install_addin, uninstall_addin, xlstart_dir
from cchc_xl.config.period import parse_period
from cchc_xl.config.workspace import PublicKeyWarning, init_workspace, load_workspace
from cchc_xl.generate import generate_round
from cchc_xl.generate.round import Builder
from cchc_xl.generate.sample import fill_files
from cchc_xl.merge.receipts import record_receipt

PERIOD = "2024-Y"
UNITS = ["H-TPLS", "S-XD", "STP"]
CUSTOMUI_NS = "{http://schemas.microsoft.com/office/2006/01/customui}"
LABELS = ["Kiểm tra tệp này", "Tổng hợp thư mục…", "Tình hình nộp báo cáo"]


# ---------------------------------------------------------------------------------------------
# A fake xlwings Book: the protocol of cchc_xl.addin.actions, recording what the add-in does
# ---------------------------------------------------------------------------------------------


def _a1(addr: str) -> tuple[int, int]:
    letters = "".join(ch for ch in addr if ch.isalpha()).upper()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(addr[len(letters):]), col


class FakeRange:
    def __init__(self, sheet: FakeSheet, addr: str):
        self.sheet, self.addr = sheet, addr

    @property
    def value(self):
        return self.sheet.cells.get(_a1(self.addr))

    @value.setter
    def value(self, value):
        """Like xlwings: a list of lists fills a block from the anchor cell."""
        self.sheet.writes.append((self.addr, value))
        r0, c0 = _a1(self.addr)
        rows = value if isinstance(value, list) and value and isinstance(value[0], list) else [[value]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.sheet.cells[(r0 + i, c0 + j)] = v


class FakeSheet:
    def __init__(self, name: str):
        self.name = name
        self.cells: dict[tuple[int, int], object] = {}
        self.writes: list[tuple[str, object]] = []

    def range(self, addr: str) -> FakeRange:
        return FakeRange(self, addr)

    def clear_contents(self) -> None:
        self.cells.clear()

    def rows(self) -> list[list]:
        """The used block as a table (None for empty cells), row 1 first."""
        if not self.cells:
            return []
        nrow = max(r for r, _ in self.cells)
        ncol = max(c for _, c in self.cells)
        return [[self.cells.get((r, c)) for c in range(1, ncol + 1)] for r in range(1, nrow + 1)]


class FakeSheets:
    def __init__(self, names=("Sheet1",)):
        self._sheets = [FakeSheet(n) for n in names]

    def add(self, name: str | None = None) -> FakeSheet:
        assert name not in [s.name for s in self._sheets], "xlwings refuses a duplicate sheet name"
        sheet = FakeSheet(name or f"Sheet{len(self._sheets) + 1}")
        self._sheets.insert(0, sheet)
        return sheet

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._sheets[key]
        return next(s for s in self._sheets if s.name == key)

    def __iter__(self):
        return iter(list(self._sheets))


class FakeApp:
    def __init__(self):
        self.alerts: list[tuple[str, str]] = []

    def alert(self, prompt: str, title: str | None = None):
        self.alerts.append((prompt, title))
        return "ok"


class FakeBook:
    def __init__(self, path: Path | str, sheets=("Sheet1",)):
        self.fullname = str(path)
        self.name = Path(path).name
        self.sheets = FakeSheets(sheets)
        self.app = FakeApp()

    @property
    def alert(self) -> str:
        assert len(self.app.alerts) == 1, self.app.alerts
        return self.app.alerts[0][0]


# ---------------------------------------------------------------------------------------------
# Real files: generated, then filled with valid sample data, by the library
# ---------------------------------------------------------------------------------------------


def _embedded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PublicKeyWarning)
        return load_workspace(None, "lang-son-3-cap-2011-2020")


@pytest.fixture(autouse=True)
def _no_workspace_env(monkeypatch):
    monkeypatch.delenv(actions.WORKSPACE_ENV, raising=False)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> dict[str, Path]:
    """{unit: filled annual file} for a few units, with the embedded province."""
    root = tmp_path_factory.mktemp("round")
    ws = _embedded()
    gen = generate_round(ws, parse_period(PERIOD), UNITS, out=root / "generated", workers=1)
    results = fill_files(ws, [Path(f["path"]) for f in gen.files], root / "filled", seed=1)
    return {r.unit: Path(r.path) for r in results}


def _copy(src: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(src, folder / (name or src.name)))


def _with_negative(src: Path, dest: Path) -> tuple[Path, str]:
    """A copy of a district's file with -5 typed into the first count input of sheet 02-H."""
    ws = _embedded()
    addr = Builder(ws, parse_period(PERIOD)).layout("02-H", ws.province.unit("H-TPLS")).input_cells[0].addr
    wb = openpyxl.load_workbook(src)
    wb["02-H"][addr] = -5
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
    return dest, addr


def _touch(path: Path, when: dt.datetime) -> None:
    record_receipt(path.parent, path, when)


# ---------------------------------------------------------------------------------------------
# "Kiểm tra tệp này"
# ---------------------------------------------------------------------------------------------


def test_the_fake_book_follows_the_protocol(tmp_path):
    book = FakeBook(tmp_path / "x.xlsx")
    assert isinstance(book, BookLike)
    assert isinstance(book.sheets[0], actions.SheetLike)
    assert isinstance(book.app, actions.AppLike)


def test_check_a_clean_file_says_no_errors_and_writes_no_copy(filled, tmp_path):
    path = _copy(filled["H-TPLS"], tmp_path / "nhan")
    book = FakeBook(path)
    res = actions.check_active_book(book)
    assert res.ok and res.status == "ok", res.message
    assert (res.errors, res.warnings, res.annotated) == (0, 0, None)
    assert res.unit == "H-TPLS" and res.period == PERIOD
    assert "không có lỗi" in book.alert and "ĐẠT" in book.alert
    assert book.app.alerts[0][1] == actions.TITLE
    assert "cấu hình mặc định nhúng sẵn" in book.alert        # the embedded default is said aloud
    assert not (path.parent / actions.CHECK_DIR).exists()


def test_check_a_file_with_a_negative_count_writes_an_annotated_copy(filled, tmp_path):
    path, addr = _with_negative(filled["H-TPLS"], tmp_path / "nhan" / "H-TPLS loi.xlsx")
    before = path.read_bytes()
    book = FakeBook(path)
    res = actions.check_active_book(book)
    assert res.ok and res.status == "errors", res.message
    assert res.errors >= 1
    assert ["02-H", addr] in res.report.flatten(["sheet", "cell"])
    annotated = Path(res.annotated)
    assert annotated.parent == path.parent / actions.CHECK_DIR and annotated.is_file()
    wb = openpyxl.load_workbook(annotated)
    assert wb.sheetnames[0] == "Lỗi"
    assert any(row[3] == addr for row in wb["Lỗi"].iter_rows(min_row=5, values_only=True))
    assert f"{res.errors} lỗi" in book.alert and str(annotated) in book.alert
    assert f"02-H!{addr}" in book.alert
    assert path.read_bytes() == before                          # the original is never touched


def test_check_a_file_whose_tag_does_not_verify_says_it_is_held(filled, tmp_path):
    """The clerk's button says what the secretariat's merge will do: a file whose identity is not
    proven is held, with the reason in words."""
    path = _copy(filled["H-TPLS"], tmp_path / "nhan")
    wb = openpyxl.load_workbook(path)
    for row in wb["_cchc"].iter_rows(min_row=2):
        if row[0].value == "tag":
            row[1].value = "0" * 64
    wb.save(path)
    book = FakeBook(path)
    res = actions.check_active_book(book)
    # outside a workspace the tag is judged with the embedded public test key: held, and the message says
    # that this is only a test configuration, not that the unit altered its file
    assert res.ok and "identity.tag_public_key" in res.report.hold_reasons
    assert "identity.tag_invalid" not in res.report.hold_reasons
    assert "TẠM GIỮ" in book.alert and "identity.tag_public_key" in book.alert


def test_check_an_unsaved_book_asks_to_save_first(tmp_path):
    book = FakeBook("Book1")                                    # how Excel names a never-saved book
    res = actions.check_active_book(book)
    assert not res.ok and "chưa được lưu" in book.alert


def test_check_a_file_that_is_not_a_report_is_rejected_with_a_message(tmp_path):
    path = tmp_path / "khac.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "không phải báo cáo"
    wb.save(path)
    book = FakeBook(path)
    res = actions.check_active_book(book)
    assert res.ok and res.status == "rejected"
    assert "BỊ TỪ CHỐI" in book.alert and Path(res.annotated).is_file()


def test_check_uses_the_workspace_above_the_file_and_keeps_copies_out_of_the_inbox(tmp_path):
    ws = init_workspace(tmp_path / "vp", "lang-son-3-cap-2011-2020")
    gen = generate_round(ws, parse_period(PERIOD), ["STP"], out=tmp_path / "gen", workers=1)
    filled_ = fill_files(ws, [Path(gen.files[0]["path"])], ws.inbox, seed=2)
    path, _ = _with_negative_any(Path(filled_[0].path))
    book = FakeBook(path)
    res = actions.check_active_book(book)
    assert res.workspace == str(ws.root)
    assert "nhúng sẵn" not in book.alert                        # its own key, not the public one
    assert res.status == "errors"
    assert Path(res.annotated).parent == ws.root / actions.CHECK_DIR   # not inside inbox/


def _with_negative_any(path: Path) -> tuple[Path, str]:
    wb = openpyxl.load_workbook(path)
    sheet = next(n for n in wb.sheetnames if n[:2].isdigit())
    ws = _embedded()
    lay = Builder(ws, parse_period(PERIOD)).layout(sheet, ws.province.unit("STP"))
    addr = next(c.addr for c in lay.input_cells if c.type and c.type.value == "count")
    wb[sheet][addr] = -1
    wb.save(path)
    return path, addr


def test_check_errors_become_a_message_box_never_a_traceback(filled, tmp_path):
    path = _copy(filled["S-XD"], tmp_path)
    book = FakeBook(path)
    res = actions.check_active_book(book, workspace_dir=tmp_path / "khong-co")
    assert not res.ok
    assert "Không kiểm tra được" in book.alert and "Traceback" not in book.alert
    assert "thư mục làm việc" in book.alert


def test_messages_fall_back_to_the_status_bar_without_alert(filled, tmp_path):
    class OldApp:
        status_bar = None

    book = FakeBook(_copy(filled["STP"], tmp_path))
    book.app = OldApp()
    res = actions.check_active_book(book)
    assert res.ok and book.app.status_bar and "\n" not in book.app.status_bar


# ---------------------------------------------------------------------------------------------
# "Tổng hợp thư mục…" and "Tình hình nộp báo cáo"
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def inbox(filled, tmp_path) -> Path:
    """Two units on time, one a week late; every other expected unit missing."""
    ws = _embedded()
    deadline = dt.datetime.combine(ws.province.dates(parse_period(PERIOD)).deadline, dt.time(9))
    box = tmp_path / "hop-thu"
    for unit, days in (("H-TPLS", -2), ("S-XD", -1), ("STP", 7)):
        _touch(_copy(filled[unit], box, f"bao cao {unit}.xlsx"), deadline + dt.timedelta(days=days))
    return box


def test_merge_folder_opens_the_rollup_and_summarises(inbox):
    book = FakeBook(inbox.parent / "Book1.xlsx")
    opened: list[str] = []
    res = actions.merge_folder(book, inbox, opener=opened.append)
    assert res.ok, res.message
    assert res.period == PERIOD and res.accepted == 3 and res.rejected == 0
    assert sorted(res.on_time) == ["H-TPLS", "S-XD"] and res.late == ["STP"]
    assert res.expected == len(_embedded().province.expected(parse_period(PERIOD)))
    assert len(res.missing) == res.expected - 3
    assert opened == [res.rollup] and Path(res.rollup).is_file() and res.opened
    assert f"{res.expected} báo cáo phải nộp" in book.alert and "2 đúng hạn, 1 trễ hạn" in book.alert
    assert "Trễ hạn: STP" in book.alert and res.rollup in book.alert


def test_merge_folder_never_counts_annotated_copies_inside_the_folder(inbox):
    """An annotated copy in inbox/kiem-tra/ is not a submission: merge's scan skips it."""
    path, _ = _with_negative(inbox / "bao cao H-TPLS.xlsx", inbox / "bao cao H-TPLS.xlsx")
    copy = actions.check_active_book(FakeBook(path)).annotated
    assert copy.startswith(str(inbox / actions.CHECK_DIR))
    book = FakeBook(inbox.parent / "Book1.xlsx")
    res = actions.merge_folder(book, inbox, opener=lambda p: None)
    files = res.result.files
    assert res.ok and all(f["path"] != copy for f in files)
    assert sum(1 for f in files if f["unit"] == "H-TPLS") == 1


def test_merge_folder_without_opening(inbox):
    book = FakeBook(inbox.parent / "Book1.xlsx")
    res = actions.merge_folder(book, inbox, open_result=False, opener=lambda p: pytest.fail("opened"))
    assert res.ok and not res.opened


def test_merge_folder_reports_an_opener_failure_but_keeps_the_rollup(inbox):
    def broken(path):
        raise OSError("no Excel")

    book = FakeBook(inbox.parent / "Book1.xlsx")
    res = actions.merge_folder(book, inbox, opener=broken)
    assert res.ok and not res.opened and Path(res.rollup).is_file()
    assert "Không mở được bảng tổng hợp" in book.alert


def test_merge_folder_on_a_missing_or_empty_folder_says_so(tmp_path):
    book = FakeBook(tmp_path / "Book1.xlsx")
    res = actions.merge_folder(book, tmp_path / "khong-co", opener=pytest.fail)
    assert not res.ok and "Không tìm thấy thư mục" in book.alert
    (tmp_path / "rong").mkdir()
    book = FakeBook(tmp_path / "Book1.xlsx")
    res = actions.merge_folder(book, tmp_path / "rong", opener=pytest.fail)
    assert not res.ok and "không có tệp báo cáo nào" in book.alert and "Traceback" not in book.alert


def test_submission_status_writes_one_row_per_expected_submission(inbox):
    book = FakeBook(inbox.parent / "Book1.xlsx")
    res = actions.submission_status(book, inbox)
    assert res.ok, res.message
    sheet = book.sheets[STATUS_SHEET]
    rows = sheet.rows()
    assert rows[0] == STATUS_HEADER
    expected = [o.submission_key for o in _embedded().province.expected(parse_period(PERIOD))]
    table = rows[1:1 + len(expected)]
    assert [r[0] for r in table] == expected
    by_code = {r[0]: r for r in table}
    assert by_code["H-TPLS"][2:] == ["Đúng hạn", 0, "bao cao H-TPLS.xlsx"]
    assert by_code["STP"][2:] == ["Trễ hạn", 7, "bao cao STP.xlsx"]
    missing = [r for r in table if r[0] not in ("H-TPLS", "S-XD", "STP")]
    assert missing and all(r[2:] == ["Chưa nộp", None, None] for r in missing)
    assert all(r[1] for r in table)                             # every unit has its name
    assert rows[len(expected) + 2][0].startswith(f"Kỳ {PERIOD}")
    assert (res.count("on_time"), res.count("late"), res.count("missing")) == (2, 1, len(expected) - 3)
    assert f"\"{STATUS_SHEET}\"" in book.alert and "1 trễ hạn" in book.alert


def test_submission_status_replaces_the_sheet_and_marks_rejected_files(inbox, tmp_path):
    (inbox / "rac.xlsx").write_bytes(b"not a workbook")        # unreadable: rejected, no unit
    book = FakeBook(inbox.parent / "Book1.xlsx", sheets=("Sheet1", STATUS_SHEET))
    book.sheets[STATUS_SHEET].range("Z99").value = "cũ"
    res = actions.submission_status(book, inbox)
    assert res.ok
    sheet = book.sheets[STATUS_SHEET]
    assert sheet.range("Z99").value is None                    # old contents cleared
    assert [s.name for s in book.sheets].count(STATUS_SHEET) == 1


def test_submission_status_marks_a_unit_whose_only_file_was_rejected(tmp_path):
    """A file that names its unit and period but holds none of its tables: rejected, shown as such."""
    box = tmp_path / "hop-thu"
    box.mkdir()
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Đơn vị báo cáo: Sở Xây dựng"
    wb.active["A2"] = "Kỳ báo cáo: Năm 2024"
    wb.save(box / "so xay dung.xlsx")
    book = FakeBook(tmp_path / "Book1.xlsx")
    res = actions.submission_status(book, box, period=PERIOD)
    assert res.ok, res.message
    row = next(r for r in res.rows if r.code == "S-XD")
    assert (row.status_vi, row.days_late, row.file) == ("Bị từ chối", None, "so xay dung.xlsx")
    assert book.sheets[STATUS_SHEET].range(f"C{res.rows.index(row) + 2}").value == "Bị từ chối"
    assert res.count("rejected") == 1 and "1 bị từ chối" in book.alert


def test_folder_fallback_reads_a_defined_name(tmp_path, monkeypatch):
    class Names:
        def __getitem__(self, key):
            assert key == actions.FOLDER_NAME

            class Name:
                class refers_to_range:                          # noqa: N801 - xlwings' attribute name
                    value = str(tmp_path)

            return Name

    book = FakeBook(tmp_path / "x.xlsx")
    assert actions.folder_from_book(book) is None
    book.names = Names()
    assert actions.folder_from_book(book) == str(tmp_path)
    ws = init_workspace(tmp_path / "vp", "lang-son-3-cap-2011-2020")
    monkeypatch.setenv(actions.WORKSPACE_ENV, str(ws.root))
    assert actions.folder_from_book(FakeBook(tmp_path / "y.xlsx")) == str(ws.inbox)


def test_entry_folder_dialog_and_its_fallback(tmp_path):
    """The glue's folder choice, with fakes for Excel's FileDialog (the real one needs Excel)."""

    class Dialog:
        Title = AllowMultiSelect = None

        def __init__(self, answer):
            self.answer = answer

        def Show(self):                                          # noqa: N802 - Excel's COM names
            return -1 if self.answer else 0

        def SelectedItems(self, i):                              # noqa: N802
            return self.answer

    class Api:
        def __init__(self, answer):
            self.answer = answer

        def FileDialog(self, kind):                              # noqa: N802
            assert kind == entry.MSO_FILE_DIALOG_FOLDER_PICKER
            return Dialog(self.answer)

    book = FakeBook(tmp_path / "x.xlsx")
    book.app.api = Api(str(tmp_path))
    assert entry._ask_folder(book) == str(tmp_path) and not book.app.alerts
    book.app.api = Api(None)                                     # cancelled: nothing, no message
    assert entry._ask_folder(book) is None and not book.app.alerts
    del book.app.api                                             # no COM: the book's name, else a message
    assert entry._ask_folder(book) is None and "Chưa chọn thư mục" in book.alert


# ---------------------------------------------------------------------------------------------
# The add-in file
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The default add-in: xlwings' VBA project untouched, one button."""
    return build(tmp_path_factory.mktemp("addin") / ADDIN_FILE)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The option: the VBA project rebuilt with ms-ovba, three buttons."""
    if not addin_build.can_compile_vba():
        pytest.skip("ms-ovba not installed")
    return build(tmp_path_factory.mktemp("addin-rebuilt") / ADDIN_FILE, compile=True)


def _buttons(xml: bytes | str):
    root = ET.fromstring(xml)
    return root.findall(f".//{CUSTOMUI_NS}button"), root


def test_ribbon_has_a_cchc_tab_with_three_buttons():
    buttons, root = _buttons(addin_build.ribbon_xml().encode("utf-8"))
    tab = root.find(f".//{CUSTOMUI_NS}tab")
    group = tab.find(f"{CUSTOMUI_NS}group")
    assert tab.get("label") == "CCHC" and group.get("label") == "Báo cáo CCHC"
    assert [b.get("label") for b in buttons] == LABELS
    assert all(b.get("imageMso") and b.get("onAction", "").startswith(f"{VBA_MODULE}.") for b in buttons)


def test_ribbon_callbacks_vba_subs_and_python_entry_points_line_up():
    """onAction → Sub in cchc_xl.bas → RunPython → a function of cchc_xl.addin.entry."""
    import re

    bas = addin_build.vba_source()
    assert bas.isascii() and f'Attribute VB_Name = "{VBA_MODULE}"' in bas
    subs = dict(re.findall(r'Sub (\w+)\(control As IRibbonControl\)\r\n\s+RunPython "([^"]+)"', bas))
    buttons, _ = _buttons(addin_build.ribbon_xml().encode("utf-8"))
    for b in buttons:
        command = subs[b.get("onAction").split(".", 1)[1]]
        module, call = re.fullmatch(r"import (\S+) as e; e\.(\w+)\(\)", command).groups()
        assert module == "cchc_xl.addin.entry" and callable(getattr(entry, call))


@pytest.mark.parametrize("kind", ["built", "rebuilt"])
def test_built_addin_carries_our_ribbon_and_the_xlwings_template(kind, request):
    built = request.getfixturevalue(kind)
    assert built.path.is_file() and zipfile.is_zipfile(built.path)
    with zipfile.ZipFile(built.path) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        template = zipfile.ZipFile(io.BytesIO(addin_build.template_xlam()[0]))
        assert names == set(template.namelist())                # same parts: only contents replaced
        buttons, _ = _buttons(z.read("customUI/customUI.xml"))
        assert [b.get("label") for b in buttons] == (LABELS if kind == "rebuilt" else ["Công cụ CCHC…"])
        assert "customUI/customUI.xml" in z.read("_rels/.rels").decode()
        assert f'name="{built.config_sheet}"' in z.read("xl/workbook.xml").decode()
        assert z.read("xl/vbaProject.bin")[:8] == bytes.fromhex("D0CF11E0A1B11AE1")   # an OLE file


# [MS-CUSTOMUI]: Office finds a customUI part by its relationship type, and reads it with the schema
# that type stands for; the part's namespace must be that schema's.
CUSTOMUI_2006 = ("http://schemas.microsoft.com/office/2006/01/customui",
                 "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility")
CUSTOMUI_2009 = ("http://schemas.microsoft.com/office/2009/07/customui",
                 "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility")
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _ribbon_relationships(rels: bytes) -> list[ET.Element]:
    return [r for r in ET.fromstring(rels).iter(PKG_REL) if r.get("Target").lstrip("/") == "customUI/customUI.xml"]


def test_built_addin_ribbon_relationship_type_matches_its_namespace(built):
    with zipfile.ZipFile(built.path) as z:
        ns = ET.fromstring(z.read("customUI/customUI.xml")).tag[1:].split("}")[0]
        package_rels = z.read("_rels/.rels")
    rels = _ribbon_relationships(package_rels)
    others = [r for r in ET.fromstring(package_rels).iter(PKG_REL) if r.get("Target") != "customUI/customUI.xml"]
    assert ns == CUSTOMUI_2006[0]
    assert [r.get("Type") for r in rels] == [CUSTOMUI_2006[1]]
    # the template's other relationships are untouched
    template = zipfile.ZipFile(io.BytesIO(addin_build.template_xlam()[0]))
    want = [(r.get("Id"), r.get("Type"), r.get("Target")) for r in ET.fromstring(template.read("_rels/.rels"))
            .iter(PKG_REL) if r.get("Target") != "customUI/customUI.xml"]
    assert [(r.get("Id"), r.get("Type"), r.get("Target")) for r in others] == want


@pytest.mark.parametrize("ns, rel_type", [CUSTOMUI_2006, CUSTOMUI_2009])
def test_ribbon_relationship_follows_the_customui_namespace(ns, rel_type):
    ribbon = f'<?xml version="1.0"?><customUI xmlns="{ns}"><ribbon/></customUI>'.encode()
    assert addin_build.ribbon_relationship_type(ribbon) == rel_type
    other = CUSTOMUI_2009[1] if rel_type == CUSTOMUI_2006[1] else CUSTOMUI_2006[1]
    rels = (f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId4" Type="{other}" Target="customUI/customUI.xml"/>'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>').encode()
    fixed = addin_build._set_ribbon_relationship(rels, rel_type)
    assert [r.get("Type") for r in _ribbon_relationships(fixed)] == [rel_type]
    assert fixed.replace(rel_type.encode(), other.encode()) == rels


def test_ribbon_without_a_known_customui_namespace_is_refused():
    with pytest.raises(addin_build.AddinBuildError, match="customUI"):
        addin_build.ribbon_relationship_type(b'<customUI xmlns="urn:x"><ribbon/></customUI>')


def test_rebuilt_addin_vba_read_back_with_olevba(rebuilt):
    olevba = pytest.importorskip("oletools.olevba")
    built = rebuilt
    assert built.vba == "compiled"
    parser = olevba.VBA_Parser(str(built.path))
    try:
        assert parser.detect_vba_macros()
        modules = {Path(vba_filename).stem: code for (_f, _s, vba_filename, code) in parser.extract_macros()}
    finally:
        parser.close()
    assert set(modules) == {"ThisWorkbook", "Sheet2", "xlwings", VBA_MODULE}
    ours = modules[VBA_MODULE].replace("\r\n", "\n")
    for sub, func in (("KiemTraTepNay", "kiem_tra_tep_nay"), ("TongHopThuMuc", "tong_hop_thu_muc"),
                      ("TinhHinhNopBaoCao", "tinh_hinh_nop_bao_cao")):
        assert f"Sub {sub}(control As IRibbonControl)\n" \
               f'    RunPython "import cchc_xl.addin.entry as e; e.{func}()"' in ours
    assert "Public Function RunPython(PythonCommand As String)" in modules["xlwings"]
    assert 'PROJECT_NAME As String = "cchc_xl"' in modules["xlwings"]
    template = olevba.VBA_Parser(str(Path(__import__("xlwings").__file__).parent / addin_build.TEMPLATE_FILE))
    try:
        original = {Path(n).stem: c for (_f, _s, n, c) in template.extract_macros()}["xlwings"]
    finally:
        template.close()
    # the same xlwings code as the template's, line for line (stored with CRLF, as the VBA editor does)
    assert modules["xlwings"].split("\r\n") == original.replace(
        'PROJECT_NAME As String = "myaddin"', 'PROJECT_NAME As String = "cchc_xl"').split("\n")


def test_build_is_deterministic_and_accepts_a_folder(built, tmp_path):
    again = build_addin(tmp_path)
    assert again == tmp_path / ADDIN_FILE
    assert again.read_bytes() == built.path.read_bytes()


def test_the_default_addin_runs_the_vba_excel_compiled_and_its_button_reaches_python(built):
    """Issue 16.3: the VBA project is the template's, byte for byte (Excel compiled it; nothing of
    ours is in it), and the ribbon's one button calls the template's own callback, which runs
    ``import cchc_xl; cchc_xl.main()`` for a file named cchc_xl.xlam: our package's main()."""
    import re

    olevba = pytest.importorskip("oletools.olevba")
    template = zipfile.ZipFile(io.BytesIO(addin_build.template_xlam()[0]))
    with zipfile.ZipFile(built.path) as z:
        assert z.read("xl/vbaProject.bin") == template.read("xl/vbaProject.bin")
        assert z.read("xl/workbook.xml") == template.read("xl/workbook.xml")
        buttons, _ = _buttons(z.read("customUI/customUI.xml"))
    assert built.vba == "template" and VBA_MODULE not in built.modules
    assert 'name="_myaddin.conf"' in template.read("xl/workbook.xml").decode() and built.project_name == "myaddin"
    (button,) = buttons
    module, sub = button.get("onAction").split(".")
    parser = olevba.VBA_Parser(str(built.path))
    try:
        code = {Path(n).stem: c for (_f, _s, n, c) in parser.extract_macros()}[module]
    finally:
        parser.close()
    body = re.search(rf"Sub {sub}\(control As IRibbonControl\)(.*?)End Sub", code, re.S).group(1)
    assert "Left(ThisWorkbook.Name" in body and 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in body
    package = importlib.import_module(Path(ADDIN_FILE).stem)        # what mymodule is for cchc_xl.xlam
    assert package.__name__ == "cchc_xl" and callable(package.main)


def test_the_menu_runs_the_action_whose_number_was_typed():
    """``cchc_xl.main()`` → ``entry.menu``: Excel's input box gives a number (or False: cancelled)."""
    assert [actions.menu_choice(a) for a in (1, 2.0, " 3 ", "2,0")] == [
        "kiem_tra_tep_nay", "tong_hop_thu_muc", "tinh_hinh_nop_bao_cao", "tong_hop_thu_muc"]
    assert [actions.menu_choice(a) for a in (False, None, 0, 4, "abc", True)] == [None] * 6
    assert [label for _, label, _ in actions.MENU] == LABELS
    assert all(callable(getattr(entry, fn)) for _, _, fn in actions.MENU)
    assert all(f"{n}. {label}" in actions.MENU_PROMPT for n, label, _ in actions.MENU)


def test_the_default_addin_must_keep_its_name(tmp_path):
    with pytest.raises(addin_build.AddinBuildError, match="cchc_xl.xlam"):
        build(tmp_path / "khac.xlam")


def test_build_with_compile_required_but_no_ms_ovba_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(addin_build, "can_compile_vba", lambda: False)
    with pytest.raises(addin_build.AddinBuildError, match="ms-ovba"):
        build(tmp_path / ADDIN_FILE, compile=True)
    assert build(tmp_path / ADDIN_FILE).vba == "template"      # the default needs no ms-ovba


def test_build_refuses_a_name_that_is_not_xlam(tmp_path):
    with pytest.raises(addin_build.AddinBuildError, match=".xlam"):
        build(tmp_path / "x.xlsm")


@pytest.mark.parametrize("data", [b"", b"a", b"abcabcabc" * 2000, bytes(range(256)) * 40,
                                  b"Sub X()\r\n  MsgBox 1\r\nEnd Sub\r\n" * 300])
def test_vba_compression_round_trips(data):
    assert _decompress(_compress(data)) == data
    olevba = pytest.importorskip("oletools.olevba")
    if data:
        assert bytes(olevba.decompress_stream(bytearray(_compress(data)))) == data


def test_vba_compression_round_trips_the_real_module_sources():
    olevba = pytest.importorskip("oletools.olevba")
    modules, codepage = addin_build.read_vba_project(
        zipfile.ZipFile(Path(__import__("xlwings").__file__).parent / addin_build.TEMPLATE_FILE).read(
            "xl/vbaProject.bin"))
    assert codepage == "cp1252" and {m.name for m in modules} >= {"xlwings", "ThisWorkbook"}
    for m in modules:
        packed = _compress(m.source)
        assert _decompress(packed) == m.source
        assert bytes(olevba.decompress_stream(bytearray(packed))) == m.source


# ---------------------------------------------------------------------------------------------
# Install / uninstall (file operations), and the CLI
# ---------------------------------------------------------------------------------------------


def test_install_copies_into_xlstart_and_writes_the_config_once(built, tmp_path):
    xlstart = xlstart_dir({"APPDATA": str(tmp_path / "AppData")})
    assert xlstart == tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART"
    conf = config_path("cchc_xl", home=tmp_path)
    res = install_addin(built.path, xlstart, conf, interpreter=r"C:\Python311\python.exe")
    assert Path(res.addin).read_bytes() == built.path.read_bytes()
    assert res.config_written and conf.read_bytes() == config_text(r"C:\Python311\python.exe").encode("cp1252")
    assert conf.read_bytes() == b'"INTERPRETER_WIN","C:\\Python311\\python.exe"\r\n'
    conf.write_text('"INTERPRETER_WIN","D:\\khac\\python.exe"\r\n', encoding="cp1252")
    again = install_addin(built.path, xlstart, conf)
    assert not again.config_written and "khac" in conf.read_text(encoding="cp1252")
    assert uninstall_addin(xlstart) == res.addin and not Path(res.addin).exists()
    assert uninstall_addin(xlstart) is None
    assert xlstart_dir({}) is None


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("args", [[], ["build"], ["install"], ["uninstall"]])
def test_addin_commands_have_help_and_version(runner, args):
    res = runner.invoke(addin_group, [*args, "--help"])
    assert res.exit_code == 0 and "Cách dùng:" in res.output
    res = runner.invoke(addin_group, [*args, "--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_cli_build(runner, tmp_path, built):
    out = tmp_path / "o" / ADDIN_FILE
    res = runner.invoke(addin_group, ["build", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["path"] == str(out) and out.read_bytes() == built.path.read_bytes()
    res = runner.invoke(addin_group, ["build", "--out", str(tmp_path / "bad.zip")])
    assert res.exit_code == 1 and ".xlam" in res.output and "Traceback" not in res.output


def test_cli_install_dry_run_builds_and_installs_nothing(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    out = tmp_path / ADDIN_FILE
    res = runner.invoke(addin_group, ["install", "--dry-run", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["dry_run"] and not info["installed"] and out.is_file()
    assert info["target"].endswith(ADDIN_FILE) and "XLSTART" in info["target"]
    assert not (tmp_path / "AppData").exists() and not (tmp_path / "home").exists()
    res = runner.invoke(addin_group, ["install", "--dry-run", "--out", str(out)])
    assert res.exit_code == 0 and "Chạy thử" in res.output and str(out) in res.output


@pytest.mark.skipif(os.name == "nt", reason="the non-Windows rule")
def test_cli_install_and_uninstall_off_windows_exit_1_after_building(runner, tmp_path):
    out = tmp_path / ADDIN_FILE
    res = runner.invoke(addin_group, ["install", "--out", str(out)])
    assert res.exit_code == 1 and out.is_file()
    assert str(out) in res.output and "chỉ cài được trên Windows" in res.output
    res = runner.invoke(addin_group, ["uninstall"])
    assert res.exit_code == 1 and "chỉ cài được trên Windows" in res.output


def test_cli_install_on_windows_copies_to_xlstart(runner, tmp_path, monkeypatch):
    """The Windows branch, with the platform and folders pointed at tmp_path."""
    from cchc_xl.addin import cli as addin_cli

    monkeypatch.setattr(addin_cli, "is_windows", lambda: True)
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setattr(addin_cli, "config_path", lambda name: tmp_path / "home" / f".{name}" / f"{name}.conf")
    res = runner.invoke(addin_group, ["install", "--out", str(tmp_path / ADDIN_FILE), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    target = tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART" / ADDIN_FILE
    assert info["installed"] and info["addin"] == str(target) and target.is_file()
    # the template's xlwings module keeps its PROJECT_NAME: its config file is .myaddin\myaddin.conf
    assert info["config_written"] and (tmp_path / "home" / ".myaddin" / "myaddin.conf").is_file()
    res = runner.invoke(addin_group, ["uninstall", "--dry-run"])
    assert res.exit_code == 0 and str(target) in res.output and target.exists()
    res = runner.invoke(addin_group, ["uninstall"])
    assert res.exit_code == 0 and not target.exists()
    res = runner.invoke(addin_group, ["uninstall"])
    assert res.exit_code == 0 and "không có gì để gỡ" in res.output
