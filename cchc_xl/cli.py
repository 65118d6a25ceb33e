"""The ``cchc_xl`` command line: click code only; the library never prints or exits.

Exit codes: 0 success, 1 a failed check or a runtime error, 2 a usage error.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .blueprint.catalogue import default_catalogue
from .config.period import PeriodError, parse_period
from .config.province import UNIT_TYPE_LABELS
from .config.workspace import PublicKeyWarning, init_workspace, load_workspace
from .yamlfile import ConfigError


# ---------------------------------------------------------------------------------------------
# Shared options and error handling
# ---------------------------------------------------------------------------------------------


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (cho máy đọc).")(f)


def workspace_options(f):
    f = click.option("--province", default=None,
                     help="Tỉnh (mặc định: của thư mục làm việc, hoặc lang-son).")(f)
    f = click.option("--workspace", "workspace_dir", type=click.Path(path_type=Path, file_okay=False),
                     default=None, help="Thư mục làm việc (mặc định: thư mục hiện tại nếu là thư mục làm việc).")(f)
    return f


def version_option(f):
    return click.version_option(__version__, "--version", prog_name="cchc_xl",
                                message="%(prog)s %(version)s")(f)


def handle_errors(f):
    """Turn library exceptions into one clear message and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except (ConfigError, PeriodError, KeyError, FileNotFoundError, PermissionError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            click.echo(f"Lỗi: {msg}", err=True)
            sys.exit(1)

    return wrapper


def get_workspace(workspace_dir, province):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PublicKeyWarning)
        ws = load_workspace(workspace_dir, province)
    for w in caught:
        click.secho(f"Cảnh báo: {w.message}", fg="yellow", err=True)
    return ws


def emit_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def command(group, name, help_text):
    """A subcommand with --version and error handling."""

    def deco(f):
        return group.command(name, help=help_text)(version_option(handle_errors(f)))

    return deco


# ---------------------------------------------------------------------------------------------
# Root
# ---------------------------------------------------------------------------------------------


@click.group(help="cchc_xl — biểu mẫu Excel báo cáo cải cách hành chính: tạo, kiểm tra, tổng hợp.\n\n"
                  "Excel reporting for Vietnamese administrative reform (CCHC).")
@version_option
def main():
    pass


@command(main, "init", "Tạo thư mục làm việc của cơ quan thường trực (cấu hình, khóa bí mật, inbox/…).")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--province", default="lang-son", show_default=True, help="Tỉnh mặc định nhúng sẵn để sao chép.")
@json_option
def init_cmd(directory, province, as_json):
    ws = init_workspace(directory, province)
    info = {"workspace": str(ws.root), "province": ws.province.id, "units": len(ws.province.units),
            "inbox": str(ws.inbox), "generated": str(ws.generated), "rollup": str(ws.rollup)}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"Đã tạo thư mục làm việc {ws.root} cho {ws.province.info.name} "
                   f"({len(ws.province.units)} đơn vị). Cấu hình: {ws.root / 'config'}")


# ---------------------------------------------------------------------------------------------
# blueprints
# ---------------------------------------------------------------------------------------------


@main.group("blueprints", help="Danh mục biểu mẫu (blueprint): liệt kê, xem, kiểm tra.")
@version_option
def blueprints_group():
    pass


def _bp_summary(bp):
    return {"id": bp.id, "codes": bp.code_list, "title": bp.title, "kind": bp.kind,
            "version": bp.version, "programme": bp.programme, "source": bp.source.model_dump()}


@command(blueprints_group, "list", "Liệt kê các biểu mẫu: mã phụ lục, tên, loại, phiên bản, nguồn.")
@json_option
def bp_list(as_json):
    cat = default_catalogue()
    items = [_bp_summary(bp) for bp in sorted(cat.blueprints.values(), key=lambda b: b.id)]
    if as_json:
        emit_json({"blueprints": items, "codes": cat.codes()})
        return
    for it in items:
        click.echo(f"{it['id']:<32} v{it['version']} {it['kind']:<12} {', '.join(it['codes'])}")
        click.echo(f"    {it['title']}  [{it['source']['seed']} — {it['source']['section']}]")
    click.echo(f"{len(items)} biểu mẫu, {len(cat.codes())} mã phụ lục.")


