"""cchc_xl — Excel reporting for Vietnamese administrative reform (CCHC)."""

__version__ = "0.1.0"
