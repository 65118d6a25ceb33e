"""The units' outline texts (đề cương): read once from the ledger, for the roll-up's "Nội dung báo cáo"
sheet and the provincial report alike.

The ledger keeps an outline sheet's cells like any table's (``Ledger.values``): appendix = the
outline code (DC-S, DC-H, …), row = the section key, column ``noi_dung``, the text as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..blueprint.catalogue import Catalogue

COUNTED = ("on_time", "late")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Narrative:
    """A unit's text for one section of its outline, attributed to it."""

    unit_code: str
    unit_name: str
    unit_type: str
    part: str
    owner: str
    outline_code: str
    section: str
    text: str

    @property
    def author(self) -> str:
        """The unit by name, and the office that wrote the part when a unit reports in parts."""
        return self.unit_name if self.part == "main" else f"{self.unit_name} ({self.owner})"


def clean_text(text: str) -> str:
    """A unit's text as a document can hold it: no control characters, no trailing blanks."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def read_narratives(ledger, submissions, cat: Catalogue) -> list[Narrative]:
    """The outline texts of the counted submissions, in the registry's order of units."""
    out = []
    for s in submissions:
        if s.status not in COUNTED or not s.file_hash:
            continue
        for appendix, row_key, text in ledger.input_texts(s.file_hash):    # not every number of the file
            bp = cat.by_code.get(appendix)
            if bp is None or bp.kind != "outline":
                continue
            body = clean_text(text)
            if body:
                out.append(Narrative(s.unit_code, s.unit_name, s.unit_type, s.part, s.owner, appendix, row_key, body))
    return out
