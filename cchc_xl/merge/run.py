"""``cchc_xl merge INBOX``: ingest a folder into the ledger, then rebuild the roll-up from it."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..blueprint.catalogue import default_catalogue
from ..config.period import Period, parse_period
from ..config.workspace import Workspace
from ..generate.round import Builder
from ..problems import make_problem
from ..validate.annotate import ANNOTATED_DIR, ANNOTATED_SUFFIX
from ..validate.engine import ValidationContext, file_hash, validate_file
from .ledger import ContentRow, Ledger, workspace_lock
from .model import ProblemRow, RollupData, Submission, TemplateData
from .pieces import Pack, build_pack, fold, pack_stamp
from .tidy import write_tidy

LEDGER_NAME = "cchc_ledger.sqlite"
PARALLEL_REFRESH_MIN = 12      # stale packs worth starting worker processes for
SKIP_PREFIXES = ("~$", ".~lock", ".")


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
    and lock/temporary files of office programs; absolute paths under the resolved inbox."""
    out = []
    for root, dirs, files in os.walk(Path(inbox).resolve()):
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


def _validate(job: tuple[str, str, str]) -> tuple[str, str, dict, list[tuple], dict, Pack | None]:
    """Validate one file and render its share of the roll-up (in a worker process)."""
    path, digest, received = job
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
    pack = None
    if not report.rejected and report.unit and report.period:
        try:
            pack = _pack(_ctx, report.unit, report.part or "main", parse_period(report.period), rows, path,
                         dt.datetime.fromisoformat(received), digest)
        except Exception:   # noqa: BLE001 - a pack is derived data: rendered again when the file counts
            pack = None     # (e.g. a unit or period the registry does not know)
    return path, digest, report.as_dict(), rows, info, pack


def _validate_batch(jobs: list[tuple[str, str, str]]) -> list[tuple]:
    return [_validate(job) for job in jobs]


def _pack(ctx: ValidationContext, unit_code: str, part: str, period: Period, rows: list[tuple], source: str,
          received: dt.datetime, digest: str) -> Pack:
    b = ctx.builder(period)
    unit = ctx.workspace.province.unit(unit_code)
    return build_pack(ctx.catalogue, b.layout, period, unit, part, rows, source, received, digest,
                      ctx.catalogue.stamp)


