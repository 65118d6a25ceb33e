"""Regime, units registry, calendar and workspace configuration."""

import datetime as dt

import pytest

from cchc_xl.config import load_province, parse_period
from cchc_xl.config.period import PeriodError
from cchc_xl.config.workspace import init_workspace, load_workspace
from cchc_xl.yamlfile import ConfigError


@pytest.fixture(scope="module")
def lang_son():
    return load_province("lang-son-3-cap-2011-2020")


def test_period_parsing_and_labels():
    p = parse_period("2024-6m")
    assert (p.year, p.kind, str(p)) == (2024, "6M", "2024-6M")
    assert p.label == "6 tháng đầu năm 2024"
    assert p.previous() == parse_period("2024-Q1")
    assert p.previous_year() == parse_period("2023-6M")
    for bad in ["2024-Q2", "24-Y", "2024", "2024-PLAN-1"]:
        with pytest.raises(PeriodError):
            parse_period(bad)


def test_lang_son_deadlines_follow_seed_000(lang_son):
    # "Gửi trước ngày 05 tháng cuối quý" / "trước ngày 05 tháng 6" / "trước ngày 30 tháng 11" / plan "trước 30/01"
    assert lang_son.dates(parse_period("2024-Q1")).deadline == dt.date(2024, 3, 4)
    assert lang_son.dates(parse_period("2024-6M")).deadline == dt.date(2024, 6, 4)
    assert lang_son.dates(parse_period("2024-Y")).deadline == dt.date(2024, 11, 29)
    assert lang_son.dates(parse_period("2024-PLAN")).deadline == dt.date(2024, 1, 29)


def test_thua_thien_hue_windows_follow_seed_002():
    tth = load_province("thua-thien-hue-3-cap-2021")
    q1 = tth.dates(parse_period("2021-Q1"))
    assert (q1.window_start, q1.window_end, q1.deadline) == (dt.date(2020, 12, 15), dt.date(2021, 3, 14),
                                                             dt.date(2021, 3, 15))
    q3 = tth.dates(parse_period("2021-9M"))  # printed "15/6/2020": corrected, and says so
    assert q3.window_start == dt.date(2021, 6, 15)
    assert "2020" in q3.note
    y = tth.dates(parse_period("2021-Y"))
    assert (y.window_start, y.window_end) == (dt.date(2020, 12, 15), dt.date(2021, 12, 14))


def test_regime_matrix_of_seed_000(lang_son):
    q = parse_period("2024-Q1")
    y = parse_period("2024-Y")

    def codes(unit, period):
        return [(o.part, o.outline, o.tables) for o in lang_son.obligations(lang_son.unit(unit), period)]

    h = next(u for u in lang_son.units if u.type == "H")
    assert codes(h.code, q) == [("main", "DC-H", ("01-H", "02-H", "03-H"))]
    assert codes(h.code, y)[0][2] == ("01-H", "02-H", "03-H", "04-H", "05-H")
    assert codes("TTPVHCC", q) == [("main", None, ("01-TTPVHCC", "02-TTPVHCC", "03-TTPVHCC"))]
    snv = codes("SNV", y)
    assert [p[0] for p in snv] == ["VPS", "TCBC", "CCVC", "XDCQ", "TTS"]
    assert snv[0][2] == ("01-SNV", "04-SNV", "05-SNV")
    assert codes("STTTT", y)[0][2][-2:] == ("06-STTTT", "07-STTTT")
    # every district has communes for its 03-H rows
    assert all(lang_son.communes_of(u.code) for u in lang_son.units if u.type == "H")


def test_regime_covers_36_codes(lang_son):
    codes = {c for c in lang_son.regime.all_codes() if not c.startswith(("DC-", "KH-"))}
    assert len(codes) == 36


def test_workspace_init_copies_config_and_makes_a_secret(tmp_path):
    ws = init_workspace(tmp_path / "ws", "thua-thien-hue-3-cap-2021")
    assert ws.province.id == "thua-thien-hue"
    assert (tmp_path / "ws" / "config" / "units.yaml").exists()
    assert (tmp_path / "ws" / "inbox").is_dir() and (tmp_path / "ws" / "rollup").is_dir()
    again = load_workspace(tmp_path / "ws")
    assert again.secret == ws.secret and len(ws.secret) >= 32
    other = init_workspace(tmp_path / "ws2", "lang-son-3-cap-2011-2020")
    assert other.secret != ws.secret
    with pytest.raises(ConfigError):
        init_workspace(tmp_path / "ws", "lang-son-3-cap-2011-2020")


def test_broken_units_file_is_named_with_line(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son-3-cap-2011-2020")
    units = tmp_path / "ws" / "config" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace("type: SNV}", "type: SNV, colour: red}", 1),
                     encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_workspace(ws.root)
    msg = str(exc.value)
    assert "units.yaml" in msg and "khoá không được phép 'colour'" in msg
    assert any(part.strip().isdigit() for part in msg.split(":")), msg


@pytest.mark.parametrize("edit, expected", [
    (("type: SNV}", "type: SNV, colour: red}"), "khoá không được phép 'colour'"),
    (("type: SNV}", "type: SO}"), "không khai báo trong regime.yaml"),
    (("code: SNV,", "code: 5,"), "phải là chữ"),
    (("code: SNV,", "cod: SNV,"), "thiếu khoá bắt buộc"),
])
def test_registry_errors_are_in_vietnamese_with_line_and_key(tmp_path, edit, expected):
    ws = init_workspace(tmp_path / "ws", "lang-son-3-cap-2011-2020")
    units = tmp_path / "ws" / "config" / "units.yaml"
    text = units.read_text(encoding="utf-8")
    assert edit[0] in text
    units.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_workspace(ws.root)
    assert "units.yaml" in str(exc.value) and expected in str(exc.value)


def test_registry_consistency_errors_are_in_vietnamese(tmp_path):
    ws = init_workspace(tmp_path / "ws", "lang-son-3-cap-2011-2020")
    units = tmp_path / "ws" / "config" / "units.yaml"
    text = units.read_text(encoding="utf-8")
    first = text.index("- {")
    line = text[text.rindex("\n", 0, first) + 1:text.index("\n", first) + 1]
    units.write_text(text + line, encoding="utf-8")         # the same unit twice
    with pytest.raises(ConfigError, match="bị trùng"):
        load_workspace(ws.root)
