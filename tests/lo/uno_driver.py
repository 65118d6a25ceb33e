#!/usr/bin/python3
"""Drive a real LibreOffice Calc over UNO to script a person's edits.

Run with the system interpreter (the only one where ``uno`` imports)::

    /usr/bin/python3 tests/lo/uno_driver.py JOBFILE.json

Job file::

    {"jobs": [{"src": "/abs/in.xlsx", "dst": "/abs/out.xls", "filter": "xls",
               "ops": [{"op": "set", "sheet": "01-S", "cell": "C7", "value": 12}, ...]}]}

Ops, applied in order:

* ``set``          sheet, cell and exactly one of ``value`` (number, setValue),
                   ``string`` (setString) or ``formula`` (setFormula)
* ``clear``        sheet, cell (a cell or a range such as "C7:D9"): clears
                   values, text and formulas, keeps formatting (the Delete key)
* ``insert_rows``  sheet, row (1-based row before which to insert), count
* ``delete_rows``  sheet, row (1-based first row to delete), count
* ``rename_sheet`` sheet, name
* ``protect``      sheet, password (optional, default "")
* ``unprotect``    sheet, password (optional, default "")
* ``read``         sheet, cells: records computed values (after calculateAll)
                   under "SHEET!CELL": number -> float, text -> str,
                   empty -> null; a formula error is read as its display
                   text (e.g. "#DIV/0!", "Err:502").

After the ops the document is recalculated (``calculateAll``) and, when
``dst`` is given, stored with the filter named by ``filter`` (xlsx, xls or
ods; default: the suffix of ``dst``).  A job may carry ``"timeout"`` (seconds,
default 120): when exceeded, the office is killed and restarted for the next
job.

One LibreOffice listener (fresh profile directory, unique pipe name) serves
all jobs; it is always shut down and killed at the end.  The result goes to
stdout as JSON::

    {"results": [{"ok": true, "error": null, "reads": {"01-S!C7": 12.0},
                  "seconds": 0.41}], "startup_seconds": 2.4}

A failing op fails its job (``ok`` false, ``error`` names the op) and the
remaining ops of that job are skipped; the other jobs still run.  Exit code 0
means the JSON is complete; exit code 2 means the office could not be started
(message on stderr).

This module imports ``uno`` lazily so that the profile helpers below can be
imported by the pytest side under any interpreter.
"""

# The driver must turn any failure into a job result or a clean shutdown, so it
# deliberately catches broad exceptions (pyuno raises UNO and Python errors alike).
# ruff: noqa: BLE001, S110

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

# Filter names used by storeToURL / --convert-to.
FILTERS = {
    "xlsx": "Calc MS Excel 2007 XML",
    "xls": "MS Excel 97",
    "ods": "calc8",
}

# Forces recalculation of every formula when a document is loaded
# (0 = always recalculate, 1 = never (default), 2 = ask).
RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

# Disables document locking (no .~lock.NAME# files, existing ones ignored): a
# killed office cannot leave a lock that makes later loads fail, and parallel
# tests may open the same input file.
NO_LOCKING_XCU_ITEM = """<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
"""

CONNECT_TIMEOUT = 30.0
DEFAULT_JOB_TIMEOUT = 120.0
# Environment variable naming a file to which the driver appends a line
# "PGID<TAB>PROFILE_DIR<TAB>PIPE_NAME" for every soffice it starts, so that a
# supervisor can clean up if the driver itself gets killed.
PGID_FILE_ENV = "CCHC_LO_PGID_FILE"


