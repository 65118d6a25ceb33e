"""A reporting round: which workbooks to write for a period, written on every core."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, clock
from ..atomic import replacing, sweep
from ..blueprint.catalogue import Catalogue
from ..config.period import Period
from ..config.province import Obligation, Unit
from ..config.workspace import Workspace
from ..identity import Metadata, TableStamp
from ..layout import TableLayout, build_layout, fingerprint_of, json_text
from ..round_layouts import RoundLayouts
from .template import Templates, commune_rows, templatable, token
from .workbook import WorkbookSpec, write_workbook

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Job:
    unit: str
    part: str
    codes: tuple[str, ...]
    path: str


@dataclass
class GenerateResult:
    province: str
    period: str
    out_dir: str
    files: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"province": self.province, "period": self.period, "out_dir": self.out_dir,
                "count": len(self.files), "seconds": round(self.seconds, 3), "files": self.files}


def safe_name(text: str) -> str:
    """A file-name part that works on Windows: ASCII letters, digits, '-', '_'."""
    return re.sub(r"[^A-Za-z0-9_\-]+", "-", text).strip("-") or "x"


def file_name(unit: str, part: str, period: Period, code: str | None = None) -> str:
    name = unit if part == "main" else f"{unit}-{part}"
    if code:
        name += f"_{code}"
    return f"{safe_name(name)}_{period}.xlsx"


def plan_round(ws: Workspace, period: Period, units: Iterable[str] | None = None,
               blueprint: str | None = None, out: Path | None = None) -> list[Job]:
    prov = ws.province
    out = Path(out) if out else ws.generated / prov.id / str(period)
    chosen = [prov.unit(u) for u in units] if units else prov.reporting_units()
    jobs = []
    for unit in chosen:
        obls = prov.obligations(unit, period)
        if blueprint:
            obls = [o for o in obls if blueprint in o.codes] or (
                [Obligation(unit, "main", "", None, (blueprint,))] if units else [])
            for o in obls:
                jobs.append(Job(unit.code, o.part, (blueprint,),
                                str(out / file_name(unit.code, o.part, period, blueprint))))
            continue
        for o in obls:
            jobs.append(Job(unit.code, o.part, o.codes, str(out / file_name(unit.code, o.part, period))))
    return jobs


class Builder(RoundLayouts):
    """Turns jobs into workbook specs, on the round's layouts."""

    def __init__(self, ws: Workspace, period: Period, catalogue: Catalogue | None = None,
                 generated_at: dt.datetime | None = None):
        super().__init__(ws, period, catalogue)
        self.generated_at = generated_at
        self._shapes: dict[tuple[str, int], tuple[TableLayout, str]] = {}
        self.templates = Templates(lambda lay, communes: build_layout(lay.blueprint, lay.code, self.cat, communes))

    def metadata(self, unit: Unit, part: str, layouts: list[TableLayout], when: dt.datetime) -> Metadata:
        stamps = tuple(TableStamp(l.code, l.blueprint.id, l.blueprint.version, l.sheet, l.fingerprint())
                       for l in layouts)
        meta = Metadata(unit=unit.code, unit_name=unit.name, part=part, period=str(self.period),
                        province=self.prov.id, tables=stamps, generator=f"cchc_xl {__version__}",
                        generated_at=when.isoformat(timespec="seconds"))
        return meta.sign(self.ws.secret)

    def stand_in(self, code: str, unit: Unit) -> TableLayout:
        """The unit's layout of ``code``, or for a per-commune table one that stands in for it in
        the fast path: the table's layout for as many communes (built once), with the unit's commune
        names as row labels and the fingerprint of the unit's own layout — the fingerprint's text
        holds no row keys, so it is the shape's with the names put in. Only the template's key, its
        texts and the metadata read it; a workbook written the plain way has the real layout."""
        bp = self.cat.for_code(code)
        communes = self.prov.communes_of(unit.code)
        if bp.row_source is None or bp.row_source.registry != "communes" or not communes \
                or not all(templatable(c.name) for c in communes):
            return self.layout(code, unit)
        n = len(communes)
        shape = self._shapes.get((code, n))
        if shape is None:
            lay = build_layout(bp, code, self.cat, tuple((f"u_shape_{i}", token(i, 1)) for i in range(n)))
            shape = self._shapes[(code, n)] = (lay, lay.fingerprint_text())
        lay, text = shape
        names, named = iter(communes), set(commune_rows(lay))
        rows = [dataclasses.replace(r, label=next(names).name) if r in named else r for r in lay.rows]
        for i, c in enumerate(communes):
            text = text.replace(token(i, 1), json_text(c.name))
        out = dataclasses.replace(lay, rows=rows)
        out.__dict__["_fingerprint"] = fingerprint_of(text)     # the cached_property, set
        return out

    def spec(self, job: Job, *, stand_ins: bool = False) -> WorkbookSpec:
        """The job's workbook spec; with ``stand_ins`` per-commune tables are :meth:`stand_in`\\ s."""
        unit = self.prov.unit(job.unit)
        layouts = [self.stand_in(c, unit) for c in job.codes] if stand_ins else self.layouts_for(unit, job.codes)
        when = self.generated_at or clock.now()
        owner = next((o.owner for o in self.prov.obligations(unit, self.period) if o.part == job.part), "")
        return WorkbookSpec(
            unit_code=unit.code, unit_name=unit.name, part=job.part, owner=owner, dates=self.dates,
            province_name=self.prov.info.name, contact=self.prov.info.contact, layouts=layouts,
            metadata=self.metadata(unit, job.part, layouts, when), password=self.ws.sheet_password,
            vocabularies=self.vocabularies, unit_names=self.unit_names, generated_at=when,
            field_report=self.prov.field_report(unit.type, self.period),
        )

    def write(self, job: Job, fast: bool = True) -> dict:
        """Write the job's workbook: from a template of alike units (:mod:`.template`, the same bytes)
        when it can be, else the plain way."""
        Path(job.path).parent.mkdir(parents=True, exist_ok=True)
        spec = self.spec(job, stand_ins=fast)
        data = self.templates.render(spec) if fast else None
        if data is None:
            write_workbook(self.spec(job) if fast else spec, Path(job.path))
        else:
            with replacing(Path(job.path)) as tmp:
                tmp.write_bytes(data)
        return {"unit": job.unit, "part": job.part, "path": job.path, "tables": list(job.codes),
                "bytes": os.path.getsize(job.path)}


