"""``make bench``: seconds and peak memory of generate, validate and merge (not a timed test).

Rounds: the embedded lang-son registry, and a synthetic 1,000-unit registry. Figures are printed
as a table and written to generated/bench/results.json. Usage: python tests/bench/run.py [--units N]
[--reuse] [--out DIR] [--smoke] (``--smoke``: every step once, for tests/test_bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cchc_xl.config.period import parse_period  # noqa: E402
from cchc_xl.config.province import load_province  # noqa: E402
from cchc_xl.config.workspace import PublicKeyWarning, Workspace, load_workspace  # noqa: E402
from cchc_xl.generate import generate_round  # noqa: E402
from cchc_xl.generate.sample import fill_files  # noqa: E402
from cchc_xl.merge.run import merge  # noqa: E402

OUT = ROOT / "generated" / "bench"
PERIOD = parse_period("2024-Y")


def peak_mb() -> float:
    """Peak resident memory of this process and of its (finished) worker processes, in MB."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024


def synthetic_province(n: int, dest: Path) -> Path:
    """A registry of n reporting units: mostly departments and districts (with communes)."""
    src = load_province("lang-son-3-cap-2011-2020").root
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("province.yaml", "calendar.yaml", "regime.yaml"):
        shutil.copyfile(src / name, dest / name)
    units = [{"code": c, "name": nm, "type": t} for c, nm, t in [
        ("SNV", "Sở Nội vụ", "SNV"), ("STP", "Sở Tư pháp", "STP"), ("VP", "Văn phòng UBND tỉnh", "VP"),
        ("STC", "Sở Tài chính", "STC"), ("STTTT", "Sở Thông tin và Truyền thông", "STTTT"),
        ("SKHCN", "Sở Khoa học và Công nghệ", "SKHCN"), ("TTPVHCC", "Trung tâm Phục vụ hành chính công", "TTPVHCC")]]
    n_h = (n - len(units)) // 3
    for i in range(1, n_h + 1):
        code = f"H-{i:04d}"
        units.append({"code": code, "name": f"UBND huyện mẫu số {i}", "type": "H", "sample": True})
        for j in range(1, 7):
            units.append({"code": f"X-{i:04d}-{j}", "name": f"Xã mẫu {i}.{j}", "type": "X", "parent": code,
                          "sample": True})
    i = 0
    while len([u for u in units if u["type"] != "X"]) < n - 4:   # SNV counts as 5 parts
        i += 1
        units.append({"code": f"S-{i:04d}", "name": f"Sở mẫu số {i}", "type": "S", "sample": True})
    (dest / "units.yaml").write_text(yaml.safe_dump({"units": units}, allow_unicode=True), encoding="utf-8")
    return dest


def timed(label: str, fn, results: dict):
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    results[label] = {"seconds": round(dt, 2), "peak_mb": round(peak_mb(), 1)}
    print(f"{label:<48} {dt:8.2f} s   peak {peak_mb():7.1f} MB", flush=True)
    return out


def _calamine_read(path: str) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    return sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)


