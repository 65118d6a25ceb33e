"""The ``cchc_xl`` command line: click code only; the library never prints or exits.

Exit codes: 0 success, 1 a failed check or a runtime error, 2 a usage error.

Start-up is part of every command's latency (issue 17): this module imports click and a few
light modules only. The configuration models (pydantic), the catalogue and the readers and
writers (openpyxl, XlsxWriter, python-calamine, python-docx) are imported by the commands that use
them, and the ``addin`` group is imported when it is run (``_Main``).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import warnings
from pathlib import Path

import click

from . import __version__, click_vi
from .config.defaults import DEFAULT_EMBEDDED
from .config.period import parse_period
from .errors import CchcError, user_message
from .labels import VERDICT_LABELS

click_vi.install()          # click's own "Usage", "Options", "Error: …" in Vietnamese

# ---------------------------------------------------------------------------------------------
# Shared options and error handling
# ---------------------------------------------------------------------------------------------


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (cho máy đọc).")(f)


def workspace_options(f):
    f = click.option("--province", default=None,
                     help="Tỉnh: tên, mã hoặc tên không dấu (lang-son), hay một cấu hình mẫu (xem 'cchc_xl provinces'); "
                          f"mặc định: của thư mục làm việc, hoặc {DEFAULT_EMBEDDED}.")(f)
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
        except (CchcError, OSError, sqlite3.OperationalError) as exc:   # a bug keeps its traceback
            click.echo(f"Lỗi: {user_message(exc)}", err=True)
            sys.exit(1)

    return wrapper


def get_workspace(workspace_dir, province):
    from .config.workspace import PublicKeyWarning, load_workspace

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


class _Main(click_vi.Group):
    """The root group; its ``addin`` group (which loads the add-in builder and olefile) is imported
    when it is run or its help is asked for. The root's own help lists it by :data:`LAZY`'s text."""

    group_class = click_vi.Group     # its subgroups (blueprints, units) are plain groups
    LAZY = {"addin": ("cchc_xl.addin.cli", "addin_group", "Add-in Excel \"CCHC\" trên Windows (xlwings): tạo, cài, gỡ.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx):
        return sorted({*self.commands, *self.LAZY})

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            module, attr, short = self.LAZY[name]
            if self._listing:       # the root's help: the group's first line, without importing it
                return click.Command(name, help=short)
            import importlib

            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@click.group(cls=_Main, help="cchc_xl — biểu mẫu Excel báo cáo cải cách hành chính: tạo, kiểm tra, tổng hợp.\n\n"
                  "Excel reporting for Vietnamese administrative reform (CCHC).")
@version_option
def main():
    pass


@command(main, "init", "Tạo thư mục làm việc của cơ quan thường trực (cấu hình, khóa bí mật, inbox/…).")
@click_vi.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--province", required=True,
              help="Tỉnh, thành phố: tên (\"Lạng Sơn\"), tên không dấu (lang-son) hoặc mã (20) theo danh mục "
                   "chính thức; hoặc tên một cấu hình mẫu. Xem 'cchc_xl provinces'.")
@json_option
def init_cmd(directory, province, as_json):
    from .config.workspace import init_workspace

    ws = init_workspace(directory, province)
    prov = ws.province
    communes = sum(1 for u in prov.units if u.official)
    info = {"workspace": str(ws.root), "province": prov.id, "name": prov.info.name, "code": prov.info.code,
            "tiers": prov.info.tiers, "programme": prov.info.programme, "units": len(prov.units),
            "communes": communes, "data": prov.info.data,
            "inbox": str(ws.inbox), "generated": str(ws.generated), "rollup": str(ws.rollup)}
    if as_json:
        emit_json(info)
        return
    click.echo(f"Đã tạo thư mục làm việc {ws.root} cho {prov.info.name} "
               f"({len(prov.units)} đơn vị; {prov.info.tiers} cấp; chương trình {prov.info.programme}).")
    if prov.info.data:
        click.echo(f"Danh mục {communes} xã, phường, đặc khu theo {prov.info.data}.")
    click.echo(f"Cấu hình (sửa được): {ws.root / 'config'} — kiểm tra danh sách sở, ban, ngành trong units.yaml.")
    click.echo(f"Khoá xác thực nằm trong {ws.root / 'cchc.yaml'} (chỉ người tạo đọc được): giữ bí mật, "
               "sao lưu cùng thư mục.")
    click.echo("Bước tiếp theo:\n"
               f"  1. Tạo biểu mẫu cho các đơn vị:  cchc_xl generate --workspace {ws.root} --period 2026-Y\n"
               f"  2. Gửi tệp trong {ws.generated}; chép tệp nhận về vào {ws.inbox}\n"
               f"  3. Kiểm tra và tổng hợp:          cchc_xl merge {ws.inbox} --workspace {ws.root}\n"
               "  (thay 2026-Y bằng kỳ cần báo cáo: 2026-Q1, 2026-6M, 2026-9M, 2026-Y, 2026-PLAN)")


@command(main, "provinces", "Các tỉnh, thành phố có thể dùng với 'cchc_xl init --province': 34 tỉnh, "
                            "thành phố theo danh mục chính thức và các cấu hình mẫu theo tài liệu gốc.")
@json_option
def provinces_cmd(as_json):
    from .config import official
    from .config.province import SEED_CONFIGS

    rows = [{"slug": p.slug, "code": p.code, "name": p.name, "communes": len(p.communes()),
             "predecessors": [x["name"] for x in p.predecessors()]} for p in official.provinces()]
    if as_json:
        emit_json({"data": official.DATA_LABEL, "provinces": rows,
                   "configurations": [{"name": k, "description": v} for k, v in SEED_CONFIGS.items()]})
        return
    click.echo(f"34 tỉnh, thành phố (hai cấp, chương trình 2021-2030) — {official.DATA_LABEL}:")
    for r in rows:
        merged = f"  ← {', '.join(r['predecessors'])}" if len(r["predecessors"]) > 1 else ""
        click.echo(f"  {r['code']}  {r['slug']:<14} {r['name']:<26} {r['communes']:>4} xã, phường{merged}")
    click.echo("Cấu hình mẫu theo tài liệu gốc (dùng tên này với --province):")
    for k, v in SEED_CONFIGS.items():
        click.echo(f"  {k:<28} {v}")


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
    from .blueprint.catalogue import default_catalogue

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
@click_vi.argument("code")
@json_option
def bp_show(code, as_json):
    from .blueprint.catalogue import default_catalogue

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
@click_vi.argument("path", required=False, type=click.Path(path_type=Path, exists=True, file_okay=False))
@workspace_options
@json_option
def bp_check(path, workspace_dir, province, as_json):
    from .blueprint.check import check_catalogue
    from .config.province import SEED_CONFIGS, load_province

    regimes = []
    if path is None:
        ws = get_workspace(workspace_dir, province) if (workspace_dir or province) else None
        # the seeds' regimes and today's (the template every province of the official list gets)
        provs = [ws.province] if ws else [load_province(name) for name in (*SEED_CONFIGS, "lang-son")]
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
@click_vi.argument("period")
@workspace_options
@json_option
def calendar_cmd(period, workspace_dir, province, as_json):
    ws = get_workspace(workspace_dir, province)
    prov = ws.province
    per = parse_period(period)
    d = prov.dates(per)
    fr = prov.calendar.field_reports.get(per.kind)
    thematic = None
    if fr is not None and fr.unit_types:
        frd = prov.field_report(fr.unit_types[0], per)
        thematic = {"unit_types": list(fr.unit_types), "deadline": frd.deadline.isoformat(), "note": frd.note}
    data = {"province": prov.id, "period": str(d.period), "label": d.period.label,
            "window": [d.window_start.isoformat(), d.window_end.isoformat()],
            "deadline": d.deadline.isoformat(), "window_assumed": d.assumed,
            "deadline_assumed": d.deadline_assumed, "note": d.note, "field_report": thematic}
    if as_json:
        emit_json(data)
        return
    click.echo(f"{d.period.label} — {prov.info.name}")
    click.echo(f"  Chốt số liệu: {d.window_start:%d/%m/%Y} – {d.window_end:%d/%m/%Y}"
               f"{' (giả định: văn bản không quy định)' if d.assumed else ''}")
    click.echo(f"  Hạn nộp: {d.deadline:%d/%m/%Y}{' (giả định)' if d.deadline_assumed else ''}")
    if thematic:
        names = ", ".join(prov.type_labels.get(t, t) for t in fr.unit_types)
        click.echo(f"  Hạn báo cáo chuyên đề lĩnh vực ({names}): {frd.deadline:%d/%m/%Y}")
    click.echo(f"  Ghi chú: {d.note}")


@command(main, "regime", "Những gì một đơn vị phải báo cáo trong một kỳ (đề cương, phụ lục).")
@click_vi.argument("unit")
@click_vi.argument("period")
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
    click.echo(f"{u.name} ({ws.province.type_labels.get(u.type, u.type)}) — {per.label}")
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


class LazyBar:
    """A progress bar started once the number of steps is known (``start``): a merge knows how many
    files it validates only after comparing the inbox with the ledger (often none or one)."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled
        self._bar = None

    def start(self, total: int) -> None:
        if self._bar is None and self.enabled and total >= 2:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False


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
    from .blueprint.catalogue import default_catalogue
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
@click_vi.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
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


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def collect_files(paths, skipped: list[dict]) -> list[Path]:
    """The files to check: a folder is read as an inbox (regular files only, see ``merge.inbox.scan``)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():      # the merge's modules, only to read a folder as merge does
            from .merge.inbox import scan

            out += scan(p, skipped)
        else:
            out.append(p)
    return out


@command(main, "validate", "Kiểm tra tệp báo cáo nhận về: định danh, cấu trúc, giá trị, quy tắc.")
@click_vi.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--period", default=None, help="Kỳ đang thu nhận (tệp của kỳ khác sẽ bị báo).")
@click.option("--annotate", "annotate_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Ghi bản sao có đánh dấu ô lỗi, ghi chú và trang \"Lỗi\" vào thư mục này.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Ngôn ngữ thông báo.")
@workspace_options
@json_option
def validate_cmd(paths, period, annotate_dir, lang, workspace_dir, province, as_json):
    from .problems import reason_text
    from .validate.batch import validate_files

    ws = get_workspace(workspace_dir, province)
    skipped: list[dict] = []
    files = collect_files(paths, skipped)
    with progress_bar(len(files), "Đang kiểm tra", not as_json and len(files) > 3) as bar:
        reports = validate_files(files, ws, parse_period(period) if period else None, lang=lang,
                                 annotate_dir=Path(annotate_dir) if annotate_dir else None, progress=bar.update)
    failed = any(r.status in ("errors", "rejected") for r in reports)
    if as_json:
        emit_json({"files": [r.as_dict() for r in reports], "skipped": skipped})
        sys.exit(1 if failed else 0)
    for r in reports:
        counts = f"{len(r.errors)} lỗi, {len(r.warnings)} cảnh báo"
        colour = {"ok": "green", "warnings": "yellow"}.get(r.status, "red")
        click.secho(f"{VERDICT_LABELS[r.status]:<12} {r.path}", fg=colour, bold=True)
        click.echo(f"             đơn vị {r.unit or '?'} ({r.unit_name or ''}), kỳ {r.period or '?'} — {counts}")
        for p in r.problems:
            where = "!".join(x for x in (p.sheet, p.cell) if x) or "—"
            click.echo(f"  [{SEVERITY_VI[p.severity]}] {where}: {p.message}")
            if p.hint:
                click.echo(f"      → {p.hint}")
        if r.hold_reasons:
            click.secho(f"  Tạm giữ: tệp chưa được xác thực ({reason_text(r.hold_reasons)}), số liệu không được "
                        "tổng hợp cho đến khi cơ quan thường trực chấp nhận (cchc_xl accept).", fg="red")
        if r.stats.get("annotated"):
            click.echo(f"  Bản đánh dấu lỗi: {r.stats['annotated']}")
    for sk in skipped:
        click.echo(f"Bỏ qua: {sk['path']} — {sk['reason']}")
    ok = sum(1 for r in reports if r.status in ("ok", "warnings"))
    click.echo(f"{len(reports)} tệp: {ok} đạt, {len(reports) - ok} có lỗi hoặc bị từ chối.")
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------------------------
# merge, status
# ---------------------------------------------------------------------------------------------


def received_option(f):
    return click.option(
        "--received", multiple=True, metavar="ĐƯỜNG_DẪN=THỜI_ĐIỂM",
        help="Thời điểm cơ quan thường trực nhận một tệp hoặc cả một thư mục (lặp lại được), ví dụ "
             "--received 'inbox/S-XD.xlsx=2025-12-01 09:30'. Có thể ghi trong tệp inbox/so-tiep-nhan.csv "
             "(cột tep, thoi_gian). Ngày sửa tệp không bao giờ được dùng.")(f)


def _received(items) -> dict:
    from .merge.receipts import parse_receipt_time

    out = {}
    for item in items:
        path, sep, when = item.rpartition("=")
        if not sep or not path:
            raise click.BadParameter(f"cần dạng ĐƯỜNG_DẪN=THỜI_ĐIỂM, không phải “{item}”", param_hint="--received")
        if not Path(path).exists():
            raise click.BadParameter(f"không tìm thấy {path}", param_hint="--received")
        out[Path(path)] = parse_receipt_time(when)
    return out


def _merge_summary(res) -> None:
    from .problems import reason_text

    click.echo(f"Kỳ {res.period}: {res.expected} báo cáo phải nộp — {len(res.on_time)} đúng hạn, "
               f"{len(res.late)} trễ hạn, {len(res.missing)} chưa nộp, {res.rejected} bị từ chối; "
               f"{res.with_errors} báo cáo còn lỗi. Tệp mới: {res.new_files}.")
    for h in res.held:
        click.echo(f"  Tạm giữ ({h['submission']}): {h['file']} — {reason_text(h['reasons'])}")
    if res.withdrawn:
        click.echo("  Đã rút: " + ", ".join(res.withdrawn))
    for note in res.notes:
        click.echo(f"  Lưu ý: {note}")
    for sk in res.skipped:
        click.echo(f"  Bỏ qua: {sk['path']} — {sk['reason']}")
    if res.late:
        click.echo("  Trễ hạn: " + ", ".join(res.late))
    if res.missing:
        click.echo("  Chưa nộp: " + ", ".join(res.missing))
    if res.rollup:
        click.echo(f"Bảng tổng hợp: {res.rollup}" + (" (không có gì thay đổi: giữ nguyên tệp đã lập)"
                                                     if res.rollup_unchanged else ""))
        click.echo(f"Dữ liệu chi tiết (tidy): {res.tidy}")


@command(main, "merge", "Tổng hợp thư mục báo cáo nhận về thành bảng tổng hợp toàn tỉnh (có sổ theo dõi).")
@click_vi.argument("inbox", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--period", default=None, help="Kỳ tổng hợp (mặc định: kỳ của các tệp trong thư mục).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Tệp tổng hợp .xlsx.")
@click.option("--tidy", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Xuất thêm dữ liệu chi tiết ra .csv, .csv.gz hoặc .parquet (bản .csv.gz trong thư "
                   "mục tổng hợp luôn được ghi).")
@click.option("--full", is_flag=True, help="Kiểm tra lại mọi tệp, kể cả tệp đã có trong sổ theo dõi.")
@click.option("--split-by-field", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Ghi thêm một tệp tổng hợp cho mỗi lĩnh vực của 6 cơ quan chủ trì.")
@click.option("--workers", type=int, default=None, help="Số tiến trình song song.")
@received_option
@workspace_options
@json_option
def merge_cmd(inbox, period, out, tidy, full, split_by_field, workers, received, workspace_dir, province, as_json):
    wanted = parse_period(period) if period else None
    snap = res = None
    if not (full or split_by_field or received):
        # nothing changed since the last merge like this one: its recorded answer, checked, without
        # loading the configuration (merge/quick.py)
        from .merge.quick import answer, snapshot

        snap = snapshot(workspace_dir, inbox, period=period, out=out, tidy=tidy, province=province)
        res = answer(snap) if snap is not None else None
    if res is None:
        from .merge.run import merge

        ws = get_workspace(workspace_dir, province)
        with LazyBar("Đang kiểm tra và ghi sổ", not as_json) as bar:     # sized by the files to validate
            res = merge(ws, inbox, period=wanted, out=out, tidy=tidy, full=full, split_by_field=split_by_field,
                        workers=workers, progress=bar.update, planned=bar.start, received=_received(received),
                        quick=snap)
    if as_json:
        emit_json(res.as_dict())
    else:
        _merge_summary(res)


@command(main, "status", "Tình hình nộp báo cáo của một kỳ (không ghi bảng tổng hợp).")
@click_vi.argument("inbox", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--period", default=None, help="Kỳ báo cáo.")
@received_option
@workspace_options
@json_option
def status_cmd(inbox, period, received, workspace_dir, province, as_json):
    from .merge.run import merge

    ws = get_workspace(workspace_dir, province)
    res = merge(ws, inbox, period=parse_period(period) if period else None, write=False,
                received=_received(received))
    if as_json:
        emit_json(res.as_dict())
    else:
        _merge_summary(res)


def _decision_cmd(action: str, target: Path | str, reason: str, undo: bool, period, workspace_dir, province,
                  as_json: bool) -> None:
    from .merge.decide import decide

    ws = get_workspace(workspace_dir, province)
    res = decide(ws, action, target, reason, undo=undo, period=parse_period(period) if period else None)
    if as_json:
        emit_json(res)
        return
    click.echo(res["message"])


@command(main, "accept", "Chấp nhận (ghi vào sổ) một tệp đang bị tạm giữ, ví dụ bản đơn vị đã xác nhận qua điện thoại.")
@click_vi.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--reason", required=True, help="Lý do chấp nhận (ghi vào sổ theo dõi).")
@click.option("--undo", is_flag=True, help="Huỷ quyết định chấp nhận đã ghi.")
@workspace_options
@json_option
def accept_cmd(file, reason, undo, workspace_dir, province, as_json):
    _decision_cmd("accept", file, reason, undo, None, workspace_dir, province, as_json)


@command(main, "withdraw", "Rút một báo cáo đang được tính (theo tệp, hoặc theo mã đơn vị và kỳ) ra khỏi tổng hợp.")
@click_vi.argument("target")
@click.option("--reason", required=True, help="Lý do rút (ghi vào sổ theo dõi).")
@click.option("--period", default=None, help="Kỳ báo cáo, khi rút theo mã đơn vị.")
@click.option("--undo", is_flag=True, help="Huỷ quyết định rút đã ghi.")
@workspace_options
@json_option
def withdraw_cmd(target, reason, period, undo, workspace_dir, province, as_json):
    _decision_cmd("withdraw", target, reason, undo, period, workspace_dir, province, as_json)


# ---------------------------------------------------------------------------------------------
# report, remind
# ---------------------------------------------------------------------------------------------


@command(main, "report", "Soạn dự thảo báo cáo CCHC toàn tỉnh (.docx) theo đề cương, từ sổ theo dõi của kỳ: "
                         "nội dung các đơn vị, số liệu tổng hợp, tình hình nộp báo cáo, thể thức Nghị định 30/2020/NĐ-CP.")
@click.option("--period", required=True, help="Kỳ báo cáo: YYYY-Q1, YYYY-6M, YYYY-9M hoặc YYYY-Y (đã tổng hợp bằng merge).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Tệp .docx (mặc định rollup/bao-cao_<tỉnh>_<kỳ>.docx).")
@workspace_options
@json_option
def report_cmd(period, out, workspace_dir, province, as_json):
    from .report.provincial_report import write_report

    ws = get_workspace(workspace_dir, province)
    res = write_report(ws, parse_period(period), out=out)
    if as_json:
        emit_json(res.as_dict())
    else:
        click.echo(res.path)


@command(main, "remind", "Lập danh sách đơn vị chưa nộp, trễ hạn, có lỗi (kèm bản đánh dấu lỗi) và dự thảo công văn "
                         "đôn đốc (.docx).")
@click.option("--period", required=True, help="Kỳ báo cáo (đã tổng hợp bằng merge).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Tệp .docx (mặc định rollup/don-doc_<tỉnh>_<kỳ>.docx).")
@click.option("--annotate", "annotate_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Thư mục bản đánh dấu lỗi (mặc định inbox/kiem-tra/, thư mục merge không đọc).")
@workspace_options
@json_option
def remind_cmd(period, out, annotate_dir, workspace_dir, province, as_json):
    from .report.reminder import REASONS, write_reminder

    ws = get_workspace(workspace_dir, province)
    res = write_reminder(ws, parse_period(period), out=out, annotate_dir=annotate_dir)
    if as_json:
        emit_json(res.as_dict())
        return
    click.echo(f"Kỳ {res.period}: {len(res.reminders)}/{res.expected} báo cáo cần đôn đốc.")
    for r in res.reminders:
        line = f"  {r.submission} — {r.name}: " + "; ".join(REASONS[k] for k in r.reasons)
        if r.days_late:
            line += f" ({r.days_late} ngày)"
        click.echo(line)
        if r.annotated:
            click.echo(f"      Bản đánh dấu lỗi: {r.annotated}")
        elif r.note:
            click.echo(f"      Lưu ý: {r.note}")
    click.echo(f"Công văn đôn đốc: {res.path}")


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------


@command(main, "demo", "Chạy thử trọn một kỳ báo cáo trên tỉnh mặc định (tạo, điền, nộp, kiểm tra, tổng hợp).")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Thư mục chạy thử (mặc định generated/demo/).")
@click.option("--period", default=None, help="Kỳ báo cáo (mặc định 2025-Y).")
@json_option
def demo_cmd(directory, period, as_json):
    from .config.workspace import PublicKeyWarning
    from .demo import DEFAULT_DIR, DEFAULT_PERIOD, run_demo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PublicKeyWarning)
        res = run_demo(directory or DEFAULT_DIR, period or DEFAULT_PERIOD)
    if as_json:
        emit_json(res.__dict__)
        return
    m = res.merge
    click.echo(f"Thư mục chạy thử: {res.workspace}")
    click.echo(f"1. Đã tạo {res.generated} tệp biểu mẫu cho kỳ {res.period} (thư mục generated/).")
    click.echo(f"2. Đã điền số liệu mẫu; {len(res.with_defects)} tệp có lỗi cài sẵn ({', '.join(res.with_defects)}).")
    click.echo(f"3. Hộp thư {res.inbox}: thiếu {', '.join(res.missing)}; trễ hạn {', '.join(res.late)}; "
               f"{res.resent} gửi lại lần 2" + (f"; {res.as_xls} lưu dạng .xls" if res.as_xls else "") + ".")
    click.echo(f"4. Tổng hợp: {m['expected']} báo cáo phải nộp, {m['accepted']} được nhận "
               f"({m['with_errors']} còn lỗi), {m['rejected']} bị từ chối, {len(m['missing'])} chưa nộp, "
               f"{len(m['late'])} trễ hạn.")
    click.echo(f"   Bảng tổng hợp: {m['rollup']}")
    click.echo(f"   Dữ liệu chi tiết: {m['tidy']}")
    if res.annotated:
        click.echo(f"5. Tệp đánh dấu lỗi gửi trả đơn vị: {res.annotated}")
    for note in res.notes:
        click.echo(f"Ghi chú: {note}")


if __name__ == "__main__":  # pragma: no cover
    main()
