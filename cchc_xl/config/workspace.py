"""A secretariat's workspace: its editable copy of the configuration, secret key and folders."""

from __future__ import annotations

import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..yamlfile import ConfigError, dump_yaml, load_model
from .defaults import CACHE_DIR, WORKSPACE_FILE
from .province import DEFAULT_EMBEDDED, Province, load_province

# The embedded default province is public: so is its key. Files it authenticates prove nothing.
PUBLIC_SECRET = "cchc-xl-public-demo-key-not-secret"
PUBLIC_PASSWORD = "cchc"


class PublicKeyWarning(UserWarning):
    pass


class WorkspaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    province: str
    secret: str = Field(min_length=16)
    sheet_password: str = Field(min_length=1)
    config: str = "config"
    inbox: str = "inbox"
    generated: str = "generated"
    rollup: str = "rollup"


@dataclass
class Workspace:
    root: Path | None
    province: Province
    secret: bytes
    sheet_password: str
    embedded: bool = False
    settings: WorkspaceFile | None = None

    def path(self, name: str) -> Path:
        base = self.root if self.root else Path.cwd()
        sub = getattr(self.settings, name, name) if self.settings else name
        return base / sub

    @property
    def inbox(self) -> Path:
        return self.path("inbox")

    @property
    def generated(self) -> Path:
        if self.root is None:
            return Path("generated")
        return self.path("generated")

    @property
    def rollup(self) -> Path:
        return self.path("rollup")


def init_workspace(root: Path, province: str) -> Workspace:
    """A new workspace for ``province``: any province of the official list as it is today (slug,
    name or code) or a seed configuration by name; its configuration is copied into ``config/``."""
    root = Path(root)
    if (root / WORKSPACE_FILE).exists():
        raise ConfigError(root, [f" đã là một thư mục làm việc ({WORKSPACE_FILE} đã có)"])
    prov = load_province(province)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "config"
    cfg.mkdir(exist_ok=True)
    for name, text in prov.texts.items():
        (cfg / name).write_text(text, encoding="utf-8")
    settings = WorkspaceFile(province=prov.id, secret=secrets.token_hex(32),
                             sheet_password=secrets.token_urlsafe(9))
    header = ("# Cấu hình thư mục làm việc cchc_xl. Giữ bí mật khóa 'secret' (dùng để xác thực tệp).\n"
              "# cchc_xl workspace settings. Keep 'secret' private: it authenticates generated files.\n")
    # the key authenticates every file the province issues: readable by its owner only, from creation
    fd = os.open(root / WORKSPACE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(header + dump_yaml(settings.model_dump()))
    for d in ("inbox", "generated", "rollup"):
        (root / d).mkdir(exist_ok=True)
    return load_workspace(root)


def is_workspace(path: Path) -> bool:
    return (Path(path) / WORKSPACE_FILE).is_file()


def load_workspace(root: Path | None = None, province: str | None = None) -> Workspace:
    """The workspace at ``root`` (or the current directory when it is one); otherwise the
    embedded default province, whose public key is announced with a warning."""
    if root is None and is_workspace(Path.cwd()):
        root = Path.cwd()
    if root is not None:
        root = Path(root)
        if not is_workspace(root):
            raise ConfigError(root, [f" không phải thư mục làm việc cchc_xl (thiếu {WORKSPACE_FILE}); "
                                     "tạo bằng 'cchc_xl init'"])
        settings = load_model(root / WORKSPACE_FILE, WorkspaceFile)
        prov = load_province(root / settings.config, cache_dir=root / CACHE_DIR / "config")
        if province and province != prov.id:
            raise ConfigError(root, [f" thư mục làm việc thuộc tỉnh {prov.id}, không phải {province}"])
        return Workspace(root, prov, settings.secret.encode(), settings.sheet_password, False, settings)
    prov = load_province(province or DEFAULT_EMBEDDED)
    warnings.warn(
        f"Đang dùng cấu hình mặc định nhúng sẵn của {prov.info.name}: khóa xác thực là công khai, "
        "chỉ dùng để thử. Tạo thư mục làm việc riêng bằng 'cchc_xl init'.", PublicKeyWarning, stacklevel=2)
    return Workspace(None, prov, PUBLIC_SECRET.encode(), PUBLIC_PASSWORD, True)