def calamine_baseline(files: list[Path]) -> int:
    """The raw read a merge rests on: python-calamine, every sheet of every file, 2 processes."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as ex:
        return sum(ex.map(_calamine_read, [str(f) for f in files], chunksize=16))


def cli_workspace(prov_dir: Path, ws, dest: Path) -> Path:
    """A real workspace over the synthetic registry (same key as the files), for the CLI as users run it."""
    from cchc_xl.config.workspace import WORKSPACE_FILE
    from cchc_xl.yamlfile import dump_yaml

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(prov_dir, dest / "config")
    (dest / WORKSPACE_FILE).write_text(dump_yaml({"province": ws.province.id, "secret": ws.secret.decode(),
                                                  "sheet_password": ws.sheet_password}), encoding="utf-8")
    for d in ("inbox", "generated", "rollup"):
        (dest / d).mkdir()
    return dest


def timed_cli(label: str, args: list[str], results: dict, *, repeat: int = 1,
              before: Callable[[int], None] | None = None) -> float:
    """``cchc_xl ARGS`` as a fresh process, as a user runs it (start-up and configuration included):
    the median of ``repeat`` runs (``before(i)`` prepares run i, untimed)."""
    import statistics
    import subprocess

    exe = Path(sys.executable).with_name("cchc_xl")
    times, codes = [], []
    for i in range(repeat):
        if before:
            before(i)
        t0 = time.perf_counter()
        run = subprocess.run([str(exe), *args], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        codes.append(run.returncode)
    dt = statistics.median(times)
    results[label] = {"seconds": round(dt, 2), "runs": [round(t, 2) for t in times], "exit_code": max(codes)}
    runs = f"median of {repeat}: {', '.join(f'{t:.2f}' for t in times)}; " if repeat > 1 else ""
    print(f"{label:<48} {dt:8.2f} s   ({runs}fresh process, exit {max(codes)})", flush=True)
    return dt


def real_round(province: str, period: str, results: dict) -> None:
    """A real registry through the command line, as a province's secretariat runs it: the official
    list's units in today's two tiers (``cchc_xl init --province``), its round generated, filled with
    sample figures, merged; beside the raw read of the same files."""
    import subprocess

    exe = str(Path(sys.executable).with_name("cchc_xl"))
    dest = OUT / "real"
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run([exe, "init", str(dest), "--province", province, "--json"], check=True, capture_output=True)
    gen, filled, resent = dest / "generated" / "round", OUT / "real-filled", OUT / "real-resent"
    for d in (filled, resent):
        shutil.rmtree(d, ignore_errors=True)
    ws = ["--workspace", str(dest)]
    label = f"{province} {period}"
    timed_cli(f"{label}: generate (CLI)", ["generate", "--period", period, *ws, "--out", str(gen), "--json"], results)
    made = sorted(gen.glob("*.xlsx"))
    subprocess.run([exe, "sample-fill", str(gen), "--out", str(filled), *ws, "--json"], check=True,
                   capture_output=True)
    subprocess.run([exe, "sample-fill", *map(str, made[:3]), "--seed", "7", "--out", str(resent), *ws, "--json"],
                   check=True, capture_output=True)
    sent = sorted(filled.glob("*.xlsx"))
    for f in sent:
        os.link(f, dest / "inbox" / f.name)
    results[f"{label}: files"] = len(sent)
    t0 = time.perf_counter()
    calamine_baseline(sent)
    raw = time.perf_counter() - t0
    results[f"{label}: raw calamine read, 2 processes"] = {"seconds": round(raw, 2)}
    print(f"{label + ': raw calamine read, 2 processes':<48} {raw:8.2f} s   ({len(sent)} files)", flush=True)
    args = ["merge", str(dest / "inbox"), *ws, "--period", period, "--json"]
    cold = timed_cli(f"{label}: merge (CLI), cold", args, results)
    results[f"{label}: ratio cold merge / raw read"] = round(cold / raw, 1)
    print(f"{label + ': ratio cold merge / raw read':<48} {cold / raw:8.1f} x", flush=True)
    timed_cli(f"{label}: merge (CLI), nothing new", args, results, repeat=3)
    again = sorted(resent.glob("*.xlsx"))
    timed_cli(f"{label}: merge (CLI), one new file", args, results, repeat=3,
              before=lambda i: os.link(again[i], dest / "inbox" / f"gui-lai-{i}.xlsx"))
    timed_cli(f"{label}: validate ONE_FILE (CLI)", ["validate", str(sent[0]), *ws, "--json"], results, repeat=3)


def naive_baseline(files: list[Path], ws, limit: int) -> float:
    """openpyxl.load_workbook on a sample spread over the round (every kind of unit), reading every
    input cell: seconds per file."""
    import openpyxl

    from cchc_xl.generate.round import Builder
    from cchc_xl.generate.sample import read_generated_metadata

    b = Builder(ws, PERIOD)
    step = max(1, len(files) // limit)
    sample = files[::step][:limit]
    t0 = time.perf_counter()
    for f in sample:
        wb = openpyxl.load_workbook(f, data_only=True)
        meta = read_generated_metadata(f)
        unit = ws.province.unit(meta.unit)
        for t in meta.tables:
            lay = b.layout(t.code, unit)
            sh = wb[t.sheet]
            for spec in lay.input_cells:
                _ = sh[spec.addr].value
    return (time.perf_counter() - t0) / len(sample)


def _validate_only(job: tuple[str, str]) -> str:
    from cchc_xl.merge import run as mr
    from cchc_xl.validate.engine import validate_file

    return validate_file(job[0], mr._ctx).status


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process image (ru_maxrss would also count the forking
    parent's pages from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _merge_child(ws, inbox: Path, out: Path, conn) -> None:
    """One merge in a fresh interpreter: its time and the peak memory of it and of its workers."""
    t0 = time.perf_counter()
    res = merge(ws, inbox, period=PERIOD, out=out)
    dt = time.perf_counter() - t0
    me = _vm_hwm_mb()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    conn.send((dt, me, kids, res.new_files))
    conn.close()


def timed_merge(label: str, ws, inbox: Path, out: Path, results: dict) -> None:
    """A merge in its own (spawned) process, so that its memory is its own, not the bench's."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_merge_child, args=(ws, inbox, out, child))
    proc.start()
    dt, me, kids, new = parent.recv()
    proc.join()
    results[label] = {"seconds": round(dt, 2), "peak_mb_merge": round(me, 1), "peak_mb_worker": round(kids, 1),
                      "files_validated": new}
    print(f"{label:<48} {dt:8.2f} s   peak {me:7.1f} MB (workers {kids:.1f} MB), {new} files validated",
          flush=True)