def ingest(ws: Workspace, inbox: Path, ledger: Ledger, period: Period | None, *, full: bool = False,
           workers: int | None = None, progress: Callable[[int], None] | None = None) -> tuple[list[dict], int]:
    """Record every file of the inbox; validate contents never seen (or all with ``full``)."""
    paths = scan(inbox)
    state = ledger.path_state()
    known = ledger.known_hashes()
    todo: list[tuple[str, str, str]] = []
    stats: dict[str, os.stat_result] = {}
    seen_in_run: dict[str, str] = {}
    for p in paths:
        sp = str(p)
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
        todo.append((sp, digest, _received(st).isoformat()))
    if full and todo:
        with ledger.transaction() as db:
            for _, digest, _ in todo:
                for table in ("pieces", "packs", "cell_values", "problems", "contents"):
                    db.execute(f"DELETE FROM {table} WHERE hash=?", (digest,))
    n = len(todo)
    workers = workers or min(os.cpu_count() or 1, 4)

    def record(result):
        path, digest, report, rows, info, pack = result
        st = stats[path]
        ledger.record_content(digest, path, st.st_size, st.st_mtime, _received(st), report, rows, info, pack)
        if progress:
            progress(1)

    if workers <= 1 or n < 6:
        _init(ws, period)
        for job in todo:
            record(_validate(job))
    else:
        # a few batches in flight, recorded as they come: the results never pile up in memory
        size = max(1, min(16, n // (workers * 6)))
        batches = iter([todo[i:i + size] for i in range(0, n, size)])
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(ws, period)) as ex:
            running = {ex.submit(_validate_batch, b) for b in itertools.islice(batches, workers * 3)}
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    for result in fut.result():
                        record(result)
                    running |= {ex.submit(_validate_batch, b) for b in itertools.islice(batches, len(done))}
    ledger.mark_absent({str(p) for p in paths}, str(Path(inbox).resolve()))
    files = []
    state = ledger.path_state()
    for p in paths:
        sp = str(p)
        h = state[sp][0] if sp in state else None
        c = ledger.content(h) if h else None
        files.append({"path": sp, "unit": c.unit if c else None, "period": c.period if c else None,
                      "status": c.status if c else "rejected", "hash": h})
    return files, n


def _received(st: os.stat_result) -> dt.datetime:
    """When a file new to the ledger was received: its modification time."""
    return dt.datetime.fromtimestamp(st.st_mtime).replace(microsecond=0)


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
    """Everything the roll-up shows, from the ledger; ``values=False`` skips the figures
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
    hashes: list[str] = []
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
        submissions.append(sub)
        if not values:
            continue
        codes, digest = _current_pack(ledger, b, cat, period, obl, c)
        hashes.append(c.hash)
        _same_data_as_another_unit(digest, sub, c, seen_data, problems)
        sub.missing_codes = tuple(code for code in obl.tables if code not in codes)
        for (code, severity, sheet, cell, appendix, _row, _col, message, hint) in ledger.problems(c.hash):
            problems.append(ProblemRow(u.code, u.name, c.first_path, sheet, cell, appendix, code, severity, message, hint))
        for piece in ledger.pieces(c.hash):
            t = templates.get(piece.template)
            if t is None:
                bp = cat.blueprints[piece.template]
                communes = bp.row_source is not None and bp.row_source.registry == "communes"
                lay = b.layout(piece.appendix if communes else bp.code_list[0], u)
                t = templates[piece.template] = TemplateData(bp.id, bp.title, [], lay, bp.area)
            if piece.appendix not in t.codes:
                t.codes.append(piece.appendix)
            fold(t.sums, piece, by_unit=t.layout.blueprint.row_source is not None
                 and t.layout.blueprint.row_source.registry == "communes")
            t.pieces.append(piece)
    data = RollupData(prov.id, prov.info.name, period, dates.deadline, (dates.window_start, dates.window_end),
                      dt.datetime.now().replace(microsecond=0), submissions, list(templates.values()), problems,
                      piece_rows=lambda p: ledger.piece_rows(p.file_hash, p.template, p.appendix),
                      tidy_members=lambda: (ledger.tidy_member(h) for h in hashes))
    for attr, other in (("previous", period.previous()), ("last_year", period.previous_year())):
        if values and other is not None and str(other) in ledger.periods():
            setattr(data, f"{attr}_period", other)
            setattr(data, f"{attr}_totals", province_totals(ledger, str(other)))
    return data


def _current_pack(ledger: Ledger, b: Builder, cat, period: Period, obl, c: ContentRow) -> tuple[list[str], str | None]:
    """The content's pack, rendered again from the ledger's values when missing or not current
    (another registry, other blueprints, a new version of cchc_xl); (appendices, inputs digest)."""
    info = ledger.pack_info(c.hash)
    if not _is_current(info, cat, period, obl, c):
        pack = build_pack(cat, b.layout, period, obl.unit, obl.part, ledger.values(c.hash), c.first_path,
                          c.received_at, c.hash, cat.stamp)
        ledger.save_pack(c.hash, pack)
        return pack.codes, pack.inputs_digest
    return info[1], info[2]


def _is_current(info, cat, period: Period, obl, c: ContentRow) -> bool:
    return info is not None and info[0] == pack_stamp(obl.unit, obl.part, str(period), c.first_path,
                                                      c.received_at, cat.stamp)


def refresh_packs(ws: Workspace, ledger: Ledger, period: Period, *, workers: int | None = None) -> int:
    """Render again, on every core, the packs of the counted files that are missing or not current
    (after a registry or blueprint change, or an upgrade); returns how many. A handful is left to
    :func:`build_rollup_data`, which renders them in passing."""
    cat = default_catalogue()
    counted = ledger.counted(str(period))
    stale = []
    for obl in ws.province.expected(period):
        c = counted.get(obl.submission_key)
        if c is not None and not _is_current(ledger.pack_info(c.hash), cat, period, obl, c):
            stale.append((c.hash, obl.unit.code, obl.part, c.first_path, c.received_at.isoformat()))
    workers = workers or min(os.cpu_count() or 1, 4)
    if len(stale) < PARALLEL_REFRESH_MIN or workers <= 1:
        return 0
    with ProcessPoolExecutor(workers, initializer=_init_render, initargs=(ws, period, str(ledger.path))) as ex:
        for digest, pack in ex.map(_render_pack, stale, chunksize=max(1, len(stale) // (workers * 6))):
            ledger.save_pack(digest, pack)
    return len(stale)


_render_ledger: Ledger | None = None


def _init_render(ws: Workspace, period: Period, ledger: str) -> None:
    global _render_ledger
    _init(ws, period)
    _render_ledger = Ledger(Path(ledger))


def _render_pack(job: tuple[str, str, str, str, str]) -> tuple[str, Pack]:
    digest, unit, part, source, received = job
    return digest, _pack(_ctx, unit, part, _ctx.period, _render_ledger.values(digest), source,
                         dt.datetime.fromisoformat(received), digest)


def _same_data_as_another_unit(digest: str | None, sub: Submission, content, seen: dict, problems: list) -> None:
    """Two units whose typed figures are identical: one copied the other's file or data."""
    if digest is None:        # too few figures to call it a copy
        return
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
        for appendix, row_key, col_key, num in ledger.input_numbers(c.hash):
            k = (appendix, row_key, col_key)
            totals[k] = totals.get(k, 0.0) + num
    return totals


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
            if write:
                refresh_packs(ws, ledger, period, workers=workers)
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
                inside = base / f"tidy_{ws.province.id}_{period}.csv.gz"
                res.rollup = str(write_rollup(data, out))
                write_tidy(data.tidy_members(), inside)
                res.tidy = str(write_tidy(data.tidy_members(), Path(tidy)) if tidy else inside)
                if split_by_field:
                    res.field_workbooks = [str(p) for p in write_field_workbooks(data, Path(split_by_field))]
        finally:
            ledger.close()
    res.seconds = time.perf_counter() - start
    return res
