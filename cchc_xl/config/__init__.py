"""Configuration that a secretariat can edit: units registry, calendar, regime, workspace.

The names below are loaded when first used (PEP 562), so that ``cchc_xl.config.period`` or
``cchc_xl.config.defaults`` can be imported without pydantic and the configuration models (the
CLI's ``--help`` needs neither)."""

from __future__ import annotations

import importlib

__all__ = ["Period", "parse_period", "Province", "load_province", "Workspace", "load_workspace"]

_WHERE = {"Period": "period", "parse_period": "period", "Province": "province", "load_province": "province",
          "Workspace": "workspace", "load_workspace": "workspace"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
