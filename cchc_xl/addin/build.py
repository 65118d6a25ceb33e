"""Build ``cchc_xl.xlam``: xlwings' own ribbon add-in template with our ribbon and our VBA.

The template is the ``.xlam`` that ``xlwings quickstart NAME --addin --ribbon`` copies
(``quickstart_addin_ribbon.xlam`` in the xlwings package; when an xlwings release no longer ships it,
the quickstart command is run in a temporary folder instead). It is a zip:

* ``customUI/customUI.xml`` — the ribbon: replaced by ``ribbon.xml`` (tab "CCHC", three buttons);
  the package relationship to it gets the type that goes with its namespace (the template pairs the
  2006 customUI namespace with the 2007 relationship type, which Office reads as customUI14);
* ``xl/vbaProject.bin`` — the VBA: xlwings' ``RunPython`` module plus one ribbon module. When the
  pure-Python ``ms-ovba`` package is installed, the VBA project is rebuilt from source: the template's
  own ``xlwings`` and document modules, read back out of its ``vbaProject.bin``, plus ``cchc_xl.bas``
  (module ``CchcXl``, the three ribbon callbacks). Without ``ms-ovba`` the template's VBA is kept and
  ``cchc_xl.bas`` must be imported once in Excel's VBA editor (docs/addin.md).

No Excel is needed, and none is used: the result is tested here by reading it back (zip, XML, and
``oletools.olevba`` for the VBA); whether Excel accepts a VBA project written without Excel can only
be seen in Excel itself (docs/addin.md says what was tested where).
"""

from __future__ import annotations

import contextlib
import gc
import io
import re
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import olefile

from .. import __version__
from ..atomic import replacing
from ..errors import CchcError

ADDIN_FILE = "cchc_xl.xlam"
TEMPLATE_FILE = "quickstart_addin_ribbon.xlam"
VBA_MODULE = "CchcXl"                 # Attribute VB_Name of cchc_xl.bas; ribbon onAction="CchcXl.<Sub>"
PROJECT_NAME = "cchc_xl"              # xlwings PROJECT_NAME: config sheet "cchc_xl.conf", %USERPROFILE%\.cchc_xl\cchc_xl.conf
TEMPLATE_PROJECT_NAME = "myaddin"     # the template's PROJECT_NAME (kept when its VBA is kept)
TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"   # the template's ribbon callback: runs main() of a module named like the file
MENU_MODULE = "cchc_xl"               # what that callback imports for cchc_xl.xlam: the package's main()
RIBBON_PART = "customUI/customUI.xml"
PACKAGE_RELS = "_rels/.rels"
# The relationship type of the ribbon part follows its namespace: customUI (Office 2007) is found
# through the 2006 type, customUI14 (Office 2010 and later) through the 2007 one ([MS-CUSTOMUI]).
RIBBON_REL_TYPES = {
    "http://schemas.microsoft.com/office/2006/01/customui":
        "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2009/07/customui":
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
}
VBA_PART = "xl/vbaProject.bin"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)      # fixed member dates: the same sources give the same file
_PROJECT_NAME_LINE = re.compile(r'(Public Const PROJECT_NAME As String = ")([^"]*)(")')


ADDIN_EXTRA_MISSING = ("chưa cài phần bổ sung cho add-in Excel (xlwings, ms-ovba): "
                       "pip install 'cchc-xl[addin]'")


class AddinBuildError(CchcError):
    """The add-in could not be built (no template, unreadable template, bad sources)."""


@dataclass
class AddinBuild:
    path: Path
    vba: str                       # "compiled": cchc_xl.bas is in the VBA project; "template": it is not
    modules: list[str]             # VBA modules of the built add-in
    template: str                  # where the template came from
    project_name: str              # xlwings PROJECT_NAME: names the config sheet and config file
    notes: list[str] = field(default_factory=list)

    @property
    def config_sheet(self) -> str:
        return f"_{self.project_name}.conf"

    def as_dict(self) -> dict:
        return {"path": str(self.path), "vba": self.vba, "modules": self.modules, "template": self.template,
                "project_name": self.project_name, "config_sheet": self.config_sheet, "notes": self.notes}


# -- sources --------------------------------------------------------------------------------------


def _source(name: str) -> bytes:
    try:
        return resources.files("cchc_xl.addin").joinpath(name).read_bytes()
    except OSError as exc:
        raise AddinBuildError(f"thiếu tệp nguồn của add-in cchc_xl/addin/{name} (gói cài đặt thiếu dữ liệu "
                              "package-data của cchc_xl.addin)") from exc


