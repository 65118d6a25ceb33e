"""``cchc_xl demo``: a whole reporting round on the embedded default province, end to end.

init → generate for every unit → sample-fill → an inbox where some units are missing, some late,
some with errors, one re-sent, one re-saved as .xls → merge → an annotated file to send back.
Idempotent: a second run rebuilds the same round in the same folder.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config.period import Period, parse_period
from .config.province import DEFAULT_EMBEDDED
from .config.workspace import init_workspace, is_workspace, load_workspace
from .generate import generate_round
from .generate.sample import fill_file
from .merge.receipts import record_receipt
from .merge.run import LEDGER_NAME, merge
from .validate.annotate import annotate
from .validate.engine import ValidationContext, validate_file

DEFAULT_DIR = Path("generated") / "demo"
DEFAULT_PERIOD = "2025-Y"


@dataclass
class DemoResult:
    workspace: str
    period: str
    generated: int
    inbox: str
    missing: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    with_defects: list[str] = field(default_factory=list)
    resent: str | None = None
    as_xls: str | None = None
    merge: dict = field(default_factory=dict)
    annotated: str | None = None
    notes: list[str] = field(default_factory=list)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _to_xls(src: Path, out_dir: Path) -> Path | None:
    """Re-save a workbook as .xls with LibreOffice, as a unit using it would."""
    exe = _soffice()
    if not exe:
        return None
    with tempfile.TemporaryDirectory() as prof:
        try:
            subprocess.run([exe, "--headless", f"-env:UserInstallation=file://{prof}", "--convert-to", "xls",
                            "--outdir", str(out_dir), str(src)], check=True, capture_output=True, timeout=180)
        except (subprocess.SubprocessError, OSError):
            return None
    out = out_dir / (src.stem + ".xls")
    return out if out.exists() else None


def _touch(path: Path, when: dt.datetime) -> None:
    """The secretariat notes when a file came in, in the inbox's receipt register."""
    inbox = next(p for p in Path(path).parents if p.name == "inbox")
    record_receipt(inbox, path, when)


def run_demo(directory: Path = DEFAULT_DIR, period: str = DEFAULT_PERIOD, seed: int = 2025) -> DemoResult:
    directory = Path(directory)
    per: Period = parse_period(period)
    ws = load_workspace(directory) if is_workspace(directory) else init_workspace(directory, DEFAULT_EMBEDDED)
    for sub in ("inbox", "generated", "rollup", "filled", "annotated"):
        shutil.rmtree(directory / sub, ignore_errors=True)
        (directory / sub).mkdir(parents=True)
    for name in (LEDGER_NAME, LEDGER_NAME + "-wal", LEDGER_NAME + "-shm"):
        (directory / name).unlink(missing_ok=True)

    gen = generate_round(ws, per, out=directory / "generated", fixed_time=True)
    rng = random.Random(seed)
    files = sorted(Path(f["path"]) for f in gen.files)
    by_unit = {Path(p).name: p for p in files}
    names = sorted(by_unit)
    missing = set(rng.sample(names, k=min(3, len(names))))
    rest = [n for n in names if n not in missing]
    late = set(rng.sample(rest, k=min(3, len(rest))))
    defective = set(rng.sample([n for n in rest if n not in late], k=min(4, len(rest))))
    resent = rng.choice([n for n in rest if n not in defective and n not in late])
    as_xls = rng.choice([n for n in rest if n not in defective and n not in late and n != resent])

    dates = ws.province.dates(per)
    deadline = dt.datetime.combine(dates.deadline, dt.time(16, 0))
    res = DemoResult(str(directory), str(per), len(files), str(directory / "inbox"))
    filled = directory / "filled"
    for name in rest:
        src = by_unit[name]
        fill = fill_file(ws, src, filled, seed=seed, defects=1.0 if name in defective else 0.0)
        out = Path(fill.path)
        target = directory / "inbox" / _renamed(name, rng)
        if name == as_xls:
            xls = _to_xls(out, filled / "xls")
            if xls is not None:
                target = target.with_suffix(".xls")
                shutil.copyfile(xls, target)
                res.as_xls = target.name
            else:
                res.notes.append("Không có LibreOffice: bỏ qua bước lưu lại dạng .xls.")
                shutil.copyfile(out, target)
        else:
            shutil.copyfile(out, target)
        days = rng.randint(1, 12) if name in late else -rng.randint(1, 20)
        _touch(target, deadline + dt.timedelta(days=days))
        unit = name.split("_")[0]
        if name in late:
            res.late.append(unit)
        if fill.defects:
            res.with_defects.append(unit)
        if name == resent:
            # the first version had a mistake; the unit sent a corrected one two days later
            first = fill_file(ws, src, filled / "v1", seed=seed + 1, defects=1.0)
            v1 = directory / "inbox" / "gui-lan-1" / target.name
            v1.parent.mkdir(exist_ok=True)
            shutil.copyfile(first.path, v1)
            _touch(v1, deadline - dt.timedelta(days=6))
            _touch(target, deadline - dt.timedelta(days=4))
            res.resent = unit
    res.missing = sorted(n.split("_")[0] for n in missing)
    m = merge(ws, directory / "inbox", period=per)
    res.merge = m.as_dict()
    # the annotated copy of one file with errors, to send back to its unit
    ctx = ValidationContext(ws, per)
    for target in sorted((directory / "inbox").glob("*")):
        if target.is_file():
            rep = validate_file(target, ctx)
            if rep.status == "errors":
                out = annotate(rep, directory / "annotated")
                res.annotated = str(out) if out else None
                break
    return res


def _renamed(name: str, rng: random.Random) -> str:
    """People rename files: the merger identifies them by their metadata, not their names."""
    unit, period = name[:-5].split("_", 1)
    style = rng.randrange(3)
    if style == 0:
        return name
    if style == 1:
        return f"Bao cao CCHC {unit} ({period}).xlsx"
    return f"{unit.lower()}-bc-cchc-{period.lower()}-final.xlsx"
