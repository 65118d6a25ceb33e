"""The one expression language of blueprints.

A computed cell or a rule is written once, as a small Python-syntax expression over row and
column keys, and compiled twice: to an Excel formula (A1 references, ``IFERROR`` around
divisions) and to a Python evaluator that follows Excel's semantics closely enough that both
give the same answer on the same inputs, blanks and division by zero included.

Syntax (parsed with :mod:`ast`, then checked against a whitelist):

* ``name``            a key along the scope's free axis: a column key in a ``row`` scope,
                      a row key in a ``column`` scope;
* ``row.col``         an absolute cell (row key, column key);
* numbers, ``+ - * /``, unary ``-``, comparisons, ``and`` ``or`` ``not``;
* ``sum(a, b, ...)``  arithmetic sum of cells (blank counts as 0, text ignored);
* ``total(col)``      SUM of a column over the data rows of a list table (or of a group);
* ``count(col)``      number of non-blank cells of a column over the data rows;
* ``rate(a, b)``      ``a / b * 100``, blank when ``b`` is 0 or blank;
* ``div(a, b)``       ``a / b``, blank when ``b`` is 0 or blank;
* ``present(x)``      the cell is not blank (spaces alone are blank, as Excel's TRIM sees them);
* ``min max abs round iif``.

Python values: ``None`` is a blank input cell (0 in arithmetic, like Excel); ``""`` is the empty
text a formula returns (an error in arithmetic, like Excel's ``#VALUE!``).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ExprError",
    "Expr",
    "Ref",
    "ColumnRange",
    "compile_python",
    "parse",
    "XLError",
]


class ExprError(ValueError):
    """An expression that does not parse or does not fit its scope."""


class XLError(Exception):
    """The Python counterpart of an Excel error value (#VALUE!, #DIV/0!)."""


EQ_TOLERANCE = 1e-6
FUNCTIONS = {"sum", "total", "count", "rate", "div", "present", "min", "max", "abs", "round", "iif"}
AGGREGATES = {"total", "count"}


class Ref(NamedTuple):
    """One cell, by row key and column key (a tuple: hashed and compared at C speed, and cells
    are looked up by it millions of times per merge)."""

    row: str
    col: str


@dataclass(frozen=True)
class ColumnRange:
    """A column over the data rows of a list table (or of one group of it)."""

    col: str
    group: str | None = None


# ---------------------------------------------------------------------------------------------
# Parsing and binding
# ---------------------------------------------------------------------------------------------

_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Name,
    ast.Attribute, ast.Constant, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub,
    ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)


def parse(text: str) -> ast.Expression:
    """Parse and whitelist an expression; raise :class:`ExprError` with a readable reason.

    A fresh tree every time (binding annotates it); the whitelist is checked once per text."""
    _whitelisted(text)
    return ast.parse(text.strip(), mode="eval")


@functools.lru_cache(maxsize=4096)
def _whitelisted(text: str) -> None:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse expression {text!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"{type(node).__name__} is not allowed in expression {text!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ExprError(f"only numbers may be constants in {text!r}")
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise ExprError(f"chained comparison in {text!r}: write 'a <= b and b <= c'")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExprError(f"unknown function in {text!r}; known: {sorted(FUNCTIONS)}")
            if node.keywords:
                raise ExprError(f"keyword arguments are not allowed in {text!r}")
        if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Name):
            raise ExprError(f"a cell is written 'row.col' in {text!r}")


@dataclass(frozen=True)
class Scope:
    """How bare names are resolved.

    ``axis='row'``: bare names are column keys and ``fixed`` is the row key;
    ``axis='column'``: bare names are row keys and ``fixed`` is the column key;
    ``axis='table'``: no bare names (only ``row.col`` and aggregates).
    """

    axis: str
    fixed: str | None = None
    group: str | None = None


