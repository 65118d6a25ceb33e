"""``cchc_xl merge INBOX``: ingest a folder into the ledger, then rebuild the roll-up from it."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import clock
from ..atomic import replacing_all, sweep
from ..blueprint.catalogue import Catalogue, default_catalogue
from ..config.period import Period, parse_period
from ..config.province import Province
from ..config.workspace import Workspace
from ..gcpolicy import spaced_collections
from ..labels import FINDINGS_SHEET
from ..problems import make_problem
from ..read.digest import file_hash
from ..round_layouts import RoundLayouts
from . import unchanged
from .areas import Areas, programme_areas
from .inbox import FUTURE_SLACK, display_path, scan
from .ledger import (
    LEDGER_NAME,
    ContentRow,
    Decision,
    Ledger,
    LedgerDamaged,
    PackedCells,
    pack_cells,
    release_inherited_locks,
    workspace_lock,
)
from .mail import MAIL_DIR, MAIL_SEP, MailError, is_mail, read_mail
from .model import CellRow, HeldFile, ProblemRow, RollupData, Submission, TemplateData
from .narratives import read_narratives
from .pieces import Pack, build_pack, fold, pack_stamp
from .receipts import stated_for, stated_receipts
from .result import MergeResult
from .splice import check_pieces
from .tidy import write_tidy

if TYPE_CHECKING:
    from ..validate.engine import ValidationContext
    from ..validate.pool import FileFailure
    from .quick import Snapshot

# The validation stack (engine, worker pool) and the plausibility checks are imported where they are
# used: a merge that finds nothing new needs neither (25 ms of its start-up, measured).

PARALLEL_REFRESH_MIN = 12      # stale packs worth starting worker processes for


def ledger_path(ws: Workspace, inbox: Path) -> Path:
    return (ws.root / LEDGER_NAME) if ws.root else (Path(inbox).resolve().parent / LEDGER_NAME)


def _entries(paths: list[Path], mail_dir: Path, notes: list[str] | None,
             skipped: list[dict] | None) -> list[tuple[Path, str, tuple | None]]:
    """(path to open, ledger path, receipt from an e-mail's Date header) for every submission: a
    saved e-mail (``.eml``) stands for its spreadsheet attachments (:mod:`.mail`)."""
    out: list[tuple[Path, str, tuple | None]] = []
    for p in paths:
        if not is_mail(p):
            out.append((p, display_path(p), None))
            continue
        try:
            mail = read_mail(p, mail_dir)
        except MailError as exc:
            if skipped is not None:
                skipped.append({"path": display_path(p), "reason": str(exc)})
            continue
        if notes is not None:
            notes += [f"{display_path(p)}: {n}" for n in mail.notes]
        when = (mail.sent, "email") if mail.sent else None
        out += [(kept, f"{display_path(p)}{MAIL_SEP}{name}", when) for kept, name in mail.attachments]
    return out


# -- validation in worker processes ---------------------------------------------------------------

_ctx: ValidationContext | None = None


def _init(ctx: ValidationContext) -> None:
    """In a forked worker: the context the merge built before forking (catalogue and round layouts
    loaded once, shared copy-on-write, instead of once per worker)."""
    global _ctx
    release_inherited_locks()
    _ctx = ctx


def _validate(job: tuple[str, str, str]) -> tuple[str, str, dict, PackedCells, dict, Pack | None]:
    """Validate one file and render its share of the roll-up (in a worker process)."""
    from ..validate.engine import validate_file  # imported by ingest before the workers fork

    path, digest, received = job
    report = validate_file(path, _ctx, content_hash=digest)
    report.path = display_path(path)
    for prob in report.problems:
        prob.file = report.path
        prob.message = _printable(prob.message)
    cells = (report.values or {}).get("cells", [])
    rows = []
    for c in cells:
        v = c.value
        num = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        text = None if num is not None or v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
        rows.append(CellRow(c.code, c.sheet, c.row, c.col, c.cell, num, text, c.role))
    meta = (report.values or {}).get("metadata")
    info = {"unit": report.unit, "unit_name": report.unit_name, "part": report.part, "period": report.period,
            "submission": (report.unit if (report.part or "main") == "main" else f"{report.unit}-{report.part}")
            if report.unit else None,
            "blueprints": [f"{t.code}:{t.blueprint}:{t.version}" for t in meta.tables] if meta else [],
            "nil": list((report.values or {}).get("nil", []))}
    pack = None
    if not report.rejected and report.unit and report.period:
        try:
            pack = _pack(_ctx, report.unit, report.part or "main", parse_period(report.period), rows, path,
                         dt.datetime.fromisoformat(received), digest, info["nil"])
        except Exception:   # noqa: BLE001 - a pack is derived data: rendered again when the file counts
            pack = None     # (e.g. a unit or period the registry does not know)
    return path, digest, report.as_dict(), pack_cells(rows), info, pack


def _printable(text: str) -> str:
    """Text with the undecodable bytes of a file name (surrogate escapes) shown as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if text else text


def _failed(job: tuple[str, str, str], failure: FileFailure) -> tuple:
    """The ledger's record of a file whose reader process did not come back (see ``validate.pool``)."""
    report = failure.report(display_path(job[0]))
    return job[0], job[1], report.as_dict(), pack_cells([]), {"unit": None, "blueprints": []}, None


def _pack(ctx: ValidationContext, unit_code: str, part: str, period: Period, rows: list[CellRow], source: str,
          received: dt.datetime, digest: str, nil: list[str]) -> Pack:
    b = ctx.round(period)
    unit = ctx.workspace.province.unit(unit_code)
    return build_pack(ctx.catalogue, b.layout, period, unit, part, rows, source, received, digest,
                      ctx.catalogue.stamp, ctx.workspace.province.type_labels, nil)


def ingest(ws: Workspace, inbox: Path, ledger: Ledger, period: Period | None, *, full: bool = False,
           workers: int | None = None, progress: Callable[[int], None] | None = None,
           received: dict[Path, dt.datetime] | None = None,
           skipped: list[dict] | None = None, notes: list[str] | None = None,
           planned: Callable[[int], None] | None = None,
           seen: list[tuple[str, int, int]] | None = None) -> tuple[list[dict], int]:
    """Record every file of the inbox; validate contents never seen (or all with ``full``);
    ``seen`` gets each entry's (path, size, modification time in ns).

    A content's receipt time is, in order: what the officer states (``received``: a file or a folder,
    or the inbox's receipt register), the Date header of the saved e-mail (``.eml``) it came in, then
    the first time the ledger saw it. A file's modification time is never used."""
    paths = scan(inbox, skipped)
    stated = stated_receipts(inbox, received)
    now = clock.now()
    state = ledger.path_state()
    catalogue = default_catalogue()      # what ValidationContext checks against (its default)

    def judged(unit: str | None) -> str:
        return f"{ws.province.judging_stamp(unit)}:{catalogue.stamp}"

    # a verdict reached under another registry entry or catalogue is reached again, never kept stale
    known = ledger.known_hashes() - ledger.judged_otherwise(judged)
    todo: list[tuple[str, str, str]] = []
    stats: dict[str, os.stat_result] = {}
    receipts: dict[str, tuple[dt.datetime, str]] = {}
    seen_in_run: dict[str, str] = {}
    keys: dict[str, str] = {}
    entries = _entries(paths, ledger.path.parent / MAIL_DIR, notes, skipped)
    for p, key, mailed in entries:
        sp = str(p)
        keys[sp] = key
        st = p.stat()
        stats[sp] = st
        if seen is not None:
            seen.append((key, st.st_size, st.st_mtime_ns))
        prev = state.get(key)
        digest = prev[0] if prev and prev[1] == st.st_size and prev[2] == st.st_mtime and not full else file_hash(p)
        hit = stated_for(sp if mailed is None else key.split(MAIL_SEP)[0], stated) or mailed
        if mailed is None and digest not in known and notes is not None and \
                dt.datetime.fromtimestamp(st.st_mtime) > now + FUTURE_SLACK:
            notes.append(f"{key}: ngày sửa tệp ({dt.datetime.fromtimestamp(st.st_mtime):%d/%m/%Y %H:%M}) ở tương "
                         "lai — đồng hồ máy gửi có thể sai; ngày sửa tệp không bao giờ được dùng để tính hạn nộp")
        if hit and hit[0] > now + FUTURE_SLACK:
            if notes is not None:
                notes.append(f"{key}: thời điểm nhận được ghi ({hit[0]:%d/%m/%Y %H:%M}) ở tương lai — không dùng; "
                             "lấy thời điểm sổ theo dõi thấy tệp lần đầu")
            hit = None
        if hit and digest in known and not full:
            ledger.set_receipt(digest, hit[0], hit[1])
        if (digest in known and not full) or digest in seen_in_run:
            if not prev or prev[0] != digest:
                ledger.record_path(key, digest, st.st_size, st.st_mtime)
            seen_in_run.setdefault(digest, sp)
            continue
        seen_in_run[digest] = sp
        old = ledger.receipt(digest)
        receipts[digest] = hit or old or (now, "first_seen")
        todo.append((sp, digest, receipts[digest][0].isoformat()))
    if todo:     # contents judged again (--full, or another configuration): their old verdict goes
        with ledger.transaction() as db:
            for _, digest, _ in todo:
                for table in ("pieces", "packs", "cells", "problems", "declarations", "contents"):
                    db.execute(f"DELETE FROM {table} WHERE hash=?", (digest,))
    n = len(todo)
    workers = workers or min(os.cpu_count() or 1, 4)

    def record(result):
        path, digest, report, cells, info, pack = result
        st = stats[path]
        when, source = receipts[digest]
        ledger.record_content(digest, keys[path], st.st_size, st.st_mtime, when, report, cells, info, pack,
                              receipt_source=source, judged=judged(info.get("unit")))
        if progress:
            progress(1)

    if todo:
        from ..validate.engine import ValidationContext
        from ..validate.pool import map_files

        ctx = ValidationContext(ws, period, catalogue)
        if period is not None:
            ctx.round(period)
        if planned:
            planned(n)          # the files about to be validated (``progress`` counts them off)
        map_files(todo, _validate, initializer=_init, initargs=(ctx,), workers=workers,
                  on_result=lambda job, result: record(result),
                  on_failure=lambda job, failure: record(_failed(job, failure)))
    elif planned:
        planned(0)
    ledger.mark_absent(set(keys.values()), display_path(Path(inbox).resolve()))
    files = []
    state = ledger.path_state()
    for sp in keys.values():
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


def programme_catalogue(prov: Province) -> Catalogue:
    """The blueprints as the province's programme serves its codes (2021–2030: DC-KH of 2021 …)."""
    return default_catalogue().for_programme(prov.info.programme)


def province_areas(prov: Province) -> Areas:
    """The reform areas as the province's programme names them (the roll-up's and report's headings)."""
    return programme_areas(prov.info.programme)


def build_rollup_data(ws: Workspace, ledger: Ledger, period: Period, *, values: bool = True) -> RollupData:
    """Everything the roll-up shows, from the ledger; ``values=False`` skips the figures
    (completeness and timeliness only, for ``status``)."""
    prov = ws.province
    cat = programme_catalogue(prov)
    dates = prov.dates(period)
    counted = ledger.counted(str(period))
    versions = ledger.versions(str(period))
    accepted, withdrawn = ledger.standing_decisions()
    by_submission: dict[str, list[ContentRow]] = {}
    for content in ledger.contents(str(period)):
        if content.submission:
            by_submission.setdefault(content.submission, []).append(content)
    decisions_of = {}
    for d in ledger.decisions():
        decisions_of.setdefault(d.hash, []).append(d)
    b = RoundLayouts(ws, period, cat)
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
        others = by_submission.get(key, [])
        for o in others:
            for d in decisions_of.get(o.hash, []):
                sub.decisions.append(decision_note(d, o))
            if (c is None or o.hash != c.hash) and (c is None or (o.received_at, o.hash) > (c.received_at, c.hash)):
                if o.hash in withdrawn:
                    continue
                if o.hold and o.hash not in accepted:
                    sub.held.append(HeldFile(o.first_path, o.hash, o.hold, o.received_at))
                    if values:
                        problems.extend(_problem_rows(ledger, u, o))
        if c is None:
            if others:
                last = others[-1]
                sub.status = ("held" if sub.held else "withdrawn" if last.hash in withdrawn else "rejected")
                sub.verdict, sub.received_at, sub.file, sub.file_hash = last.status, last.received_at, \
                    last.first_path, last.hash
            submissions.append(sub)
            continue
        received = c.received_at.date()
        days = dates.days_late(received)
        fr = prov.field_report(u.type, period)
        if fr is not None and fr.deadline < dates.deadline:
            # the file carries the unit's thematic field report (its outline's province-wide
            # synthesis), due earlier than the periodic report (seed 002: 05/12 against 15/12)
            sub.deadline = fr.deadline
            days = fr.days_late(received)
            if days and received <= dates.deadline:
                sub.decisions.append(f"Trễ hạn báo cáo chuyên đề lĩnh vực (hạn {fr.deadline:%d/%m/%Y}, sớm hơn hạn "
                                     f"báo cáo định kỳ {dates.deadline:%d/%m/%Y}): nhận ngày {received:%d/%m/%Y}, "
                                     f"trễ {days} ngày")
        sub.status = "late" if days else "on_time"
        sub.days_late = days
        sub.received_at, sub.file, sub.file_hash = c.received_at, c.first_path, c.hash
        sub.receipt_source = c.receipt_source or "first_seen"
        tied = [o for o in others if o.hash != c.hash and o.received_at == c.received_at
                and ledger.admitted(o, accepted, withdrawn)]
        if tied and c.hash not in accepted:
            # two copies with no order between them: flagged, never silently resolved
            sub.decisions.append(f"{len(tied) + 1} tệp cùng thời điểm nhận {c.received_at:%d/%m/%Y %H:%M}, chưa rõ "
                                 "bản nào mới hơn: cần chấp nhận một bản (cchc_xl accept) hoặc rút bản kia")
            sub.warnings += 1
        sub.verdict, sub.errors, sub.warnings = c.status, c.n_errors, c.n_warnings
        submissions.append(sub)
        if not values:
            continue
        codes, digest = _current_pack(ledger, b, cat, period, obl, c, prov.type_labels)
        hashes.append(c.hash)
        _same_data_as_another_unit(digest, sub, c, seen_data, problems)
        sub.missing_codes = tuple(code for code in obl.tables if code not in codes)
        sub.nil_codes = tuple(ledger.nil_tables(c.hash))
        problems.extend(_problem_rows(ledger, u, c))
        for piece in ledger.pieces(c.hash):
            t = templates.get(piece.template)
            if t is None:
                bp = cat.blueprints[piece.template]
                communes = bp.row_source is not None and bp.row_source.registry == "communes"
                lay = b.layout(piece.appendix if communes else bp.code_list[0], u)
                t = templates[piece.template] = TemplateData(bp.id, bp.title, [], lay, bp.area)
            if piece.appendix not in t.codes:
                t.codes.append(piece.appendix)
            fold(t.sums, piece, by_unit=piece.unit_type in prov.by_unit_types
                 or (t.layout.blueprint.row_source is not None
                     and t.layout.blueprint.row_source.registry == "communes"))
            t.pieces.append(piece)
    outside = _outside_registry(prov, ledger, period, by_submission, problems if values else None)
    data = RollupData(prov.id, prov.info.name, period, dates.deadline, (dates.window_start, dates.window_end),
                      clock.now(), submissions, list(templates.values()), problems,
                      unit_types=dict(prov.type_labels), by_unit_types=prov.by_unit_types, outside=outside,
                      programme=prov.info.programme,
                      piece_rows=lambda p: ledger.piece_rows(p.file_hash, p.template, p.appendix),
                      tidy_members=lambda: (ledger.tidy_member(h) for h in hashes))
    if values:
        data.narratives = read_narratives(ledger, submissions, cat)
    for attr, other in (("previous", period.previous()), ("last_year", period.previous_year())):
        if values and other is not None and str(other) in ledger.periods():
            setattr(data, f"{attr}_period", other)
            setattr(data, f"{attr}_totals", province_totals(ledger, str(other)))
            if attr == "previous":
                try:
                    od = prov.dates(other)
                    data.previous_window = (od.window_start, od.window_end)
                except KeyError:
                    pass
            data.compare_notes += compare_notes(prov, other)
    if values:
        from . import plausibility

        data.findings = plausibility.findings(prov, ledger, cat, period, counted, b.layout)
    return data


def compare_notes(prov, other: Period) -> list[str]:
    """What an earlier period's figures stand for when the province or its units changed since."""
    try:
        end = prov.dates(other).window_end
    except KeyError:
        return []
    notes = []
    before = [p for p in prov.info.predecessors if p.until and end <= p.until]
    if len(before) > 1:
        notes.append(f"{other.label}: trước khi sắp xếp đơn vị hành chính cấp tỉnh ({before[0].until:%d/%m/%Y}), "
                     f"{prov.info.name} hiện nay gồm {', '.join(p.name for p in before)}; số liệu kỳ đó chỉ gồm "
                     "các báo cáo có trong sổ theo dõi này.")
    newer = [u for u in prov.reporting_units() if u.since and end < u.since]
    if newer:
        since = min(u.since for u in newer)
        succ = sum(1 for u in newer if u.succeeds)
        notes.append(f"{other.label}: {len(newer)} đơn vị hiện nay chỉ có từ {since:%d/%m/%Y} (sắp xếp, sáp nhập); "
                     f"số liệu kỳ đó là của các đơn vị cũ ({succ} đơn vị có ghi đơn vị tiền thân), không so sánh "
                     "theo từng đơn vị với đơn vị cũ cùng mã.")
    return notes


def _outside_registry(prov, ledger: Ledger, period: Period, by_submission: dict[str, list[ContentRow]],
                      problems: list[ProblemRow] | None) -> list[dict]:
    """Files of this period kept in the ledger whose submission the registry no longer expects (a unit
    removed, merged or split, a part renamed): never dropped, never counted, always reported."""
    expected = {o.submission_key for o in prov.expected(period)}
    out = []
    for key, contents in sorted(by_submission.items()):
        if key in expected:
            continue
        for c in contents:
            known = c.unit in prov.unit_by_code
            reason = ("đơn vị không phải nộp phần báo cáo này trong kỳ theo chế độ báo cáo hiện hành" if known
                      else "đơn vị không còn trong danh mục đơn vị (units.yaml)")
            out.append({"submission": key, "unit": c.unit, "unit_name": c.unit_name, "file": c.first_path,
                        "hash": c.hash, "received_at": c.received_at.isoformat(), "reason": reason})
            if problems is not None:
                unit = prov.unit_by_code.get(c.unit) or _Named(c.unit or key, c.unit_name or "")
                problems.extend(_problem_rows(ledger, unit, c))
    return out


@dataclass(frozen=True)
class _Named:
    code: str
    name: str


def outside_note(o: dict) -> str:
    who = f"{o['unit_name']} ({o['submission']})" if o["unit_name"] else f"đơn vị {o['submission']}"
    return (f"Tệp {Path(o['file']).name} của {who} không được tính: "
            f"{o['reason']}; tệp vẫn được giữ trong sổ.")


def _problem_rows(ledger: Ledger, unit, c: ContentRow) -> list[ProblemRow]:
    return [ProblemRow(unit.code, unit.name, c.first_path, sheet, cell, appendix, code, severity, message, hint)
            for (code, severity, sheet, cell, appendix, _row, _col, message, hint) in ledger.problems(c.hash)]


def decision_note(d: Decision, c: ContentRow) -> str:
    """A decision as the roll-up and the CLI show it: what, on which file, when, why (and its undoing)."""
    what = {"accept": "Chấp nhận", "withdraw": "Rút"}[d.action]
    text = f"{what} tệp {Path(c.first_path).name} ({d.at.replace('T', ' ')}): {d.reason}"
    if d.undone_at:
        text += f" — đã huỷ ({d.undone_at.replace('T', ' ')}): {d.undo_reason}"
    return text


def _current_pack(ledger: Ledger, b: RoundLayouts, cat, period: Period, obl, c: ContentRow,
                  type_labels: dict[str, str]) -> tuple[list[str], str | None]:
    """The content's pack, rendered again from the ledger's values when missing or not current
    (another registry, other blueprints, a new version of cchc_xl); (appendices, inputs digest)."""
    info = ledger.pack_info(c.hash)
    if not _is_current(info, cat, period, obl, c):
        pack = build_pack(cat, b.layout, period, obl.unit, obl.part, ledger.values(c.hash), c.first_path,
                          c.received_at, c.hash, cat.stamp, type_labels, ledger.nil_tables(c.hash))
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
    cat = programme_catalogue(ws.province)
    counted = ledger.counted(str(period))
    stale = []
    for obl in ws.province.expected(period):
        c = counted.get(obl.submission_key)
        if c is not None and not _is_current(ledger.pack_info(c.hash), cat, period, obl, c):
            stale.append((c.hash, obl.unit.code, obl.part, c.first_path, c.received_at.isoformat()))
    workers = workers or min(os.cpu_count() or 1, 4)
    if len(stale) < PARALLEL_REFRESH_MIN or workers <= 1:
        return 0
    from concurrent.futures import ProcessPoolExecutor

    from ..validate.pool import MP_CONTEXT

    with ProcessPoolExecutor(workers, mp_context=MP_CONTEXT, initializer=_init_render,
                             initargs=(ws, period, str(ledger.path))) as ex:
        for digest, pack in ex.map(_render_pack, stale, chunksize=max(1, len(stale) // (workers * 6))):
            ledger.save_pack(digest, pack)
    return len(stale)


_render_ledger: Ledger | None = None


def _init_render(ws: Workspace, period: Period, ledger: str) -> None:
    from ..validate.engine import ValidationContext

    global _render_ledger
    _init(ValidationContext(ws, period))
    _render_ledger = Ledger(Path(ledger))


def _render_pack(job: tuple[str, str, str, str, str]) -> tuple[str, Pack]:
    digest, unit, part, source, received = job
    return digest, _pack(_ctx, unit, part, _ctx.period, _render_ledger.values(digest), source,
                         dt.datetime.fromisoformat(received), digest, _render_ledger.nil_tables(digest))


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


def shown_contents(prov: Province, ledger: Ledger, period: Period) -> list[str]:
    """The contents whose pieces the roll-up shows: the counted one of each expected submission (as
    :func:`build_rollup_data` takes them)."""
    counted = ledger.counted(str(period))
    return [counted[o.submission_key].hash for o in prov.expected(period) if o.submission_key in counted]


def _stored_pieces(ledger: Ledger, shown: list[str]) -> int | None:
    """How many pieces the roll-up shows (``shown``: :func:`shown_contents`), each checked against
    its CRC as written; None if one fails."""
    try:
        return ledger.check_stored_pieces(shown)
    except LedgerDamaged:
        return None


def _remember(snap: Snapshot, ws: Workspace, ledger: Ledger, res: MergeResult, targets: list[Path],
              swept: list, shown: list[str], pieces: int, seen: list) -> None:
    from ..blueprint.stamp import catalogue_stamp
    from ..config.workspace import WORKSPACE_FILE, WorkspaceFile
    from ..yamlfile import ConfigError, load_model
    from .quick import remember

    prov, cat = ws.province, programme_catalogue(ws.province)
    try:    # the files as they are now are those this merge read (one edited meanwhile: no record)
        if load_model(ws.root / WORKSPACE_FILE, WorkspaceFile) != ws.settings or catalogue_stamp(cat.root) != cat.stamp \
                or any((prov.root / name).read_text(encoding="utf-8") != text for name, text in prov.texts.items()):
            return
    except (ConfigError, OSError, UnicodeDecodeError):
        return
    remember(snap, ledger, res, config=prov.root, blueprints=cat.root, catalogue=cat.stamp, targets=targets,
             swept=[str(d) for d in swept if d], shown=shown, pieces=pieces, seen=seen)


def _inputs(ws: Workspace, ledger: Ledger, period: Period, targets: list[Path], areas: Areas) -> str:
    """What :func:`build_rollup_data` and the roll-up writer read, besides the code (``unchanged``)."""
    prov = ws.province
    cat = programme_catalogue(prov)
    return unchanged.inputs_key(str(period), str(prov.root), sorted(prov.texts.items()), cat.stamp, cat.programme,
                                areas, [str(t) for t in targets], str(ledger.path), ledger.state_token(),
                                ledger.schema_version())


SUMMARY_LISTS = ("outside", "notes", "held", "missing", "withdrawn", "late", "on_time")
SUMMARY_COUNTS = ("expected", "findings", "rejected", "accepted", "with_errors")


def summary_of(data: RollupData) -> dict:
    """What a merge reports of its roll-up's data (plain data: it is kept in the roll-up's stamp)."""
    out: dict = {"expected": len(data.submissions), "outside": data.outside,
                 "notes": [outside_note(o) for o in data.outside], "findings": len(data.findings),
                 "held": [], "missing": [], "withdrawn": [], "late": [], "on_time": [],
                 "rejected": 0, "accepted": 0, "with_errors": 0}
    if data.findings:
        out["notes"].append(f"{len(data.findings)} số liệu cần xác minh so với các kỳ trước của chính đơn vị "
                            f"(trang «{FINDINGS_SHEET}» của bảng tổng hợp); không tệp nào bị từ chối vì lý do này.")
    for s in data.submissions:
        key = s.unit_code if s.part == "main" else f"{s.unit_code}-{s.part}"
        out["held"] += [{"submission": key, "file": h.file, "hash": h.hash, "reasons": list(h.reasons)}
                        for h in s.held]
        if s.status == "missing":
            out["missing"].append(key)
        elif s.status == "rejected":
            out["rejected"] += 1
        elif s.status == "withdrawn":
            out["withdrawn"].append(key)
        elif s.status == "held":
            pass
        else:
            out["accepted"] += 1
            out["with_errors"] += 1 if s.verdict == "errors" else 0
            out["late" if s.status == "late" else "on_time"].append(key)
    return out


def _apply_summary(res: MergeResult, summary: dict) -> bool:
    """Fill ``res`` from a summary (:func:`summary_of`); False, and ``res`` untouched, for one that is
    not whole."""
    if not (all(isinstance(summary.get(k), list) for k in SUMMARY_LISTS)
            and all(type(summary.get(k)) is int for k in SUMMARY_COUNTS)):
        return False
    for k in SUMMARY_COUNTS:
        setattr(res, k, summary[k])
    res.outside, res.held, res.missing = list(summary["outside"]), list(summary["held"]), list(summary["missing"])
    res.withdrawn, res.late, res.on_time = list(summary["withdrawn"]), list(summary["late"]), list(summary["on_time"])
    res.notes += summary["notes"]
    return True


def merge(ws: Workspace, inbox: Path, *, period: Period | None = None, out: Path | None = None,
          tidy: Path | None = None, full: bool = False, write: bool = True, split_by_field: Path | None = None,
          workers: int | None = None, progress: Callable[[int], None] | None = None,
          received: dict[Path, dt.datetime] | None = None,
          planned: Callable[[int], None] | None = None, quick: Snapshot | None = None) -> MergeResult:
    """Ingest ``inbox`` into the ledger and write the roll-up from it (``write``); ``quick``, the
    call's snapshot taken before the workspace was loaded, has the result recorded for the next call
    like it (``quick.py``)."""
    start = time.perf_counter()
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise FileNotFoundError(f"không tìm thấy thư mục {inbox}")
    lpath = ledger_path(ws, inbox)
    base = ws.rollup if ws.root else inbox.resolve().parent / "rollup"
    with workspace_lock(lpath.with_suffix(".lock")), spaced_collections():
        swept = [base, lpath.parent / MAIL_DIR, *(Path(p).parent for p in (out, tidy) if p), split_by_field]
        sweep(*swept)
        ledger = Ledger(lpath)
        try:
            skipped: list[dict] = []
            notes: list[str] = []
            seen: list[tuple[str, int, int]] = []
            files, n_new = ingest(ws, inbox, ledger, period, full=full, workers=workers, progress=progress,
                                  received=received, skipped=skipped, notes=notes, planned=planned, seen=seen)
            if notes or received or full or not ws.root:
                quick = None            # an answer that depends on more than the snapshot holds
            period = period or _guess_period(ledger, files)
            if period is None:
                raise FileNotFoundError(f"không có tệp báo cáo nào trong {inbox} và chưa rõ kỳ báo cáo (--period)")
            res = MergeResult(str(period), None, None, str(lpath), files=files, new_files=n_new, skipped=skipped,
                              notes=notes)
            if write:
                out = Path(out) if out else base / f"tong-hop_{ws.province.id}_{period}.xlsx"
                inside = base / f"tidy_{ws.province.id}_{period}.csv.gz"
                targets = [out, inside, *([Path(tidy)] if tidy else [])]
                areas = province_areas(ws.province)
                kept = None if split_by_field else \
                    unchanged.kept_summary(_inputs(ws, ledger, period, targets, areas), targets)
                # made from this very ledger, configuration and program, and still as written: the data
                # need not be built again, but what it counts is checked (any doubt: built as before)
                shown = shown_contents(ws.province, ledger, period) if kept is not None else []
                if kept is not None and type(kept.get("pieces")) is int and \
                        _stored_pieces(ledger, shown) == kept["pieces"] and _apply_summary(res, kept):
                    res.rollup_unchanged = True
                    res.rollup, res.tidy = str(out), str(targets[-1])
                    if quick is not None:
                        _remember(quick, ws, ledger, res, targets, swept, shown, kept["pieces"], seen)
                    res.seconds = time.perf_counter() - start
                    return res
                refresh_packs(ws, ledger, period, workers=workers)
            data = build_rollup_data(ws, ledger, period, values=write)
            summary = summary_of(data)
            _apply_summary(res, summary)
            if write:
                from .rollup import write_field_workbooks, write_rollup

                key = unchanged.fingerprint(data, [str(t) for t in targets], areas,
                                            programme_catalogue(ws.province).stamp)
                if unchanged.unchanged(key, targets):       # nothing new: the files already say it
                    check_pieces((p for t in data.templates for p in t.pieces), data.piece_rows)
                    res.rollup_unchanged = True
                else:
                    with replacing_all(*targets) as staged:     # all of them, or none (a full disk)
                        write_rollup(data, staged[0], areas=areas)
                        for t in staged[1:]:
                            write_tidy(data.tidy_members(), t)
                # the ledger as it is now (packs rendered in passing included)
                shown = shown_contents(ws.province, ledger, period)
                summary["pieces"] = _stored_pieces(ledger, shown)
                unchanged.record(key, targets, inputs=_inputs(ws, ledger, period, targets, areas), summary=summary)
                res.rollup, res.tidy = str(out), str(targets[-1])
                if split_by_field:
                    res.field_workbooks = [str(p) for p in write_field_workbooks(data, Path(split_by_field),
                                                                                 areas=areas)]
                elif quick is not None and summary["pieces"] is not None:
                    _remember(quick, ws, ledger, res, targets, swept, shown, summary["pieces"], seen)
        finally:
            ledger.close()
    res.seconds = time.perf_counter() - start
    return res
