"""click's own words in Vietnamese: "Usage", "Options", "Error: No such command", path errors.

click marks its messages for gettext (``from gettext import gettext as _`` in each module) but ships
no catalogue, and gettext would pick a catalogue from the process locale, which on a secretariat's
Windows machine is rarely set to Vietnamese. So :func:`install` rebinds the ``_``/``ngettext`` names
of click's modules to a lookup in :data:`MESSAGES` (msgid -> Vietnamese, falling back to click's
English). tests/test_cli.py fails when a click upgrade renames a message we translate.
"""

from __future__ import annotations

import importlib

import click

MESSAGES = {
    "Usage:": "Cách dùng:",
    "Options": "Tuỳ chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Tham số",
    "Show this message and exit.": "Hiện hướng dẫn này rồi thoát.",
    "Show the version and exit.": "Hiện phiên bản rồi thoát.",
    "Error: {message}": "Lỗi: {message}",
    "Try '{command} {option}' for help.": "Gõ '{command} {option}' để xem hướng dẫn.",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "No such option {name!r}.": "Không có tuỳ chọn {name!r}.",
    "Missing command.": "Thiếu lệnh.",
    "Missing argument": "Thiếu tham số",
    "Missing option": "Thiếu tuỳ chọn",
    "Missing parameter": "Thiếu tham số",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing {param_type}": "Thiếu {param_type}",
    "Invalid value for {param_hint}: {message}": "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Option {name!r} does not take a value.": "Tuỳ chọn {name!r} không nhận giá trị.",
    "Aborted!": "Đã huỷ.",
    "Do you want to continue?": "Tiếp tục?",
    "Confirm the action without prompting.": "Xác nhận, không hỏi lại.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    # click title-cases {name} ("Đường Dẫn"): the Vietnamese sentences say what the path is instead
    "{name} {filename!r} does not exist.": "Không tìm thấy {filename!r}.",
    "{name} {filename!r} is a file.": "{filename!r} là một tệp, không phải thư mục.",
    "{name} {filename!r} is a directory.": "{filename!r} là một thư mục, không phải tệp.",
    "{name} {filename!r} is not readable.": "Không đọc được {filename!r}.",
    "{name} {filename!r} is not writable.": "Không ghi được vào {filename!r}.",
    "{name} {filename!r} is not executable.": "{filename!r} không chạy được.",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là {number_type} hợp lệ.",
    "{value} is not in the range {range}.": "{value} nằm ngoài khoảng {range}.",
    "default: {default}": "mặc định: {default}",
    "required": "bắt buộc",
    "unknown error": "lỗi không rõ",
    "%(prog)s, version %(version)s": "%(prog)s, phiên bản %(version)s",
}
# ngettext messages: (singular, plural) -> Vietnamese (one form)
PLURALS = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        "Có tham số thừa ({args})",
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        "Tuỳ chọn {name!r} cần {nargs} giá trị.",
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        "{value!r} không hợp lệ; chọn một trong: {choices}",
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        "Có phải ý bạn là {possibility}?",
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        "Cần {nargs} giá trị nhưng nhận {len}.",
}
OPTIONS_METAVAR = "[TUỲ_CHỌN]"
COMMAND_METAVAR = "LỆNH [THAM_SỐ]..."
MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


# Positional arguments by name -> the Vietnamese name "--help" and the error messages show
ARGUMENT_NAMES = {
    "directory": "THƯ_MỤC",
    "path": "THƯ_MỤC",
    "code": "MÃ_BIỂU",
    "period": "KỲ",
    "unit": "ĐƠN_VỊ",
    "paths": "TỆP_HOẶC_THƯ_MỤC",
    "inbox": "HỘP_THƯ",
    "file": "TỆP",
    "target": "TỆP_HOẶC_ĐƠN_VỊ",
}


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


def ntranslate(singular: str, plural: str, n: int) -> str:
    return PLURALS.get((singular, plural), singular if n == 1 else plural)


def install() -> None:
    """Rebind click's message functions to the Vietnamese table (idempotent)."""
    for name in MODULES:
        mod = importlib.import_module(f"click.{name}")
        if hasattr(mod, "_"):
            mod._ = translate
        if hasattr(mod, "ngettext"):
            mod.ngettext = ntranslate


class Argument(click.Argument):
    """A positional argument shown by its Vietnamese name (``ARGUMENT_NAMES``) in usage lines and errors."""

    def _vi_name(self) -> str:
        return ARGUMENT_NAMES.get(self.name or "", (self.name or "").upper())

    @property
    def human_readable_name(self) -> str:
        return self.metavar if self.metavar is not None else self._vi_name()

    def make_metavar(self, ctx: click.Context) -> str:
        if self.metavar is not None:
            return self.metavar
        var = self.type.get_metavar(param=self, ctx=ctx) or self._vi_name()
        bracketed = var.startswith("[") and var.endswith("]")
        if not self.required and not bracketed:
            var = f"[{var}]"
        if self.nargs != 1:
            var += "..."
        return var


def argument(*param_decls: str, **attrs):
    """``click.argument`` with :class:`Argument`: its name in Vietnamese."""
    attrs.setdefault("cls", Argument)
    return click.argument(*param_decls, **attrs)


class Command(click.Command):
    """A command whose usage line reads "[TUỲ_CHỌN]" instead of "[OPTIONS]"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)


class Group(click.Group):
    """A group whose usage reads "[TUỲ_CHỌN] LỆNH [THAM_SỐ]..."; its commands and groups are too."""

    command_class = Command
    group_class = type

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", COMMAND_METAVAR)
        super().__init__(*args, **kwargs)


install()       # on import: every module that builds a click command imports this one first
