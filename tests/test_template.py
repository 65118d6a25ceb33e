"""The generator's fast path (cchc_xl.generate.template) writes what the plain path writes.

A workbook rendered from a template of alike units must be the plain path's file byte for byte —
every part, the shared strings, the zip — for every kind of unit and period, for any unit or
commune name (escaping, a name that is also a drop-down entry), and its identity marks must be the
unit's own and verify. Nothing here is timed.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchc_xl.config.period import parse_period
from cchc_xl.config.province import load_province
from cchc_xl.config.workspace import Workspace
from cchc_xl.generate.round import FIXED_TIME, Builder, generate_round, plan_round
from cchc_xl.generate.sample import read_generated_metadata
from cchc_xl.generate.template import Templates, commune_rows, is_commune_layout, templatable
from cchc_xl.generate.workbook import _write
from cchc_xl.identity import Metadata
from cchc_xl.layout import build_layout
from cchc_xl.validate.engine import ValidationContext, validate_file
from tests.bench.run import synthetic_province
from tests.helpers import embedded


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _same_file(fast: bytes, plain: bytes, what: str) -> None:
    if fast != plain:       # say which part differs before failing on the bytes
        a, b = _parts(fast), _parts(plain)
        assert list(a) == list(b), f"{what}: parts differ"
        for name in a:
            assert a[name] == b[name], f"{what}: part {name} differs"
    assert fast == plain, f"{what}: the zip differs"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small registry like the bench's: departments and districts (with communes) of alike names."""
    ws = embedded()
    prov = load_province(synthetic_province(40, tmp_path_factory.mktemp("prov")))
    return Workspace(None, prov, ws.secret, ws.sheet_password, True)


def _both_ways(ws, period: str, out: Path, units=None) -> tuple[Builder, list]:
    per = parse_period(period)
    b = Builder(ws, per, generated_at=FIXED_TIME)
    b.templates.after = 0       # the first workbook of a kind through its template too
    jobs = plan_round(ws, per, units, out=out)
    for j in jobs:
        b.write(j, fast=True)
        fast = Path(j.path).read_bytes()
        b.write(j, fast=False)
        _same_file(fast, Path(j.path).read_bytes(), f"{period} {j.unit}/{j.part}")
    return b, jobs


@pytest.mark.parametrize("period", ["2024-Y", "2024-Q1", "2024-6M", "2024-PLAN"])
def test_every_kind_of_unit_of_the_embedded_round_is_the_plain_path_byte_for_byte(tmp_path, period):
    """A unit of each type of the embedded province (departments, districts and their per-commune
    table, the parts of the home-affairs department, the plan round's outline)."""
    ws = embedded()
    first: dict[str, str] = {}
    for u in ws.province.reporting_units():
        first.setdefault(u.type, u.code)
    _both_ways(ws, period, tmp_path, list(first.values()))


def test_alike_units_share_a_template_and_still_get_their_own_file(tmp_path, synthetic):
    b, jobs = _both_ways(synthetic, "2024-Y", tmp_path)
    assert len(b.templates._by_key) < len(jobs) // 2         # the fast path was really shared
    metas = [read_generated_metadata(Path(j.path)) for j in jobs]
    assert len({m.tag for m in metas}) == len({m.submission_key for m in metas}) == len(jobs)
    assert all(m.verify(synthetic.secret) for m in metas)


def test_a_templated_round_validates_with_each_units_identity(tmp_path, synthetic):
    """Generated through the process pool (alike jobs batched together): the same files as one
    process writes, each carrying its unit's signed metadata and unit line, which the validator
    accepts."""
    per = parse_period("2024-Y")
    one = generate_round(synthetic, per, out=tmp_path / "one", workers=1, fixed_time=True)
    two = generate_round(synthetic, per, out=tmp_path / "two", workers=2, fixed_time=True)
    assert [f["unit"] for f in one.files] == [f["unit"] for f in two.files]
    for a, b in zip(one.files, two.files):
        assert Path(a["path"]).read_bytes() == Path(b["path"]).read_bytes()
    ctx = ValidationContext(synthetic, per)
    picked = [f for f in two.files if f["unit"] in ("H-0001", "H-0002", "S-0001", "S-0002", "SNV")]
    assert len(picked) >= 8
    for f in picked:
        rep = validate_file(f["path"], ctx)
        assert rep.unit == f["unit"] and not rep.rejected
        assert [p.code for p in rep.problems if p.code.startswith("identity.")] == [], f["path"]
    # the marks are the unit's: another unit's tag makes the file fail verification
    meta = read_generated_metadata(Path(picked[0]["path"]))
    other = read_generated_metadata(Path(picked[1]["path"]))
    assert meta.tag != other.tag and not dataclasses.replace(meta, tag=other.tag).verify(synthetic.secret)


# -- any names -------------------------------------------------------------------------------

LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyÁÀẢÃẠáàảãạếềểễệốồổỗộớờởỡợứừửữựíìỉĩịýỳỷỹỵ0123456789 &<>\"'_x-.,()/"