class Expr:
    """A parsed expression, bound to a scope: every reference resolved to a cell."""

    def __init__(self, text: str, scope: Scope, rows: Iterable[str], cols: Iterable[str]):
        self.text = text
        self.scope = scope
        self._rows = set(rows)
        self._cols = set(cols)
        self.tree = parse(text)
        self.refs: list[Ref] = []
        self.ranges: list[ColumnRange] = []
        self.has_division = False
        self._check(self.tree.body)

    # -- binding ---------------------------------------------------------------------------

    def _name_ref(self, name: str) -> Ref:
        axis, fixed = self.scope.axis, self.scope.fixed
        if axis == "row":
            if name not in self._cols:
                raise ExprError(f"unknown column {name!r} in {self.text!r}")
            return Ref(fixed, name)
        if axis == "column":
            if name not in self._rows:
                raise ExprError(f"unknown row {name!r} in {self.text!r}")
            return Ref(name, fixed)
        raise ExprError(f"bare name {name!r} in a table-wide expression {self.text!r}: write row.col")

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            node._cchc_ref = self._name_ref(node.id)
            self.refs.append(node._cchc_ref)
        elif isinstance(node, ast.Attribute):
            row, col = node.value.id, node.attr
            if row not in self._rows:
                raise ExprError(f"unknown row {row!r} in {self.text!r}")
            if col not in self._cols:
                raise ExprError(f"unknown column {col!r} in {self.text!r}")
            node._cchc_ref = Ref(row, col)
            self.refs.append(node._cchc_ref)
        elif isinstance(node, ast.Call) and node.func.id in AGGREGATES:
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
                raise ExprError(f"{node.func.id}() takes one column key in {self.text!r}")
            col = node.args[0].id
            if col not in self._cols:
                raise ExprError(f"unknown column {col!r} in {self.text!r}")
            node._cchc_range = ColumnRange(col, self.scope.group)
            self.ranges.append(node._cchc_range)
        else:
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                self.has_division = True
            if isinstance(node, ast.Call):
                self.has_division |= node.func.id in {"rate", "div"}
                _check_arity(node, self.text)
            children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
            for child in children:
                self._check(child)

    # -- Excel -------------------------------------------------------------------------------

    def to_excel(
        self,
        cell: Callable[[Ref], str],
        column_range: Callable[[ColumnRange], str] | None = None,
        *,
        wrap_errors: bool = True,
    ) -> str:
        """The formula body (without '='); ``cell`` maps a Ref to an A1 address.

        With ``wrap_errors`` an error (a division by zero or blank, text in arithmetic) shows
        as an empty text, which is what :meth:`evaluate` returns for it too."""
        body = _XLCompiler(cell, column_range).emit(self.tree.body)
        if wrap_errors:
            return f'IFERROR({body},"")'
        return body

    # -- Python ------------------------------------------------------------------------------

    def evaluate(
        self,
        value: Callable[[Ref], object],
        column_values: Callable[[ColumnRange], Sequence[object]] | None = None,
        *,
        wrap_errors: bool = True,
    ) -> object:
        """Evaluate like Excel would; errors become ``""`` (the formula's IFERROR).

        A formula never yields a blank: a result that is a blank cell shows as 0 in Excel."""
        fn = self.__dict__.get("_fn")
        if fn is None:
            fn = self._fn = compile_python(self.tree.body)
        try:
            result = fn(value, column_values)
        except XLError:
            if wrap_errors:
                return ""
            raise
        return 0 if result is None else result


def _check_arity(node: ast.Call, text: str) -> None:
    n = len(node.args)
    want = {"rate": 2, "div": 2, "present": 1, "abs": 1, "iif": 3}
    name = node.func.id
    if name in want and n != want[name]:
        raise ExprError(f"{name}() takes {want[name]} arguments in {text!r}")
    if name == "round" and n not in (1, 2):
        raise ExprError(f"round() takes 1 or 2 arguments in {text!r}")
    if name in {"sum", "min", "max"} and n == 0:
        raise ExprError(f"{name}() needs arguments in {text!r}")


# ---------------------------------------------------------------------------------------------
# Excel compiler
# ---------------------------------------------------------------------------------------------

