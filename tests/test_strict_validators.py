"""Every kind of file cchc_xl writes, checked by strict third-party validators.

* openxml-audit (a Python port of the Open XML SDK validator) in its strictest mode: Microsoft 365
  format, strict policy, schema + semantic + security checks, no error limit. A finding is either
  absent or in :data:`KNOWN_FALSE_POSITIVES`, each with its reason and a link; an entry that no
  longer matches anything fails too, so the list only shrinks.
* The ISO/IEC 29500-4 transitional XSDs and the OPC XSDs (tests/data/schemas/, see its README),
  with lxml, part by part, after markup-compatibility processing (ECMA-376 Part 3). Parts no
  vendored schema covers are listed in :data:`NOT_COVERED_BY_XSD` with the reason.

The outputs: generated workbooks (the seed configurations of Lạng Sơn and Thừa Thiên Huế, and today's
Lạng Sơn: one unit of each unit type, one file
of each period kind including the plan), the annotated copy ``validate --annotate`` writes for a
file with errors, the roll-up and the field workbooks of ``cchc_xl merge --split-by-field``, and the
add-in ``.xlam``. They are made once for the module.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cchc_xl.cli import main
from tests.helpers import embedded, generate, workspace
from tests.test_error_values import ERRORS, _paste_errors, _rewrite, cells
from tests.test_validate import filled

openxml_audit = pytest.importorskip("openxml_audit")
etree = pytest.importorskip("lxml.etree")

SCHEMAS = Path(__file__).parent / "data" / "schemas"

# (province, period, units): every unit type of both provinces, every period kind
GENERATED = [
    ("lang-son-3-cap-2011-2020", "2024-Y", ["SNV", "STP", "VP", "STC", "STTTT", "SKHCN", "TTPVHCC", "S-KHDT", "H-TPLS"]),
    ("thua-thien-hue-3-cap-2021", "2024-Y", ["TW-BHXH", "H-HUE"]),
    ("lang-son-3-cap-2011-2020", "2024-Q1", ["H-TPLS"]),
    ("lang-son-3-cap-2011-2020", "2024-6M", ["TTPVHCC"]),
    ("thua-thien-hue-3-cap-2021", "2024-9M", ["S-KHDT"]),
    ("lang-son-3-cap-2011-2020", "2024-PLAN", ["S-XD", "SNV"]),
    ("lang-son", "2026-Y", ["06040", "SKHCN"]),        # today's two tiers: a commune, the merged SKHCN
]
KINDS = ["generated", "annotated", "rollup", "field", "addin"]


@dataclass(frozen=True)
class Known:
    kinds: tuple[str, ...]      # output kinds it applies to
    part: str                   # the part it is reported on
    finding: str                # regular expression over the finding's description
    reason: str
    link: str


KNOWN_FALSE_POSITIVES = [
    Known(("addin",), "/[Content_Types].xml", r"^Active content content type 'application/vnd\.ms-excel\.addin"
          r"\.macroEnabled\.main\+xml' declared for part '/xl/workbook\.xml'$",
          "security mode flags every macro-enabled package; an .xlam is macro-enabled by definition "
          "(its VBA calls xlwings' RunPython)",
          "https://github.com/BramAlkema/openxml-audit/blob/main/src/openxml_audit/semantic/security.py"),
    Known(("addin",), "/[Content_Types].xml", r"^Active content content type 'application/vnd\.ms-office\."
          r"vbaProject' declared for part '/xl/vbaProject\.bin'$",
          "the add-in's VBA project (the ribbon callbacks) is the point of the file",
          "https://github.com/BramAlkema/openxml-audit/blob/main/src/openxml_audit/semantic/security.py"),
    Known(("annotated",), "/xl/styles.xml", r"^Unexpected element '(b|i|color)' found$",
          "openpyxl writes a font's children as name, family, b, i, color, sz; ISO/IEC 29500 declares "
          "CT_Font as xsd:choice maxOccurs=unbounded (any order: the XSD test below passes the same part), "
          "the SDK models it as a sequence; Excel opens these files",
          "https://github.com/iOfficeAI/OfficeCLI/issues/295"),
    Known(("annotated",), "/xl/worksheets/", r"^Worksheet sheet\d+\.xml has \d+ inline-string cell\(s\) "
          r"\(`<c t=\"inlineStr\">`\) but the package has no populated `xl/sharedStrings\.xml`",
          "a warning, not an error: openpyxl 3.1 writes every string inline (t=\"inlineStr\", allowed by "
          "ECMA-376 §18.3.1.53); Excel moves them to a shared-strings part when it saves",
          "https://foss.heptapod.net/openpyxl/openpyxl/-/blob/branch/3.1/openpyxl/cell/_writer.py"),
]

# Parts no vendored schema covers, by name pattern, with the reason.
NOT_COVERED_BY_XSD = {
    r"docProps/core\.xml": "its schema (opc-coreProperties.xsd) imports the Dublin Core schemas, not vendored",
    r"customUI/customUI\.xml": "the customUI schema ([MS-CUSTOMUI]) is not vendored; openxml-audit checks it",
    r"xl/drawings/commentsDrawing\d+\.vml": "legacy VML (root <xml>, no namespace): no schema describes it",
    r"xl/vbaProject\.bin": "binary (MS-OVBA), not XML",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, list[Path]]:
    tmp = tmp_path_factory.mktemp("outputs")
    out: dict[str, list[Path]] = {k: [] for k in KINDS}
    for province, period, units in GENERATED:
        res = generate(embedded(province), period, units, out=tmp / "gen" / province / period, fixed_time=True)
        out["generated"] += [Path(f["path"]) for f in res.files]
    ws = workspace(tmp)
    for i, unit in enumerate(["S-XD", "H-TPLS", "TTPVHCC", "SNV", "STP"]):
        shutil.copyfile(filled(tmp / "src", unit=unit, ws=ws, seed=i), ws.inbox / f"bao cao {i}.xlsx")
    runner = CliRunner()
    res = runner.invoke(main, ["merge", str(ws.inbox), "--workspace", str(ws.root), "--period", "2024-Y",
                               "--split-by-field", str(tmp / "fields")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out["rollup"] = sorted(ws.rollup.glob("tong-hop_*.xlsx"))
    out["field"] = sorted((tmp / "fields").glob("*.xlsx"))
    wrong = _rewrite(filled(tmp / "src", unit="H-TRANGDINH", ws=ws, seed=9), tmp / "src" / "loi.xlsx",
                     lambda d: _paste_errors(d, dict(zip(cells(), ERRORS))))
    res = runner.invoke(main, ["validate", str(wrong), "--workspace", str(ws.root), "--period", "2024-Y",
                               "--annotate", str(tmp / "annotated")], catch_exceptions=False)
    out["annotated"] = sorted((tmp / "annotated").glob("*.xlsx"))
    from cchc_xl.addin.build import build

    (tmp / "addin").mkdir()
    out["addin"] = [build(tmp / "addin").path]
    for kind, paths in out.items():
        assert paths, f"no {kind} output was written"
    return out


# -- openxml-audit ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator():
    from openxml_audit import FileFormat, OpenXmlValidator

    return OpenXmlValidator(file_format=FileFormat.MICROSOFT_365, max_errors=0, schema_validation=True,
                            semantic_validation=True, security_validation=True, strict=True)


def _findings(validator, path: Path) -> list[tuple[str, str, str, str]]:
    """(severity, part, node path, description) of every error and warning."""
    res = validator.validate(str(path))
    return [(e.severity.value, getattr(e, "part_uri", "") or "", getattr(e, "path", "") or "", e.description)
            for e in [*res.errors, *getattr(res, "warnings", [])]]


def _known(kind: str, part: str, description: str) -> Known | None:
    for k in KNOWN_FALSE_POSITIVES:
        if kind in k.kinds and part.startswith(k.part) and re.search(k.finding, description):
            return k
    return None


@pytest.fixture(scope="module")
def audit(outputs, validator) -> dict[str, dict[Path, list]]:
    return {kind: {p: _findings(validator, p) for p in paths} for kind, paths in outputs.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_openxml_audit_strict_finds_nothing_but_known_false_positives(audit, kind):
    unexpected = [(p.name, *f) for p, found in audit[kind].items() for f in found if not _known(kind, f[1], f[3])]
    assert not unexpected, "\n".join(map(repr, unexpected))


def test_every_known_false_positive_still_occurs(audit):
    seen = {_known(kind, f[1], f[3]) for kind, by_path in audit.items() for found in by_path.values()
            for f in found}
    stale = [k for k in KNOWN_FALSE_POSITIVES if k not in seen]
    assert not stale, f"no longer reported, remove from KNOWN_FALSE_POSITIVES: {stale}"


def test_openxml_audit_sees_errors_in_our_parts(outputs, validator, tmp_path):
    """The checks above are not vacuous: a cell type, a ribbon element and a row order that are wrong
    are each reported, in a generated workbook, the roll-up and the add-in."""
    def broken(src: Path, part: str, old: bytes, new: bytes) -> Path:
        dest = tmp_path / f"broken-{src.name}"
        with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zo:
            for info in zi.infolist():
                data = zi.read(info)
                if info.filename == part:
                    assert old in data
                    data = data.replace(old, new, 1)
                zo.writestr(info, data)
        return dest

    cases = [
        (next(p for p in outputs["generated"] if p.name == "H-TPLS_2024-Y.xlsx"), "xl/worksheets/sheet2.xml",
         b'<c r="B1" s="9"/>', b'<c r="B1" s="9" t="q"/>'),
        (outputs["rollup"][0], "xl/worksheets/sheet1.xml", b"<sheetData>", b"<sheetData><bogus/>"),
        (outputs["addin"][0], "customUI/customUI.xml", b"<tabs>", b"<tabs><bogus/>"),
    ]
    for src, part, old, new in cases:
        found = _findings(validator, broken(src, part, old, new))
        assert any(f[0] == "error" and f[1] == "/" + part for f in found), (src.name, part, found)


# -- ISO/IEC 29500 transitional XSDs -------------------------------------------------------------------

MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XSD_BY_NAMESPACE = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main": "iso-iec-29500-4/sml.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "iso-iec-29500-4/dml-main.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/chart": "iso-iec-29500-4/dml-chart.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing": "iso-iec-29500-4/dml-spreadsheetDrawing.xsd",
    "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties":
        "iso-iec-29500-4/shared-documentPropertiesExtended.xsd",
    "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties":
        "iso-iec-29500-4/shared-documentPropertiesCustom.xsd",
    "http://schemas.openxmlformats.org/package/2006/content-types": "opc/opc-contentTypes.xsd",
    "http://schemas.openxmlformats.org/package/2006/relationships": "opc/opc-relationships.xsd",
}


class _Vendored(etree.Resolver):
    """Schema imports resolve to the vendored files only (by file name); nothing is fetched."""

    def resolve(self, url, pubid, context):
        name = url.rsplit("/", 1)[-1]
        for sub in ("iso-iec-29500-4", "opc"):
            if (SCHEMAS / sub / name).is_file():
                return self.resolve_filename(str(SCHEMAS / sub / name), context)
        raise OSError(f"schema {url} is not vendored under {SCHEMAS}")


def _parser(**kw):
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, **kw)
    parser.resolvers.add(_Vendored())
    return parser


@pytest.fixture(scope="module")
def schemas() -> dict[str, object]:
    return {ns: etree.XMLSchema(etree.parse(str(SCHEMAS / rel), _parser())) for ns, rel in XSD_BY_NAMESPACE.items()}


def mce_process(root, understood: set[str]):
    """Markup compatibility (ECMA-376 Part 3 §10) as a consumer that understands ``understood``:
    attributes and elements of ignorable namespaces are dropped, an ``AlternateContent`` becomes
    its first ``Choice`` whose ``Requires`` are understood, else its ``Fallback``."""
    def ns_of(el, prefixes: str) -> set[str]:
        return {el.nsmap.get(p) for p in prefixes.split()}

    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el).localname == "AlternateContent" and etree.QName(el).namespace == MC:
            pick = None
            for branch in el:
                q = etree.QName(branch)
                if q.localname == "Choice" and ns_of(branch, branch.get("Requires", "")) <= understood:
                    pick = branch
                    break
                if q.localname == "Fallback":
                    pick = branch
            parent, at = el.getparent(), el.getparent().index(el)
            parent.remove(el)
            for i, child in enumerate(list(pick) if pick is not None else []):
                parent.insert(at + i, child)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        ignorable = ns_of(el, el.attrib.pop(f"{{{MC}}}Ignorable", "")) - understood
        for name in [a for a in el.attrib if etree.QName(a).namespace in ignorable | {MC}]:
            del el.attrib[name]
        for child in [c for c in el if isinstance(c.tag, str) and etree.QName(c).namespace in ignorable]:
            el.remove(child)
    return root


def _xsd_problems(path: Path, schemas) -> tuple[list[str], list[str]]:
    """(schema errors, parts no schema covers) of one package."""
    problems, uncovered = [], []
    understood = set(XSD_BY_NAMESPACE) | {"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                                          "http://schemas.openxmlformats.org/officeDocument/2006/sharedTypes"}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            data = z.read(name)
            if name.endswith(".bin"):
                uncovered.append(name)
                continue
            root = etree.fromstring(data, _parser(huge_tree=True))
            schema = schemas.get(etree.QName(root).namespace)
            if schema is None:
                uncovered.append(name)
                continue
            if not schema.validate(etree.ElementTree(mce_process(root, understood))):
                problems += [f"{path.name}:{name}:{e.line}: {e.message}" for e in schema.error_log][:20]
    return problems, uncovered


@pytest.mark.parametrize("kind", KINDS)
def test_every_part_is_valid_against_the_iso_29500_transitional_schemas(outputs, schemas, kind):
    for path in outputs[kind]:
        problems, uncovered = _xsd_problems(path, schemas)
        assert not problems, "\n".join(problems)
        unlisted = [n for n in uncovered if not any(re.fullmatch(p, n) for p in NOT_COVERED_BY_XSD)]
        assert not unlisted, f"{path.name}: no schema for {unlisted} (vendor one or say why in NOT_COVERED_BY_XSD)"


def test_the_schemas_see_errors(outputs, schemas):
    """Not vacuous: a cell out of its sequence is an error for sml.xsd, an unknown relationship
    attribute for the OPC schema."""
    src = outputs["rollup"][0]
    with zipfile.ZipFile(src) as z:
        sheet = etree.fromstring(z.read("xl/worksheets/sheet1.xml"), _parser(huge_tree=True))
        rels = etree.fromstring(z.read("_rels/.rels"), _parser())
    sheet.insert(0, sheet.find("{*}sheetData"))          # sheetData before sheetPr/dimension
    rels[0].set("Bogus", "1")
    ns = etree.QName(sheet).namespace
    assert not schemas[ns].validate(etree.ElementTree(sheet))
    assert not schemas[etree.QName(rels).namespace].validate(etree.ElementTree(rels))


def test_markup_compatibility_keeps_what_is_understood():
    sml = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    root = etree.fromstring(
        f'<workbook xmlns="{sml}" xmlns:mc="{MC}" xmlns:x15="urn:x15" xmlns:x14="urn:x14" '
        'mc:Ignorable="x15" x15:a="1"><x15:gone/><mc:AlternateContent><mc:Choice Requires="x14"><x14:no/>'
        f'</mc:Choice><mc:Fallback><sheets/></mc:Fallback></mc:AlternateContent><bookViews/></workbook>')
    mce_process(root, {sml})
    assert [etree.QName(c).localname for c in root] == ["sheets", "bookViews"] and not root.attrib
