"""A received file's identity: the SHA-256 of its bytes (the ledger's content hash)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_hash(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
