"""Validate many files, each in a bounded reader process (:mod:`.pool`), reports in input order.

The ``validate`` command reads through here, so a file that aborts, hangs or exhausts its reader
is that file's rejection and every other file of the batch is still reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..atomic import sweep
from ..config.period import Period
from ..config.workspace import Workspace
from ..problems import ValidationReport
from .annotate import annotate
from .engine import ValidationContext, validate_file
from .pool import map_files

_ctx: ValidationContext | None = None
_annotate_dir: Path | None = None


def _init(ctx: ValidationContext, annotate_dir: Path | None) -> None:
    """In a forked worker: the context built once before forking."""
    global _ctx, _annotate_dir
    _ctx = ctx
    _annotate_dir = annotate_dir


def _one(job: tuple[str, int]) -> ValidationReport:
    report = validate_file(Path(job[0]), _ctx)
    if _annotate_dir:
        out = annotate(report, _annotate_dir)
        if out:
            report.stats["annotated"] = str(out)
    report.values = {}          # the cells stay in the worker: nothing downstream of a report needs them
    return report


def validate_files(files: Sequence[Path], ws: Workspace, period: Period | None, *, lang: str = "vi",
                   annotate_dir: Path | None = None, workers: int | None = None,
                   progress: Callable[[int], None] | None = None) -> list[ValidationReport]:
    """One report per file, in the order of ``files``."""
    reports: list[ValidationReport | None] = [None] * len(files)
    sweep(annotate_dir)

    def put(job, report) -> None:
        reports[job[1]] = report
        if progress:
            progress(1)

    map_files([(str(f), i) for i, f in enumerate(files)], _one, initializer=_init,
              initargs=(ValidationContext(ws, period, lang=lang), annotate_dir), workers=workers, on_result=put,
              on_failure=lambda job, failure: put(job, failure.report(job[0])))
    return reports  # type: ignore[return-value]
