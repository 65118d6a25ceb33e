"""The "So sánh" sheet: this period against the previous period and the same period last year."""

from __future__ import annotations

import datetime as dt

from ...config.period import CUMULATIVE
from ...layout import a1
from ..formats import is_number
from ..model import RollupData
from .cells import fit_row, print_setup, put, put_formula, put_text
from .context import Context
from .names import COMPARE_SHEET, column_header
from .template import Template
from .totals import other_period_values

QUARTER_ONLY = {"6M": "Quý II", "9M": "Quý III", "Y": "Quý IV"}


def quarter_basis(d: RollupData) -> str | None:
    """How the compare sheet's quarter-only figures are made, from the two periods' data windows:
    "difference" (cumulative windows from the same day: 9M − 6M), "as_is" (this period's window
    starts the day after the previous one ends: it is the quarter alone, as Thừa Thiên Huế's 2021
    Quý III) or None (no previous cumulative period, or windows that give no quarter)."""
    if not d.previous_totals or d.previous_period is None or d.period.kind not in CUMULATIVE:
        return None
    if d.period.previous() != d.previous_period or d.previous_window is None:
        return None
    (p0, p1), (w0, w1) = d.previous_window, d.window
    if p0 == w0 and p1 < w1:
        return "difference"
    if p1 + dt.timedelta(days=1) == w0:
        return "as_is"
    return None