@command(blueprints_group, "show", "Xem một biểu mẫu theo mã phụ lục (hoặc id).")
@click.argument("code")
@json_option
def bp_show(code, as_json):
    cat = default_catalogue()
    bp = cat.blueprints.get(code) or cat.for_code(code)
    if as_json:
        emit_json(bp.model_dump(mode="json", exclude_none=True))
        return
    click.echo(f"{bp.id} v{bp.version} ({bp.kind}, chương trình {bp.programme})")
    for c in bp.codes:
        click.echo(f"  {c.code}: {bp.title_for(c.code)}")
    for col in bp.columns:
        head = " › ".join(col.header + [col.label])
        extra = f" = {col.compute}" if col.compute else ""
        click.echo(f"  cột {col.key}: {head} [{(col.type.value if col.type else 'count')}]{extra}")
    for row in bp.rows:
        click.echo(f"  dòng {row.key}: {row.stt or ''} {row.label}")
    for s in bp.sections:
        click.echo(f"  mục {s.number} {s.title}{' (bắt buộc)' if s.required else ''}")
    for r in bp.rules:
        click.echo(f"  quy tắc {r.id} [{r.severity.value}]: {r.check} — {r.message}")


@command(blueprints_group, "check", "Kiểm tra danh mục biểu mẫu: cú pháp, khóa, biểu thức, danh mục, chế độ báo cáo.")
@click.argument("path", required=False, type=click.Path(path_type=Path, exists=True, file_okay=False))
@workspace_options
@json_option
def bp_check(path, workspace_dir, province, as_json):
    from .blueprint.check import check_catalogue
    from .config.province import load_province

    regimes = []
    if path is None:
        ws = get_workspace(workspace_dir, province) if (workspace_dir or province) else None
        provs = [ws.province] if ws else [load_province("lang-son"), load_province("thua-thien-hue")]
        regimes = [(p.root / "regime.yaml", p.regime) for p in provs]
    res = check_catalogue(path, regimes)
    if as_json:
        emit_json({"ok": res.ok, "root": res.root, "blueprints": res.blueprints, "codes": res.codes,
                   "problems": res.problems})
    else:
        for p in res.problems:
            click.echo(p)
        click.echo(("Đạt: " if res.ok else "Chưa đạt: ") +
                   f"{res.blueprints} biểu mẫu, {res.codes} mã phụ lục, {len(res.problems)} lỗi.")
    sys.exit(0 if res.ok else 1)


@command(blueprints_group, "schema", "In JSON Schema của định dạng biểu mẫu.")
def bp_schema():
    from .blueprint.schema import blueprint_schema

    emit_json(blueprint_schema())


# ---------------------------------------------------------------------------------------------
# units, calendar, regime
# ---------------------------------------------------------------------------------------------


@main.group("units", help="Danh mục đơn vị báo cáo.")
@version_option
def units_group():
    pass


@command(units_group, "list", "Liệt kê đơn vị: mã, tên, loại, đơn vị cấp trên.")
@workspace_options
@json_option
def units_list(workspace_dir, province, as_json):
    ws = get_workspace(workspace_dir, province)
    units = [u.model_dump() for u in ws.province.units]
    if as_json:
        emit_json({"province": ws.province.id, "units": units})
        return
    for u in ws.province.units:
        parent = f" ← {u.parent}" if u.parent else ""
        sample = " (mẫu)" if u.sample else ""
        click.echo(f"{u.code:<16} {u.type:<8} {u.name}{parent}{sample}")
    click.echo(f"{len(units)} đơn vị — {ws.province.info.name}")


@command(main, "calendar", "Thời gian chốt số liệu và hạn nộp của một kỳ báo cáo.")
@click.argument("period")
@workspace_options
@json_option
def calendar_cmd(period, workspace_dir, province, as_json):
    ws = get_workspace(workspace_dir, province)
    d = ws.province.dates(parse_period(period))
    data = {"province": ws.province.id, "period": str(d.period), "label": d.period.label,
            "window": [d.window_start.isoformat(), d.window_end.isoformat()],
            "deadline": d.deadline.isoformat(), "window_assumed": d.assumed, "note": d.note}
    if as_json:
        emit_json(data)
        return
    click.echo(f"{d.period.label} — {ws.province.info.name}")
    click.echo(f"  Chốt số liệu: {d.window_start:%d/%m/%Y} – {d.window_end:%d/%m/%Y}"
               f"{' (giả định)' if d.assumed else ''}")
    click.echo(f"  Hạn nộp: {d.deadline:%d/%m/%Y}")
    click.echo(f"  Ghi chú: {d.note}")