def ribbon_xml(menu: bool = False) -> str:
    """Our ribbon (customUI): ``ribbon.xml``, three buttons calling ``cchc_xl.bas``; with ``menu``,
    ``ribbon_menu.xml``, one button calling the template's own callback (the default add-in)."""
    return _source("ribbon_menu.xml" if menu else "ribbon.xml").decode("utf-8")


def vba_source() -> str:
    """Our VBA module as shipped in ``cchc_xl/addin/cchc_xl.bas`` (ASCII, CRLF)."""
    text = _source("cchc_xl.bas").decode("ascii")
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def ribbon_relationship_type(ribbon: bytes) -> str:
    """The package relationship type that makes Office load ``ribbon`` (by its root namespace)."""
    m = re.search(rb"<customUI\b[^>]*\bxmlns=\"([^\"]+)\"", ribbon)
    rel_type = RIBBON_REL_TYPES.get(m.group(1).decode() if m else "")
    if rel_type is None:
        raise AddinBuildError("ribbon.xml: phần tử customUI không có không gian tên customUI đã biết "
                              f"({', '.join(RIBBON_REL_TYPES)})")
    return rel_type


def _set_ribbon_relationship(rels_xml: bytes, rel_type: str) -> bytes:
    """The package relationships with the one that targets the ribbon part set to ``rel_type``."""
    text = rels_xml.decode("utf-8")
    found = 0

    def fix(m: re.Match) -> str:
        nonlocal found
        rel = m.group(0)
        if not re.search(r'\bTarget="/?' + re.escape(RIBBON_PART) + '"', rel):
            return rel
        found += 1
        return re.sub(r'\bType="[^"]*"', f'Type="{rel_type}"', rel, count=1)

    text = re.sub(r"<Relationship\b[^>]*>", fix, text)
    if found != 1:
        raise AddinBuildError(f"mẫu add-in: {PACKAGE_RELS} có {found} quan hệ tới {RIBBON_PART} (cần đúng một)")
    return text.encode("utf-8")


def template_xlam() -> tuple[bytes, str]:
    """The bytes of xlwings' ribbon add-in template and where they came from."""
    try:
        import xlwings
    except ImportError as exc:                      # the [addin] extra is not installed
        raise AddinBuildError(ADDIN_EXTRA_MISSING) from exc
    shipped = Path(xlwings.__file__).resolve().parent / TEMPLATE_FILE
    if shipped.is_file():
        return shipped.read_bytes(), f"xlwings {xlwings.__version__}: {TEMPLATE_FILE}"
    return _quickstart_template(), f"xlwings {xlwings.__version__}: quickstart --addin --ribbon"  # pragma: no cover


def _quickstart_template() -> bytes:  # pragma: no cover - only for xlwings releases without the file
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", "from xlwings.cli import main; main()",
               "quickstart", "cchcaddin", "--addin", "--ribbon"]
        run = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
        out = Path(tmp) / "cchcaddin" / "cchcaddin.xlam"
        if run.returncode != 0 or not out.is_file():
            raise AddinBuildError("không tạo được mẫu add-in bằng 'xlwings quickstart --addin --ribbon': "
                                  + (run.stderr.strip() or run.stdout.strip() or f"mã thoát {run.returncode}"))
        return out.read_bytes()