def find_soffice() -> str | None:
    """Path of the soffice launcher, or None."""
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def make_profile(recalc: bool = True, prefix: str = "cchc_lo_profile_") -> Path:
    """Create a fresh LibreOffice user profile directory with document locking off.

    With ``recalc`` the profile also forces recalculation on load of xlsx and
    ods; without it, the default (never recalculate) stays.  The caller
    removes the directory (shutil.rmtree) when done.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    user = root / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = RECALC_XCU
    if not recalc:
        # Keep the header and footer only.
        head, _, _ = RECALC_XCU.partition("<item ")
        xcu = head + "</oor:items>\n"
    xcu = xcu.replace("</oor:items>", NO_LOCKING_XCU_ITEM + "</oor:items>")
    (user / "registrymodifications.xcu").write_text(xcu, encoding="utf-8")
    return root


def office_env(profile: Path) -> dict[str, str]:
    """Environment for an soffice using ``profile``: its temp files go inside it.

    A killed office cannot clean up its ``luXXXX.tmp`` directory; keeping it in
    the profile lets rmtree remove it.  (Pipe sockets always live in /tmp.)
    """
    tmp = Path(profile) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)
    env.pop(PGID_FILE_ENV, None)
    return env


def profile_url(profile: Path) -> str:
    """The -env:UserInstallation value for a profile directory."""
    return Path(profile).resolve().as_uri()


def remove_stale_pipes(profile: Path, pipe: str = "") -> None:
    """Remove the pipe sockets a killed office leaves in the temp directory.

    Call only after the office using ``profile`` is dead.  Besides the
    ``--accept`` pipe, every office creates ``SingleOfficeIPC_<md5>``, where
    md5 is taken over the UTF-16 user-installation URL and printed as hex
    without zero padding (desktop/source/app/officeipcthread.cxx).
    """
    digest = hashlib.md5(profile_url(profile).encode("utf-16-le")).digest()
    names = ["SingleOfficeIPC_" + "".join(format(b, "x") for b in digest)]
    if pipe:
        names.append(pipe)
    folders = {tempfile.gettempdir(), os.environ.get("TMPDIR") or "/tmp", "/tmp"}
    for folder in folders:
        for name in names:
            for leftover in Path(folder).glob(f"OSL_PIPE_*_{name}"):
                try:
                    leftover.unlink()
                except OSError:
                    pass


def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Terminate a process started with start_new_session=True and its group."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The launcher is gone; make sure no soffice.bin survived in the group.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


class Terminated(BaseException):
    """Raised when a termination signal arrived, so that `finally` blocks run."""


# Set when SIGTERM/SIGHUP/SIGINT arrived; checked between jobs.
_STOP = threading.Event()
_STOP_SIGNAL = [0]
# The office currently running, for the signal watcher thread.
_CURRENT: Office | None = None


def _on_signal(signum, _frame):
    # Do not raise here: pyuno may swallow an exception raised inside a UNO
    # call.  The main loop checks _STOP between jobs instead.
    _STOP_SIGNAL[0] = signum
    _STOP.set()


def check_stop() -> None:
    if _STOP.is_set():
        raise Terminated(f"terminated by signal {_STOP_SIGNAL[0] or '?'}")


def _install_signal_handlers() -> None:
    """SIGTERM/SIGHUP/SIGINT: kill the office at once, then stop between jobs.

    A Python signal handler only runs when the main thread returns to the
    interpreter, which a UNO call blocked in soffice never does.  The C-level
    handler writes to a wakeup fd, though: a watcher thread reading it kills
    the office, which makes the blocked call fail; the main loop then sees
    the stop flag and shuts down.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def watch():
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return
            received = set(data) & {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
            if not received:
                continue
            _STOP_SIGNAL[0] = min(received)
            _STOP.set()
            office = _CURRENT
            if office is not None and office.proc is not None:
                try:
                    os.killpg(office.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    threading.Thread(target=watch, name="signal-watcher", daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _on_signal)


class Office:
    """One soffice listener with its own profile and pipe."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.profile: Path | None = None
        self.log = None
        self.desktop = None
        self.pipe = ""
        self.startup_seconds = 0.0

    # -- lifecycle -----------------------------------------------------
    def start(self) -> None:
        import uno  # system interpreter only
        from com.sun.star.connection import NoConnectException

        soffice = find_soffice()
        if soffice is None:
            raise RuntimeError("soffice not found on PATH")
        t0 = time.monotonic()
        self.profile = make_profile(recalc=True, prefix="cchc_lo_uno_")
        self.pipe = f"cchc_lo_{os.getpid()}_{uuid.uuid4().hex}"
        self.log = open(self.profile / "soffice.log", "w+b")  # noqa: SIM115 (closed in stop)
        cmd = [
            soffice,
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile_url(self.profile)}",
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=office_env(self.profile),
            start_new_session=True,
        )
        # Let a supervising process kill this group if the driver itself is
        # killed (the pytest side sets this variable).
        pgid_file = os.environ.get(PGID_FILE_ENV)
        if pgid_file:
            with open(pgid_file, "a", encoding="ascii") as fh:
                fh.write(f"{self.proc.pid}\t{self.profile}\t{self.pipe}\n")
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                check_stop()
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"soffice exited with code {self.proc.returncode} before "
                        f"accepting connections; log:\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"could not connect to soffice within {CONNECT_TIMEOUT:.0f} s; "
                        f"log:\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        self.startup_seconds = time.monotonic() - t0

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None or self.desktop is None:
            return False
        try:
            self.desktop.getComponents()
            return True
        except Exception:
            return False

    def kill(self) -> None:
        """Kill the office process group (also usable from a watchdog thread)."""
        if self.proc is not None:
            kill_group(self.proc, grace=0.5)

    def stop(self) -> None:
        """Terminate the desktop, kill the process group, remove the profile."""
        terminated = False
        try:
            if self.desktop is not None and self.proc is not None and self.proc.poll() is None:
                try:
                    self.desktop.terminate()
                    terminated = True
                except Exception:
                    # The bridge usually drops while terminating: expected.
                    terminated = True
        finally:
            self.desktop = None
            if self.proc is not None:
                if terminated:
                    try:
                        self.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
                kill_group(self.proc, grace=2)
                self.proc = None
            if self.log is not None:
                self.log.close()
                self.log = None
            if self.profile is not None:
                remove_stale_pipes(self.profile, self.pipe)
                shutil.rmtree(self.profile, ignore_errors=True)
                self.profile = None
                self.pipe = ""

    def log_tail(self, limit: int = 4000) -> str:
        if self.log is None:
            return ""
        try:
            self.log.flush()
            self.log.seek(0)
            data = self.log.read()
            self.log.seek(0, os.SEEK_END)
        except Exception:
            return ""
        return data[-limit:].decode("utf-8", "replace")


# -- job execution ------------------------------------------------------


class OpError(Exception):
    pass


def _props(**kwargs):
    from com.sun.star.beans import PropertyValue

    out = []
    for key, value in kwargs.items():
        prop = PropertyValue()
        prop.Name = key
        prop.Value = value
        out.append(prop)
    return tuple(out)


def _sheet(doc, name):
    if not isinstance(name, str):
        raise OpError(f"'sheet' must be a string, got {name!r}")
    sheets = doc.getSheets()
    if not sheets.hasByName(name):
        raise OpError(f"no sheet named {name!r}; sheets: {list(sheets.getElementNames())}")
    return sheets.getByName(name)


def _cell(sheet, ref):
    if not isinstance(ref, str):
        raise OpError(f"'cell' must be a string, got {ref!r}")
    try:
        return sheet.getCellRangeByName(ref)
    except Exception as exc:  # IllegalArgumentException / RuntimeException
        raise OpError(f"bad cell reference {ref!r}: {exc}") from None


def _row_args(op):
    row, count = op.get("row"), op.get("count", 1)
    if not isinstance(row, int) or isinstance(row, bool) or row < 1:
        raise OpError(f"'row' must be a 1-based integer, got {row!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise OpError(f"'count' must be a positive integer, got {count!r}")
    return row, count


def _end_of_used_area(sheet) -> int:
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    return cursor.getRangeAddress().EndRow


def _read_cell(cell):
    from com.sun.star.table.CellContentType import EMPTY, FORMULA, TEXT, VALUE

    kind = cell.getType()
    if kind == EMPTY:
        return None
    if kind == VALUE:
        return float(cell.getValue())
    if kind == TEXT:
        return cell.getString()
    if kind == FORMULA:
        # com.sun.star.sheet.FormulaResult: VALUE=1, STRING=2, ERROR=4
        result = cell.FormulaResultType2
        if result == 1:
            return float(cell.getValue())
        return cell.getString()
    return cell.getString()


def _apply(doc, op):
    if not isinstance(op, dict) or "op" not in op:
        raise OpError(f"an op must be an object with an 'op' key, got {op!r}")
    kind = op["op"]
    if kind == "set":
        cell = _cell(_sheet(doc, op.get("sheet")), op.get("cell"))
        given = [k for k in ("value", "string", "formula") if k in op]
        if len(given) != 1:
            raise OpError("'set' needs exactly one of 'value', 'string', 'formula'")
        key = given[0]
        val = op[key]
        if key == "value":
            if not isinstance(val, (int, float)) or isinstance(val, bool):
                raise OpError(f"'value' must be a number, got {val!r}")
            cell.setValue(float(val))
        elif key == "string":
            if not isinstance(val, str):
                raise OpError(f"'string' must be a string, got {val!r}")
            cell.setString(val)
        else:
            if not isinstance(val, str):
                raise OpError(f"'formula' must be a string, got {val!r}")
            cell.setFormula(val)
    elif kind == "clear":
        from com.sun.star.sheet.CellFlags import DATETIME, FORMULA, STRING, VALUE

        cell = _cell(_sheet(doc, op.get("sheet")), op.get("cell"))
        cell.clearContents(VALUE | DATETIME | STRING | FORMULA)
    elif kind in ("insert_rows", "delete_rows"):
        sheet = _sheet(doc, op.get("sheet"))
        row, count = _row_args(op)
        rows = sheet.getRows()
        before = _end_of_used_area(sheet)
        try:
            if kind == "insert_rows":
                rows.insertByIndex(row - 1, count)
            else:
                rows.removeByIndex(row - 1, count)
        except Exception as exc:
            # Calc 7.4 refuses both on a protected sheet with a bare
            # RuntimeException; say why.
            why = "sheet is protected" if sheet.isProtected() else _describe(exc)
            raise OpError(f"{kind} refused on sheet {op['sheet']!r}: {why} ({_describe(exc)})") from None
        if kind == "insert_rows" and row - 1 <= before:
            # Guard against a silent no-op: the used area must have grown.
            after = _end_of_used_area(sheet)
            if after != before + count:
                raise OpError(
                    f"insert_rows had no effect: used area ends at row {after + 1}, "
                    f"expected {before + count + 1}"
                )
    elif kind == "rename_sheet":
        sheet = _sheet(doc, op.get("sheet"))
        name = op.get("name")
        if not isinstance(name, str) or not name:
            raise OpError(f"'name' must be a non-empty string, got {name!r}")
        if doc.getSheets().hasByName(name) and name != op["sheet"]:
            raise OpError(f"a sheet named {name!r} already exists")
        sheet.setName(name)
        if sheet.getName() != name:
            raise OpError(f"rename to {name!r} was refused (invalid name?)")
    elif kind == "protect":
        _sheet(doc, op.get("sheet")).protect(str(op.get("password", "")))
    elif kind == "unprotect":
        sheet = _sheet(doc, op.get("sheet"))
        try:
            sheet.unprotect(str(op.get("password", "")))
        except Exception as exc:
            raise OpError(f"unprotect failed (wrong password?): {exc}") from None
        if sheet.isProtected():
            raise OpError("unprotect failed: sheet is still protected")
    elif kind == "read":
        raise AssertionError("handled by run_job")
    else:
        raise OpError(f"unknown op {kind!r}")


def _url(path):
    import uno

    return uno.systemPathToFileUrl(str(Path(path).resolve()))


def run_job(office: Office, job) -> dict:
    result = {"ok": False, "error": None, "reads": {}, "seconds": 0.0}
    t0 = time.monotonic()
    doc = None
    timer = None
    timed_out = threading.Event()
    try:
        if not isinstance(job, dict):
            raise OpError(f"a job must be an object, got {job!r}")
        src = job.get("src")
        if not isinstance(src, str) or not os.path.isfile(src):
            raise OpError(f"source file not found: {src!r}")
        dst = job.get("dst")
        filt = None
        if dst is not None:
            fmt = job.get("filter") or Path(dst).suffix.lstrip(".").lower()
            if fmt not in FILTERS:
                raise OpError(f"unknown filter {fmt!r}; use one of {sorted(FILTERS)}")
            filt = FILTERS[fmt]
        ops = job.get("ops", [])
        if not isinstance(ops, list):
            raise OpError("'ops' must be a list")

        timeout = float(job.get("timeout", DEFAULT_JOB_TIMEOUT))

        def on_timeout():
            timed_out.set()
            office.kill()

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()

        doc = office.desktop.loadComponentFromURL(_url(src), "_blank", 0, _props(Hidden=True, ReadOnly=False))
        if doc is None or not hasattr(doc, "getSheets"):
            raise OpError(f"LibreOffice could not load {src!r} as a spreadsheet")

        for index, op in enumerate(ops):
            try:
                if isinstance(op, dict) and op.get("op") == "read":
                    doc.calculateAll()
                    sheet_name = op.get("sheet")
                    sheet = _sheet(doc, sheet_name)
                    cells = op.get("cells")
                    if isinstance(cells, str):
                        cells = [cells]
                    if not isinstance(cells, list):
                        raise OpError("'cells' must be a list of cell references")
                    for ref in cells:
                        result["reads"][f"{sheet_name}!{ref}"] = _read_cell(_cell(sheet, ref))
                else:
                    _apply(doc, op)
            except Exception as exc:
                name = op.get("op") if isinstance(op, dict) else op
                raise OpError(f"op #{index} ({name}): {_describe(exc)}") from None

        doc.calculateAll()
        if dst is not None:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            doc.storeToURL(_url(dst), _props(FilterName=filt, Overwrite=True))
            if not os.path.isfile(dst):
                raise OpError(f"storeToURL reported success but {dst!r} does not exist")
        result["ok"] = True
    except Exception as exc:
        if timed_out.is_set():
            result["error"] = f"job timed out after {timeout:g} s; office killed"
        else:
            result["error"] = _describe(exc)
    finally:
        if doc is not None:
            try:
                doc.close(True)
            except Exception:
                try:
                    doc.dispose()
                except Exception:
                    pass
        if timer is not None:
            timer.cancel()
        result["seconds"] = round(time.monotonic() - t0, 3)
    return result


def _describe(exc) -> str:
    if isinstance(exc, OpError):
        return str(exc)
    msg = getattr(exc, "Message", None) or str(exc)
    return f"{type(exc).__name__}: {msg}".strip()


def main(argv) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} JOBFILE.json", file=sys.stderr)
        return 64
    with open(argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    jobs = spec.get("jobs") if isinstance(spec, dict) else None
    if not isinstance(jobs, list):
        print("job file must be an object with a 'jobs' list", file=sys.stderr)
        return 64

    global _CURRENT
    _install_signal_handlers()

    office = _CURRENT = Office()
    results = []
    startup = []
    try:
        try:
            office.start()
        except Exception as exc:
            check_stop()
            print(f"cannot start LibreOffice: {_describe(exc)}", file=sys.stderr)
            return 2
        startup.append(round(office.startup_seconds, 3))
        for index, job in enumerate(jobs):
            check_stop()
            if index and not office.alive():
                # A previous job crashed or hung the office: start a new one.
                office.stop()
                office = _CURRENT = Office()
                try:
                    office.start()
                    startup.append(round(office.startup_seconds, 3))
                except Exception as exc:
                    results.extend(
                        {
                            "ok": False,
                            "error": f"cannot restart LibreOffice: {_describe(exc)}",
                            "reads": {},
                            "seconds": 0.0,
                        }
                        for _ in jobs[index:]
                    )
                    break
            try:
                results.append(run_job(office, job))
            except Exception as exc:  # defensive: run_job catches Exception itself
                results.append({"ok": False, "error": _describe(exc), "reads": {}, "seconds": 0.0})
        check_stop()
    except Terminated as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        office.stop()

    json.dump(
        {
            "results": results,
            "startup_seconds": startup[0] if startup else None,
            "restarts": max(len(startup) - 1, 0),
        },
        sys.stdout,
    )  # ASCII-only JSON: independent of the locale's encoding
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
