"""cchc_xl — Excel reporting for Vietnamese administrative reform (CCHC)."""

__version__ = "0.1.0"


def main() -> None:
    """What the default add-in's ribbon button runs (xlwings' ``RibbonMyAddin.RunMain`` imports the
    module named like the add-in file, ``cchc_xl.xlam``, and calls its ``main()``): a choice of the
    three actions. Needs Excel and xlwings; nothing is imported until it is called."""
    from .addin.entry import menu

    menu()
