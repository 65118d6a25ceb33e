"""``cchc_xl merge INBOX``: ingest a folder into the ledger, then rebuild the roll-up from it."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..blueprint.catalogue import default_catalogue
from ..config.period import Period, parse_period
from ..config.workspace import Workspace
from ..generate.round import Builder
from ..problems import make_problem
from ..validate.annotate import ANNOTATED_DIR, ANNOTATED_SUFFIX
from ..validate.engine import ValidationContext, file_hash, validate_file
from .ledger import Ledger, workspace_lock
from .model import ProblemRow, RollupData, Submission, TemplateData, ValueRow

LEDGER_NAME = "cchc_ledger.sqlite"
SKIP_PREFIXES = ("~$", ".~lock", ".")
TIDY_COLUMNS = ["period", "unit_code", "unit_name", "unit_type", "appendix", "table", "row_key", "row_label",
                "column_key", "column_label", "value", "source_file", "source_sheet", "source_cell",
                "submitted_at", "file_hash"]


@dataclass
class MergeResult:
    period: str
    rollup: str | None
    tidy: str | None
    ledger: str
    expected: int = 0
    accepted: int = 0
    with_errors: int = 0
    rejected: int = 0
    missing: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    on_time: list[str] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    new_files: int = 0
    seconds: float = 0.0
    field_workbooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "period": self.period, "rollup": self.rollup, "tidy": self.tidy, "ledger": self.ledger,
            "expected": self.expected, "accepted": self.accepted, "with_errors": self.with_errors,
            "rejected": self.rejected, "missing": self.missing, "late": self.late, "on_time": self.on_time,
            "new_files": self.new_files, "seconds": round(self.seconds, 3), "files": self.files,
            "field_workbooks": self.field_workbooks,
        }


def ledger_path(ws: Workspace, inbox: Path) -> Path:
    return (ws.root / LEDGER_NAME) if ws.root else (Path(inbox).resolve().parent / LEDGER_NAME)


def scan(inbox: Path) -> list[Path]:
    """Every file received, except our own annotated copies (``kiem-tra/``, ``*_kiem-tra.xlsx``)
    and lock/temporary files of office programs."""
    out = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != ANNOTATED_DIR)
        for name in sorted(files):
            if not name.startswith(SKIP_PREFIXES) and not name.endswith(ANNOTATED_SUFFIX):
                out.append(Path(root) / name)
    return out


# -- validation in worker processes ---------------------------------------------------------------

_ctx: ValidationContext | None = None


def _init(ws: Workspace, period: Period | None) -> None:
    global _ctx
    _ctx = ValidationContext(ws, period)


def _validate(job: tuple[str, str]) -> tuple[str, str, dict, list[tuple], dict]:
    path, digest = job
    report = validate_file(path, _ctx, content_hash=digest)
    cells = (report.values or {}).get("cells", [])
    rows = []
    for c in cells:
        v = c.value
        num = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        text = None if num is not None or v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
        rows.append((c.code, c.sheet, c.row, c.col, c.cell, num, text, c.role))
    meta = (report.values or {}).get("metadata")
    info = {"unit": report.unit, "unit_name": report.unit_name, "part": report.part, "period": report.period,
            "submission": (report.unit if (report.part or "main") == "main" else f"{report.unit}-{report.part}")
            if report.unit else None,
            "blueprints": [f"{t.code}:{t.blueprint}:{t.version}" for t in meta.tables] if meta else []}
    return path, digest, report.as_dict(), rows, info


def ingest(ws: Workspace, inbox: Path, ledger: Ledger, period: Period | None, *, full: bool = False,
           workers: int | None = None, progress: Callable[[int], None] | None = None) -> tuple[list[dict], int]:
    """Record every file of the inbox; validate contents never seen (or all with ``full``)."""
    paths = scan(inbox)
    state = ledger.path_state()
    known = ledger.known_hashes()
    todo: list[tuple[str, str]] = []
    stats: dict[str, os.stat_result] = {}
    seen_in_run: dict[str, str] = {}
    for p in paths:
        sp = str(p.resolve())
        st = p.stat()
        stats[sp] = st
        prev = state.get(sp)
        digest = prev[0] if prev and prev[1] == st.st_size and prev[2] == st.st_mtime and not full else file_hash(p)
        if (digest in known and not full) or digest in seen_in_run:
            if not prev or prev[0] != digest:
                ledger.record_path(sp, digest, st.st_size, st.st_mtime)
            seen_in_run.setdefault(digest, sp)
            continue
        seen_in_run[digest] = sp
        todo.append((sp, digest))
    if full and todo:
        with ledger.transaction() as db:
            for _, digest in todo:
                for table in ("cell_values", "problems", "contents"):
                    db.execute(f"DELETE FROM {table} WHERE hash=?", (digest,))
    n = len(todo)
    workers = workers or min(os.cpu_count() or 1, 4)

    def record(result):
        path, digest, report, rows, info = result
        st = stats[path]
        received = dt.datetime.fromtimestamp(st.st_mtime).replace(microsecond=0)
        ledger.record_content(digest, path, st.st_size, st.st_mtime, received, report, rows, info)
        if progress:
            progress(1)

    if workers <= 1 or n < 6:
        _init(ws, period)
        for job in todo:
            record(_validate(job))
    else:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(ws, period)) as ex:
            for result in ex.map(_validate, todo, chunksize=max(1, n // (workers * 6))):
                record(result)
    ledger.mark_absent({str(p.resolve()) for p in paths}, str(Path(inbox).resolve()))
    files = []
    state = ledger.path_state()
    for p in paths:
        sp = str(p.resolve())
        h = state[sp][0] if sp in state else None
        c = ledger.content(h) if h else None
        files.append({"path": sp, "unit": c.unit if c else None, "period": c.period if c else None,
                      "status": c.status if c else "rejected", "hash": h})
    return files, n


# -- roll-up data from the ledger --------------------------------------------------------------------


def _guess_period(ledger: Ledger, files: list[dict]) -> Period | None:
    counts = Counter(f["period"] for f in files if f.get("period"))
    if not counts:
        counts = Counter(ledger.periods())
    for p, _ in counts.most_common():
        try:
            return parse_period(p)
        except ValueError:
            continue
    return None


def build_rollup_data(ws: Workspace, ledger: Ledger, period: Period, *, values: bool = True) -> RollupData:
    """Everything the roll-up shows, from the ledger; ``values=False`` skips the per-cell values
    (completeness and timeliness only, for ``status``)."""
    prov = ws.province
    cat = default_catalogue()
    dates = prov.dates(period)
    counted = ledger.counted(str(period))
    versions = ledger.versions(str(period))
    all_contents = {c.submission: c for c in ledger.contents(str(period)) if c.submission}
    b = Builder(ws, period, cat)
    seen_data: dict[str, tuple[str, str]] = {}
    submissions: list[Submission] = []
    templates: dict[str, TemplateData] = {}
    problems: list[ProblemRow] = []
    for obl in prov.expected(period):
        u = obl.unit
        key = obl.submission_key
        c = counted.get(key)
        sub = Submission(u.code, u.name, u.type, u.parent, obl.part, obl.owner, obl.codes, "missing",
                         versions=versions.get(key, 0))
        if c is None:
            if key in all_contents:
                rej = all_contents[key]
                sub.status, sub.verdict, sub.received_at, sub.file = "rejected", "rejected", rej.received_at, rej.first_path
                sub.file_hash = rej.hash
            submissions.append(sub)
            continue
        days = dates.days_late(c.received_at.date())
        sub.status = "late" if days else "on_time"
        sub.days_late = days
        sub.received_at, sub.file, sub.file_hash = c.received_at, c.first_path, c.hash
        sub.verdict, sub.errors, sub.warnings = c.status, c.n_errors, c.n_warnings
        if not values:
            submissions.append(sub)
            continue
        rows = ledger.values(c.hash)
        _same_data_as_another_unit(rows, sub, c, seen_data, problems)
        present_codes = {r[0] for r in rows}
        sub.missing_codes = tuple(code for code in obl.tables if code not in present_codes)
        submissions.append(sub)
        for (code, severity, sheet, cell, appendix, _row, _col, message, hint) in ledger.problems(c.hash):
            problems.append(ProblemRow(u.code, u.name, c.first_path, sheet, cell, appendix, code, severity, message, hint))
        layouts: dict[str, object] = {}
        for appendix, sheet, row_key, col_key, cell, num, text, role in rows:
            bp = cat.by_code.get(appendix)
            if bp is None or bp.kind == "outline":
                continue
            lay = layouts.get(appendix)
            if lay is None:
                lay = layouts[appendix] = b.layout(appendix, u)
            t = templates.get(bp.id)
            if t is None:
                t = templates[bp.id] = TemplateData(bp.id, bp.title, [], b.layout(bp.code_list[0], u)
                                                    if bp.row_source is None or bp.row_source.registry != "communes"
                                                    else lay, bp.area)
            if appendix not in t.codes:
                t.codes.append(appendix)
            try:
                row = lay.row(row_key)
                col = lay.col(col_key)
            except KeyError:
                continue
            parent = u.code if bp.row_source is not None and bp.row_source.registry == "communes" else u.parent
            t.values.append(ValueRow(
                str(period), u.code, u.name, u.type, parent, obl.part, appendix, bp.id, row_key, row.label or row.stt,
                col_key, col.label, num if num is not None else text, role, c.first_path, sheet, cell,
                c.received_at, c.hash))
    data = RollupData(prov.id, prov.info.name, period, dates.deadline, (dates.window_start, dates.window_end),
                      dt.datetime.now().replace(microsecond=0), submissions, list(templates.values()), problems)
    for attr, other in (("previous", period.previous()), ("last_year", period.previous_year())):
        if values and other is not None and str(other) in ledger.periods():
            setattr(data, f"{attr}_period", other)
            setattr(data, f"{attr}_totals", province_totals(ledger, str(other)))
    return data


def _same_data_as_another_unit(rows, sub: Submission, content, seen: dict, problems: list) -> None:
    """Two units whose typed figures are identical: one copied the other's file or data."""
    inputs = sorted((r[0], r[2], r[3], r[5], r[6]) for r in rows if r[7] == "input" and (r[5] or r[6]))
    if sum(1 for r in inputs if r[3]) < 10:        # too few figures to call it a copy
        return
    digest = hashlib.sha256(repr(inputs).encode()).hexdigest()
    first = seen.setdefault(digest, (sub.unit_code, content.first_path))
    if first[0] == sub.unit_code:
        return
    p = make_problem("identity.duplicate_submission", severity="warning", file=content.first_path,
                     unit=sub.unit_code, value=first[0])
    problems.append(ProblemRow(sub.unit_code, sub.unit_name, content.first_path, None, None, None, p.code,
                               p.severity, p.message, p.hint))
    sub.warnings += 1


