"""Helpers for tests in which a real LibreOffice Calc opens our workbooks.

* ``have_libreoffice()`` / ``require_libreoffice()``: detect soffice and the
  ``uno`` module of the system interpreter; skip (or fail when CI=true).
* ``convert(paths, fmt, outdir, recalc=True)``: one batch
  ``soffice --convert-to`` call with a fresh profile; with ``recalc`` every
  formula is recalculated on load, so the outputs carry fresh cached values.
* ``run_jobs(jobs)``: script edits over UNO with ``tests/lo/uno_driver.py``
  (see its docstring for the job and op format), run under /usr/bin/python3
  because ``uno`` imports only there.

Every soffice process gets its own profile directory and pipe name, so tests
using these helpers can run in parallel.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .lo.uno_driver import (
    PGID_FILE_ENV,
    find_soffice,
    kill_group,
    make_profile,
    office_env,
    profile_url,
    remove_stale_pipes,
)

__all__ = [
    "DRIVER",
    "SYSTEM_PYTHON",
    "LibreOfficeError",
    "convert",
    "have_libreoffice",
    "require_libreoffice",
    "run_jobs",
    "soffice_path",
]

# The interpreter that can `import uno` (python3-uno is built for it only).
SYSTEM_PYTHON = os.environ.get("CCHC_LO_PYTHON", "/usr/bin/python3")
DRIVER = Path(__file__).resolve().parent / "lo" / "uno_driver.py"


class LibreOfficeError(RuntimeError):
    """LibreOffice or the UNO driver failed (not a failed job: see ok/error)."""


def soffice_path() -> str | None:
    """Absolute path of the soffice launcher on PATH, or None."""
    return find_soffice()


def _system_python_env() -> dict[str, str]:
    # Keep a virtualenv / pyenv configuration away from the system interpreter.
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE"):
        env.pop(key, None)
    return env


@functools.lru_cache(maxsize=1)
def have_libreoffice() -> bool:
    """soffice is on PATH and the system interpreter can `import uno` (cached)."""
    if soffice_path() is None or not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import uno"],
            check=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            env=_system_python_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def have_writer() -> bool:
    """LibreOffice's Writer module is installed beside soffice (it opens .docx; Calc alone does not)."""
    soffice = soffice_path()
    return soffice is not None and (Path(soffice).resolve().parent / "libswlo.so").is_file()


def require_libreoffice(*, writer: bool = False) -> None:
    """Skip the calling test without LibreOffice (and, with ``writer``, its Writer module); in CI
    (CI=true) fail instead."""
    if have_libreoffice() and (not writer or have_writer()):
        return
    package = "libreoffice-writer-nogui" if have_libreoffice() else "libreoffice-calc-nogui python3-uno"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"LibreOffice is required in CI (apt-get install {package})", pytrace=False)
    pytest.skip(
        "LibreOffice not available (needs soffice on PATH, python3-uno for "
        f"{SYSTEM_PYTHON} and, for documents, Writer: apt-get install {package})"
    )


def _tail(text: str, limit: int = 4000) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _cleanup_after_killed_driver(pgid_file: Path) -> None:
    """Kill every office a killed driver had started and remove its leftovers."""
    try:
        lines = pgid_file.read_text(encoding="ascii").splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split("\t")
        try:
            pgid = int(parts[0])
        except (ValueError, IndexError):
            continue
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                break
        if len(parts) >= 3:
            profile = Path(parts[1])
            remove_stale_pipes(profile, parts[2])
            shutil.rmtree(profile, ignore_errors=True)


