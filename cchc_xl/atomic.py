"""Files written whole or not at all, and the debris of a writer killed mid-write swept away.

Every output (roll-up, tidy export, annotated copy, generated workbook, saved attachment) is written
to a temporary file beside its target and renamed over it (``os.replace`` is atomic on one file
system), so a reader never sees half a file and the previous version stays until the new one is
complete. A process killed with ``SIGKILL`` cannot remove its temporary file; the name carries the
writer's process id, so the next run removes the ones whose writer is gone (:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

DEBRIS_PREFIX = ".~cchc-"
_DEBRIS = re.compile(re.escape(DEBRIS_PREFIX) + r"(\d+)-")


def temp_for(target: Path) -> Path:
    """The temporary name :func:`replacing` writes ``target`` under (same folder, same suffix)."""
    return target.with_name(f"{DEBRIS_PREFIX}{os.getpid()}-{target.name}")


@contextlib.contextmanager
def replacing(target: Path | str, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` (keeping the mode of the
    file it replaces, or ``mode``), on any failure it is removed and ``target`` is as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_for(target)
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.filename is None and exc.errno:      # say which file could not be written
                raise OSError(exc.errno, exc.strerror, str(target)) from exc
            raise
        if mode is None:
            with contextlib.suppress(OSError):
                mode = target.stat().st_mode & 0o777
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def replacing_all(*targets: Path | str) -> Iterator[list[Path]]:
    """:func:`replacing` for several files that belong together (a roll-up and its export): each
    is replaced only when all were written, so a failure leaves every one of them as it was."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(replacing(t)) for t in targets]


def check_writable(directory: Path | str, size: int = 1 << 16) -> None:
    """Raise the ``OSError`` (a full disk, a read-only folder) that keeps ``size`` bytes from being
    written in ``directory``: SQLite reports such a failure only as "disk I/O error"."""
    probe = temp_for(Path(directory) / "probe")
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(directory)) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(*directories: Path | str | None) -> list[Path]:
    """Remove the temporary files of writers that are no longer running; the removed paths."""
    removed = []
    for d in directories:
        if d is None:
            continue
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            m = _DEBRIS.match(e.name)
            if m and not _alive(int(m.group(1))) and e.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
                    removed.append(Path(e.path))
    return removed