def province_totals(ledger: Ledger, period: str) -> dict[tuple[str, str, str], float]:
    """Σ of the input values per (appendix, row, column) over the counted submissions of a period."""
    totals: dict[tuple[str, str, str], float] = {}
    for c in ledger.counted(period).values():
        for appendix, _sheet, row_key, col_key, _cell, num, _text, role in ledger.values(c.hash):
            if num is not None and role == "input":
                k = (appendix, row_key, col_key)
                totals[k] = totals.get(k, 0.0) + num
    return totals


def write_tidy(data: RollupData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [v for t in data.templates for v in t.values]
    if path.suffix.lower() == ".parquet":
        import importlib.util

        import pandas as pd

        if not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
            raise FileNotFoundError("xuất .parquet cần gói pyarrow (pip install pyarrow); hãy dùng .csv")

        df = pd.DataFrame([_tidy_row(v) for v in rows], columns=TIDY_COLUMNS)
        df["value"] = df["value"].astype(str)
        tmp = path.with_suffix(".parquet.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(TIDY_COLUMNS)
        for v in rows:
            w.writerow(_tidy_values(v))
    os.replace(tmp, path)
    return path


def _tidy_values(v: ValueRow) -> list:
    value = v.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [v.period, v.unit_code, v.unit_name, v.unit_type, v.appendix, v.table, v.row_key, v.row_label,
            v.column_key, v.column_label, "" if value is None else value, v.source_file, v.source_sheet,
            v.source_cell, v.submitted_iso, v.file_hash]


def _tidy_row(v: ValueRow) -> dict:
    value = v.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return {"period": v.period, "unit_code": v.unit_code, "unit_name": v.unit_name, "unit_type": v.unit_type,
            "appendix": v.appendix, "table": v.table, "row_key": v.row_key, "row_label": v.row_label,
            "column_key": v.column_key, "column_label": v.column_label, "value": "" if value is None else value,
            "source_file": v.source_file, "source_sheet": v.source_sheet, "source_cell": v.source_cell,
            "submitted_at": v.submitted_at.isoformat(), "file_hash": v.file_hash}


@contextlib.contextmanager
def _beside(fn, *args):
    """Run ``fn(*args)`` in a forked process (the data is shared copy-on-write, never pickled)
    while the body runs; where fork is unavailable, run it first. Errors surface either way."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        fn(*args)
        yield
        return
    proc = mp.get_context("fork").Process(target=fn, args=args)
    proc.start()
    try:
        yield
    finally:
        proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"xuất dữ liệu chi tiết thất bại (mã {proc.exitcode})")


def merge(ws: Workspace, inbox: Path, *, period: Period | None = None, out: Path | None = None,
          tidy: Path | None = None, full: bool = False, write: bool = True, split_by_field: Path | None = None,
          workers: int | None = None, progress: Callable[[int], None] | None = None) -> MergeResult:
    start = time.perf_counter()
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise FileNotFoundError(f"không tìm thấy thư mục {inbox}")
    lpath = ledger_path(ws, inbox)
    with workspace_lock(lpath.with_suffix(".lock")):
        ledger = Ledger(lpath)
        try:
            files, n_new = ingest(ws, inbox, ledger, period, full=full, workers=workers, progress=progress)
            period = period or _guess_period(ledger, files)
            if period is None:
                raise FileNotFoundError(f"không có tệp báo cáo nào trong {inbox} và chưa rõ kỳ báo cáo (--period)")
            data = build_rollup_data(ws, ledger, period, values=write)
            res = MergeResult(str(period), None, None, str(lpath), files=files, new_files=n_new)
            res.expected = len(data.submissions)
            for s in data.submissions:
                key = s.unit_code if s.part == "main" else f"{s.unit_code}-{s.part}"
                if s.status == "missing":
                    res.missing.append(key)
                elif s.status == "rejected":
                    res.rejected += 1
                else:
                    res.accepted += 1
                    res.with_errors += 1 if s.verdict == "errors" else 0
                    (res.late if s.status == "late" else res.on_time).append(key)
            if write:
                from .rollup import write_field_workbooks, write_rollup

                base = ws.rollup if ws.root else inbox.resolve().parent / "rollup"
                out = Path(out) if out else base / f"tong-hop_{ws.province.id}_{period}.xlsx"
                out.parent.mkdir(parents=True, exist_ok=True)
                inside = base / f"tidy_{ws.province.id}_{period}.csv"
                with _beside(write_tidy, data, inside):     # on the other core while the roll-up is written
                    res.rollup = str(write_rollup(data, out))
                res.tidy = str(write_tidy(data, Path(tidy)) if tidy else inside)
                if split_by_field:
                    res.field_workbooks = [str(p) for p in write_field_workbooks(data, Path(split_by_field))]
        finally:
            ledger.close()
    res.seconds = time.perf_counter() - start
    return res
