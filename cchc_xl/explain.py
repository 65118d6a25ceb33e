"""The numbers behind a failing rule, for a clerk: "12 ≠ 5 + 8".

A comparison rule (``nhan_tong == gq_tong + dang_tong``) that fails is shown with the values of
its cells in place of their names and the comparison turned round (``==`` becomes ``≠``). The
same walk over the rule's expression gives the validator's text (:func:`explain`) and the Excel
formula of the Kiểm tra line (:func:`explain_formula`). Rules that are not one comparison of
numbers (``present(a) or not present(b)``) have no numbers to show: both give None.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from .blueprint.expr import ColumnRange, Ref, XLError
from .layout import RuleInstance

# the comparison a failing rule shows: its negation
_FAILED = {ast.Eq: "≠", ast.NotEq: "=", ast.Lt: "≥", ast.LtE: ">", ast.Gt: "≤", ast.GtE: "<"}
_OPS = {ast.Add: " + ", ast.Sub: " − ", ast.Mult: " × ", ast.Div: " : "}
BLANK = "trống"
NUMBERS = ("Số liệu: ", ".")     # a message's numbers read " (Số liệu: 12 ≠ 5 + 8.)"


def with_numbers(message: str, numbers: str | None) -> str:
    """A rule's message followed by the numbers behind its failure, when there are any."""
    return f"{message} ({NUMBERS[0]}{numbers}{NUMBERS[1]})" if numbers else message


def numbers_formula(message_cell: str, numbers_cell: str) -> str:
    """Excel: the same text as :func:`with_numbers`, from the message and the numbers cells."""
    return (f'{message_cell}&IF({numbers_cell}="",""," ({NUMBERS[0]}"&{numbers_cell}&"{NUMBERS[1]})")')


def _shape(ri: RuleInstance) -> ast.Compare | None:
    body = ri.expr.tree.body
    if isinstance(body, ast.Compare) and len(body.ops) == 1 and type(body.ops[0]) in _FAILED:
        return body
    return None


def _number(v: object) -> str:
    if v is None or v == "":
        return BLANK
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"“{v}”"
    v = float(v)
    if v.is_integer():
        return str(int(v))
    return f"{v:.4f}".rstrip("0").rstrip(".").replace(".", ",")


def _walk(node: ast.AST, leaf: Callable[[ast.AST], str], text: Callable[[str], str], join: str) -> str | None:
    """The expression with each cell (or aggregate) rendered by ``leaf`` and the rest as text;
    ``join`` concatenates (" " in Python, "&" in Excel)."""
    if isinstance(node, (ast.Name, ast.Attribute)) or (isinstance(node, ast.Call) and node.func.id in ("total", "count")):
        return leaf(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return text(_number(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        a = _walk(node.left, leaf, text, join)
        b = _walk(node.right, leaf, text, join)
        return None if a is None or b is None else join.join([a, text(_OPS[type(node.op)]), b])
    if isinstance(node, ast.Call) and node.func.id == "sum":
        parts = [_walk(a, leaf, text, join) for a in node.args]
        if any(p is None for p in parts):
            return None
        out = parts[0]
        for p in parts[1:]:
            out = join.join([out, text(" + "), p])
        return out
    return None


def explain(ri: RuleInstance, value: Callable[[Ref], object], col_values: Callable[[ColumnRange], list]) -> str | None:
    """"12 ≠ 5 + 8" for a failing comparison rule, from the values the rule was judged on."""
    cmp = _shape(ri)
    if cmp is None:
        return None

    def leaf(node) -> str:
        vals = col_values(node._cchc_range) if isinstance(node, ast.Call) else [value(node._cchc_ref)]
        if any(isinstance(v, XLError) for v in vals):
            raise XLError("#VALUE!")     # the rule failed on an error value, reported at its cell
        if isinstance(node, ast.Call):
            if node.func.id == "count":
                return _number(sum(1 for v in vals if v is not None and v != ""))
            return _number(sum(v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)))
        return _number(vals[0])

    try:
        left = _walk(cmp.left, leaf, lambda s: s, "")
        right = _walk(cmp.comparators[0], leaf, lambda s: s, "")
    except XLError:
        return None                     # as the Excel side's IFERROR(…, "")
    if left is None or right is None:
        return None
    return f"{left} {_FAILED[type(cmp.ops[0])]} {right}"


def explain_formula(ri: RuleInstance, cell: Callable[[Ref], str], rng: Callable[[ColumnRange], str]) -> str | None:
    """The Excel counterpart of :func:`explain`: a text formula body (without "=")."""
    cmp = _shape(ri)
    if cmp is None:
        return None

    def quoted(s: str) -> str:
        return '"' + s.replace('"', '""') + '"'

    def leaf(node) -> str:
        if isinstance(node, ast.Call):
            r = rng(node._cchc_range)
            x = f'SUMPRODUCT(--({r}<>""))' if node.func.id == "count" else f"SUM({r})"
        else:
            x = cell(node._cchc_ref)
        return f'IF(ISNUMBER({x}),{x}&"",IF({x}&""="","{BLANK}","“"&{x}&"”"))'

    left = _walk(cmp.left, leaf, quoted, "&")
    right = _walk(cmp.comparators[0], leaf, quoted, "&")
    if left is None or right is None:
        return None
    return f'IFERROR({left}&{quoted(" " + _FAILED[type(cmp.ops[0])] + " ")}&{right},"")'
