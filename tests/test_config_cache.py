"""The workspace's cache of parsed configuration (issue 17): keyed on each file's text, never
silently wrong — an edit is read, a damaged cache is ignored and rewritten, the same checks run."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from cchc_xl import yamlfile
from cchc_xl.config.province import load_province
from cchc_xl.config.workspace import CACHE_DIR, load_workspace
from cchc_xl.yamlfile import ConfigError, parse_yaml, parse_yaml_cached

from .helpers import workspace


@pytest.fixture
def parses(monkeypatch):
    """How many YAML texts were parsed (not served from the cache)."""
    calls = []
    real = yamlfile.parse_yaml

    def counting(text, path):
        calls.append(Path(path).name)
        return real(text, path)

    monkeypatch.setattr(yamlfile, "parse_yaml", counting)
    return calls


def _cache(ws) -> Path:
    return ws.root / CACHE_DIR / "config" / "units.yaml.json"


def test_a_second_load_reads_the_cache_and_gets_the_same_province(tmp_path, parses):
    ws = workspace(tmp_path)
    first = load_workspace(ws.root)
    assert _cache(ws).is_file()
    parses.clear()
    again = load_workspace(ws.root)
    assert "units.yaml" not in parses
    fresh = load_province(ws.root / "config")            # no cache: parsed from the YAML
    assert again.province.units == first.province.units == fresh.units
    assert again.province.regime == fresh.regime and again.province.calendar == fresh.calendar
    assert again.province.info == fresh.info


def test_an_edit_is_read_even_with_the_same_size_and_modification_time(tmp_path, parses):
    ws = workspace(tmp_path)
    load_workspace(ws.root)
    units = ws.root / "config" / "units.yaml"
    st = units.stat()
    text = units.read_text(encoding="utf-8")
    edited = text.replace('name: "Sở Xây dựng"', 'name: "Sở Xây dựnG"')
    assert edited != text and len(edited.encode()) == len(text.encode())
    units.write_text(edited, encoding="utf-8")
    os.utime(units, ns=(st.st_atime_ns, st.st_mtime_ns))
    parses.clear()
    assert load_workspace(ws.root).province.unit("S-XD").name == "Sở Xây dựnG"
    assert "units.yaml" in parses
    parses.clear()                                        # … and the cache now holds the edit
    assert load_workspace(ws.root).province.unit("S-XD").name == "Sở Xây dựnG"
    assert "units.yaml" not in parses


@pytest.mark.parametrize("damage", ["garbage", "truncated", "body", "empty", "directory"])
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path, parses, damage):
    ws = workspace(tmp_path)
    good = load_workspace(ws.root).province.units
    cache = _cache(ws)
    raw = cache.read_bytes()
    if damage == "garbage":
        cache.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        cache.write_bytes(raw[: len(raw) // 2])
    elif damage == "body":                 # a unit renamed inside the cache: its own digest fails
        cache.write_bytes(raw.replace("Sở Xây dựng".encode(), "Sở Xây dựnG".encode()))
    elif damage == "empty":
        cache.write_bytes(b"")
    else:
        cache.unlink()
        cache.mkdir()
    parses.clear()
    units = load_workspace(ws.root).province.units
    assert units == good and "units.yaml" in parses
    if damage != "directory":
        parses.clear()
        assert load_workspace(ws.root).province.units == good and "units.yaml" not in parses


def test_a_cache_of_another_text_is_not_used(tmp_path):
    """The cache of one units.yaml, put beside another (copied workspaces): the other is parsed."""
    ws = workspace(tmp_path)
    load_workspace(ws.root)
    stale = _cache(ws).read_bytes()
    units = ws.root / "config" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace("Sở Xây dựng", "Sở Xây dựng mới"), encoding="utf-8")
    load_workspace(ws.root)
    _cache(ws).write_bytes(stale)
    assert load_workspace(ws.root).province.unit("S-XD").name == "Sở Xây dựng mới"


def test_a_configuration_error_reads_the_same_from_the_cache(tmp_path):
    ws = workspace(tmp_path)
    units = ws.root / "config" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace("type: S}", "type: s}", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as first:
        load_workspace(ws.root)
    assert _cache(ws).is_file()
    with pytest.raises(ConfigError) as again:
        load_workspace(ws.root)
    assert str(again.value) == str(first.value) and "units.yaml:" in str(first.value)


@pytest.mark.parametrize("text", [
    "since: 2025-07-01\nat: 2025-07-01 09:30:00\nn: 1.5\nb: true\nnone: ~\nl: [1, 'x', {a: 2020-01-02}]\n",
    'nested: {"\\0date": "2025-07-01"}\n',         # a key like the cache's own tag: not cached
    "1: integer key\n",                            # keys JSON cannot keep: not cached
    "x: .nan\n",
    "b: !!binary aGVsbG8=\n",
])
def test_what_comes_from_the_cache_is_what_yaml_gave(tmp_path, text):
    cache = tmp_path / "c.json"
    want, _ = parse_yaml(text, "t.yaml")
    got, _ = parse_yaml_cached(text, "t.yaml", cache)
    assert got == want
    if cache.exists():
        again, _ = parse_yaml_cached(text, "t.yaml", cache)
        assert again == want and type(again) is type(want)
        assert json.dumps(again, default=str) == json.dumps(want, default=str)
    else:
        assert not cache.exists()


def test_dates_keep_their_type(tmp_path):
    cache = tmp_path / "c.json"
    text = "d: 2025-07-01\nt: 2025-07-01 09:30:00\ns: '2025-07-01'\n"
    parse_yaml_cached(text, "t.yaml", cache)
    got, _ = parse_yaml_cached(text, "t.yaml", cache)
    assert type(got["d"]) is dt.date and type(got["t"]) is dt.datetime and got["s"] == "2025-07-01"
