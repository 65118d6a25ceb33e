"""Numbers typed as text, NFD text and legacy (TCVN3, VNI) Vietnamese encodings."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest

from cchc_xl.read.text import Parsed, legacy_encoding, normalise_text, parse_number

NBSP = "\u00a0"

# raw, integer, value, ok, repaired, reason
CASES = [
    # real numbers pass through
    (12, False, 12, True, False, None),
    (12.5, False, 12.5, True, False, None),
    (12.0, False, 12.0, True, False, None),
    (12.0, True, 12, True, False, None),
    (12.5, True, 12.5, True, False, None),          # not an integer: the validator says so
    (-3, False, -3, True, False, None),
    (Decimal("2.5"), False, 2.5, True, False, None),
    (float("nan"), False, None, False, False, "not_a_number"),
    (True, False, None, False, False, "not_a_number"),
    # blanks
    (None, False, None, True, False, None),
    ("", False, None, True, False, None),
    ("   ", False, None, True, False, None),
    # repairs
    ("12", False, 12, True, True, "as_text"),
    (" 12 ", False, 12, True, True, "spaces"),
    ("1.234", False, 1234, True, True, "thousands_dot"),
    ("1.234.567", False, 1234567, True, True, "thousands_dot"),
    ("1,5", False, 1.5, True, True, "decimal_comma"),
    ("0,85", False, 0.85, True, True, "decimal_comma"),
    ("1234,567", False, 1234.567, True, True, "decimal_comma"),   # 4 digits before: not thousands
    ("1,0", True, 1, True, True, "decimal_comma"),
    ("1.234,5", False, 1234.5, True, True, "thousands_dot"),
    ("12 hồ sơ", False, 12, True, True, "unit_suffix"),
    ("12 thủ tục", False, 12, True, True, "unit_suffix"),
    ("12 đơn vị", False, 12, True, True, "unit_suffix"),
    ("12 hs", False, 12, True, True, "unit_suffix"),
    ("12HS", False, 12, True, True, "unit_suffix"),
    (unicodedata.normalize("NFD", "12 hồ sơ"), False, 12, True, True, "unit_suffix"),
    ("1.500.000 đồng", False, 1500000, True, True, "unit_suffix"),
    ("85%", False, 85, True, True, "percent_sign"),
    ("85,5 %", False, 85.5, True, True, "percent_sign"),
    ("1 234", False, 1234, True, True, "thousands_space"),
    (f"1{NBSP}234{NBSP}567", False, 1234567, True, True, "thousands_space"),
    ("1,234,567", False, 1234567, True, True, "thousands_comma"),
    ("-1.234", False, -1234, True, True, "thousands_dot"),
    ("\u22125", False, -5, True, True, "minus_sign"),
    # ambiguous: refuse to guess
    ("(12)", False, None, False, False, "ambiguous"),
    ("1,234", False, None, False, False, "ambiguous"),
    ("12,500", True, None, False, False, "ambiguous"),
    ("1.5", False, None, False, False, "ambiguous"),
    ("0.85", False, None, False, False, "ambiguous"),
    ("0.125", False, None, False, False, "ambiguous"),               # not 125
    ("1,234.5", False, None, False, False, "ambiguous"),
    ("5 triệu", False, None, False, False, "ambiguous"),             # 5 or 5 000 000?
    # not numbers
    ("abc", False, None, False, False, "not_a_number"),
    ("12/5", False, None, False, False, "not_a_number"),
    ("12 tháng 5", False, None, False, False, "not_a_number"),
    ("khoảng 12", False, None, False, False, "not_a_number"),
    ("12 abc", False, None, False, False, "not_a_number"),
    ("1.23.456", False, None, False, False, "not_a_number"),
    ("12 34", False, None, False, False, "not_a_number"),
    ("#DIV/0!", False, None, False, False, "not_a_number"),
    ("-", False, None, False, False, "not_a_number"),
    ("1e3", False, None, False, False, "not_a_number"),
    ("inf", False, None, False, False, "not_a_number"),
]


@pytest.mark.parametrize("raw, integer, value, ok, repaired, reason", CASES)
def test_parse_number(raw, integer, value, ok, repaired, reason):
    got = parse_number(raw, integer=integer)
    assert got == Parsed(value, ok, repaired, reason)
    assert type(got.value) is type(value)


def test_there_are_enough_cases():
    assert len(CASES) >= 30


# -- NFD ---------------------------------------------------------------------------------------


def test_normalise_text():
    nfc = "Những khó khăn, vướng mắc"
    assert normalise_text(nfc) == (nfc, False)
    assert normalise_text(unicodedata.normalize("NFD", nfc)) == (nfc, True)
    assert normalise_text("") == ("", False)


# -- legacy encodings ---------------------------------------------------------------------------

# TCVN3 (ABC, .VnTime): one Latin-1 code point per lower-case Vietnamese letter.
_VI = "àảãáạăằẳẵắặâầẩẫấậđèẻẽéẹêềểễếệìỉĩíịòỏõóọôồổỗốộơờởỡớợùủũúụưừửữứựỳỷỹýỵ"
_TCVN3 = "µ¶·¸¹¨»¼½¾Æ©ÇÈÉÊË®ÌÎÏÐÑªÒÓÔÕÖ×ØÜÝÞßáâãä«åæçèé¬êëìíîïñòóô\u00adõö÷øùúûüýþ"
TCVN3 = dict(zip(_VI, _TCVN3, strict=True)) | dict(zip("ĂÂĐÊÔƠƯ", "¡¢§£¤¥¦", strict=True))


def to_tcvn3(text: str) -> str:
    # Capitals with a tone have no code point in .VnTime; typists used the lower-case letter.
    return "".join(TCVN3.get(ch, TCVN3.get(ch.lower(), ch)) for ch in text)


# VNI (VNI-Times): base letter, then one Latin-1 code point for the marks.
TONE = {"\u0300": "ø", "\u0301": "ù", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
CIRCUMFLEX = {None: "â", "\u0300": "à", "\u0301": "á", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
BREVE = {None: "ê", "\u0300": "è", "\u0301": "é", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
I_TONE = {"\u0300": "ì", "\u0301": "í", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}


def to_vni(text: str) -> str:
    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("ñ" if ch == "đ" else "Ñ")
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        upper = base.isupper()
        tone = next((m for m in marks if m in TONE), None)
        if "\u031b" in marks:                                   # horn: ơ = ô, ư = ö
            enc = {"o": "ô", "u": "ö"}[base.lower()] + (TONE[tone] if tone else "")
        elif "\u0302" in marks:
            enc = base.lower() + CIRCUMFLEX[tone]
        elif "\u0306" in marks:
            enc = base.lower() + BREVE[tone]
        elif tone and base.lower() == "i":
            enc = I_TONE[tone]
        elif tone:
            enc = base.lower() + TONE[tone]
        else:
            out.append(ch)
            continue
        out.append(enc.upper() if upper else enc)
    return "".join(out)


def test_the_encoders_reproduce_known_samples():
    assert to_tcvn3("Cộng hoà xã hội chủ nghĩa") == "Céng hoµ x· héi chñ nghÜa"
    assert to_tcvn3("Độc lập - Tự do - Hạnh phúc") == "§éc lËp - Tù do - H¹nh phóc"
    assert to_tcvn3("người có công") == "ng\u00adêi cã c«ng"
    assert to_vni("Cộng hòa xã hội chủ nghĩa") == "Coäng hoøa xaõ hoäi chuû nghóa"
    assert to_vni("Độc lập - Tự do - Hạnh phúc") == "Ñoäc laäp - Töï do - Haïnh phuùc"
    assert to_vni("được những Chỉ thị Mỹ") == "ñöôïc nhöõng Chæ thò Myõ"


DOMAIN = [
    "Tổng hợp kết quả giải quyết thủ tục hành chính",
    "Những khó khăn, vướng mắc",
    "Kiến nghị, đề xuất",
    "Cộng hoà xã hội chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Sở Nội vụ tỉnh Lạng Sơn",
    "Cải cách tổ chức bộ máy hành chính nhà nước",
    "Kết quả thực hiện các kế hoạch liên quan đến công tác cải cách hành chính năm",
    "Thống kê số lượng cơ quan, đơn vị theo các tiêu chí thực hiện cải cách hành chính",
    "Tổng hợp kết quả tiếp nhận, giải quyết TTHC qua dịch vụ bưu chính công ích",
    "Xây dựng và nâng cao chất lượng đội ngũ cán bộ, công chức, viên chức",
    "Hiện đại hóa hành chính",
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Văn phòng Ủy ban nhân dân tỉnh",
    "Số hồ sơ đã giải quyết đúng hạn",
]


@pytest.mark.parametrize("text", DOMAIN)
def test_tcvn3_is_recognised(text):
    assert legacy_encoding(to_tcvn3(text)) == "TCVN3"


@pytest.mark.parametrize("text", DOMAIN)
def test_vni_is_recognised(text):
    assert legacy_encoding(to_vni(text)) == "VNI"


@pytest.mark.parametrize("text, encoding", [
    ("Céng hoµ x· héi chñ nghÜa", "TCVN3"),
    ("bé tµi chÝnh          céng hoµ x· héi chñ nghÜa ViÖt nam", "TCVN3"),
    ("quyÕt ®Þnh cña Bé tr\u00adëng Bé Tµi chÝnh", "TCVN3"),
    ("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM", "TCVN3"),                 # .VnTimeH capitals
    ("Coäng hoøa xaõ hoäi chuû nghóa", "VNI"),
    ("Tieáng Vieät raát hay", "VNI"),
])
def test_real_legacy_samples(text, encoding):
    assert legacy_encoding(text) == encoding


@pytest.mark.parametrize("text", DOMAIN + [
    unicodedata.normalize("NFD", DOMAIN[0]),
    "HIỆN ĐẠI HOÁ HÀNH CHÍNH",
    "Hoà Bình, Hoà An, toàn tỉnh, khoá học",
    "Không có",
    "Bao cao ket qua CCHC quy I",
    "Administrative procedures resolved on time",
    "café résumé",
    "Le café où nous avons préparé le résumé de la réunion",
    "Müller, Straße, España, mañana",
    "Kích thước hạt 5 µm",
    "Microsoft® Excel® 2016",
    "12.345,6 – 85 % – 1/2024",
    "",
    "   ",
])
def test_unicode_and_other_text_is_not_flagged(text):
    assert legacy_encoding(text) is None
