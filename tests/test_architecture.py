"""The layout of the package is its architecture: a stage imports the stages below it, never a
sibling (validate and merge do not need the generator, report needs neither the generator nor the
add-in), and private hooks into libraries are
pinned by a test that fails when the library changes them."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from xlsxwriter.worksheet import Worksheet

# stage -> packages it must not load, even indirectly
FORBIDDEN = {
    "cchc_xl.validate.batch": ("cchc_xl.generate", "cchc_xl.merge", "cchc_xl.addin"),
    "cchc_xl.validate.engine": ("cchc_xl.generate", "cchc_xl.merge", "cchc_xl.addin"),
    "cchc_xl.merge.run": ("cchc_xl.generate", "cchc_xl.addin"),
    "cchc_xl.merge.rollup": ("cchc_xl.generate", "cchc_xl.addin"),
    # documents from the ledger: above merge and validate, never the generator (nor the add-in)
    "cchc_xl.report.provincial_report": ("cchc_xl.generate", "cchc_xl.addin"),
    "cchc_xl.report.reminder": ("cchc_xl.generate", "cchc_xl.addin"),
    "cchc_xl.report.admin_document": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge", "cchc_xl.addin"),
    "cchc_xl.read.package": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge"),
    "cchc_xl.round_layouts": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge"),
    # shared by the generator (cached Kiểm tra results) and the validator: below both
    "cchc_xl.cell_values": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge"),
    "cchc_xl.cell_checks": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge"),
    "cchc_xl.explain": ("cchc_xl.generate", "cchc_xl.validate", "cchc_xl.merge"),
}


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_a_stage_loads_no_sibling_stage(module):
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    bad = [m for m in loaded if m.startswith(FORBIDDEN[module])]
    assert bad == [], f"{module} loads {bad}"


def test_the_private_xlsxwriter_hook_we_override_is_still_there():
    """FastWorksheet overrides Worksheet._prepare_formula: the hook must exist with this signature
    and be what write_formula calls, or an upgrade would silently bring back the slow path."""
    sig = inspect.signature(Worksheet._prepare_formula)
    assert list(sig.parameters) == ["self", "formula", "expand_future_functions"]
    assert "_prepare_formula" in inspect.getsource(Worksheet._write_formula)


def test_the_private_hooks_of_workbook_protection_are_still_there():
    """The generator adds ``workbookProtection`` through Workbook._write_workbook_pr and encodes the
    password with Worksheet._encode_password (XlsxWriter has no public API for either)."""
    from xlsxwriter.workbook import Workbook

    assert "self._write_workbook_pr()" in inspect.getsource(Workbook._assemble_xml_file)
    assert Worksheet._encode_password(None, "abc") == Worksheet._encode_password(None, "abc") != ""


# what the command line loads before it knows which command runs (issue 17: start-up is latency)
CLI_STARTUP_FORBIDDEN = ("pydantic", "yaml", "openpyxl", "xlsxwriter", "python_calamine", "docx", "lxml",
                         "pandas", "olefile", "cchc_xl.blueprint", "cchc_xl.config.province",
                         "cchc_xl.config.workspace", "cchc_xl.validate", "cchc_xl.merge", "cchc_xl.generate",
                         "cchc_xl.report", "cchc_xl.addin.cli")


def test_the_command_line_imports_no_heavy_library_before_a_command_runs():
    code = ("import sys; from cchc_xl.cli import main; from click.testing import CliRunner; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            "print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    bad = [m for m in loaded if m.startswith(CLI_STARTUP_FORBIDDEN)]
    assert bad == [], f"cchc_xl --help loads {bad}"


def test_the_root_help_lists_the_lazy_addin_group_as_the_group_itself_would():
    import click

    from cchc_xl.addin.cli import addin_group
    from cchc_xl.cli import main

    _, _, short = type(main).LAZY["addin"]
    assert click.Command("addin", help=short).get_short_help_str(200) == addin_group.get_short_help_str(200)
    assert main.get_command(click.Context(main), "addin") is addin_group


def test_our_a1_addresses_are_xlsxwriters():
    """layout.a1 and col_letter are written out (reading a file imports no XlsxWriter): the same text."""
    from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

    from cchc_xl.layout import a1, col_letter

    for col in [*range(0, 800), 16383]:
        assert col_letter(col) == xl_col_to_name(col)
        for row, abs_row, abs_col in ((0, False, False), (7, True, False), (1048575, False, True), (41, True, True)):
            assert a1(row, col, abs_row=abs_row, abs_col=abs_col) == xl_rowcol_to_cell(row, col, abs_row, abs_col)


def test_validating_a_file_and_a_merge_with_nothing_new_import_no_writer_and_no_mail_parser():
    code = "import sys, cchc_xl.cli, cchc_xl.validate.batch, cchc_xl.merge.run; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    bad = [m for m in loaded if m.startswith(("xlsxwriter", "openpyxl", "email.parser", "docx", "pandas", "lxml",
                                              "cchc_xl.merge.rollup", "cchc_xl.generate"))]
    assert bad == [], bad


def test_a_merge_answered_from_its_record_loads_no_configuration_model_and_no_catalogue():
    """``merge/quick.py`` answers before the workspace is loaded: what it imports stays light."""
    code = "import sys, cchc_xl.cli, cchc_xl.merge.quick; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    bad = [m for m in loaded if m.startswith((
        "pydantic", "yaml", "openpyxl", "xlsxwriter", "python_calamine", "docx", "lxml", "pandas", "olefile",
        "cchc_xl.config.province", "cchc_xl.config.workspace", "cchc_xl.blueprint.model", "cchc_xl.blueprint.catalogue",
        "cchc_xl.layout", "cchc_xl.merge.run", "cchc_xl.merge.pieces", "cchc_xl.merge.unchanged", "cchc_xl.merge.rollup",
        "cchc_xl.validate", "cchc_xl.generate", "cchc_xl.report"))]
    assert bad == [], bad


def test_in_merge_only_the_xlsx_module_and_the_formats_drive_xlsxwriter():
    """The roll-up is built as a plan (pure data) by one module per sheet; ``merge/rollup/xlsx.py``
    renders it and ``merge/formats.py`` makes its formats. Elsewhere in merge/ XlsxWriter is used only
    for its pure A1 helpers (``xlsxwriter.utility``)."""
    import ast
    from pathlib import Path

    import cchc_xl

    root = Path(cchc_xl.__file__).parent / "merge"
    allowed = {"rollup/xlsx.py", "formats.py"}
    drivers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "xlsxwriter" or (n.startswith("xlsxwriter.") and n != "xlsxwriter.utility") for n in names):
                drivers.add(path.relative_to(root).as_posix())
    assert drivers == allowed


def test_the_private_table_hook_we_widen_is_still_there(tmp_path):
    """The roll-up declares a table over its header and first row and widens ``Worksheet.tables[-1]``
    (``range``, ``a_range``, ``autofilter``) before closing: the written table must cover the widened
    range, or an upgrade changed the hook."""
    import zipfile

    import xlsxwriter

    from cchc_xl.merge.rollup.plan import TablePlan
    from cchc_xl.merge.rollup.xlsx import _add_table

    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    _add_table(ws, TablePlan(2, 0, 500, 3, "tbl_T", ["a", "b", "c", "d"]), {"header": None})
    wb.close()
    xml = zipfile.ZipFile(path).read("xl/tables/table1.xml").decode()
    assert 'ref="A3:D501"' in xml and '<autoFilter ref="A3:D501"/>' in xml


def test_no_import_circle_in_merge():
    """The modules of merge/ (the roll-up's package included) import one another at module level
    without a circle: each can be read, and loaded, after the ones it imports."""
    import ast
    from pathlib import Path

    import cchc_xl

    pkg_root = Path(cchc_xl.__file__).parent.parent
    merge_dir = Path(cchc_xl.__file__).parent / "merge"
    modules = {}
    for path in merge_dir.rglob("*.py"):
        parts = list(path.relative_to(pkg_root).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_init else parts)
        modules[name] = (path, name if is_init else name.rpartition(".")[0])
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        deps = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:      # module level only
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in modules and t != name}
        graph[name] = deps
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import circle: {' -> '.join([*path[path.index(name):], name])}"
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert len(graph) > 20 and graph["cchc_xl.merge.rollup"] >= {"cchc_xl.merge.rollup.xlsx"}
