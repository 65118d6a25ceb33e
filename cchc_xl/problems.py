"""The problem catalogue: every problem a returned workbook can have, as data.

Each problem type has a stable ``code`` (``group.name``), a default severity, a title, a message
template and a fix hint, in Vietnamese and English. Validators never write message text
themselves: they call :func:`make_problem` with the code, where it happened (``file``, ``sheet``,
``cell``, ``table``, ``row``, ``column``) and the template parameters. A :class:`ValidationReport`
collects the problems of one file; ``report.flatten(["code", "cell"])`` is what tests assert.

Template parameters — one small vocabulary shared by all codes:

``value``        what was found (a typed value, a label, a formula, a count, another unit …)
``expected``     what should be there (a label, a formula, bounds, a list of choices …)
``repaired``     the value read after repairing text typed in a number or date cell
``row_label``, ``column_label``   the labels of the cell's row and column
``unit``, ``period``   a unit code, a period (``2024-Q1`` is shown as its Vietnamese label)
``rule``         a blueprint rule id
``encoding``     a legacy text encoding (``TCVN3``, ``VNI``)
``detail``       technical detail of a read failure (not translated)

and the where-fields ``file`` (shown as its base name), ``sheet``, ``cell``, ``table`` (the
appendix code, e.g. ``02-H``). :attr:`ProblemType.placeholders` lists what each code needs.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import string
from dataclasses import dataclass, field, fields

SEVERITIES = ("error", "warning")
LANGS = ("vi", "en")
WHERE = ("file", "sheet", "cell", "table", "row", "column")

GROUPS = {
    "file": ("Tệp", "File"),
    "identity": ("Nhận diện tệp", "Identity"),
    "structure": ("Cấu trúc biểu mẫu", "Structure"),
    "value": ("Giá trị ô", "Cell values"),
    "table": ("Cả biểu", "Whole tables"),
    "rule": ("Quy tắc kiểm tra của biểu", "Blueprint rules"),
    "outline": ("Văn bản, đề cương", "Text and outline"),
    "plausibility": ("Cần xác minh (so với các kỳ trước)", "Needs checking (against earlier periods)"),
}
SEVERITY_LABELS = {"error": ("lỗi", "error"), "warning": ("cảnh báo", "warning")}
# Problems that leave a file's identity unproven for this workspace: such a file is *held* — kept in
# the ledger and listed, but it supplies no figures until the secretariat accepts it on the record.
HOLD_CODES = frozenset({
    "identity.tag_invalid", "identity.tag_public_key", "identity.province_mismatch", "identity.salvaged", "identity.blueprint_unknown",
    "identity.blueprint_outdated", "identity.metadata_invalid", "identity.metadata_conflict",
    "identity.format_unknown", "identity.transplanted",
})


@dataclass(frozen=True)
class ProblemType:
    code: str
    severity: str
    title_vi: str
    title_en: str
    template_vi: str
    template_en: str
    hint_vi: str
    hint_en: str
    group: str

    def title(self, lang: str = "vi") -> str:
        return self.title_vi if _lang(lang) == "vi" else self.title_en

    def template(self, lang: str = "vi") -> str:
        return self.template_vi if _lang(lang) == "vi" else self.template_en

    def hint(self, lang: str = "vi") -> str:
        return self.hint_vi if _lang(lang) == "vi" else self.hint_en

    @property
    def placeholders(self) -> frozenset[str]:
        """Every parameter the message and hint templates use (both languages)."""
        names: set[str] = set()
        for text in (self.template_vi, self.template_en, self.hint_vi, self.hint_en):
            names |= _names(text)
        return frozenset(names)


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


_LOC = "Ô {cell} ({row_label} — {column_label})"
_LOC_EN = "Cell {cell} ({row_label} — {column_label})"
_PASTE = "Dán giá trị — Paste Values"


def _t(code: str, severity: str, title_vi: str, title_en: str, template_vi: str, template_en: str,
       hint_vi: str, hint_en: str) -> ProblemType:
    return ProblemType(code, severity, title_vi, title_en, template_vi, template_en, hint_vi, hint_en,
                       code.split(".", 1)[0])


_ENTRIES: list[ProblemType] = [
    # -- file --------------------------------------------------------------------------------
    _t("file.not_spreadsheet", "error",
       "Tệp không phải bảng tính", "Not a spreadsheet",
       "Tệp {file} không phải là bảng tính Excel nên không đọc được số liệu (chi tiết: {detail}).",
       "File {file} is not an Excel workbook, so no figures can be read from it (detail: {detail}).",
       "Gửi lại đúng tệp Excel (.xlsx) đã được cấp cho đơn vị, sau khi đã nhập số liệu; không gửi bản PDF, "
       "Word, ảnh chụp hay tệp nén.",
       "Send back the Excel workbook (.xlsx) issued to your unit, with the figures filled in; do not send a "
       "PDF, a Word document, a photo or an archive."),
    _t("file.corrupt", "error",
       "Tệp bị hỏng", "Corrupt file",
       "Tệp {file} bị hỏng, không mở được (chi tiết: {detail}).",
       "File {file} is damaged and cannot be opened (detail: {detail}).",
       "Mở thử tệp trên máy của đơn vị. Nếu Excel báo lỗi, dùng bản đã lưu trước đó hoặc nhập lại số liệu vào "
       "biểu mẫu gốc, lưu lại (File > Save As > Excel Workbook) rồi gửi lại; khi gửi qua thư điện tử, nên nén "
       "tệp (.zip) trước khi đính kèm.",
       "Open the file on your computer. If Excel reports an error, use an earlier copy or re-enter the figures "
       "into the original template, save it (File > Save As > Excel Workbook) and send it again; when "
       "emailing, zip the file before attaching it."),
    _t("file.encrypted", "error",
       "Tệp có mật khẩu mở", "Password-protected file",
       "Tệp {file} được đặt mật khẩu mở tệp nên không đọc được (chi tiết: {detail}).",
       "File {file} is protected by an opening password and cannot be read (detail: {detail}).",
       "Mở tệp trong Excel, vào File > Info > Protect Workbook > Encrypt with Password, xoá mật khẩu, lưu lại "
       "rồi gửi lại. Khoá bảo vệ trang tính có sẵn của biểu mẫu thì giữ nguyên.",
       "Open the file in Excel, go to File > Info > Protect Workbook > Encrypt with Password, clear the "
       "password, save and send it again. The template's own sheet protection can stay."),
    _t("file.too_large", "error",
       "Tệp quá lớn", "File too large",
       "Tệp {file} quá lớn, vượt giới hạn tiếp nhận (chi tiết: {detail}).",
       "File {file} is too large to be accepted (detail: {detail}).",
       "Biểu mẫu báo cáo thường chỉ vài trăm KB; tệp lớn thường do dán ảnh, dán cả bảng từ tệp khác hoặc định "
       "dạng hàng nghìn dòng trống. Xoá các nội dung đó (hoặc nhập lại số liệu vào biểu mẫu gốc) rồi gửi lại.",
       "A report workbook is normally a few hundred KB; large files come from pasted pictures, whole tables "
       "pasted from other files or thousands of formatted empty rows. Remove them (or re-enter the figures "
       "into the original template) and send it again."),
    _t("file.hostile", "error",
       "Tệp có cấu trúc không an toàn", "Unsafe file",
       "Tệp {file} có cấu trúc bất thường, có thể gây hại, nên không được mở để kiểm tra (chi tiết: {detail}).",
       "File {file} has an abnormal structure that could be harmful, so it was not opened (detail: {detail}).",
       "Không gửi tệp đã qua công cụ chuyển đổi hay chỉnh sửa lạ. Nhập số liệu vào biểu mẫu .xlsx gốc, lưu bằng "
       "Excel, LibreOffice hoặc WPS rồi gửi lại; nếu vẫn bị báo lỗi, liên hệ Phòng Cải cách hành chính, "
       "Sở Nội vụ.",
       "Do not send files that went through unusual converters or editors. Enter the figures into the original "
       ".xlsx template, save it with Excel, LibreOffice or WPS and send it again; if the problem persists, "
       "contact the administrative reform office of the Department of Home Affairs."),
    _t("file.unsupported", "error",
       "Định dạng tệp chưa được hỗ trợ", "Unsupported file format",
       "Tệp {file} ở định dạng hệ thống chưa đọc được (chi tiết: {detail}).",
       "File {file} is in a format that cannot be read (detail: {detail}).",
       "Mở tệp bằng Excel, LibreOffice hoặc WPS, chọn File > Save As, lưu dạng Excel Workbook (.xlsx) rồi gửi "
       "lại.",
       "Open the file with Excel, LibreOffice or WPS, choose File > Save As, save it as an Excel Workbook "
       "(.xlsx) and send it again."),
    _t("file.unreadable", "error",
       "Không đọc được tệp", "File could not be read",
       "Không đọc được tệp {file} (chi tiết: {detail}).",
       "File {file} could not be read (detail: {detail}).",
       "Mở tệp, lưu lại dạng Excel Workbook (.xlsx) rồi gửi lại; nếu vẫn không được, gửi tệp kèm thông báo này "
       "cho Phòng Cải cách hành chính, Sở Nội vụ.",
       "Open the file, save it again as an Excel Workbook (.xlsx) and send it again; if that does not help, "
       "send the file with this message to the administrative reform office of the Department of Home Affairs."),
    _t("file.legacy_format", "warning",
       "Tệp lưu ở định dạng khác .xlsx", "Workbook saved in another format",
       "Tệp {file} đã được lưu sang định dạng {value} thay vì .xlsx của biểu mẫu; số liệu vẫn được đọc nhưng "
       "không kiểm tra được công thức và khoá bảo vệ của biểu.",
       "File {file} was saved as {value} instead of the template's .xlsx; the figures are read, but the "
       "formulas and the protection of the template cannot be checked.",
       "Lần sau, nhập số liệu trực tiếp vào tệp .xlsx được cấp và giữ nguyên định dạng khi lưu (không chọn "
       "Save As .xls hoặc .ods).",
       "Next time, fill in the .xlsx file you were given and keep its format when saving (do not use "
       "Save As .xls or .ods)."),
    # -- identity ----------------------------------------------------------------------------
    _t("identity.metadata_missing", "error",
       "Không xác định được tệp của đơn vị nào", "Workbook identity missing",
       "Tệp {file} không có thông tin nhận diện của biểu mẫu, và từ nội dung tệp cũng không xác định được "
       "đơn vị, kỳ báo cáo hay biểu nào.",
       "File {file} carries no template identity, and neither the unit, the period nor any table could be "
       "recognised from its content.",
       "Không tạo tệp mới hay chép bảng sang tệp khác: nhập số liệu vào đúng tệp biểu mẫu được cấp cho đơn vị "
       "và gửi lại chính tệp đó. Nếu đã mất tệp, đề nghị Sở Nội vụ cấp lại.",
       "Do not create a new file or copy the tables into another one: fill in the template file issued to "
       "your unit and send that very file back. If it is lost, ask the Department of Home Affairs for a new "
       "one."),
    _t("identity.metadata_invalid", "error",
       "Thông tin nhận diện bị hỏng", "Invalid workbook identity",
       "Thông tin nhận diện trong tệp {file} (trang tính ẩn hoặc thuộc tính của tệp) bị hỏng hoặc không đầy "
       "đủ.",
       "The identity stored in file {file} (hidden sheet or document properties) is damaged or incomplete.",
       "Không sửa, xoá trang tính ẩn hay thuộc tính (File > Info > Properties) của biểu mẫu. Chép số liệu sang "
       f"tệp biểu mẫu gốc ({_PASTE}) rồi gửi lại.",
       "Do not edit or delete the template's hidden sheet or its properties (File > Info > Properties). Copy "
       "the figures into the original template file (Paste Values) and send it again."),
    _t("identity.unit_unknown", "error",
       "Đơn vị không có trong danh sách", "Unknown reporting unit",
       "Mã đơn vị {unit} ghi trong tệp {file} không có trong danh sách đơn vị báo cáo của tỉnh.",
       "Unit code {unit} recorded in file {file} is not in the province's list of reporting units.",
       "Dùng đúng biểu mẫu được cấp cho đơn vị mình. Nếu đơn vị mới thành lập, sáp nhập, chia tách hoặc đổi "
       "tên, đề nghị Sở Nội vụ cập nhật danh sách và cấp lại biểu mẫu.",
       "Use the template issued to your own unit. If the unit was created, merged, split or renamed, ask the "
       "Department of Home Affairs to update the list and issue a new template."),
    _t("identity.province_mismatch", "error",
       "Biểu mẫu của tỉnh khác", "Another province's workbook",
       "Tệp {file} là biểu mẫu của tỉnh “{value}”, không phải của tỉnh “{expected}” đang tiếp nhận báo cáo.",
       "File {file} is a template of province “{value}”, not of “{expected}”, which is receiving the reports.",
       "Dùng biểu mẫu do Sở Nội vụ tỉnh mình cấp; không dùng lại biểu mẫu của tỉnh khác.",
       "Use the template issued by your own province's Department of Home Affairs, not another province's."),
    _t("identity.period_mismatch", "error",
       "Sai kỳ báo cáo", "Wrong reporting period",
       "Tệp {file} là báo cáo {value}, trong khi kỳ đang tiếp nhận là {expected}.",
       "File {file} is the report for {value}, while the period being collected is {expected}.",
       "Có thể đơn vị đã gửi nhầm tệp của kỳ khác. Gửi tệp biểu mẫu của kỳ {expected} với số liệu của kỳ này; "
       "không sửa tên kỳ trong tệp cũ.",
       "The file of another period may have been sent by mistake. Send the template of {expected} with this "
       "period's figures; do not edit the period in an old file."),
    _t("identity.period_unknown", "error",
       "Kỳ báo cáo không hợp lệ", "Unknown reporting period",
       "Kỳ báo cáo “{value}” ghi trong tệp {file} không hợp lệ.",
       "The reporting period “{value}” recorded in file {file} is not valid.",
       "Dùng biểu mẫu do Sở Nội vụ cấp cho kỳ báo cáo đang thực hiện; không sửa thông tin kỳ báo cáo trong "
       "tệp.",
       "Use the template issued by the Department of Home Affairs for the current period; do not edit the "
       "period recorded in the file."),
    _t("identity.blueprint_unknown", "error",
       "Biểu mẫu không có trong danh mục", "Unknown template",
       "Biểu {table} trong tệp {file} dùng mẫu “{value}” không có trong danh mục biểu mẫu hiện hành.",
       "Table {table} in file {file} uses template “{value}”, which is not in the current catalogue.",
       f"Lấy biểu mẫu của kỳ này từ Sở Nội vụ, chép số liệu sang ({_PASTE}) rồi gửi lại.",
       "Get this period's template from the Department of Home Affairs, copy the figures into it "
       "(Paste Values) and send it again."),
    _t("identity.blueprint_programme", "warning",
       "Biểu mẫu của chương trình CCHC khác", "Template of another CCHC programme",
       "Biểu {table} trong tệp {file} dùng mẫu của Chương trình {value} (có thể tạo trước khi tỉnh chuyển "
       "chương trình); tỉnh đang báo cáo theo Chương trình {expected}. Số liệu được đọc theo mẫu của tệp.",
       "Table {table} in file {file} uses the template of the {value} programme (probably generated before the "
       "province changed programme); the province now reports under the {expected} programme. The figures are "
       "read by the file's own template.",
       "Không cần gửi lại báo cáo của các kỳ đã qua. Với kỳ đang thực hiện, lấy biểu mẫu mới từ Sở Nội vụ, chép "
       f"nội dung sang ({_PASTE}) rồi gửi lại.",
       "Reports of past periods need not be sent again. For the current period, get the new template from "
       "the Department of Home Affairs, copy the content into it (Paste Values) and send it again."),
    _t("identity.blueprint_outdated", "error",
       "Biểu mẫu phiên bản cũ", "Outdated template version",
       "Biểu {table} trong tệp {file} dùng mẫu phiên bản cũ ({value}); phiên bản hiện hành là {expected}.",
       "Table {table} in file {file} uses an old template version ({value}); the current version is "
       "{expected}.",
       f"Lấy biểu mẫu mới của kỳ này từ Sở Nội vụ, chép số liệu sang ({_PASTE}), bổ sung các chỉ tiêu mới rồi "
       "gửi lại.",
       "Get this period's new template from the Department of Home Affairs, copy the figures into it "
       "(Paste Values), fill in the new items and send it again."),
    _t("identity.tag_invalid", "error",
       "Thông tin nhận diện đã bị sửa", "Identity tampered with",
       "Thông tin nhận diện của tệp {file} đã bị sửa: tệp ghi là báo cáo của đơn vị {unit}, kỳ {period}, "
       "nhưng mã xác thực không khớp với biểu mẫu đã cấp cho đơn vị này.",
       "The identity of file {file} has been changed: it claims to be the report of unit {unit} for "
       "{period}, but its authentication code does not match the template issued to that unit.",
       "Không sửa tên đơn vị, kỳ báo cáo hay trang tính ẩn của biểu mẫu và không dùng tệp của đơn vị khác. "
       "Nhập số liệu vào đúng biểu mẫu được cấp cho đơn vị rồi gửi lại.",
       "Do not edit the unit, the period or the hidden sheet of the template, and do not reuse another "
       "unit's file. Fill in the template issued to your unit and send it again."),
    _t("identity.tag_public_key", "error",
       "CHỈ LÀ CẤU HÌNH THỬ: không xác thực được tệp", "TEST CONFIGURATION ONLY: file not authenticated",
       "CHỈ LÀ CẤU HÌNH THỬ — lệnh đang chạy ngoài thư mục làm việc, với khóa công khai nhúng sẵn để thử. "
       "Mã xác thực của tệp {file} (đơn vị {unit}, kỳ {period}) không khớp với khóa thử này. Điều đó KHÔNG cho "
       "biết tệp có bị sửa hay không: tệp do tỉnh cấp được ký bằng khóa riêng của thư mục làm việc.",
       "TEST CONFIGURATION ONLY — the command runs outside a workspace, with the embedded public test key. "
       "The authentication code of file {file} (unit {unit}, {period}) does not match this test key. That says "
       "NOTHING about whether the file was altered: files a province issues are signed with its workspace's "
       "own key.",
       "Chạy lại lệnh trong thư mục làm việc của tỉnh (chuyển vào thư mục đó, hoặc thêm --workspace THƯ_MỤC) "
       "để xác thực tệp. Không kết luận đơn vị đã sửa tệp từ thông báo này.",
       "Run the command again inside the province's workspace (cd into it, or add --workspace DIR) to "
       "authenticate the file. Do not conclude from this message that the unit altered the file."),
    _t("identity.metadata_conflict", "error",
       "Hai bản thông tin nhận diện không khớp", "The two copies of the identity disagree",
       "Trang tính ẩn và thuộc tính của tệp {file} ghi hai danh tính khác nhau ({value} và {expected}): "
       "thông tin nhận diện đã được chép từ tệp khác sang.",
       "The hidden sheet and the document properties of file {file} record two different identities "
       "({value} and {expected}): the identity was copied from another file.",
       "Không chép trang tính ẩn hay thuộc tính từ tệp này sang tệp khác. Nhập số liệu vào đúng biểu mẫu được "
       "cấp cho đơn vị rồi gửi lại.",
       "Do not copy the hidden sheet or the properties from one file into another. Fill in the template "
       "issued to your unit and send it again."),
    _t("identity.transplanted", "error",
       "Thông tin nhận diện chép từ tệp khác", "Identity copied from another file",
       "Thông tin nhận diện của tệp {file} ghi đơn vị và kỳ “{expected}”, nhưng dòng đơn vị đã khoá trên trang "
       "{sheet} ({cell}) ghi “{value}”: thông tin nhận diện và mã xác thực đã được chép từ tệp khác sang.",
       "The identity of file {file} names unit and period “{expected}”, but the locked unit line on sheet "
       "{sheet} ({cell}) reads “{value}”: the identity and its tag were copied from another file.",
       "Không chép trang tính ẩn hay thuộc tính từ tệp này sang tệp khác. Nhập số liệu vào đúng biểu mẫu được "
       "cấp cho đơn vị rồi gửi lại.",
       "Do not copy the hidden sheet or the properties from one file into another. Fill in the template "
       "issued to your unit and send it again."),
    _t("identity.format_unknown", "error",
       "Định dạng nhận diện không được hỗ trợ", "Unsupported identity format",
       "Thông tin nhận diện của tệp {file} theo định dạng “{value}”, không phải định dạng “{expected}” mà "
       "thư mục làm việc này xác thực được.",
       "The identity of file {file} uses format “{value}”, not “{expected}”, which this workspace can "
       "authenticate.",
       "Dùng biểu mẫu do Sở Nội vụ cấp cho kỳ này; nếu đơn vị xác nhận tệp là của mình, Sở Nội vụ có thể "
       "chấp nhận tệp bằng lệnh 'cchc_xl accept'.",
       "Use the template issued for this period; if the unit confirms the file is its own, the Department of "
       "Home Affairs can accept it with 'cchc_xl accept'."),
    _t("identity.duplicate_submission", "error",
       "Một tệp nộp cho hai đơn vị", "Same file sent for two units",
       "Nội dung tệp {file} (báo cáo của {unit}) trùng hoàn toàn với tệp đã nhận của {value}; một tệp không "
       "thể là báo cáo của hai đơn vị.",
       "The content of file {file} (report of {unit}) is identical to the file already received from "
       "{value}; one file cannot be the report of two units.",
       "Kiểm tra xem có gửi nhầm tệp của đơn vị khác không; mỗi đơn vị gửi tệp biểu mẫu của mình với số liệu "
       "của mình.",
       "Check whether another unit's file was sent by mistake; each unit sends its own template with its own "
       "figures."),
    _t("identity.salvaged", "warning",
       "Nhận ra biểu qua nhãn bảng", "Tables recognised by their labels",
       "Tệp {file} không còn thông tin nhận diện của biểu mẫu (có thể bảng đã được chép sang tệp khác); hệ "
       "thống đã nhận ra {value} biểu qua tiêu đề và nhãn bảng, xác định là báo cáo của {unit}, kỳ {period}, "
       "và vẫn đọc số liệu.",
       "File {file} has lost its template identity (the tables were probably copied into another file); "
       "{value} table(s) were recognised by their titles and labels as the report of {unit} for {period}, "
       "and their figures were read.",
       "Cán bộ tiếp nhận kiểm tra lại đơn vị và kỳ báo cáo. Lần sau, đơn vị nhập số liệu trực tiếp vào tệp biểu "
       "mẫu được cấp và gửi lại chính tệp đó.",
       "The receiving officer should confirm the unit and the period. Next time, the unit should fill in the "
       "template file it was given and send that very file back."),
    # -- structure ---------------------------------------------------------------------------
    _t("structure.sheet_missing", "error",
       "Thiếu trang tính", "Sheet missing",
       "Tệp {file} thiếu trang tính “{sheet}” của biểu {table}.",
       "File {file} has no sheet “{sheet}” for table {table}.",
       "Không xoá trang tính của biểu mẫu. Nếu không có số liệu cho biểu này, vẫn giữ trang tính và ghi 0 vào "
       f"các ô phải nhập; nếu đã lỡ xoá, chép số liệu sang tệp biểu mẫu gốc ({_PASTE}) rồi gửi lại.",
       "Do not delete the template's sheets. If there are no figures for this table, keep the sheet and enter "
       "0 in the input cells; if it was deleted, copy the figures into the original template (Paste Values) "
       "and send it again."),
    _t("structure.sheet_renamed", "error",
       "Trang tính bị đổi tên", "Sheet renamed",
       "Trang tính của biểu {table} đã bị đổi tên thành “{sheet}”; tên đúng là “{expected}”.",
       "The sheet of table {table} was renamed to “{sheet}”; its name must be “{expected}”.",
       "Nhấp đúp vào tên trang tính ở thanh dưới cùng cửa sổ Excel và đổi lại thành “{expected}”.",
       "Double-click the sheet tab at the bottom of the Excel window and rename it back to “{expected}”."),
    _t("structure.sheet_extra", "warning",
       "Trang tính thừa", "Extra sheet",
       "Tệp {file} có thêm trang tính “{sheet}” không thuộc biểu mẫu; nội dung trang này không được tổng hợp.",
       "File {file} has an extra sheet “{sheet}” that is not part of the template; its content is not "
       "consolidated.",
       "Nếu cần thuyết minh, ghi vào đề cương hoặc cột Ghi chú của biểu; xoá trang tính thừa (nhấp chuột phải "
       "vào tên trang > Delete) trước khi gửi.",
       "Put explanations in the outline or the table's Notes column; delete the extra sheet (right-click its "
       "tab > Delete) before sending."),
    _t("structure.label_changed", "error",
       "Nhãn của biểu bị sửa", "Label changed",
       "Trang tính “{sheet}”, ô {cell}: nhãn của biểu đang ghi “{value}”, đúng ra phải là “{expected}”.",
       "Sheet “{sheet}”, cell {cell}: the template label reads “{value}”; it must be “{expected}”.",
       "Trả lại nội dung “{expected}” cho ô {cell} (hoặc chép số liệu sang biểu mẫu gốc); chỉ nhập số liệu vào "
       "các ô trắng được mở khoá, không sửa nhãn dòng, tiêu đề của biểu.",
       "Restore “{expected}” in cell {cell} (or copy the figures into the original template); only type into "
       "the unlocked white cells, never edit row labels or titles."),
    _t("structure.header_changed", "error",
       "Tiêu đề cột bị sửa", "Column header changed",
       "Trang tính “{sheet}”, ô {cell}: tiêu đề cột đang ghi “{value}”, đúng ra phải là “{expected}”.",
       "Sheet “{sheet}”, cell {cell}: the column header reads “{value}”; it must be “{expected}”.",
       "Trả lại tiêu đề “{expected}” cho ô {cell}; không sửa, gộp hay xoá tiêu đề cột của biểu.",
       "Restore the header “{expected}” in cell {cell}; do not edit, merge or delete column headers."),
    _t("structure.rows_inserted", "error",
       "Chèn thêm dòng", "Rows inserted",
       "Trang tính “{sheet}” (biểu {table}) có {value} dòng được chèn thêm vào bảng; biểu mẫu không cho phép "
       "thêm dòng.",
       "Sheet “{sheet}” (table {table}) has {value} row(s) inserted into the table; the template does not "
       "allow new rows.",
       "Xoá các dòng đã chèn (chọn số thứ tự dòng ở lề trái, nhấp chuột phải > Delete). Nội dung cần bổ sung "
       "ghi vào dòng “Khác” hoặc cột Ghi chú.",
       "Delete the inserted rows (select the row numbers on the left, right-click > Delete). Put anything "
       "extra in the “Khác” (other) row or the Notes column."),
    _t("structure.rows_deleted", "error",
       "Xoá bớt dòng", "Rows deleted",
       "Trang tính “{sheet}” (biểu {table}) bị xoá {value} dòng của biểu mẫu.",
       "Sheet “{sheet}” (table {table}) is missing {value} row(s) of the template.",
       "Không xoá dòng của biểu mẫu; dòng không có số liệu thì ghi 0. Chép số liệu sang biểu mẫu gốc "
       f"({_PASTE}) rồi gửi lại.",
       "Do not delete template rows; enter 0 where there is nothing to report. Copy the figures into the "
       "original template (Paste Values) and send it again."),
    _t("structure.columns_changed", "error",
       "Cột của biểu bị thay đổi", "Columns changed",
       "Trang tính “{sheet}” (biểu {table}): các cột đã bị chèn thêm, xoá bớt hoặc dịch chuyển so với biểu "
       "mẫu (độ lệch: {value} cột).",
       "Sheet “{sheet}” (table {table}): columns were inserted, deleted or moved compared with the template "
       "(shift: {value} column(s)).",
       "Trả lại các cột như biểu mẫu gốc: xoá cột chèn thêm, không xoá cột của biểu. Nếu khó, chép số liệu "
       f"từng cột sang biểu mẫu gốc ({_PASTE}).",
       "Restore the template's columns: delete inserted columns and never delete the template's own. If that "
       "is hard, copy the figures column by column into the original template (Paste Values)."),
    _t("structure.formula_overwritten", "error",
       "Công thức bị ghi đè", "Formula overwritten",
       _LOC + " là ô tự tính nhưng công thức đã bị thay bằng giá trị nhập tay “{value}”; theo số liệu chi "
       "tiết, kết quả đúng là {expected}.",
       _LOC_EN + " is computed, but its formula was replaced by the typed value “{value}”; from the detail "
       "figures it should be {expected}.",
       "Không gõ đè lên ô tự tính. Chép lại công thức vào ô {cell} từ ô tương ứng của biểu mẫu gốc; chỉ nhập "
       "số liệu chi tiết, ô tổng và tỷ lệ sẽ tự tính.",
       "Never type over a computed cell. Copy the formula back into cell {cell} from the same cell of the "
       "original template; enter only the detail figures, totals and rates compute themselves."),
    _t("structure.formula_altered", "error",
       "Công thức bị sửa", "Formula altered",
       _LOC + " đang có công thức {value}, khác với biểu mẫu; biểu mẫu quy định: {expected}.",
       _LOC_EN + " holds the formula {value}, unlike the template, which requires: {expected}.",
       "Khôi phục ô {cell} như biểu mẫu gốc: chép lại công thức đúng, hoặc nhập số thay cho công thức nếu đó là "
       "ô nhập số liệu; không sửa công thức của biểu.",
       "Restore cell {cell} as in the original template: copy the correct formula back, or type a number "
       "instead of a formula if it is an input cell; never edit the template's formulas."),
    _t("structure.data_outside_input", "warning",
       "Dữ liệu ngoài bảng của biểu", "Data outside the input area",
       "Trang tính “{sheet}”, ô {cell} nằm ngoài bảng của biểu nhưng có dữ liệu (“{value}”); dữ liệu này không "
       "được tổng hợp.",
       "Sheet “{sheet}”, cell {cell} lies outside the table but holds data (“{value}”); it is not "
       "consolidated.",
       "Chuyển số liệu vào đúng ô của biểu (ô trắng được mở khoá); ghi chú thì ghi vào cột Ghi chú hoặc đề "
       "cương.",
       "Move the figures into the table's own cells (the unlocked white cells); put remarks in the Notes "
       "column or the outline."),
    _t("structure.protection_removed", "warning",
       "Trang tính bị gỡ khoá bảo vệ", "Sheet protection removed",
       "Trang tính “{sheet}” (biểu {table}) đã bị gỡ khoá bảo vệ.",
       "The protection of sheet “{sheet}” (table {table}) has been removed.",
       "Nếu số liệu đúng thì không cần sửa. Lần sau không gỡ khoá trang tính (Unprotect Sheet): khoá giữ "
       "nguyên nhãn và công thức của biểu.",
       "Nothing to fix if the figures are right. Next time do not unprotect the sheet: the protection keeps "
       "the template's labels and formulas intact."),
    _t("structure.merged_broken", "warning",
       "Ô gộp bị tách", "Merged cells split",
       "Trang tính “{sheet}”: vùng ô gộp {cell} của biểu mẫu đã bị tách.",
       "Sheet “{sheet}”: the template's merged range {cell} has been split.",
       "Chọn lại vùng {cell} và bấm Merge & Center (Gộp và căn giữa) trên thẻ Home; nếu số liệu không bị ảnh "
       "hưởng thì có thể bỏ qua.",
       "Select {cell} again and click Merge & Center on the Home tab; it can be ignored if no figures were "
       "affected."),
    # -- value -------------------------------------------------------------------------------
    _t("value.text_repaired", "warning",
       "Số liệu nhập dạng chữ (đã tự sửa)", "Typed as text (repaired)",
       _LOC + " được nhập dưới dạng chữ “{value}”; hệ thống đã đọc thành {repaired}.",
       _LOC_EN + " was typed as text “{value}”; it was read as {repaired}.",
       "Kiểm tra lại giá trị {repaired}; nếu đúng, nhập lại ô {cell} bằng số hoặc ngày thuần (không kèm chữ, "
       "đơn vị tính, dấu chấm ngăn cách hàng nghìn hay khoảng trắng) để công thức của biểu tính được.",
       "Check the value {repaired}; if it is right, retype cell {cell} as a plain number or date (no words, "
       "units, thousands separators or spaces) so that the template's formulas can use it."),
    _t("value.not_a_number", "error",
       "Không phải số", "Not a number",
       _LOC + " phải là số nhưng đang ghi “{value}”.",
       _LOC_EN + " must be a number but contains “{value}”.",
       "Nhập một số, chỉ gõ chữ số (ví dụ 1234, không gõ dấu chấm ngăn cách hàng nghìn); không có số liệu thì "
       "ghi 0; cần giải thích thì ghi vào cột Ghi chú.",
       "Type a number using digits only (e.g. 1234, without thousands separators); enter 0 when there is "
       "nothing to report; put explanations in the Notes column."),
    _t("value.date_in_number_cell", "error",
       "Ngày giờ trong ô số", "Date or time in a number cell",
       _LOC + " phải là số nhưng đang chứa ngày/giờ “{value}” (ô bị định dạng kiểu ngày hoặc giờ).",
       _LOC_EN + " must be a number but holds the date/time “{value}” (the cell is formatted as a date or time).",
       "Đổi định dạng ô về Số (Number) rồi nhập lại số liệu bằng chữ số; không có số liệu thì ghi 0.",
       "Set the cell's format back to Number and retype the figure in digits; enter 0 when there is nothing "
       "to report."),
    _t("value.error_value", "error",
       "Ô nhập chứa giá trị lỗi", "Error value in an input cell",
       _LOC + " đang chứa giá trị lỗi “{value}” (kết quả của một công thức lỗi hoặc dán từ tệp khác), "
       "không phải số liệu.",
       _LOC_EN + " holds the error value “{value}” (the result of a failing formula, or pasted from another "
       "file), not a figure.",
       "Xoá ô rồi nhập số liệu bằng chữ số (dán kiểu Chỉ giá trị nếu chép từ tệp khác); không có số liệu thì "
       "ghi 0.",
       "Clear the cell and type the figure in digits (paste values only when copying from another file); "
       "enter 0 when there is nothing to report."),
    _t("value.negative", "error",
       "Số âm", "Negative value",
       _LOC + " có giá trị âm ({value}); số liệu này không được âm.",
       _LOC_EN + " is negative ({value}); this figure cannot be negative.",
       "Nhập lại số không âm; nếu số liệu giảm so với kỳ trước thì thuyết minh ở cột Ghi chú hoặc đề cương, "
       "không ghi số âm.",
       "Enter a figure that is not negative; explain a decrease on the previous period in the Notes column "
       "or the outline instead of typing a negative number."),
    _t("value.out_of_range", "error",
       "Ngoài giới hạn cho phép", "Value out of range",
       _LOC + " có giá trị {value}, nằm ngoài giới hạn cho phép ({expected}).",
       _LOC_EN + " holds {value}, outside the allowed range ({expected}).",
       "Kiểm tra lại số liệu và nhập giá trị trong giới hạn {expected}.",
       "Check the figure and enter a value within {expected}."),
    _t("value.not_integer", "error",
       "Không phải số nguyên", "Not a whole number",
       _LOC + " phải là số nguyên nhưng đang ghi {value}.",
       _LOC_EN + " must be a whole number but holds {value}.",
       "Nhập số nguyên, không có phần thập phân (số hồ sơ, số đơn vị, số tiền…); kiểm tra xem có nhập nhầm "
       "tỷ lệ vào ô số lượng không.",
       "Enter a whole number without decimals (files, units, amounts…); check that a rate was not typed into "
       "a count cell."),
    _t("value.percent_as_fraction", "warning",
       "Tỷ lệ ghi dạng thập phân", "Percentage entered as a fraction",
       _LOC + " ghi tỷ lệ {value}, có vẻ theo dạng thập phân; biểu này ghi tỷ lệ phần trăm theo thang 0–100, "
       "tức là {expected}.",
       _LOC_EN + " holds the rate {value}, apparently as a fraction; this table records percentages on a "
       "0–100 scale, i.e. {expected}.",
       "Nếu đúng là {expected}%, sửa ô {cell} thành {expected}; nếu tỷ lệ thực sự nhỏ hơn 1% thì giữ nguyên.",
       "If {expected}% is meant, change cell {cell} to {expected}; if the rate really is below 1%, leave it."),
    _t("value.percent_out_of_range", "error",
       "Tỷ lệ ngoài khoảng 0–100", "Percentage out of range",
       _LOC + " ghi tỷ lệ {value}, nằm ngoài khoảng từ 0 đến 100 (%).",
       _LOC_EN + " holds the rate {value}, outside 0 to 100 (%).",
       "Tỷ lệ phần trăm phải từ 0 đến 100; kiểm tra lại tử số, mẫu số và không nhập số lượng vào ô tỷ lệ.",
       "A percentage lies between 0 and 100; check the numerator and denominator, and do not type a count "
       "into a rate cell."),
    _t("value.yesno_invalid", "error",
       "Sai giá trị Có/Không", "Invalid yes/no value",
       _LOC + " chỉ nhận 1 (có) hoặc 0 (không), nhưng đang ghi “{value}”.",
       _LOC_EN + " accepts only 1 (yes) or 0 (no), but holds “{value}”.",
       "Ghi 1 nếu có thực hiện, 0 nếu không; không ghi “x”, “có”, “không” hay số khác.",
       "Enter 1 for yes and 0 for no; not “x”, “có”, “không” or any other number."),
    _t("value.date_invalid", "error",
       "Ngày không hợp lệ", "Invalid date",
       _LOC + " phải là ngày (ngày/tháng/năm) nhưng đang ghi “{value}”.",
       _LOC_EN + " must be a date (day/month/year) but holds “{value}”.",
       "Nhập ngày theo dạng ngày/tháng/năm, ví dụ 15/03/2024; không ghi chữ như “đầu tháng 3” hay “quý I”.",
       "Enter the date as day/month/year, e.g. 15/03/2024; not words such as “early March” or “Q1”."),
    _t("value.date_outside_window", "error",
       "Ngày ngoài thời gian lấy số liệu", "Date outside the data window",
       _LOC + " ghi ngày {value}, nằm ngoài thời gian lấy số liệu của kỳ báo cáo ({expected}).",
       _LOC_EN + " holds the date {value}, outside the period's data window ({expected}).",
       "Kiểm tra lại ngày (có thể nhầm năm hoặc đảo ngày và tháng); chỉ ghi các việc trong thời gian lấy số "
       "liệu {expected}.",
       "Check the date (a wrong year, or day and month swapped); report only what falls within {expected}."),
    _t("value.month_range_invalid", "error",
       "Thời gian thực hiện không hợp lệ", "Invalid month range",
       _LOC + " phải ghi thời gian thực hiện dạng “tháng/năm - tháng/năm” trong năm kế hoạch, nhưng đang ghi "
       "“{value}”; yêu cầu: {expected}.",
       _LOC_EN + " must give the time frame as “month/year - month/year” within the plan year, but holds "
       "“{value}”; required: {expected}.",
       "Ghi tháng bắt đầu và tháng kết thúc theo mẫu 01/2024 - 06/2024: cả hai trong năm kế hoạch, tháng bắt "
       "đầu không sau tháng kết thúc.",
       "Write the first and last month like 01/2024 - 06/2024: both within the plan year, the first not after "
       "the last."),
    _t("value.choice_unknown", "error",
       "Giá trị không có trong danh sách", "Value not in the list",
       _LOC + " ghi “{value}”, không có trong danh sách được chọn ({expected}).",
       _LOC_EN + " holds “{value}”, which is not in the list of choices ({expected}).",
       "Bấm vào ô {cell} và chọn từ danh sách thả xuống; không gõ tay, viết tắt hay thêm chữ.",
       "Click cell {cell} and pick from the drop-down list; do not type, abbreviate or add words."),
    _t("table.blank", "error",
       "Biểu chưa nhập số liệu", "Table left blank",
       "Biểu {table} ({sheet}) chưa có số liệu nào và chưa được khai báo “Không phát sinh”.",
       "Table {table} ({sheet}) has no figures and is not declared a nil return (“Không phát sinh”).",
       "Nhập số liệu của kỳ vào biểu; nếu trong kỳ thực sự không phát sinh, chọn “Không phát sinh” "
       "cho biểu này ở trang Hướng dẫn (ô trống không được hiểu là số 0).",
       "Enter the period's figures; if there truly were none, choose “Không phát sinh” for this table "
       "on the Hướng dẫn sheet (a blank is never read as zero)."),
    _t("table.nil_with_figures", "warning",
       "Khai báo không phát sinh nhưng có số liệu", "Nil return with figures",
       "Biểu {table} ({sheet}) được khai báo “Không phát sinh” nhưng có {value} ô đã nhập số liệu.",
       "Table {table} ({sheet}) is declared a nil return but {value} of its cells hold figures.",
       "Bỏ khai báo “Không phát sinh” ở trang Hướng dẫn nếu số liệu là đúng, hoặc xoá số liệu.",
       "Remove the nil declaration on the Hướng dẫn sheet if the figures are right, or clear them."),
    _t("value.required_blank", "error",
       "Bỏ trống ô bắt buộc", "Required cell blank",
       _LOC + " bắt buộc phải nhập nhưng đang để trống.",
       _LOC_EN + " is required but blank.",
       "Nhập số liệu vào ô {cell}; nếu không phát sinh thì ghi 0 (ô số) hoặc ghi rõ “Không có” (ô chữ).",
       "Fill in cell {cell}; enter 0 (number cells) or “Không có” (text cells) when there is nothing to "
       "report."),
    _t("value.multiple_lead_agencies", "error",
       "Nhiều cơ quan chủ trì", "Several lead agencies",
       "Ô {cell}: nhiệm vụ “{row_label}” giao cho nhiều cơ quan chủ trì (“{value}”); mỗi nhiệm vụ chỉ có một cơ "
       "quan chủ trì.",
       "Cell {cell}: task “{row_label}” names several lead agencies (“{value}”); each task has exactly one "
       "lead agency.",
       "Giữ lại một cơ quan chủ trì trong ô {cell}; chuyển các cơ quan còn lại sang cột Cơ quan phối hợp.",
       "Keep one lead agency in cell {cell}; move the others to the co-operating agencies column."),
    # -- rule --------------------------------------------------------------------------------
    _t("rule.failed", "error",
       "Không đạt quy tắc kiểm tra của biểu", "Table rule failed",
       "Số liệu tại ô {cell} không đạt quy tắc kiểm tra “{rule}” của biểu {table}.",
       "The figures at cell {cell} fail rule “{rule}” of table {table}.",
       "Kiểm tra lại các ô liên quan trong cùng dòng, cùng cột và sửa cho khớp; ô tô màu là ô tự tính, không "
       "gõ đè.",
       "Check the related cells in the same row and column and make them agree; shaded cells are computed, "
       "do not type over them."),
    # -- outline and text --------------------------------------------------------------------
    _t("outline.section_empty", "error",
       "Mục đề cương để trống", "Outline section empty",
       "Mục “{row_label}” của đề cương (ô {cell}) bắt buộc phải có nội dung nhưng đang để trống.",
       "Outline section “{row_label}” (cell {cell}) is required but empty.",
       "Nhập nội dung vào ô {cell}; nếu thực sự không có thì ghi rõ, ví dụ “Không có khó khăn, vướng mắc”, "
       "không để trống.",
       "Write the section in cell {cell}; if there is really nothing to say, write so explicitly (e.g. "
       "“Không có khó khăn, vướng mắc”) rather than leave it blank."),
    _t("outline.nfd_normalised", "warning",
       "Unicode tổ hợp (đã chuẩn hoá)", "Decomposed Unicode (normalised)",
       "Văn bản tại ô {cell} ({row_label} — {column_label}) được gõ bằng Unicode tổ hợp (NFD); hệ thống đã "
       "chuyển sang Unicode dựng sẵn (NFC).",
       "The text in cell {cell} ({row_label} — {column_label}) was typed in decomposed Unicode (NFD); it was "
       "converted to precomposed Unicode (NFC).",
       "Không cần sửa. Lần sau, trong Unikey hoặc EVKey chọn bảng mã “Unicode” (dựng sẵn), không chọn "
       "“Unicode tổ hợp”.",
       "Nothing to fix. Next time, choose the “Unicode” (precomposed) charset in Unikey or EVKey, not "
       "“Unicode tổ hợp” (decomposed)."),
    _t("outline.legacy_encoding", "error",
       "Văn bản gõ bằng bảng mã cũ", "Text in a legacy encoding",
       "Văn bản tại ô {cell} ({row_label} — {column_label}) có vẻ được gõ bằng bảng mã cũ {encoding} nên chữ "
       "tiếng Việt hiển thị sai dấu.",
       "The text in cell {cell} ({row_label} — {column_label}) looks typed in the legacy {encoding} encoding, "
       "so its Vietnamese letters are garbled.",
       "Chuyển văn bản sang Unicode: chép nội dung ô, dùng công cụ chuyển mã của Unikey (Ctrl+Shift+F6) chuyển "
       "từ {encoding} sang Unicode rồi dán lại; lần sau gõ bằng bảng mã Unicode với phông chữ Unicode (Times "
       "New Roman, Arial).",
       "Convert the text to Unicode: copy the cell, convert it from {encoding} to Unicode with Unikey's "
       "converter (Ctrl+Shift+F6) and paste it back; next time type with the Unicode charset and a Unicode "
       "font (Times New Roman, Arial)."),
    # -- plausibility (merge, against the ledger's other periods; warnings only) -----------------
    _t("plausibility.cumulative_drop", "warning",
       "Số lũy kế giảm so với kỳ trước", "Cumulative figure lower than before",
       "Số lũy kế {value} ở ô {cell} ({row_label} – {column_label}) nhỏ hơn số đơn vị đã báo cáo kỳ "
       "{period} ({expected}), trong khi kỳ này tính từ cùng ngày bắt đầu.",
       "The cumulative figure {value} in cell {cell} ({row_label} – {column_label}) is lower than the unit "
       "reported for {period} ({expected}), although this period counts from the same start date.",
       "Đối chiếu với báo cáo kỳ trước: số lũy kế không thể giảm. Nếu kỳ trước báo sai, đơn vị ghi rõ số đã "
       "điều chỉnh trong đề cương; nếu kỳ này sai, sửa và gửi lại.",
       "Check against the earlier report: a cumulative figure cannot fall. If the earlier report was wrong, "
       "say so in the narrative; if this one is, correct it and send it again."),
    _t("plausibility.outlier", "warning",
       "Số liệu khác xa các kỳ trước của đơn vị", "Figure far from the unit's history",
       "Số liệu {value} ở ô {cell} ({row_label} – {column_label}) khác xa số liệu của chính đơn vị trong "
       "cùng kỳ các năm trước ({expected}).",
       "The figure {value} in cell {cell} ({row_label} – {column_label}) is far from the unit's own figures "
       "for the same period in earlier years ({expected}).",
       "Xác minh với đơn vị (gõ thừa, thiếu chữ số, nhầm đơn vị tính hay nhầm cột); nếu số liệu đúng, ghi rõ "
       "nguyên nhân trong đề cương.",
       "Check with the unit (a digit too many or too few, another unit of measure, the wrong column); if the "
       "figure is right, explain why in the narrative."),
]


def _build() -> dict[str, ProblemType]:
    out: dict[str, ProblemType] = {}
    for t in _ENTRIES:
        assert t.code not in out, f"duplicate problem code {t.code}"
        assert t.severity in SEVERITIES and t.group in GROUPS, t.code
        out[t.code] = t
    return out


CATALOGUE: dict[str, ProblemType] = _build()


# -- problems ------------------------------------------------------------------------------------


@dataclass
class Problem:
    code: str
    severity: str
    message: str
    hint: str | None = None
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None          # A1, or a range for merged cells
    table: str | None = None         # appendix code of the blueprint table, e.g. "02-H"
    row: str | None = None           # blueprint row key
    column: str | None = None        # blueprint column key
    params: dict = field(default_factory=dict)

    @property
    def location(self) -> str:
        """``file › sheet › cell``, from what is known."""
        parts = [_basename(self.file) if self.file else None, self.sheet, self.cell]
        return " › ".join(str(p) for p in parts if p)

    def as_dict(self) -> dict:
        return {
            "code": self.code, "severity": self.severity, "sheet": self.sheet, "cell": self.cell,
            "table": self.table, "row": self.row, "column": self.column, "message": self.message,
            "hint": self.hint, "file": self.file, "params": {str(k): _jsonable(v) for k, v in self.params.items()},
        }


# When true, a template parameter the caller forgot raises KeyError; otherwise it shows as "?".
# None means: strict while pytest runs (or with CCHC_XL_STRICT_MESSAGES=1), lenient in production.
STRICT_PARAMS: bool | None = None
MISSING = "?"


def _strict() -> bool:
    if STRICT_PARAMS is not None:
        return STRICT_PARAMS
    return "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("CCHC_XL_STRICT_MESSAGES") == "1"


class _StrictParams(dict):
    def __missing__(self, key: str):
        raise KeyError(f"problem template needs parameter {key!r}")


class _LenientParams(dict):
    def __missing__(self, key: str):
        return MISSING


def reason_text(codes, lang: str = "vi") -> str:
    """Problem codes as a reader reads them: "Tiêu đề (mã); …" (titles from the catalogue)."""
    return "; ".join(f"{CATALOGUE[c].title(lang).rstrip('.')} ({c})" if c in CATALOGUE else c for c in codes)


def render(template: str, params: dict, lang: str = "vi") -> str:
    """Fill a template; values are shown the way a clerk reads them (see :func:`display`)."""
    shown = {k: display(v, lang, key=k) for k, v in params.items()}
    mapping = _StrictParams(shown) if _strict() else _LenientParams(shown)
    return template.format_map(mapping)


def make_problem(code: str, *, lang: str = "vi", severity: str | None = None, message: str | None = None,
                 hint: str | None = None, **where_and_params) -> Problem:
    """A problem from the catalogue: where-fields go to the problem, the rest fill the templates.

    ``message``/``hint`` given explicitly (a blueprint rule's own Vietnamese text) are used verbatim.
    """
    try:
        ptype = CATALOGUE[code]
    except KeyError:
        raise KeyError(f"unknown problem code {code!r}") from None
    lang = _lang(lang)
    sev = severity or ptype.severity
    if sev not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {sev!r}")
    where = {k: where_and_params.pop(k) for k in WHERE if k in where_and_params}
    params = where_and_params
    fill = {**where, **params}
    if message is None:
        message = render(ptype.template(lang), fill, lang)
    if hint is None:
        hint = render(ptype.hint(lang), fill, lang)
    where = {k: (None if v is None else str(v)) for k, v in where.items()}
    return Problem(code, sev, message, hint, params=params, **where)


def display(value: object, lang: str = "vi", *, key: str | None = None) -> str:
    """A parameter as shown in a message: a file by its name, a period code by its label,
    whole floats without ".0", decimals with a comma in Vietnamese, dates as dd/mm/yyyy."""
    if value is None:
        return MISSING
    if key == "file":
        return _basename(str(value))
    if key == "period" and lang == "vi" and isinstance(value, str):
        return _period_label(value)
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        text = f"{value:.10g}"
        return text.replace(".", ",") if lang == "vi" else text
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M") if (value.hour or value.minute) else value.strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(display(v, lang) for v in value)
    return str(value)


def bounds_text(lo: float | None, hi: float | None, lang: str = "vi") -> str:
    """Readable bounds for ``value.out_of_range``'s ``expected``: "từ 0 đến 100", "không lớn hơn 5"."""
    a, b = display(lo, lang), display(hi, lang)
    vi = lang == "vi"
    if lo is not None and hi is not None:
        return f"từ {a} đến {b}" if vi else f"from {a} to {b}"
    if lo is not None:
        return f"không nhỏ hơn {a}" if vi else f"at least {a}"
    if hi is not None:
        return f"không lớn hơn {b}" if vi else f"at most {b}"
    return ""


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or path


def _period_label(text: str) -> str:
    try:
        from .config.period import parse_period

        return parse_period(text).label
    except Exception:  # noqa: BLE001 - any text that is not a period code is shown as typed
        return text


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return lang


def _jsonable(v: object) -> object:
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


# -- reports -------------------------------------------------------------------------------------

_PROBLEM_FIELDS = frozenset(f.name for f in fields(Problem))
_REPORT_KEYS = ("path", "unit", "unit_name", "period", "part", "status")


@dataclass
class ValidationReport:
    path: str
    unit: str | None = None
    unit_name: str | None = None
    period: str | None = None
    part: str | None = None
    status: str = "ok"               # set by finish(): "rejected" | "errors" | "warnings" | "ok"
    rejected: bool = False
    problems: list[Problem] = field(default_factory=list)
    values: dict = field(default_factory=dict)   # filled by the validator; not part of as_dict
    stats: dict = field(default_factory=dict)

    def add(self, problem: Problem) -> Problem:
        """Append a problem; one without a file is given the report's file."""
        if problem.file is None and self.path:
            problem.file = self.path
        self.problems.append(problem)
        return problem

    def finish(self) -> ValidationReport:
        self.status = self._status()
        return self

    def _status(self) -> str:
        if self.rejected:
            return "rejected"
        if self.errors:
            return "errors"
        if self.warnings:
            return "warnings"
        return "ok"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.rejected and not self.errors

    @property
    def hold_reasons(self) -> list[str]:
        """The codes that keep this file's figures out of any roll-up until accepted (:data:`HOLD_CODES`)."""
        return sorted({p.code for p in self.problems if p.code in HOLD_CODES})

    def flatten(self, spec: list[str]) -> list[list]:
        """``[[p.code, p.cell], ...]`` for ``spec=["code", "cell"]``.

        A key is looked up on the problem, then on the report (path, unit, unit_name, period, part,
        status), then in the problem's params; unknown keys give None.
        """
        return [[self._lookup(p, key) for key in spec] for p in self.problems]

    def _lookup(self, p: Problem, key: str) -> object:
        if key in _PROBLEM_FIELDS:
            return getattr(p, key)
        if key in _REPORT_KEYS:
            return self._status() if key == "status" else getattr(self, key)
        return p.params.get(key)

    def as_dict(self) -> dict:
        return {
            "path": self.path, "unit": self.unit, "unit_name": self.unit_name, "period": self.period,
            "part": self.part, "status": self._status(),
            "counts": {"error": len(self.errors), "warning": len(self.warnings)},
            "held": self.hold_reasons,
            "problems": [p.as_dict() for p in self.problems],
        }


def flatten(reports: list[ValidationReport], spec: list[str]) -> list[list]:
    """The problems of several reports, flattened in order (``["path", "code", "cell"]`` works)."""
    return [row for r in reports for row in r.flatten(spec)]


# -- documentation ------------------------------------------------------------------------------


def catalogue_markdown(lang: str = "vi") -> str:
    """The problem-code reference for the docs: one table per group, generated from the catalogue."""
    lang = _lang(lang)
    vi = lang == "vi"
    lines = ["# Mã lỗi khi kiểm tra tệp báo cáo" if vi else "# Validation problem codes", ""]
    lines.append(
        "Mỗi vấn đề phát hiện trong tệp báo cáo có một mã cố định, mức độ mặc định (lỗi hoặc cảnh báo), "
        "thông báo nêu rõ tệp, trang tính, ô, và cách khắc phục. Các chữ trong ngoặc nhọn, như {cell}, "
        "được thay bằng giá trị cụ thể khi báo lỗi."
        if vi else
        "Every problem found in a returned workbook has a stable code, a default severity (error or "
        "warning), a message naming the file, sheet and cell, and a fix hint. Names in braces, such as "
        "{cell}, are replaced by the actual values.")
    head = ("| Mã | Mức độ | Ý nghĩa | Cách khắc phục |" if vi else "| Code | Severity | Meaning | How to fix |")
    for group, (g_vi, g_en) in GROUPS.items():
        types = [t for t in CATALOGUE.values() if t.group == group]
        if not types:
            continue
        lines += ["", f"## {g_vi if vi else g_en}", "", head, "|---|---|---|---|"]
        for t in types:
            sev = SEVERITY_LABELS[t.severity][0 if vi else 1]
            meaning = f"**{t.title(lang)}.** {t.template(lang)}"
            lines.append(f"| `{t.code}` | {sev} | {_cell_md(meaning)} | {_cell_md(t.hint(lang))} |")
    return "\n".join(lines) + "\n"


def _cell_md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
