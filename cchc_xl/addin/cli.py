"""``cchc_xl addin build|install|uninstall``: click code only.

Registered on the main CLI by ``cchc_xl/cli.py`` (``main.add_command(addin_group)``); this module
does not import ``cchc_xl.cli``, so that there is no import cycle: its ``--version`` option and error
handling are small copies of the main CLI's.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from .. import __version__, click_vi
from ..errors import user_message
from .build import ADDIN_FILE, AddinBuildError, build
from .install import XLSTART_HINT, config_path, install_addin, is_windows, uninstall_addin, xlstart_dir

NOT_WINDOWS = ("Add-in Excel (.xlam) chỉ cài được trên Windows có Microsoft Excel. Hãy chép tệp add-in sang "
               "máy Windows rồi chạy 'cchc_xl addin install' ở đó, hoặc cài tay theo docs/addin.md.")


def version_option(f):
    return click.version_option(__version__, "--version", prog_name="cchc_xl", message="%(prog)s %(version)s")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (cho máy đọc).")(f)


def handle_errors(f):
    """Build and file errors: one clear message, exit code 1."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except (AddinBuildError, OSError) as exc:
            click.echo(f"Lỗi: {user_message(exc)}", err=True)
            sys.exit(1)

    return wrapper


def command(name, help_text):
    def deco(f):
        return addin_group.command(name, help=help_text)(version_option(handle_errors(f)))

    return deco


def emit_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


out_option = click.option(
    "--out", type=click.Path(path_type=Path), default=None,
    help=f"Tệp .xlam (hoặc thư mục) ghi add-in ra (mặc định ./{ADDIN_FILE}).")


def _build(out, rebuild_vba=False):
    return build(out, compile=rebuild_vba)


def _echo_build(built) -> None:
    click.echo(f"Đã tạo add-in: {built.path}")
    click.echo(f"  Mẫu: {built.template}; VBA: {', '.join(built.modules)}")
    for note in built.notes:
        click.echo(f"  {note}")


@click.group("addin", cls=click_vi.Group, help="Add-in Excel \"CCHC\" trên Windows (xlwings): tạo, cài, gỡ.\n\n"
                           "Thẻ CCHC: nút \"Công cụ CCHC…\" (kiểm tra tệp này, tổng hợp thư mục, tình hình nộp báo cáo).")
@version_option
def addin_group():
    pass


@command("build", f"Tạo tệp add-in {ADDIN_FILE} (ribbon CCHC) từ mẫu add-in của xlwings, giữ nguyên VBA của mẫu.")
@out_option
@click.option("--rebuild-vba", is_flag=True,
              help="Dựng lại dự án VBA bằng ms-ovba (ba nút riêng, mô-đun cchc_xl.bas). Excel chưa từng biên "
                   "dịch dự án này: chỉ dùng khi đã thử được trên Excel của cơ quan. Mặc định: VBA của "
                   "xlwings giữ nguyên, một nút \"Công cụ CCHC…\".")
@json_option
def build_cmd(out, rebuild_vba, as_json):
    built = _build(out, rebuild_vba)
    if as_json:
        emit_json(built.as_dict())
    else:
        _echo_build(built)


@command("install", f"Tạo add-in rồi chép vào thư mục khởi động của Excel ({XLSTART_HINT}); chỉ trên Windows.")
@out_option
@click.option("--dry-run", is_flag=True, help="Chỉ tạo tệp add-in và cho biết sẽ chép vào đâu; không cài.")
@json_option
def install_cmd(out, dry_run, as_json):
    built = _build(out)
    xlstart = xlstart_dir() if is_windows() else None
    conf = config_path(built.project_name)
    target = str(xlstart / ADDIN_FILE) if xlstart else f"{XLSTART_HINT}\\{ADDIN_FILE}"
    info = {"built": built.as_dict(), "target": target, "config": str(conf), "python": sys.executable,
            "dry_run": dry_run, "installed": False, "windows": is_windows()}
    if dry_run:
        info["message"] = "Chạy thử: chưa chép gì." + ("" if is_windows() else " " + NOT_WINDOWS)
        if as_json:
            emit_json(info)
            return
        _echo_build(built)
        click.echo(f"Chạy thử — sẽ chép {built.path} → {target}")
        click.echo(f"  và ghi (nếu chưa có) {conf}: Python = {sys.executable}")
        if not is_windows():
            click.echo(NOT_WINDOWS)
        return
    if xlstart is None:
        info["error"] = NOT_WINDOWS
        if as_json:
            emit_json(info)
        else:
            _echo_build(built)
        click.echo(f"Lỗi: {NOT_WINDOWS}", err=True)
        sys.exit(1)
    res = install_addin(built.path, xlstart, conf)
    info.update(installed=True, **res.as_dict())
    if as_json:
        emit_json(info)
        return
    _echo_build(built)
    click.echo(f"Đã cài add-in: {res.addin}")
    click.echo(f"  Cấu hình Python của add-in: {res.config}" + (" (vừa ghi)" if res.config_written else " (đã có)"))
    click.echo("Khởi động lại Excel: thẻ \"CCHC\" xuất hiện trên ribbon. Nếu macro bị chặn, xem docs/addin.md.")


@command("uninstall", f"Gỡ add-in khỏi thư mục khởi động của Excel ({XLSTART_HINT}); chỉ trên Windows.")
@click.option("--dry-run", is_flag=True, help="Chỉ cho biết sẽ xóa tệp nào; không xóa.")
@json_option
def uninstall_cmd(dry_run, as_json):
    xlstart = xlstart_dir() if is_windows() else None
    if xlstart is None:
        if as_json:
            emit_json({"removed": None, "windows": False, "error": NOT_WINDOWS})
        click.echo(f"Lỗi: {NOT_WINDOWS}", err=True)
        sys.exit(1)
    target = xlstart / ADDIN_FILE
    if dry_run:
        info = {"target": str(target), "exists": target.exists(), "dry_run": True, "removed": None}
        if as_json:
            emit_json(info)
        else:
            click.echo(f"Chạy thử — sẽ xóa {target}" if target.exists() else f"Không có add-in ở {target}.")
        return
    removed = uninstall_addin(xlstart)
    if as_json:
        emit_json({"target": str(target), "removed": removed, "dry_run": False})
    elif removed:
        click.echo(f"Đã gỡ add-in: {removed}. Khởi động lại Excel.")
    else:
        click.echo(f"Không có add-in ở {target}: không có gì để gỡ.")
