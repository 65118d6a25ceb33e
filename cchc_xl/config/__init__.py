"""Configuration that a secretariat can edit: units registry, calendar, regime, workspace."""

from .period import Period, parse_period
from .province import Province, load_province
from .workspace import Workspace, load_workspace

__all__ = ["Period", "parse_period", "Province", "load_province", "Workspace", "load_workspace"]