def build(ctx: Context) -> None:
    ws = ctx.plan.add_sheet(COMPARE_SHEET)
    f, d = ctx.f, ctx.data
    ctx.ensure_evaluated()
    ctx.title(ws, "SO SÁNH VỚI KỲ TRƯỚC VÀ CÙNG KỲ NĂM TRƯỚC")
    prev, ly = d.previous_totals or {}, d.last_year_totals or {}
    prev_label = d.previous_period.label if d.previous_period else "Kỳ trước"
    ly_label = d.last_year_period.label if d.last_year_period else "Cùng kỳ năm trước"
    basis = quarter_basis(d)
    quarter = basis is not None
    q_name = QUARTER_ONLY.get(d.period.kind, "kỳ này")
    w0, w1 = d.window
    if basis == "difference":
        note = (
            f'Cột "Riêng kỳ này" là số liệu riêng {q_name}, suy ra từ hai kỳ lũy kế: {d.period.label} − '
            f"{d.previous_period.label} (ví dụ Quý III = 9 tháng − 6 tháng). Tỷ lệ riêng kỳ được tính "
            "lại từ các số riêng kỳ, không lấy hiệu hai tỷ lệ; số liệu tại thời điểm (số hiện có, kỳ "
            "trước chuyển qua, đang giải quyết) không có số riêng kỳ."
        )
    elif basis == "as_is":
        note = (
            f'Cột "Riêng kỳ này": thời gian chốt số liệu của {d.period.label} ({w0:%d/%m/%Y}–{w1:%d/%m/%Y}) '
            f"chỉ gồm {q_name}, không lũy kế: số riêng kỳ là số của chính kỳ này, không trừ kỳ trước; "
            "số liệu tại thời điểm (số hiện có, kỳ trước chuyển qua, đang giải quyết) không có số riêng kỳ."
        )
    elif prev and d.previous_window is not None and d.period.previous() == d.previous_period:
        pw0, pw1 = d.previous_window
        note = (
            f"Thời gian chốt số liệu của {d.period.label} ({w0:%d/%m/%Y}–{w1:%d/%m/%Y}) và của "
            f"{prev_label} ({pw0:%d/%m/%Y}–{pw1:%d/%m/%Y}) không lũy kế từ cùng một ngày nên không suy ra "
            "số liệu riêng kỳ."
        )
    elif prev:
        note = (
            f"Kỳ so sánh ({prev_label}) không phải kỳ lũy kế liền trước của {d.period.label} nên không "
            "suy ra số liệu riêng kỳ."
        )
    else:
        note = "Chưa có số liệu kỳ trước trong sổ theo dõi."
    if not prev and not ly:
        note += " Không có số liệu kỳ trước hoặc cùng kỳ năm trước để so sánh: trang không có dòng nào."

    # items: (appendix, line, col) of every appendix that the other periods have figures for
    continued: dict[str, set[str]] = {}

    def other(tpl: Template, appx: str, totals: dict) -> dict | None:
        values, olds = other_period_values(tpl, [appx], totals)
        if olds:
            continued.setdefault(appx, set()).update(olds)
        return values

    rows: list[dict] = []
    for tpl in ctx.templates:
        # per appendix: several codes, or codes kept out of the province total (compared on their own)
        per_appendix = len(tpl.appendices) > 1 or bool(tpl.apart)
        for appx in tpl.appendices:
            p_vals, l_vals = other(tpl, appx, prev), other(tpl, appx, ly)
            if p_vals is None and l_vals is None:
                continue
            values = (
                tpl.evaluate(tpl.province, ("appendix", appx))
                if per_appendix
                else tpl.province.values
            )
            for ln in tpl.province.lines:
                if ln.kind == "heading":
                    continue
                for col in tpl.col_keys:
                    kind = tpl.cell_kind(ln, col)
                    if not tpl.resolvable(tpl.province, kind):
                        continue
                    rows.append(
                        {
                            "tpl": tpl,
                            "appx": appx,
                            "line": ln,
                            "col": col,
                            "kind": kind,
                            "key": (appx, ln.row_key or "tong", col),
                            "cur": values.get((ln.key, col)),
                            "formula": not per_appendix,
                            "prev": p_vals.get((ln.key, col)) if p_vals is not None else None,
                            "ly": l_vals.get((ln.key, col)) if l_vals is not None else None,
                        }
                    )

    notes = list(d.compare_notes) + [
        f"Biểu {appx}: kỳ so sánh chưa có biểu này; số liệu kỳ so sánh lấy từ biểu {', '.join(sorted(olds))} "
        f"mà {appx} kế tục (bỏ cấp huyện từ 01/7/2025)." for appx, olds in sorted(continued.items())]
    headers = ["Biểu", "Nội dung", "Cột", f"Kỳ này: {d.period.label}"]
    c_prev = c_dprev = c_q = c_ly = c_dly = None
    if prev:
        c_prev, c_dprev = len(headers), len(headers) + 1
        headers += [prev_label, "Thay đổi so với kỳ trước"]
        if quarter:
            c_q = len(headers)
            headers.append(f"Riêng kỳ này ({q_name})")
    if ly:
        c_ly, c_dly = len(headers), len(headers) + 1
        headers += [ly_label, "Thay đổi so với cùng kỳ năm trước"]
    c_rk = len(headers)
    headers += ["Mã dòng", "Mã cột"]
    print_width = 12 + 45 + 40 + 15 * (c_rk - 3)
    notes = [note, *notes, "Trang in gồm các cột số liệu; hai cột mã (kỹ thuật) ở cuối không in."]
    for i, text in enumerate(notes):
        ctx.note(ws, 2 + i, text, c_rk - 1, print_width)
    head = 3 + len(notes)
    first = head + 1
    ctx.add_table(ws, head, 0, len(rows), headers, "SoSanh")
    ws.set_row(head, 45)
    where = {(it["appx"], it["line"].key, it["col"]): first + i for i, it in enumerate(rows)}

    def diff(a, b):
        return a - b if is_number(a) and is_number(b) else ""

    # quarter-only values: linear figures are differences; figures with a division are recomputed
    qmemo: dict[tuple, object] = {}
    kmemo: dict[int, object] = {}

    def q_kind(it, depth: int = 0):
        """("diff",) | ("expr", expr, mapper) | None: how this line's quarter-only figure is made."""
        i = id(it)
        if i in kmemo:
            return kmemo[i]
        tpl, kind = it["tpl"], it["kind"]
        out = None
        if depth > 20 or tpl.measure(it["line"].row_key or None, it["col"]) != "flow":
            out = None
        elif basis == "as_is":
            out = ("same",)
        elif kind[0] == "expr" and kind[1].has_division:
            expr, mapper = kind[1], kind[2]
            keys = [(it["appx"], mapper(ref), ref.col) for ref in expr.refs]
            if not expr.ranges and all(
                k in where and q_kind(rows[where[k] - first], depth + 1) is not None for k in keys
            ):
                out = ("expr", expr, mapper)
        elif is_number(it["prev"]):
            out = ("diff",)
        kmemo[i] = out
        return out

    def q_value(it):
        k = (it["appx"], it["line"].key, it["col"])
        if k in qmemo:
            return qmemo[k]
        qmemo[k] = ""
        qk = q_kind(it)
        if qk is None:
            v = None
        elif qk[0] == "diff":
            v = diff(it["cur"], it["prev"])
        elif qk[0] == "same":
            v = it["cur"] if is_number(it["cur"]) else ""
        else:
            v = qk[1].evaluate(
                lambda ref: q_value(rows[where[(it["appx"], qk[2](ref), ref.col)] - first])
            )
        qmemo[k] = v
        return v

    for i, it in enumerate(rows):
        r = first + i
        tpl, ln, col = it["tpl"], it["line"], it["col"]
        fmt = f.sum(tpl.cell_type(ln, col))
        put_text(ws, r, 0, it["appx"], f.text)
        put_text(ws, r, 1, ln.label, f.label[0])
        put_text(ws, r, 2, column_header(tpl.layout.col(col)), f.wrap)
        fit_row(ws, r, [(ln.label, 45), (column_header(tpl.layout.col(col)), 40)])
        cur = a1(r, 3)
        if it["formula"]:
            put_formula(ws, r, 3, tpl.address(tpl.province, ln, col), fmt, it["cur"])
        else:
            put(ws, r, 3, it["cur"], fmt)
        def other(c_val, c_diff, value, r=r, cur=cur, it=it):
            """A value of another period and the change from it (a formula with its result)."""
            put(ws, r, c_val, value, f.plain_number)
            if is_number(value):
                put_formula(ws, r, c_diff, f'IFERROR({cur}-{a1(r, c_val)},"")', f.plain_number,
                         diff(it["cur"], value))
            else:
                ws.write_blank(r, c_diff, None, f.plain_number)

        if c_prev is not None:
            other(c_prev, c_dprev, it["prev"])
        if c_q is not None:
            qk = q_kind(it)
            if qk is None:
                ws.write_blank(r, c_q, None, fmt)
            elif qk[0] == "diff":
                put_formula(ws, r, c_q, f'IFERROR({cur}-{a1(r, c_prev)},"")', fmt, q_value(it))
            elif qk[0] == "same":
                put_formula(ws, r, c_q, f'IF(ISNUMBER({cur}),{cur},"")', fmt, q_value(it))
            else:
                appx, mapper = it["appx"], qk[2]
                body = qk[1].to_excel(lambda ref, a=appx, m=mapper: a1(where[(a, m(ref), ref.col)], c_q))
                put_formula(ws, r, c_q, body, fmt, q_value(it))
        if c_ly is not None:
            other(c_ly, c_dly, it["ly"])
        put_text(ws, r, c_rk, it["key"][1], f.text)
        put_text(ws, r, c_rk + 1, col, f.text)
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 45)
    ws.set_column(2, 2, 40)
    ws.set_column(3, c_rk - 1, 15)
    ws.set_column(c_rk, c_rk + 1, 16)
    ws.freeze_panes(first, 3)
    ws.set_print_area(0, 0, first + max(1, len(rows)) - 1, c_rk - 1)
    print_setup(ws, (head, head))
