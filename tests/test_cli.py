"""The CLI: help and --version on every command, exit codes, docs generated from --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cchc_xl import __version__
from cchc_xl.cli import main
from cchc_xl.docgen import DOCS, _walk, cli_reference, problems_reference

COMMANDS = [path for path, _ in _walk(main, [])]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "cchc_xl")
def test_every_command_has_help_and_version(path):
    cmd = main
    for name in path:
        cmd = cmd.get_command(click.Context(cmd), name)
    assert cmd.help and cmd.help.strip(), f"{path} has no help text"
    runner = CliRunner()
    res = runner.invoke(main, [*path, "--help"])
    assert res.exit_code == 0 and "Cách dùng:" in res.output
    res = runner.invoke(main, [*path, "--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_usage_errors_exit_2_and_runtime_errors_exit_1(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["generate"]).exit_code == 2                 # missing --period
    assert runner.invoke(main, ["nope"]).exit_code == 2
    res = runner.invoke(main, ["calendar", "2024-Q7"])
    assert res.exit_code == 1 and "không hợp lệ" in res.output
    res = runner.invoke(main, ["regime", "KHONG-CO", "2024-Y"])
    assert res.exit_code == 1 and "KHONG-CO" in res.output
    res = runner.invoke(main, ["units", "list", "--workspace", str(tmp_path)])
    assert res.exit_code == 1 and "thư mục làm việc" in res.output


def test_reporting_commands_speak_json():
    import json

    runner = CliRunner()
    for args in (["units", "list"], ["calendar", "2024-Y"], ["regime", "SNV", "2024-Y"], ["blueprints", "show", "02-H"]):
        res = runner.invoke(main, [*args, "--json"])
        assert res.exit_code == 0, (args, res.output)
        json.loads(res.stdout)


def test_docs_are_generated_from_the_code_and_current():
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_reference(), "docs/cli.md is stale: make docs"
    assert (DOCS / "problems.md").read_text(encoding="utf-8") == problems_reference(), \
        "docs/problems.md is stale: make docs"
    for path in COMMANDS:
        assert f"## `{' '.join(['cchc_xl', *path])}`" in cli_reference()


def test_every_problem_code_is_documented():
    from cchc_xl.problems import CATALOGUE

    text = problems_reference()
    assert all(code in text for code in CATALOGUE)
    assert isinstance(main, click.Group)


def test_init_keeps_the_key_private_and_its_next_steps_work(tmp_path):
    """The secret authenticates every issued file: only its owner may read it. The steps ``init``
    prints are commands that run as printed."""
    import shlex
    import stat

    from click.testing import CliRunner

    from cchc_xl.cli import main

    root = tmp_path / "so-noi-vu"
    res = CliRunner().invoke(main, ["init", str(root), "--province", "lang-son"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE((root / "cchc.yaml").stat().st_mode) == 0o600
    steps = [line.split(":", 1)[1].strip() for line in res.output.splitlines()
             if line.strip().startswith(("1.", "3.")) and "cchc_xl " in line]
    assert len(steps) == 2
    for step in steps:
        argv = shlex.split(step)
        assert argv[0] == "cchc_xl"
        run = CliRunner().invoke(main, argv[1:] + (["--period", "2026-Y"] if argv[1] == "merge" else []),
                                 catch_exceptions=False)
        assert run.exit_code == 0, (step, run.output)


def test_clicks_own_words_are_vietnamese():
    """Usage, options, unknown commands, missing options and paths: what click itself prints."""
    from click.testing import CliRunner

    from cchc_xl.cli import main

    r = CliRunner()
    out = r.invoke(main, ["--help"], prog_name="cchc_xl").output
    assert "Cách dùng: cchc_xl [TUỲ_CHỌN] LỆNH [THAM_SỐ]..." in out and "Tuỳ chọn:" in out
    assert "Lệnh:" in out and "Hiện hướng dẫn này rồi thoát." in out and "Usage" not in out
    assert "[TUỲ_CHỌN]" in r.invoke(main, ["addin", "build", "--help"]).output
    res = r.invoke(main, ["khongco"])
    assert res.exit_code == 2 and "Lỗi: Không có lệnh 'khongco'." in res.output
    assert "Có phải ý bạn là 'validate'?" in r.invoke(main, ["validat"]).output
    res = r.invoke(main, ["validate", "/khong/co/dau"])
    assert res.exit_code == 2 and "Không tìm thấy '/khong/co/dau'." in res.output
    assert "Lỗi: Thiếu tuỳ chọn '--period'." in r.invoke(main, ["generate"]).output
    assert "Error" not in res.output and "Usage" not in res.output


def test_argument_names_in_help_are_vietnamese():
    """Every positional argument of every command is shown by a Vietnamese name, in --help and in errors."""
    import click
    from click.testing import CliRunner

    from cchc_xl import click_vi
    from cchc_xl.cli import main
    from cchc_xl.docgen import _walk

    seen = 0
    for path, cmd in _walk(main, []):
        for param in cmd.params:
            if isinstance(param, click.Argument):
                seen += 1
                assert isinstance(param, click_vi.Argument), path
                usage = CliRunner().invoke(main, [*path, "--help"]).output.splitlines()[0]
                vi = click_vi.ARGUMENT_NAMES[param.name]
                assert vi in usage and param.name.upper() not in usage, (path, usage)
    assert seen >= 10
    assert "Thiếu tham số 'HỘP_THƯ'" in CliRunner().invoke(main, ["merge"]).output
    assert "TỆP_HOẶC_THƯ_MỤC..." in CliRunner().invoke(main, ["validate", "--help"]).output


def test_every_translated_click_message_is_still_one_click_prints():
    """A click upgrade that rewords a message would silently bring English back: each msgid we
    translate must still be in click's source."""
    import pathlib

    import click

    from cchc_xl import click_vi

    source = "".join(p.read_text(encoding="utf-8") for p in pathlib.Path(click.__file__).parent.glob("*.py"))
    missing = [m for m in click_vi.MESSAGES if f'"{m}"' not in source and f"'{m}'" not in source]
    missing += [s for s, p in click_vi.PLURALS if f'"{s}"' not in source or f'"{p}"' not in source]
    assert missing == []


