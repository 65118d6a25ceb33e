"""Provenance that can be checked: every quoted source is found in its seed at its line.

A source (``{seed, section, line, quote, note}``) anywhere in ``blueprints/`` — tables,
vocabularies, the seeds' province configurations, today's templates — names a seed file with the
line its quoted words begin on, ``domain.md``, or ``design`` (the project's own addition). The
seed texts are kept in ``tests/data/seeds/`` (copies of the project's seed documents).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from cchc_xl.blueprint.catalogue import load_catalogue
from cchc_xl.blueprint.model import DESIGN, DOMAIN, Source
from cchc_xl.resources import blueprints_dir

SEEDS = Path(__file__).parent / "data" / "seeds"
SPAN = 6          # a quote may run over line breaks into at most this many following lines

# seed typos that titles correct (domain.md: "Seed typos to correct, not copy")
TYPOS = {"Bru chính": "Bưu chính", "TTPVHCH": "TTPVHCC"}


def norm(text: str) -> str:
    """NFC, markdown emphasis dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).replace("**", "").replace("~~", "")
    return re.sub(r"\s+", " ", text).strip()


def seed_lines(name: str) -> list[str]:
    return (SEEDS / name).read_text(encoding="utf-8").splitlines()


def quote_at(name: str, line: int, quote: str) -> bool:
    """The quote begins on ``line`` (1-based) of the seed, possibly running over line breaks."""
    lines = seed_lines(name)
    if not 1 <= line <= len(lines):
        return False
    first = norm(lines[line - 1])
    joined = norm(" ".join(lines[line - 1:line + SPAN]))
    q = norm(quote)
    i = joined.find(q)
    while i != -1:
        if i < len(first):
            return True
        i = joined.find(q, i + 1)
    return False