def _compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression (greedy longest match), the inverse of :func:`_decompress`.

    Ours rather than ``ms_ovba_compression``'s: its 1.0.1 release garbles some inputs (found by the
    round-trip test in tests/test_addin.py), which would corrupt the VBA source silently."""
    out = bytearray(b"\x01")
    for cstart in range(0, len(data), 4096):
        chunk = data[cstart:cstart + 4096]
        body = _compress_chunk(chunk)
        if len(body) <= 4096:
            out += (0xB000 | (len(body) - 1)).to_bytes(2, "little") + body
        elif len(chunk) == 4096:                         # incompressible: store the 4096 bytes raw
            out += (0x3FFF).to_bytes(2, "little") + chunk
        else:  # pragma: no cover - text never grows this much
            raise AddinBuildError("mã VBA không nén được")
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    body = bytearray()
    heads: dict[bytes, list[int]] = {}
    i, n = 0, len(chunk)
    while i < n:
        flag_pos = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if i >= n:
                break
            best_len = best_off = 0
            if i > 0 and i + 3 <= n:
                bit_count = max((i - 1).bit_length(), 4)
                max_len = min((0xFFFF >> bit_count) + 3, n - i)
                for cand in reversed(heads.get(chunk[i:i + 3], [])[-64:]):
                    length = 3
                    while length < max_len and chunk[cand + length] == chunk[i + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, i - cand
                        if length == max_len:
                            break
            step = best_len if best_len >= 3 else 1
            if best_len >= 3:
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                body += token.to_bytes(2, "little")
                flags |= 1 << bit
            else:
                body.append(chunk[i])
            for k in range(i, min(i + step, n - 2)):
                heads.setdefault(chunk[k:k + 3], []).append(k)
            i += step
        body[flag_pos] = flags
    return bytes(body)


@contextlib.contextmanager
def _ms_ovba_patched():
    """Make ms-ovba compress with :func:`_compress` (it calls ``MsOvba().compress`` internally) and
    draw the random seeds of the PROJECT stream's CMG/DPB/GC values from a fixed generator, so the
    same sources give the same bytes."""
    import random

    import ms_ovba_crypto.ms_ovba_crypto as crypto
    from ms_ovba_compression.ms_ovba import MsOvba

    original, original_random = MsOvba.compress, crypto.random
    MsOvba.compress = lambda self, data: _compress(bytes(data))
    crypto.random = random.Random(0)
    try:
        yield
    finally:
        MsOvba.compress, crypto.random = original, original_random


# -- reading a VBA project (MS-OVBA) ----------------------------------------------------------------


@dataclass
class VbaModule:
    name: str
    stream: str
    kind: str            # "module" (standard) | "document" | "class" (class, document or designer)
    source: bytes        # source text in the project's code page


def _decompress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 decompression of a CompressedContainer (module source, dir stream)."""
    if not data or data[0] != 1:
        raise ValueError("not a compressed VBA container")
    out = bytearray()
    pos = 1
    while pos + 2 <= len(data):
        header = int.from_bytes(data[pos:pos + 2], "little")
        chunk_end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        if not header & 0x8000:                       # stored uncompressed: 4096 raw bytes
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        start = len(out)
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags >> bit & 1:              # literal byte
                    out.append(data[pos])
                    pos += 1
                    continue
                token = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                bit_count = max((len(out) - start - 1).bit_length(), 4)
                offset = (token >> (16 - bit_count)) + 1
                length = (token & (0xFFFF >> bit_count)) + 3
                if offset > len(out) - start:
                    raise ValueError("bad copy token in compressed VBA container")
                for _ in range(length):
                    out.append(out[-offset])
        pos = chunk_end
    return bytes(out)