def run_jobs(jobs: list[dict], timeout: float = 600) -> list[dict]:
    """Run UNO jobs in one LibreOffice session; one result dict per job.

    Each result is ``{"ok": bool, "error": str | None, "reads": {...},
    "seconds": float}``.  A failing job is reported there; a crash of the
    driver itself (or a timeout) raises LibreOfficeError with its stderr.
    Path objects in the jobs are accepted and converted to strings.
    """
    if not jobs:
        return []
    if not have_libreoffice():
        raise LibreOfficeError("LibreOffice is not available (see require_libreoffice)")
    with tempfile.TemporaryDirectory(prefix="cchc_lo_jobs_") as tmp:
        jobfile = Path(tmp) / "jobs.json"
        pgid_file = Path(tmp) / "offices.tsv"
        jobfile.write_text(
            json.dumps({"jobs": jobs}, ensure_ascii=False, default=os.fspath),
            encoding="utf-8",
        )
        env = _system_python_env()
        env[PGID_FILE_ENV] = str(pgid_file)
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(DRIVER), str(jobfile)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the driver shut its office down; then force it.
            kill_group(proc, grace=10)
            out, err = proc.communicate()
            _cleanup_after_killed_driver(pgid_file)
            raise LibreOfficeError(
                f"UNO driver timed out after {timeout} s; stderr:\n{_tail(err.decode('utf-8', 'replace'))}"
            ) from None
        except BaseException:
            kill_group(proc, grace=10)
            proc.communicate()
            _cleanup_after_killed_driver(pgid_file)
            raise
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise LibreOfficeError(
            f"UNO driver failed with exit code {proc.returncode}; stderr:\n{_tail(stderr)}"
            + (f"\nstdout:\n{_tail(stdout)}" if stdout.strip() else "")
        )
    try:
        payload = json.loads(stdout)
        results = payload["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LibreOfficeError(
            f"UNO driver printed no valid result ({exc}); stdout:\n{_tail(stdout)}\nstderr:\n{_tail(stderr)}"
        ) from None
    if len(results) != len(jobs):
        raise LibreOfficeError(
            f"UNO driver returned {len(results)} results for {len(jobs)} jobs; stderr:\n{_tail(stderr)}"
        )
    return results


def convert(
    paths: list[Path],
    fmt: str,
    outdir: Path,
    recalc: bool = True,
    timeout: float = 300,
) -> list[Path]:
    """Convert files with one ``soffice --headless --convert-to`` call.

    ``fmt`` is a target extension ("xlsx", "xls", "ods", "csv", ...) optionally
    followed by ":FilterName" as soffice accepts it.  Outputs are written to
    ``outdir`` under the same stem with the new suffix (existing ones are
    replaced) and returned in input order.  With ``recalc`` the fresh profile
    forces recalculation of every formula on load, so the outputs carry
    freshly computed cached values.
    """
    sources = [Path(p).resolve() for p in paths]
    if not sources:
        return []
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot convert missing files: {missing}")
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError("soffice not found on PATH")
    suffix = fmt.split(":", 1)[0].strip().lstrip(".")
    if not suffix:
        raise ValueError(f"bad target format {fmt!r}")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    outputs = [outdir / f"{p.stem}.{suffix}" for p in sources]
    if len(set(outputs)) != len(outputs):
        raise ValueError(f"several inputs would convert to the same output in {outdir}")
    clash = [str(p) for p in sources if p in outputs]
    if clash:
        raise ValueError(f"conversion would overwrite its own input: {clash}")
    for out in outputs:
        out.unlink(missing_ok=True)

    profile = make_profile(recalc=recalc, prefix="cchc_lo_convert_")
    cmd = [
        soffice,
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nolockcheck",
        f"-env:UserInstallation={profile_url(profile)}",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        *map(str, sources),
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=office_env(profile),
        start_new_session=True,
    )
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, grace=2)
            out, err = proc.communicate()
            raise LibreOfficeError(
                f"soffice --convert-to {fmt} timed out after {timeout} s; output:\n"
                f"{_tail(out.decode('utf-8', 'replace') + err.decode('utf-8', 'replace'))}"
            ) from None
    finally:
        kill_group(proc, grace=2)  # no-op when it already exited
        remove_stale_pipes(profile)
        shutil.rmtree(profile, ignore_errors=True)

    missing_out = [str(o) for o in outputs if not o.is_file() or o.stat().st_size == 0]
    if missing_out or proc.returncode != 0:
        raise LibreOfficeError(
            f"soffice --convert-to {fmt} (exit code {proc.returncode}) did not produce "
            f"{missing_out}; stdout:\n{_tail(out.decode('utf-8', 'replace'))}\n"
            f"stderr:\n{_tail(err.decode('utf-8', 'replace'))}"
        )
    return outputs


if __name__ == "__main__":  # pragma: no cover - manual check
    print(f"soffice: {soffice_path()}, uno via {SYSTEM_PYTHON}: {have_libreoffice()}", file=sys.stderr)