def _sources(node, path=()):
    """Every mapping with a ``seed`` key in a parsed YAML document, with where it is."""
    if isinstance(node, dict):
        if "seed" in node and "section" in node:
            yield path, node
        for k, v in node.items():
            yield from _sources(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _sources(v, (*path, str(i)))


def all_sources() -> list[tuple[str, tuple, dict]]:
    root = blueprints_dir()
    out = []
    for f in sorted(root.rglob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        out += [(str(f.relative_to(root)), p, s) for p, s in _sources(doc)]
    return out


def test_seed_copies_are_the_five_seeds_and_the_brief():
    names = sorted(p.name for p in SEEDS.iterdir())
    assert names == ["000_88494d1bc9ec11ad.txt", "001_1d46ee787839ee26.txt", "002_2d55142c9460fe8a.txt",
                     "003_7ccf3419dc30d5f1.txt", "004_7fc4e4d099bee7bd.txt", "domain.md"]


def test_quote_matching_normalises_and_spans_a_line_break():
    # seed 000 line 228-229 breaks a sentence over two lines; line 47 is bold in the seed
    assert quote_at("000_88494d1bc9ec11ad.txt", 227, "phản ánh, kiến nghị của tổ chức cá nhân đến giải quyết")
    assert quote_at("000_88494d1bc9ec11ad.txt", 47, "trước 30/01 năm Kế hoạch")
    nfd = unicodedata.normalize("NFD", "Gửi trước ngày 05 tháng 6")
    assert quote_at("000_88494d1bc9ec11ad.txt", 242, nfd)
    # the quote must begin on its line, not one line later or earlier
    assert not quote_at("000_88494d1bc9ec11ad.txt", 241, "Gửi trước ngày 05 tháng 6")
    assert not quote_at("000_88494d1bc9ec11ad.txt", 243, "Gửi trước ngày 05 tháng 6")
    assert not quote_at("000_88494d1bc9ec11ad.txt", 242, "Gửi trước ngày 06 tháng 6")


def test_every_source_is_a_valid_source():
    found = all_sources()
    assert len(found) > 300
    bad = []
    for f, p, s in found:
        try:
            Source.model_validate(s)
        except ValueError as exc:
            bad.append(f"{f}: {'.'.join(p)}: {exc}")
    assert not bad, "\n".join(bad)


def test_every_quoted_text_is_in_its_seed_at_its_line():
    quoted = [(f, p, s) for f, p, s in all_sources() if s.get("quote")]
    assert len(quoted) >= 60
    bad = [f"{f}: {'.'.join(p)}: {s['seed']}:{s['line']} has no {s['quote']!r}"
           for f, p, s in quoted if not quote_at(s["seed"], s["line"], s["quote"])]
    assert not bad, "\n".join(bad)


def test_design_and_domain_sources_are_allowed_and_unknown_seeds_are_not():
    assert Source(seed=DESIGN, section="Thiết kế của dự án").seed == "design"
    assert Source(seed=DOMAIN, section="x", line=3, quote="the domain").line == 3
    with pytest.raises(ValueError, match="neither a seed file"):
        Source(seed="005_x.txt", section="x")
    with pytest.raises(ValueError, match="line and quote go together"):
        Source(seed="000_88494d1bc9ec11ad.txt", section="x", line=3)
    with pytest.raises(ValueError, match="quotes nothing"):
        Source(seed=DESIGN, section="x", line=3, quote="abc")


def test_every_appendix_code_from_a_seed_quotes_it():
    cat = load_catalogue()
    missing = [code for code, bp in cat.by_code.items()
               for c in bp.codes if c.code == code and c.source.seed not in (DESIGN, DOMAIN)
               and c.source.quote is None]
    assert not missing, missing


def test_every_appendix_title_is_the_seeds_words():
    """Seed 000 prints "Phụ lục số: CODE: title": the title of that code is exactly the quoted text
    (seed typos corrected), and the quote is what follows the code on the seed's line."""
    cat = load_catalogue()
    checked = []
    for code, bp in sorted(cat.by_code.items()):
        src = next(c.source for c in bp.codes if c.code == code)
        if src.seed != "000_88494d1bc9ec11ad.txt" or code.startswith("DC-"):
            continue
        line = norm(seed_lines(src.seed)[src.line - 1])
        printed = re.search(r"Phụ lục số:? ?" + re.escape(code).replace("TTPVHCC", "TTPVHC[CH]") + r"(?![\w-]):?\s*(.*)$",
                            line, re.IGNORECASE)
        assert printed, f"{code}: line {src.line} does not name the appendix: {line!r}"
        title = printed.group(1).rstrip(".").strip()
        if not title:      # 01-SNV, 02-SNV, 03-SNV: named without a title
            continue
        assert norm(src.quote) == title, code
        for typo, right in TYPOS.items():
            title = title.replace(typo, right)
        assert bp.title_for(code) == title, code
        checked.append(code)
    assert len(checked) == 33        # 36 codes of seed 000, three of which have no printed title


# Files whose every seed or domain.md source has its line and quote (issue 14, item 6), done file by
# file; since every blueprint is done, test_no_source_is_pending checks all of them.
DONE_FILES = [
    "tables/bcci-phat-sinh.yaml",
    "tables/bcci-trien-khai.yaml",
    "tables/can-bo-cong-chuc-cap-xa.yaml",
    "tables/chi-tieu-nhieu-nam.yaml",
    "tables/danh-sach-kiem-tra.yaml",
    "tables/de-cuong-dinh-ky.yaml",
    "tables/de-cuong-kiem-tra.yaml",
    "tables/de-cuong-linh-vuc.yaml",
    "tables/de-cuong-tong-ket.yaml",
    "tables/dvctt-phat-sinh.yaml",
    "tables/dvctt-trien-khai.yaml",
    "tables/ket-qua-bcci-ttpvhcc.yaml",
    "tables/ket-qua-dvctt-ttpvhcc.yaml",
    "tables/ket-qua-giai-quyet-linh-vuc.yaml",
    "tables/ket-qua-giai-quyet-xa.yaml",
    "tables/ket-qua-ke-hoach.yaml",
    "tables/ket-qua-tiep-nhan-ttpvhcc.yaml",
    "tables/lich-trinh-tong-ket.yaml",
    "tables/thong-ke-tieu-chi.yaml",
    "tables/thong-ke-tthc-cong-bo.yaml",
    "tables/to-chuc-bo-may.yaml",
    "tables/tthc-cong-bo.yaml",
    "today/departments.yaml",
    "vocabularies/linh_vuc_tthc.yaml",
    "vocabularies/nhom_don_vi_kiem_tra.yaml",
]


def test_every_source_of_a_done_file_quotes_its_seed_or_says_design():
    found = all_sources()
    files = {f for f, _, _ in found}
    assert set(DONE_FILES) <= files, sorted(set(DONE_FILES) - files)
    bad = [f"{f}: {'.'.join(p)}: {s['seed']} {s.get('section')!r} has no line and quote"
           for f, p, s in found
           if f in DONE_FILES and s["seed"] != DESIGN and not (s.get("line") and s.get("quote"))]
    assert not bad, "\n".join(bad)


def test_no_source_is_pending():
    """Every source of every blueprint quotes its seed (or domain.md) at its line, or says design."""
    bad = [f"{f}: {'.'.join(p)}: {s['seed']} {s.get('section')!r} has no line and quote"
           for f, p, s in all_sources() if s["seed"] != DESIGN and not (s.get("line") and s.get("quote"))]
    assert not bad, "\n".join(bad)


def test_the_sources_init_writes_for_a_province_of_today_quote_domain_md():
    """``cchc_xl init --province`` writes its configuration from code (cchc_xl.config.today): its
    sources are checked like the blueprints' ones."""
    from cchc_xl.config.official import find_province
    from cchc_xl.config.today import render

    texts = render(find_province("Lạng Sơn"))
    found = [s for text in texts.values() for _p, s in _sources(yaml.safe_load(text)) if s["seed"] != DESIGN]
    assert found
    for s in found:
        assert s.get("quote") and quote_at(s["seed"], s["line"], s["quote"]), s