def project_modules(vba_bin: bytes) -> list[tuple[str, str]]:
    """(name, kind) of each module, from the PROJECT stream (no decompression needed)."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(vba_bin))
        try:
            text = ole.openstream("PROJECT").read().decode("latin-1")
        finally:
            ole.close()
    except OSError as exc:
        raise AddinBuildError(f"không đọc được dự án VBA của mẫu add-in: {exc}") from exc
    kinds = {"Module": "module", "Document": "document", "Class": "class", "BaseClass": "class"}
    out = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in kinds:
            out.append((value.split("/")[0], kinds[key]))
        elif line.startswith("["):
            break
    return out


def read_vba_project(vba_bin: bytes) -> tuple[list[VbaModule], str]:
    """The modules of a ``vbaProject.bin`` and its code page (MS-OVBA 2.3.4.2 dir stream)."""
    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    try:
        project = ole.openstream("PROJECT").read().decode("latin-1")
        dir_data = _decompress(ole.openstream(["VBA", "dir"]).read())
        codepage = "cp1252"
        modules: list[dict] = []
        pos = 0
        while pos + 6 <= len(dir_data):
            rid, size = struct.unpack_from("<HI", dir_data, pos)
            pos += 6
            if rid == 0x0009:            # PROJECTVERSION: "size" is Reserved (4), 6 bytes follow
                size = 6
            data = dir_data[pos:pos + size]
            pos += size
            if rid == 0x0003:
                codepage = f"cp{struct.unpack('<H', data)[0]}"
            elif rid == 0x0019:          # MODULENAME opens a module record
                modules.append({"name": data.decode("latin-1"), "kind": "module"})
            elif rid == 0x001A and modules:
                modules[-1]["stream"] = data.decode("latin-1")
            elif rid == 0x0031 and modules:
                modules[-1]["offset"] = struct.unpack("<I", data)[0]
            elif rid == 0x0022 and modules:
                modules[-1]["kind"] = "class"
        out = []
        for m in modules:
            raw = ole.openstream(["VBA", m["stream"]]).read()
            kind = m["kind"]
            if kind == "class" and re.search(rf"(?m)^Document={re.escape(m['name'])}/", project):
                kind = "document"
            out.append(VbaModule(m["name"], m["stream"], kind, _decompress(raw[m["offset"]:])))
        return out, codepage
    except (OSError, struct.error, KeyError, ValueError) as exc:
        raise AddinBuildError(f"không đọc được dự án VBA của mẫu add-in: {exc}") from exc
    finally:
        ole.close()


# -- writing a VBA project (ms-ovba) ---------------------------------------------------------------


def can_compile_vba() -> bool:
    try:
        import ms_ovba.vbaProject  # noqa: F401
    except ImportError:
        return False
    return True


_DOC_GUIDS = {  # Attribute VB_Base of Excel's document modules
    "workbook": "00020819-0000-0000-C000-000000000046",
    "worksheet": "00020820-0000-0000-C000-000000000046",
}


def compile_vba(template_modules: list[VbaModule], extra: dict[str, str], project_name: str) -> bytes:
    """A new ``vbaProject.bin``: the template's standard and document modules (``xlwings`` with its
    PROJECT_NAME set to ``project_name``) plus ``extra`` {module name: source}. Class modules are left
    out: the template's only one, ``Dictionary``, serves xlwings on the Mac, which this add-in is not for."""
    import uuid

    from ms_ovba.Models.Entities.doc_module import DocModule
    from ms_ovba.Models.Entities.reference import Reference
    from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
    from ms_ovba.Models.Entities.std_module import StdModule
    from ms_ovba.Models.Fields.libid_reference import LibidReference
    from ms_ovba.vbaProject import VbaProject
    from ms_ovba.Views.project_ole_file import ProjectOleFile

    project = VbaProject()
    project.project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "cchc_xl.xlam")).upper() + "}"
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), _ms_ovba_patched():  # ms-ovba writes into the cwd
        def add(module, name: str, source: bytes) -> None:
            path = Path(tmp) / f"{name}.src"
            text = source.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if not text.endswith(b"\r\n"):
                text += b"\r\n"
            (path.parent / (path.name + ".new")).write_bytes(text)   # what ms-ovba compresses
            module.add_file(str(path))
            project.add_module(module)

        for m in template_modules:
            if m.kind == "document":
                doc = DocModule(m.name)
                base = re.search(rb'Attribute VB_Base = "0\{([0-9A-Fa-f-]+)\}', m.source)
                guid = base.group(1).decode() if base else _DOC_GUIDS["worksheet"]
                doc.add_guid(uuid.UUID(guid))
                add(doc, m.name, m.source)
            elif m.kind == "module":
                src = m.source
                if m.name == "xlwings":
                    src, n = _PROJECT_NAME_LINE.subn(
                        lambda mo: mo.group(1) + project_name + mo.group(3), src.decode("latin-1"))
                    if n != 1:
                        raise AddinBuildError("mô-đun VBA 'xlwings' của mẫu không có PROJECT_NAME")
                    src = src.encode("latin-1")
                add(StdModule(m.name), m.name, src)
        for name, text in extra.items():
            add(StdModule(name), name, text.encode("ascii"))
        project.add_reference(Reference(ReferenceRegistered(LibidReference(
            uuid.UUID("00020430-0000-0000-C000-000000000046"), "2.0", "0",
            "C:\\Windows\\System32\\stdole2.tlb", "OLE Automation")), "stdole"))
        project.add_reference(Reference(ReferenceRegistered(LibidReference(
            uuid.UUID("2DF8D04C-5BFA-101B-BDE5-00AA0044DE52"), "2.0", "0",
            "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL",
            "Microsoft Office 16.0 Object Library")), "Office"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)   # ms-cfb 0.0.6 leaves files to the GC
            ProjectOleFile.write_file(project)
            gc.collect()                                       # closed before the folder is removed (Windows)
        return (Path(tmp) / "vbaProject.bin").read_bytes()


# -- the add-in --------------------------------------------------------------------------------------


def _set_config_sheet(workbook_xml: bytes, old: str, new: str) -> bytes:
    text = workbook_xml.decode("utf-8")
    before = f'name="_{old}.conf"'
    if before not in text:
        raise AddinBuildError(f"mẫu add-in không có trang cấu hình _{old}.conf")
    return text.replace(before, f'name="_{new}.conf"').encode("utf-8")


def _core_xml() -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<dc:title>cchc_xl — Báo cáo CCHC</dc:title>'
            f'<dc:description>Add-in Excel của cchc_xl {__version__} (xlwings RunPython)</dc:description>'
            '<dc:creator>cchc_xl</dc:creator>'
            '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
            '</cp:coreProperties>').encode()