_XL_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_XL_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class _XLCompiler:
    def __init__(self, cell, column_range):
        self.cell = cell
        self.column_range = column_range

    def emit(self, node: ast.AST) -> str:  # noqa: C901 - a dispatcher
        if isinstance(node, ast.Constant):
            return _num(node.value)
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.cell(node._cchc_ref)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"NOT({self.emit(node.operand)})"
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"{sign}({self.emit(node.operand)})"
        if isinstance(node, ast.BinOp):
            return f"({self.emit(node.left)}{_XL_BINOPS[type(node.op)]}{self.emit(node.right)})"
        if isinstance(node, ast.BoolOp):
            fn = "AND" if isinstance(node.op, ast.And) else "OR"
            return f"{fn}({','.join(self.emit(v) for v in node.values)})"
        if isinstance(node, ast.Compare):
            left, right = self.emit(node.left), self.emit(node.comparators[0])
            op = type(node.ops[0])
            if op is ast.Eq:
                return f"(ABS(({left})-({right}))<={_num(EQ_TOLERANCE)})"
            if op is ast.NotEq:
                return f"(ABS(({left})-({right}))>{_num(EQ_TOLERANCE)})"
            return f"(({left}){_XL_CMP[op]}({right}))"
        if isinstance(node, ast.Call):
            return self.call(node)
        raise AssertionError(type(node))

    def call(self, node: ast.Call) -> str:
        name = node.func.id
        args = node.args
        if name in AGGREGATES:
            rng = self.column_range(node._cchc_range)
            return f"SUM({rng})" if name == "total" else f'SUMPRODUCT(--({rng}<>""))'
        e = [self.emit(a) for a in args]
        if name == "sum":
            return f"SUM({','.join(e)})"
        if name == "rate":
            return f"(({e[0]})/({e[1]})*100)"
        if name == "div":
            return f"(({e[0]})/({e[1]}))"
        if name == "present":
            return f"(LEN(TRIM({e[0]}))>0)"
        if name in {"min", "max", "abs", "round"}:
            if name == "round" and len(e) == 1:
                e.append("0")
            return f"{name.upper()}({','.join(e)})"
        if name == "iif":
            return f"IF({e[0]},{e[1]},{e[2]})"
        raise AssertionError(name)


def _num(v: float) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v)).upper()


# ---------------------------------------------------------------------------------------------
# Python evaluator with Excel semantics
# ---------------------------------------------------------------------------------------------


def _arith(v: object) -> float:
    """A value as an operand of + - * /: blank is 0, text is an error (like #VALUE!)."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, (int, float)):
        return v
    raise XLError("#VALUE!")


def _sort_key(v: object) -> tuple[int, object]:
    """Excel's cross-type order: numbers < text < logicals; blank compares as 0 or ''."""
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, (int, float)):
        return (0, v)
    return (1, str(v).lower())


def _compare(op: type, a: object, b: object) -> bool:
    # A blank against a number is 0; against text it is "".
    if a is None:
        a = "" if isinstance(b, str) else 0
    if b is None:
        b = "" if isinstance(a, str) else 0
    if op in (ast.Eq, ast.NotEq):
        # compiled as ABS(a-b)<=tolerance: text is an error, as in Excel
        equal = abs(_arith(a) - _arith(b)) <= EQ_TOLERANCE
        return equal if op is ast.Eq else not equal
    ka, kb = _sort_key(a), _sort_key(b)
    return {ast.Lt: ka < kb, ast.LtE: ka <= kb, ast.Gt: ka > kb, ast.GtE: ka >= kb}[op]


def _truth(v: object) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        raise XLError("#VALUE!")
    return bool(v)


