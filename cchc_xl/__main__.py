"""``python -m cchc_xl``: the command line."""

from .cli import main

main()
