"""Put ``cchc_xl.xlam`` where Excel loads it at start-up (XLSTART), and take it away again.

The same place ``xlwings addin install`` uses: ``%APPDATA%\\Microsoft\\Excel\\XLSTART``. Installing also
writes, once, the xlwings user config of the add-in (``%USERPROFILE%\\.cchc_xl\\cchc_xl.conf``) naming
the Python that has cchc_xl installed, so that RunPython finds it; an existing file is left as it is.
Pure file operations (no printing), so they are tested on any platform with temporary folders.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import replacing
from .build import ADDIN_FILE

XLSTART_HINT = r"%APPDATA%\Microsoft\Excel\XLSTART"


def is_windows() -> bool:
    return sys.platform == "win32"


def xlstart_dir(environ: dict | None = None) -> Path | None:
    """Excel's per-user start-up folder; None when APPDATA is not set (not Windows)."""
    appdata = (environ if environ is not None else os.environ).get("APPDATA")
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART" if appdata else None


def config_path(project_name: str, home: Path | None = None) -> Path:
    """The xlwings user config file read by the add-in's VBA (GetConfigFilePath)."""
    return (home or Path.home()) / f".{project_name}" / f"{project_name}.conf"


def config_text(interpreter: str) -> str:
    # VBA reads it with `Input #f, name, value`: one quoted pair per line.
    return f'"INTERPRETER_WIN","{interpreter}"\r\n'


@dataclass
class InstallResult:
    addin: str                    # the copy Excel loads
    source: str                   # the built file
    config: str | None = None     # the config file (written now or already there)
    config_written: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def install_addin(xlam: Path, xlstart: Path, config: Path | None = None,
                  interpreter: str | None = None) -> InstallResult:
    xlstart.mkdir(parents=True, exist_ok=True)
    target = xlstart / ADDIN_FILE
    with replacing(target) as tmp:         # PermissionError while Excel has the add-in open
        shutil.copyfile(xlam, tmp)
    res = InstallResult(str(target), str(xlam))
    if config is not None:
        res.config = str(config)
        if not config.exists():
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(config_text(interpreter or sys.executable), encoding="cp1252", errors="replace",
                              newline="")
            res.config_written = True
        else:
            res.notes.append(f"Giữ nguyên tệp cấu hình đã có: {config}")
    return res


def uninstall_addin(xlstart: Path) -> str | None:
    """Remove the add-in from XLSTART; its path, or None when it was not there."""
    target = xlstart / ADDIN_FILE
    if not target.exists():
        return None
    target.unlink()
    return str(target)
