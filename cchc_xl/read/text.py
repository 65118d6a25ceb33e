"""Values typed as text, and text hygiene.

``parse_number`` repairs numbers typed as text in number cells when the intent is unambiguous under
Vietnamese conventions ("." groups thousands, "," is the decimal comma); ``normalise_text`` turns
decomposed Unicode (NFD) into precomposed (NFC); ``legacy_encoding`` recognises Vietnamese typed in
the 8-bit TCVN3 (ABC) or VNI fonts and read back as Windows-1252 / Latin-1 text.
"""

from __future__ import annotations

import decimal
import functools
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Parsed", "legacy_encoding", "normalise_text", "parse_number"]


@dataclass(frozen=True)
class Parsed:
    value: float | int | None
    ok: bool
    repaired: bool
    reason: str | None   # a repair (see REPAIRS) or "ambiguous" / "not_a_number"; None when untouched


BLANK = Parsed(None, True, False, None)
# Repair tags, most telling first: a repaired value is tagged with the first that applied.
# "as_text" is a plain number stored as text ("12"): nothing to fix but the cell type.
REPAIRS = ("unit_suffix", "percent_sign", "thousands_dot", "thousands_space", "thousands_comma",
           "decimal_comma", "minus_sign", "spaces", "as_text")

# Counted things that may follow a number typed in a cell ("12 hồ sơ"). Multipliers such as
# "triệu", "nghìn", "tỷ" are deliberately absent: "5 triệu" is ambiguous in a VNĐ column.
UNIT_WORDS = frozenset("""
    hồ sơ|hs|bộ hồ sơ|thủ tục|thủ tục hành chính|tthc|tt|đơn vị|đv|cơ quan|người|cán bộ|công chức|viên chức|
    văn bản|vb|lĩnh vực|xã|phường|thị trấn|nhiệm vụ|kế hoạch|cuộc|lượt|lần|đợt|buổi|dịch vụ|dịch vụ công|dvc|
    tài khoản|trường hợp|quyết định|kiến nghị|phản ánh|vụ|việc|cái|chiếc|sản phẩm|mô hình|sáng kiến|đề án|
    chỉ tiêu|tiêu chí|phòng|cơ sở|doanh nghiệp|hộ|đồng|vnđ|vnd|đ
""".replace("\n", "").replace(" |", "|").replace("| ", "|").strip().split("|"))
MULTIPLIERS = frozenset({"nghìn", "ngàn", "triệu", "tỷ", "tỉ", "k", "tr"})

_WS = re.compile(r"[\s\u00a0\u2007\u2009\u202f]+")
_SUFFIX = re.compile(r"(.*?\d)\s*([^\d]+?)\.?")
_SIGN = re.compile(r"([-+\u2212]?)\s*(.+)")
# Vietnamese number: plain digits or digits grouped by "." or " " in thousands, optional ",decimals".
_VN = re.compile(r"(?P<int>\d+|[1-9]\d{0,2}(?:\.\d{3})+|[1-9]\d{0,2}(?: \d{3})+)(?:,(?P<frac>\d+))?")
_COMMA_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3}){2,}")     # 1,234,567: only one reading
_ENGLISH_DECIMAL = re.compile(r"\d+(?:,\d{3})*\.\d+")              # 1.5, 0.85, 1,234.5


def _fail(reason: str) -> Parsed:
    return Parsed(None, False, False, reason)


def parse_number(raw: object, *, integer: bool = False) -> Parsed:
    """A number from a cell value; text is repaired only when its meaning is unambiguous."""
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        return _fail("not_a_number")
    if isinstance(raw, (numbers.Real, decimal.Decimal)):
        value = raw if isinstance(raw, int) else float(raw)
        if isinstance(value, float) and not math.isfinite(value):
            return _fail("not_a_number")
        if integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        return Parsed(value, True, False, None)
    if not isinstance(raw, str):
        return _fail("not_a_number")

    text = _WS.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if not text:
        return BLANK
    reasons = {"spaces"} if text != raw else set()
    if text.startswith("(") and text.endswith(")"):
        return _fail("ambiguous")              # accounting negative, or a note in brackets?

    m = _SUFFIX.fullmatch(text)
    if m:
        text, word = m.group(1), m.group(2).strip().lower()
        if word == "%":
            reasons.add("percent_sign")
        elif word in UNIT_WORDS:
            reasons.add("unit_suffix")
        elif word in MULTIPLIERS:
            return _fail("ambiguous")
        else:
            return _fail("not_a_number")

    sign, body = _SIGN.fullmatch(text).groups()
    negative = sign in ("-", "\u2212")
    if sign == "\u2212":
        reasons.add("minus_sign")               # a typographic minus (U+2212), as Word types it

    if m := _VN.fullmatch(body):
        int_part, frac = m.group("int"), m.group("frac")
        if "." in int_part:
            reasons.add("thousands_dot")
        elif " " in int_part:
            reasons.add("thousands_space")
        elif frac is not None:
            if len(frac) == 3 and len(int_part) <= 3 and int_part[0] != "0":
                return _fail("ambiguous")      # "1,234": 1.234 (decimal comma) or 1234 (English)?
            reasons.add("decimal_comma")
        digits = int_part.replace(".", "").replace(" ", "")
        value: int | float = int(digits) if frac is None else float(f"{digits}.{frac}")
    elif _COMMA_THOUSANDS.fullmatch(body):
        reasons.add("thousands_comma")
        value = int(body.replace(",", ""))
    elif _ENGLISH_DECIMAL.fullmatch(body):
        return _fail("ambiguous")              # "1.5": an English decimal point, or a typo?
    else:
        return _fail("not_a_number")

    if negative:
        value = -value
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    return Parsed(value, True, True, next((r for r in REPAIRS if r in reasons), "as_text"))