def _renamed(b: Builder, spec, name: str, code: str, communes: list[str] | None):
    """``spec`` for another unit: name, code, signed metadata and (a district) commune names."""
    layouts = spec.layouts
    if communes is not None:
        layouts = [build_layout(l.blueprint, l.code, b.cat,
                                tuple((r.key, c) for r, c in zip(commune_rows(l), communes)))
                   if is_commune_layout(l) else l for l in layouts]
    meta = b.metadata(SimpleNamespace(code=code, name=name), spec.part, layouts, spec.generated_at)
    return dataclasses.replace(spec, unit_name=name, unit_code=code, layouts=layouts, metadata=meta)


def _check_names(ws, unit: str, names: list[str], communes: list[list[str]] | None) -> None:
    per = parse_period("2024-Y")
    b = Builder(ws, per, generated_at=FIXED_TIME)
    b.templates.after = 0
    job = next(j for j in plan_round(ws, per, [unit], out=Path("unused")))
    base = b.spec(job)
    for i, name in enumerate(names):
        spec = _renamed(b, base, name, f"{unit[:1]}-Z{i:03d}", communes[i] if communes else None)
        fast = b.templates.render(spec)
        assert fast is not None
        buf = io.BytesIO()
        _write(spec, buf)
        _same_file(fast, buf.getvalue(), f"{name!r}")
    assert len(b.templates._by_key) == 1


def _names(draw, n: int, size: int) -> list[str]:
    text = st.text(st.sampled_from(LETTERS), min_size=size, max_size=size)
    return [draw(text) for _ in range(n)]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(st.data())
def test_any_department_name_renders_as_the_plain_path(synthetic, data):
    size = data.draw(st.sampled_from([1, 2, 11, 57, 96, 140]), label="length")
    names = _names(data.draw, 3, size)
    _check_names(synthetic, "S-0001", names, None)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(st.data())
def test_any_district_and_commune_names_render_as_the_plain_path(synthetic, data):
    size = data.draw(st.sampled_from([3, 20, 60]), label="length")
    csize = data.draw(st.lists(st.sampled_from([1, 9, 40, 70]), min_size=6, max_size=6), label="commune lengths")
    names = _names(data.draw, 2, size)
    communes = [[data.draw(st.text(st.sampled_from(LETTERS), min_size=c, max_size=c)) for c in csize]
                for _ in names]
    _check_names(synthetic, "H-0001", names, communes)


def test_a_name_that_is_also_a_list_entry_shares_its_string(synthetic):
    """A unit named like a drop-down entry ("Có", another unit's name) or like its own code: the
    plain path stores the string once; the template's shared strings are renumbered to match."""
    other = next(u.name for u in synthetic.province.reporting_units() if u.code == "S-0002")
    _check_names(synthetic, "S-0001", ["Có", "Có"], None)
    _check_names(synthetic, "S-0001", [other, other], None)
    _check_names(synthetic, "S-0001", ["S-Z000"], None)


def test_texts_a_length_does_not_describe_are_written_the_plain_way(synthetic):
    assert templatable("Sở Nội vụ & <Tư pháp> \"x\"")
    for bad in ("a\nb", "tab\t", "\x00", "\ue000", "😀", "x" * 2000):
        assert not templatable(bad)
    per = parse_period("2024-Y")
    b = Builder(synthetic, per, generated_at=FIXED_TIME)
    job = plan_round(synthetic, per, ["S-0001"], out=Path("unused"))[0]
    spec = b.spec(job)
    fresh = Templates(b.templates.relayout, after=0)
    assert fresh.render(dataclasses.replace(spec, unit_name="Sở\nmới")) is None
    assert fresh.render(spec) is not None
    assert b.templates.render(dataclasses.replace(spec, inputs={"01-S": {}})) is None
    assert isinstance(spec.metadata, Metadata)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(st.sampled_from(LETTERS + "\\{}[]:"), min_size=0, max_size=30), min_size=1, max_size=8))
def test_a_per_commune_stand_in_has_the_fingerprint_of_the_real_layout(synthetic, names):
    """The fast path signs a district's metadata over a stand-in of its per-commune table (the
    shape for as many communes, its names put in): the fingerprint is the real layout's."""
    per = parse_period("2024-Y")
    b = Builder(synthetic, per, generated_at=FIXED_TIME)
    unit = synthetic.province.unit("H-0001")
    communes = [SimpleNamespace(code=f"X-Z-{i}", name=n, row_key=f"u_x_z_{i}") for i, n in enumerate(names)]
    b.prov = SimpleNamespace(communes_of=lambda code: communes)
    stand = b.stand_in("03-H", unit)
    real = build_layout(b.cat.for_code("03-H"), "03-H", b.cat, tuple((c.row_key, c.name) for c in communes))
    if all(templatable(n) for n in names):
        assert stand.fingerprint() == real.fingerprint()
        assert [r.label for r in commune_rows(stand)] == names
    else:
        assert stand.fingerprint() == real.fingerprint()      # the real layout itself