# -- parallel writing --------------------------------------------------------------------------

_worker: Builder | None = None


def _init_worker(ws: Workspace, period: Period, generated_at):
    global _worker
    _worker = Builder(ws, period, generated_at=generated_at)


def _run_jobs(jobs: list[Job]) -> list[dict]:
    return [_worker.write(j) for j in jobs]


def _alike(prov, job: Job) -> tuple:
    """What makes jobs likely to share a template (:func:`.template.template_key`): for scheduling
    only, so that a worker meets few kinds of workbook and builds few templates."""
    unit = prov.unit(job.unit)
    return (unit.type, job.part, job.codes, len(unit.name), len(unit.code),
            tuple(len(c.name) for c in prov.communes_of(unit.code)))


def batches(prov, jobs: list[Job], size: int) -> list[list[int]]:
    """Job indexes in batches of at most ``size`` alike jobs, largest first."""
    groups: dict[tuple, list[int]] = {}
    for i, j in enumerate(jobs):
        groups.setdefault(_alike(prov, j), []).append(i)
    out = [g[k:k + size] for g in groups.values() for k in range(0, len(g), size)]
    return sorted(out, key=len, reverse=True)


def generate_round(ws: Workspace, period: Period, units: Iterable[str] | None = None, *,
                   blueprint: str | None = None, out: Path | None = None, fixed_time: bool = False,
                   workers: int | None = None,
                   progress: Callable[[int], None] | None = None) -> GenerateResult:
    start = time.perf_counter()
    jobs = plan_round(ws, period, units, blueprint, out)
    out_dir = str(Path(jobs[0].path).parent) if jobs else str(out or "")
    when = FIXED_TIME if fixed_time else clock.now()
    sweep(*{Path(j.path).parent for j in jobs})
    result = GenerateResult(ws.province.id, str(period), out_dir)
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers <= 1 or len(jobs) < 8:
        b = Builder(ws, period, generated_at=when)
        for j in jobs:
            result.files.append(b.write(j))
            if progress:
                progress(1)
    else:
        plan = batches(ws.province, jobs, max(1, len(jobs) // (workers * 8)))
        files: list[dict | None] = [None] * len(jobs)
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(ws, period, when)) as ex:
            for idx, infos in zip(plan, ex.map(_run_jobs, [[jobs[i] for i in b] for b in plan])):
                for i, info in zip(idx, infos):
                    files[i] = info
                if progress:
                    progress(len(infos))
        result.files = files        # in the plan's order
    result.seconds = time.perf_counter() - start
    return result