# -- text hygiene ----------------------------------------------------------------------------------


def normalise_text(s: str) -> tuple[str, bool]:
    """NFC-normalise; True when that changed the text (it was decomposed, NFD)."""
    out = unicodedata.normalize("NFC", s)
    return out, out != s


# TCVN3 (ABC, font .VnTime) puts Vietnamese letters on Latin-1 code points. The symbols among them
# (µ ¸ ¶ · ¹ for à á ả ã ạ, ¨ © ® for ă â đ, ¬ and the soft hyphen for ơ ư, × ÷ for ì ữ …) never sit
# inside a normal word; its letters that Unicode Vietnamese never uses (ä å æ ç ë î ï ñ ö ø û ü þ ß …)
# are weaker evidence, being German, French or Spanish letters too.
_TCVN3_SYMBOLS = frozenset("¡¢£¤¥¦§¨©ª«¬\u00ad®µ¶·¸¹»¼½¾×÷")
_TCVN3_EXCLUSIVE = frozenset("äåæçëîïñöøûüþßÆÇËÎÏÐÑÖØÜÞ")
# VNI (font VNI-Times) writes base letter + a mark on a Latin-1 code point.
_VNI_TONES = "øùûõï"                    # huyền sắc hỏi ngã nặng, after any vowel (incl. ơ=ô, ư=ö)
_VNI_CIRCUMFLEX = "âáàåãä"              # â, then â with a tone: after a, e, o
_VNI_BREVE = "êéèúüë"                   # ă, then ă with a tone: after a only
_VNI_EXCLUSIVE = frozenset("ñöæîÑÖÆÎ")  # đ, ư, ỉ, ỵ
_VOWELS = "aeiouyôöAEIOUYÔÖ"
_VNI_PAIR = re.compile("|".join((
    f"[{_VOWELS}][{_VNI_TONES}{_VNI_TONES.upper()}]",
    f"[aeoAEO][{_VNI_CIRCUMFLEX}{_VNI_CIRCUMFLEX.upper()}]",
    f"[aA][{_VNI_BREVE}{_VNI_BREVE.upper()}]",
)))
# … except o + à á ã, which is also ordinary Unicode Vietnamese ("hoà", "khoá", "toàn").
_UNICODE_TOO = re.compile("[oO][àáãÀÁÃ]")
_WORD = re.compile(r"(?:[^\W\d_]|[" + re.escape("".join(_TCVN3_SYMBOLS)) + r"])+", re.UNICODE)

MIN_SCORE = 1.5      # at least two words of evidence (or one sure and one weak)
MIN_DENSITY = 0.3    # … and at least this share of the words


def _tcvn3_score(word: str) -> float:
    for i, ch in enumerate(word):
        if ch in _TCVN3_SYMBOLS:
            before = i > 0 and word[i - 1].isalpha()
            after = i + 1 < len(word) and (word[i + 1].isalpha() or word[i + 1] in _TCVN3_SYMBOLS)
            if ch in "®©" and before and not after:
                continue                        # "Excel®": a trade mark, not đ
            if ch == "µ" and i == 0 and len(word) <= 3 and word[1:].isascii():
                continue                        # "µm", "µg": micro
            if before or after:
                return 1.0
        if "À" <= ch <= "Þ" and i > 0 and word[i - 1].islower():
            return 1.0                          # "nghÜa", "ViÖt": capital inside a lower-case word
    return 0.5 if any(ch in _TCVN3_EXCLUSIVE for ch in word) else 0.0


def _vni_score(word: str) -> float:
    if any(not _UNICODE_TOO.fullmatch(m.group()) for m in _VNI_PAIR.finditer(word)):
        return 1.0
    return 0.5 if any(ch in _VNI_EXCLUSIVE for ch in word) else 0.0


@functools.lru_cache(maxsize=8192)     # the same texts come back in file after file
def _legacy_encoding(s: str) -> str | None:
    return _detect_legacy(s)


def legacy_encoding(s: str) -> str | None:
    """See :func:`_detect_legacy` (cached)."""
    if not isinstance(s, str) or s.isascii():
        return None
    return _legacy_encoding(s)


def _detect_legacy(s: str) -> str | None:
    """"TCVN3" or "VNI" when the text looks like Vietnamese in a legacy 8-bit font encoding read as
    Latin-1 (e.g. "Céng hoµ x· héi", "Coäng hoøa xaõ hoäi"); None for Unicode Vietnamese, other
    languages and numbers. Needs evidence in at least two words and in 30 % of the words, so a
    stray "µm", "Excel®" or French "café" is not flagged."""
    if not isinstance(s, str) or s.isascii():
        return None
    words = [w for w in _WORD.findall(s) if any(ch.isalpha() for ch in w)]
    if not words:
        return None
    best, best_total = None, 0.0
    for name, score in (("TCVN3", _tcvn3_score), ("VNI", _vni_score)):
        scores = [score(w) for w in words]
        total = sum(scores)
        if 1.0 in scores and total >= MIN_SCORE and total / len(words) >= MIN_DENSITY and total > best_total:
            best, best_total = name, total
    return best