@command(main, "regime", "Những gì một đơn vị phải báo cáo trong một kỳ (đề cương, phụ lục).")
@click.argument("unit")
@click.argument("period")
@workspace_options
@json_option
def regime_cmd(unit, period, workspace_dir, province, as_json):
    ws = get_workspace(workspace_dir, province)
    u = ws.province.unit(unit)
    per = parse_period(period)
    obls = ws.province.obligations(u, per)
    data = {"unit": u.code, "name": u.name, "type": u.type, "period": str(per),
            "parts": [{"part": o.part, "owner": o.owner, "outline": o.outline, "tables": list(o.tables)}
                      for o in obls]}
    if as_json:
        emit_json(data)
        return
    click.echo(f"{u.name} ({UNIT_TYPE_LABELS.get(u.type, u.type)}) — {per.label}")
    if not obls:
        click.echo("  Không phải báo cáo trong kỳ này.")
    for o in obls:
        owner = f" [{o.owner}]" if o.owner else ""
        click.echo(f"  Phần {o.part}{owner}: đề cương {o.outline or '—'}; phụ lục: {', '.join(o.tables) or '—'}")


# ---------------------------------------------------------------------------------------------
# generate, sample-fill
# ---------------------------------------------------------------------------------------------


def progress_bar(total: int, label: str, enabled: bool):
    if not enabled or total < 2:
        return _NoBar()
    return click.progressbar(length=total, label=label, file=sys.stderr)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


@command(main, "generate", "Tạo tệp Excel biểu mẫu (đã khóa, tự kiểm tra) cho từng đơn vị trong một kỳ.")
@click.option("--period", required=True, help="Kỳ báo cáo: YYYY-Q1, YYYY-6M, YYYY-9M, YYYY-Y hoặc YYYY-PLAN.")
@click.option("--unit", "units", multiple=True, help="Mã đơn vị (lặp lại được); mặc định: mọi đơn vị phải báo cáo.")
@click.option("--blueprint", default=None, help="Chỉ tạo một biểu (mã phụ lục) cho đơn vị.")
@click.option("--plan", is_flag=True, help="Tạo tệp kế hoạch CCHC năm (kỳ YYYY-PLAN).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Thư mục ghi tệp (mặc định generated/<tỉnh>/<kỳ>/).")
@click.option("--fixed-time", is_flag=True, help="Thời điểm tạo cố định (để so sánh tệp chuẩn).")
@click.option("--workers", type=int, default=None, help="Số tiến trình song song (mặc định: số lõi CPU).")
@workspace_options
@json_option
def generate_cmd(period, units, blueprint, plan, out, fixed_time, workers, workspace_dir, province, as_json):
    from .generate import generate_round, plan_round

    ws = get_workspace(workspace_dir, province)
    per = parse_period(period)
    if plan and not per.is_plan:
        per = parse_period(f"{per.year}-PLAN")
    for u in units:
        ws.province.unit(u)
    if blueprint:
        default_catalogue().for_code(blueprint)
    total = len(plan_round(ws, per, units or None, blueprint, out))
    with progress_bar(total, "Đang tạo tệp", not as_json) as bar:
        res = generate_round(ws, per, units or None, blueprint=blueprint, out=out, fixed_time=fixed_time,
                             workers=workers, progress=bar.update)
    if as_json:
        emit_json(res.as_dict())
        return
    click.echo(f"Đã tạo {len(res.files)} tệp cho {per.label} ({ws.province.info.name}) "
               f"trong {res.seconds:.1f} giây → {res.out_dir}")
    if not res.files:
        click.echo("Không có đơn vị nào phải nộp biểu này trong kỳ.")


@command(main, "sample-fill", "Điền số liệu mẫu hợp lệ vào tệp đã tạo (để tập huấn, thử, kiểm thử).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--seed", type=int, default=1, show_default=True, help="Hạt giống ngẫu nhiên (cùng hạt giống → cùng số liệu).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Thư mục ghi tệp đã điền.")
@click.option("--defects", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Tỷ lệ tệp bị cài lỗi thường gặp (0–1).")
@workspace_options
@json_option
def sample_fill_cmd(paths, seed, out, defects, workspace_dir, province, as_json):
    from .generate.sample import fill_files

    ws = get_workspace(workspace_dir, province)
    files = [p for path in paths for p in (sorted(path.rglob("*.xlsx")) if path.is_dir() else [path])]
    with progress_bar(len(files), "Đang điền số liệu mẫu", not as_json) as bar:
        results = fill_files(ws, files, out, seed=seed, defects=defects, progress=bar.update)
    if as_json:
        emit_json({"out": str(out), "files": [r.as_dict() for r in results]})
        return
    n_def = sum(1 for r in results if r.defects)
    click.echo(f"Đã điền {len(results)} tệp → {out} ({n_def} tệp có lỗi cài sẵn).")


if __name__ == "__main__":  # pragma: no cover
    main()