def test_a_bug_keeps_its_traceback_and_a_users_mistake_is_one_line(monkeypatch):
    """Only the project's own errors (CchcError) and the file system become one-line messages."""
    from click.testing import CliRunner

    from cchc_xl import cli

    res = CliRunner().invoke(cli.main, ["regime", "KHONG-CO", "2024-Y"])
    assert res.exit_code == 1 and "KHONG-CO" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli.main, ["calendar", "2024-Q7"])
    assert res.exit_code != 0 and "Traceback" not in res.output

    def broken(*_a, **_k):
        return {}["a key the code forgot"]

    monkeypatch.setattr(cli, "parse_period", broken)
    res = CliRunner().invoke(cli.main, ["calendar", "2024-Y"])
    assert isinstance(res.exception, KeyError)            # not swallowed into a message


def test_the_addin_extra_missing_is_named_in_words(monkeypatch):
    import sys

    import pytest

    from cchc_xl.addin.build import AddinBuildError, template_xlam

    monkeypatch.setitem(sys.modules, "xlwings", None)      # as if the [addin] extra were not installed
    with pytest.raises(AddinBuildError, match=r"cchc-xl\[addin\]"):
        template_xlam()


def test_a_fixed_clock_that_is_not_a_number_is_a_sentence_not_a_traceback(tmp_path):
    res = CliRunner().invoke(main, ["generate", "--period", "2024-Q1", "--unit", "S-XD", "--out", str(tmp_path)],
                             env={"SOURCE_DATE_EPOCH": "hôm qua"})
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "SOURCE_DATE_EPOCH" in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())