def main() -> None:
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=100, help="files read by the naive openpyxl baseline")
    ap.add_argument("--reuse", action="store_true", help="keep the generated and filled files of the last run")
    ap.add_argument("--out", type=Path, default=None, help=f"working folder (default {OUT})")
    ap.add_argument("--smoke", action="store_true",
                    help="every step once on a few units, without the real province's round; fails on any "
                         "command that fails (tests/test_bench.py)")
    args = ap.parse_args()
    OUT = args.out.resolve() if args.out else OUT
    warnings.simplefilter("ignore", PublicKeyWarning)
    reuse = args.reuse and (OUT / "inbox").is_dir()
    if not reuse:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
    for stale in ("inbox-quarter", "extra", "resent", "rollup", "quarter"):
        shutil.rmtree(OUT / stale, ignore_errors=True)
    for stale in OUT.glob("cchc_ledger.sqlite*"):
        stale.unlink()
    (OUT / "inbox" / "gui-lai.xlsx").unlink(missing_ok=True)
    results: dict = {"cpu_count": os.cpu_count()}

    ws = load_workspace(None, "lang-son-3-cap-2011-2020")
    if not reuse:
        res = timed("generate: lang-son annual round", lambda: generate_round(ws, PERIOD, out=OUT / "ls"), results)
        results["generate: lang-son annual round"]["files"] = len(res.files)

    prov = load_province(synthetic_province(args.units, OUT / "province"))
    big = Workspace(None, prov, ws.secret, ws.sheet_password, True)
    if not reuse:
        res = timed(f"generate: synthetic {args.units}-unit annual round",
                    lambda: generate_round(big, PERIOD, out=OUT / "gen"), results)
        results[f"generate: synthetic {args.units}-unit annual round"]["files"] = len(res.files)
    files = sorted((OUT / "gen").glob("*.xlsx"))
    if not reuse:
        timed("sample-fill (setup, 1 core)", lambda: fill_files(big, files, OUT / "inbox", seed=1), results)
    inbox_files = sorted((OUT / "inbox").glob("*.xlsx"))

    from concurrent.futures import ProcessPoolExecutor

    from cchc_xl.merge import run as mr
    from cchc_xl.validate.engine import ValidationContext

    def validate_all():
        with ProcessPoolExecutor(2, initializer=mr._init,
                                 initargs=(ValidationContext(big, PERIOD),)) as ex:
            return list(ex.map(_validate_only, [(str(f), "") for f in inbox_files], chunksize=16))

    timed("validate only: all files, 2 processes", validate_all, results)
    v = results["validate only: all files, 2 processes"]
    v["files_per_second"] = round(len(inbox_files) / v["seconds"], 1)

    from cchc_xl.validate.batch import validate_files

    label = "validate command path: bounded workers, 2 processes"
    timed(label, lambda: validate_files(inbox_files, big, PERIOD, workers=2), results)
    results[label]["files_per_second"] = round(len(inbox_files) / results[label]["seconds"], 1)

    quarter = OUT / "quarter" / "inbox"
    quarter.mkdir(parents=True)
    for f in inbox_files[: len(inbox_files) // 4]:
        shutil.copyfile(f, quarter / f.name)
    timed_merge("merge cold: 1/4 of the round", big, quarter, OUT / "quarter" / "rollup.xlsx", results)
    timed_merge("merge cold: whole round incl. validation", big, OUT / "inbox", OUT / "rollup.xlsx", results)
    timed_merge("merge again, nothing new", big, OUT / "inbox", OUT / "rollup.xlsx", results)
    extra = fill_files(big, files[:1], OUT / "extra", seed=99)
    shutil.copyfile(extra[0].path, OUT / "inbox" / "gui-lai.xlsx")
    timed_merge("merge warm: one new file", big, OUT / "inbox", OUT / "rollup.xlsx", results)
    t0 = time.perf_counter()
    calamine_baseline(inbox_files)
    raw = time.perf_counter() - t0
    results["raw calamine read, every sheet, 2 processes"] = {"seconds": round(raw, 2)}
    print(f"{'raw calamine read, every sheet, 2 processes':<48} {raw:8.2f} s", flush=True)
    ledger = OUT / "cchc_ledger.sqlite"
    if ledger.exists():
        results["ledger KB per file"] = round(ledger.stat().st_size / 1024 / len(inbox_files), 1)
        print(f"{'ledger size per file':<48} {results['ledger KB per file']:8.1f} KB", flush=True)
    # the CLI as a user runs it: a fresh process, a real workspace over the same registry; with the
    # package's bytecode compiled, as pip installs it and as any run writes it (a process started
    # with PYTHONDONTWRITEBYTECODE would otherwise compile every module it imports, every time)
    import compileall

    compileall.compile_dir(str(ROOT / "cchc_xl"), quiet=1)
    cws = cli_workspace(OUT / "province", big, OUT / "ws")
    cin = cws / "inbox"
    for f in inbox_files:
        os.link(f, cin / f.name)
    base = ["--workspace", str(cws), "--period", str(PERIOD)]
    timed_cli("cchc_xl merge (CLI), cold", ["merge", str(cin), *base, "--json"], results)
    timed_cli("cchc_xl merge (CLI), nothing new", ["merge", str(cin), *base, "--json"], results, repeat=3)
    # the same without the merge's record (merge/quick.py): the configuration and the catalogue loaded,
    # the ledger's state compared with the roll-up's stamp (the design before the record, measured beside it)
    timed_cli("cchc_xl merge (CLI), nothing new, no record", ["merge", str(cin), *base, "--json"], results,
              repeat=3, before=lambda i: shutil.rmtree(cws / ".cache" / "merge", ignore_errors=True))
    # each run one more file: a unit sending its report again (a new version), as in the deadline week
    resent = [f.path for f in fill_files(big, files[1:4], OUT / "resent", seed=7)]
    timed_cli("cchc_xl merge (CLI), one new file", ["merge", str(cin), *base, "--json"], results, repeat=3,
              before=lambda i: os.link(resent[i], cin / f"gui-lai-{i}.xlsx"))
    # the same, with the ledger and the status report only (no roll-up written): what writing the
    # whole roll-up again costs, measured beside it
    status_new = [f.path for f in fill_files(big, files[4:7], OUT / "resent", seed=8)]
    timed_cli("cchc_xl status (CLI), one new file", ["status", str(cin), *base, "--json"], results, repeat=3,
              before=lambda i: os.link(status_new[i], cin / f"trang-thai-{i}.xlsx"))
    timed_cli("cchc_xl validate ONE_FILE (CLI)", ["validate", str(inbox_files[0]), "--workspace", str(cws),
                                                   "--json"], results, repeat=3)
    # issue 17's goal is stated for a workspace of 500 units: the same file (its unit is in both)
    half = load_province(synthetic_province(500, OUT / "province-500"))
    ws500 = cli_workspace(half.root, Workspace(None, half, ws.secret, ws.sheet_password, True), OUT / "ws-500")
    one = ["validate", str(inbox_files[0]), "--workspace", str(ws500), "--json"]
    timed_cli("cchc_xl validate ONE_FILE (CLI), 500 units, 1st", one, results)   # parses the registry
    timed_cli("cchc_xl validate ONE_FILE (CLI), 500 units", one, results, repeat=3)   # from the workspace's cache
    if not args.smoke:
        real_round("Thanh Hóa", "2026-Y", results)
    cold_cli = results["cchc_xl merge (CLI), cold"]["seconds"]
    results["ratio cold merge (CLI) / raw calamine read"] = round(cold_cli / raw, 1)
    print(f"{'ratio cold merge (CLI) / raw calamine read':<48} {cold_cli / raw:8.1f} x")
    per_file = naive_baseline(inbox_files, big, args.naive)
    naive_total = per_file * len(inbox_files)
    cold = results["merge cold: whole round incl. validation"]["seconds"]
    results["naive openpyxl baseline"] = {"seconds_per_file": round(per_file, 4),
                                          "extrapolated_seconds": round(naive_total, 1),
                                          "measured_files": min(args.naive, len(inbox_files))}
    results["ratio naive/cold merge"] = round(naive_total / cold, 1)
    print(f"{'naive openpyxl baseline (extrapolated)':<48} {naive_total:8.2f} s   "
          f"({per_file * 1000:.0f} ms/file over {min(args.naive, len(inbox_files))} files)")
    print(f"{'ratio naive / cold merge':<48} {naive_total / cold:8.1f} x")
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results: {OUT / 'results.json'}")
    failed = sorted(k for k, v in results.items() if isinstance(v, dict) and v.get("exit_code", 0) != 0)
    if failed:
        sys.exit(f"commands that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
