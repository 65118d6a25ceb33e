"""YAML files loaded into pydantic models with errors that name file, line and key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import CchcError

M = TypeVar("M", bound=BaseModel)


class ConfigError(CchcError):
    """A declarative file that cannot be used; the message names file, line and key."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}:{p}" for p in problems))


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path of a composed YAML document to its 1-based line."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_map(item, path + (i,), out)
    return out


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml: ~10x faster than pure Python


class LineMap(Mapping):
    """Key path -> 1-based line of a YAML text, composed only when a message needs a line (the
    data itself is parsed once, by libyaml: composing every file too doubled the load time)."""

    def __init__(self, text: str):
        self._text = text
        self._lines: dict[tuple, int] | None = None

    def _map(self) -> dict[tuple, int]:
        if self._lines is None:
            node = yaml.compose(self._text, Loader=_Loader)
            self._lines = _line_map(node) if node is not None else {}
        return self._lines

    def __getitem__(self, key: tuple) -> int:
        return self._map()[key]

    def __iter__(self):
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


def read_yaml(path: Path) -> tuple[Any, LineMap]:
    return parse_yaml(Path(path).read_text(encoding="utf-8"), path)


def parse_yaml(text: str, path: Path | str) -> tuple[Any, LineMap]:
    """YAML text (``path`` names it in messages) and the line of each of its keys."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise ConfigError(path, [f"{line}: lỗi cú pháp YAML: {getattr(exc, 'problem', exc)}"]) from None
    return data, LineMap(text)


# -- a cache of parsed YAML, keyed on the text ------------------------------------------------------
#
# libyaml parses, but PyYAML builds the Python objects in Python: 0.3 s for a registry of 3,000
# units, on every command. The cache keeps what ``yaml.load`` returned as JSON, beside a digest of
# the YAML text it came from and one of itself. It is used only when the text's digest is the one
# recorded (an edited file is parsed again, whatever its modification time) and the JSON's own
# digest holds (a damaged cache is parsed again and rewritten); the data then goes through the same
# pydantic validation as freshly parsed YAML. Data that JSON cannot carry exactly (keys that are not
# text, binary, sets) is never cached. Dates and timestamps are tagged.

CACHE_FORMAT = "1"
_TAG = "\0"          # a tagged value: {"\0date": "2025-07-01"}; no cached key starts with it


class _NotCacheable(Exception):
    pass


def _encode(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):       # JSON has no such numbers
            raise _NotCacheable
        return v
    if isinstance(v, dt.datetime):
        return {_TAG + "datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {_TAG + "date": v.isoformat()}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) and not k.startswith(_TAG) for k in v):
            raise _NotCacheable
        return {k: _encode(x) for k, x in v.items()}
    raise _NotCacheable


def _decode(d: dict) -> Any:
    if len(d) == 1:
        (k, v), = d.items()
        if k == _TAG + "date":
            return dt.date.fromisoformat(v)
        if k == _TAG + "datetime":
            return dt.datetime.fromisoformat(v)
    return d


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _cached(cache: Path, digest: str) -> tuple[bool, Any]:
    try:
        raw = cache.read_bytes()
        head, _, body = raw.partition(b"\n")
        meta = json.loads(head)
        if not (isinstance(meta, dict) and meta.get("format") == CACHE_FORMAT and meta.get("source") == digest
                and meta.get("body") == hashlib.sha256(body).hexdigest()):
            return False, None
        return True, json.loads(body, object_hook=_decode)
    except (OSError, ValueError, TypeError):
        return False, None


def _store(cache: Path, digest: str, data: Any) -> None:
    from .atomic import replacing

    try:
        body = json.dumps(_encode(data), ensure_ascii=False, separators=(",", ":")).encode()
    except (_NotCacheable, RecursionError, ValueError):     # ValueError: text that is not UTF-8
        return
    head = json.dumps({"format": CACHE_FORMAT, "source": digest, "body": hashlib.sha256(body).hexdigest()})
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with replacing(cache) as tmp:
            Path(tmp).write_bytes(head.encode() + b"\n" + body)
    except OSError:
        pass        # a cache that cannot be written costs a parse next time, nothing else


def parse_yaml_cached(text: str, path: Path | str, cache: Path | None) -> tuple[Any, LineMap]:
    """:func:`parse_yaml`, through the cache file ``cache`` when one is given (see above)."""
    if cache is None:
        return parse_yaml(text, path)
    digest = text_digest(text)
    hit, data = _cached(cache, digest)
    if hit:
        return data, LineMap(text)
    data, lines = parse_yaml(text, path)
    _store(cache, digest, data)
    return data, lines


def _line_for(lines: Mapping[tuple, int], loc: tuple) -> int:
    loc = tuple(loc)
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


# pydantic's error types, as the person editing the file reads them
_MESSAGES = {
    "missing": "thiếu khoá bắt buộc",
    "string_type": "phải là chữ (văn bản)",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_type": "phải là số",
    "float_parsing": "phải là số",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "list_type": "phải là một danh sách (mỗi mục một dòng bắt đầu bằng '- ')",
    "tuple_type": "phải là một danh sách",
    "dict_type": "phải là một bảng 'khoá: giá trị'",
    "model_type": "phải là một bảng 'khoá: giá trị'",
    "model_attributes_type": "phải là một bảng 'khoá: giá trị'",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "too_short": "có quá ít mục",
    "too_long": "có quá nhiều mục",
    "string_too_short": "không được để trống",
}


def validation_messages(exc: ValidationError, lines: Mapping[tuple, int]) -> list[str]:
    """One line per error: line, key path and a Vietnamese reason (pydantic's English text, for
    the rare error types not translated, follows a Vietnamese lead)."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"])
        key = ".".join(str(p) for p in loc) or "(đầu tệp)"
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind == "extra_forbidden":
            msg = f"khoá không được phép {loc[-1]!r} (gõ sai tên khoá?)"
        elif kind in ("literal_error", "enum"):
            msg = f"phải là một trong: {str(ctx.get('expected', '')).replace(' or ', ' hoặc ')}"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
            msg = f"phải {sign} {next(iter(ctx.values()), '')}"
        elif kind == "string_pattern_mismatch":
            msg = f"không đúng mẫu {ctx.get('pattern', '')}"
        elif kind == "value_error":
            msg = f"giá trị không hợp lệ: {ctx.get('error', err['msg'])}"
        else:
            msg = _MESSAGES.get(kind) or f"giá trị không hợp lệ ({err['msg']})"
        out.append(f"{_line_for(lines, loc)}: {key}: {msg}")
    return out


def load_model(path: Path, model: type[M], data: Any = None, lines: Mapping | None = None) -> M:
    if data is None:
        data, lines = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, validation_messages(exc, lines or {})) from None


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