def build(out_path: Path | str | None = None, *, compile: bool = False) -> AddinBuild:
    """Write the add-in to ``out_path`` (a file, or a folder to hold ``cchc_xl.xlam``).

    By default (``compile=False``) the VBA project is the template's, as Excel compiled it, byte for
    byte: its ribbon callback ``RibbonMyAddin.RunMain`` runs ``cchc_xl.main()`` (the module named
    like the add-in file), which offers the three actions. ``compile=True`` rebuilds the project
    with ``ms-ovba`` (three buttons, ``cchc_xl.bas``); Excel has never compiled that project, and
    ms-ovba's author reports that such projects' macros may not run: it is an option, not the default.
    """
    out = Path(out_path) if out_path else Path.cwd() / ADDIN_FILE
    if out.is_dir():
        out = out / ADDIN_FILE
    if out.suffix.lower() != ".xlam":
        raise AddinBuildError(f"{out}: tệp add-in phải có đuôi .xlam")
    ribbon = ribbon_xml(menu=not compile).encode("utf-8")
    bas = vba_source()
    data, origin = template_xlam()
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        names = src.namelist()
    except zipfile.BadZipFile as exc:
        raise AddinBuildError(f"mẫu add-in ({origin}) không phải tệp .xlam hợp lệ") from exc
    for part in (RIBBON_PART, VBA_PART, "xl/workbook.xml", PACKAGE_RELS):
        if part not in names:
            raise AddinBuildError(f"mẫu add-in ({origin}) thiếu phần {part}")
    if not compile and out.stem != MENU_MODULE:
        raise AddinBuildError(f"{out.name}: add-in mặc định phải tên {ADDIN_FILE}: nút của nó chạy "
                              f"{MENU_MODULE}.main() theo tên tệp (RibbonMyAddin.RunMain của mẫu xlwings)")
    if compile and not can_compile_vba():
        raise AddinBuildError("cần gói ms-ovba để đưa cchc_xl.bas vào dự án VBA (pip install ms-ovba)")
    replaced: dict[str, bytes] = {RIBBON_PART: ribbon, "docProps/core.xml": _core_xml(),
                                  PACKAGE_RELS: _set_ribbon_relationship(src.read(PACKAGE_RELS),
                                                                         ribbon_relationship_type(ribbon))}
    notes: list[str] = []
    if compile:
        modules, _codepage = read_vba_project(src.read(VBA_PART))
        kept = [m for m in modules if m.kind in ("module", "document")
                and m.name not in (VBA_MODULE, TEMPLATE_RIBBON_MODULE)]
        replaced[VBA_PART] = compile_vba(kept, {VBA_MODULE: bas}, PROJECT_NAME)
        replaced["xl/workbook.xml"] = _set_config_sheet(src.read("xl/workbook.xml"), TEMPLATE_PROJECT_NAME,
                                                        PROJECT_NAME)
        built = AddinBuild(out, "compiled", [m.name for m in kept] + [VBA_MODULE], origin, PROJECT_NAME, notes)
        notes.append("Dự án VBA được dựng lại không cần Excel (ms-ovba): mô-đun xlwings, các mô-đun tài liệu "
                     f"của mẫu và {VBA_MODULE} (cchc_xl.bas). Excel biên dịch lại mã khi mở lần đầu.")
    else:
        names = [name for name, _kind in project_modules(src.read(VBA_PART))]
        built = AddinBuild(out, "template", names, origin, TEMPLATE_PROJECT_NAME, notes)
        notes.append("Dự án VBA là của mẫu xlwings, do Excel biên dịch, giữ nguyên từng byte; nút \"Công cụ "
                     f"CCHC…\" chạy {MENU_MODULE}.main() (chọn: kiểm tra tệp, tổng hợp thư mục, tình hình nộp).")
    with replacing(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            payload = replaced.get(info.filename)
            if payload is None:
                payload = src.read(info.filename)
            member = zipfile.ZipInfo(info.filename, ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, payload)
    return built


def build_addin(out_path: Path | str | None = None) -> Path:
    """Build ``cchc_xl.xlam`` and return its path (see :func:`build` for the details)."""
    return build(out_path).path