def compile_python(node: ast.AST) -> Callable[[Callable, Callable | None], object]:  # noqa: C901 - a dispatcher
    """The expression as a Python closure ``f(value, column_values)`` with Excel's semantics
    (compiled once per expression: evaluation runs for every cell of every file)."""
    if isinstance(node, ast.Constant):
        const = node.value
        return lambda value, cols: const
    if isinstance(node, (ast.Name, ast.Attribute)):
        ref = node._cchc_ref

        def f_cell(value, cols):
            v = value(ref)
            if v.__class__ is XLError:      # a cell holding an error value: the formula is an error
                raise v
            return v
        return f_cell
    if isinstance(node, ast.UnaryOp):
        operand = compile_python(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda value, cols: not _truth(operand(value, cols))
        if isinstance(node.op, ast.USub):
            return lambda value, cols: -_arith(operand(value, cols))
        return lambda value, cols: _arith(operand(value, cols))
    if isinstance(node, ast.BinOp):
        left, right = compile_python(node.left), compile_python(node.right)
        if isinstance(node.op, ast.Add):
            return lambda value, cols: _arith(left(value, cols)) + _arith(right(value, cols))
        if isinstance(node.op, ast.Sub):
            return lambda value, cols: _arith(left(value, cols)) - _arith(right(value, cols))
        if isinstance(node.op, ast.Mult):
            return lambda value, cols: _arith(left(value, cols)) * _arith(right(value, cols))
        return lambda value, cols: _divide(_arith(left(value, cols)), _arith(right(value, cols)))
    if isinstance(node, ast.BoolOp):
        parts = [compile_python(v) for v in node.values]
        if isinstance(node.op, ast.And):     # Excel evaluates every argument
            return lambda value, cols: all([_truth(f(value, cols)) for f in parts])
        return lambda value, cols: any([_truth(f(value, cols)) for f in parts])
    if isinstance(node, ast.Compare):
        op = type(node.ops[0])
        left, right = compile_python(node.left), compile_python(node.comparators[0])
        return lambda value, cols: _compare(op, left(value, cols), right(value, cols))
    if isinstance(node, ast.Call):
        return _compile_call(node)
    raise AssertionError(type(node))


def _compile_call(node: ast.Call) -> Callable:  # noqa: C901 - a dispatcher
    name = node.func.id
    if name in AGGREGATES:
        rng = node._cchc_range
        if name == "total":
            return lambda value, cols: sum(v for v in _cells(cols(rng)) if isinstance(v, (int, float))
                                           and not isinstance(v, bool))
        return lambda value, cols: sum(1 for v in _cells(cols(rng)) if v is not None and v != "")
    args = [compile_python(a) for a in node.args]
    if name == "iif":       # Excel's IF evaluates only the branch it takes
        cond, yes, no = args
        return lambda value, cols: yes(value, cols) if _truth(cond(value, cols)) else no(value, cols)
    if name == "sum":
        def f_sum(value, cols):
            vals = [a(value, cols) for a in args]
            return sum(v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool))
        return f_sum
    if name in {"rate", "div"}:
        a, b = args
        if name == "rate":
            return lambda value, cols: _divide(_arith(a(value, cols)), _arith(b(value, cols))) * 100
        return lambda value, cols: _divide(_arith(a(value, cols)), _arith(b(value, cols)))
    if name == "present":
        a = args[0]

        def f_present(value, cols):
            v = a(value, cols)
            return v is not None and (not isinstance(v, str) or v.strip(" ") != "")
        return f_present
    if name in {"min", "max"}:
        pick = min if name == "min" else max

        def f_minmax(value, cols):
            vals = [a(value, cols) for a in args]
            return pick([v for v in vals if isinstance(v, (int, float))] or [0])
        return f_minmax
    if name == "abs":
        a = args[0]
        return lambda value, cols: abs(_arith(a(value, cols)))
    if name == "round":
        x = args[0]
        digits = args[1] if len(args) > 1 else None

        def f_round(value, cols):
            v = x(value, cols)
            d = int(_arith(digits(value, cols))) if digits is not None else 0
            return _excel_round(_arith(v), d)
        return f_round
    raise AssertionError(name)


def _cells(vs):
    for v in vs:
        if isinstance(v, XLError):
            raise v
    return vs


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise XLError("#DIV/0!")
    return a / b


def _excel_round(x: float, digits: int) -> float:
    """Excel rounds half away from zero (Python rounds half to even)."""
    factor = 10**digits
    return math.floor(abs(x) * factor + 0.5) / factor * (1 if x >= 0 else -1)


def bind(text: str, scope: Scope, rows: Iterable[str], cols: Iterable[str]) -> Expr:
    return Expr(text, scope, rows, cols)
