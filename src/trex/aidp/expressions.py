"""Safe row predicates: a small expression language over a row's columns, never ``eval``.

Allowed: column names, literals, ``and``/``or``/``not``, comparisons (``in`` included), arithmetic,
lists/tuples of literals, the functions ``len abs min max str int float``, and the string methods
``lower upper strip startswith endswith count``. Anything else (attributes, subscripts, lambdas,
imports, other names) is rejected when the expression is compiled, with the offending part named.
Code that needs more runs in the sandbox, not here.
"""

from __future__ import annotations

import ast
import operator as op
from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
_FUNCS: dict[str, Callable[..., Any]] = {
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "str": str,
    "int": int,
    "float": float,
}
_METHODS = {"lower", "upper", "strip", "startswith", "endswith", "count"}
_BIN = {ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv, ast.Mod: op.mod}
_CMP = {
    ast.Eq: op.eq,
    ast.NotEq: op.ne,
    ast.Lt: op.lt,
    ast.LtE: op.le,
    ast.Gt: op.gt,
    ast.GtE: op.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ExpressionError(ValueError):
    """The expression uses something outside the safe language or an unknown column."""


class Predicate:
    """A compiled expression: call it on a row, or ``batch`` on a columnar batch."""

    def __init__(self, source: str, fn: Callable[[Row], Any]) -> None:
        self.source = source
        self._fn = fn

    def __call__(self, row: Row) -> bool:
        return bool(self._fn(row))

    def batch(self, batch: dict[str, list[Any]]) -> list[bool]:
        columns = list(batch)
        size = len(batch[columns[0]]) if columns else 0
        return [bool(self._fn({c: batch[c][i] for c in columns})) for i in range(size)]


def _compile(node: ast.AST, columns: set[str]) -> Callable[[Row], Any]:
    match node:
        case ast.Constant(value=value):
            return lambda row: value
        case ast.Name(id=name):
            if name not in columns:
                raise ExpressionError(f"unknown column {name!r} (columns: {sorted(columns)})")
            return lambda row: row[name]
        case ast.BoolOp(op=ast.And(), values=values):
            parts = [_compile(v, columns) for v in values]
            return lambda row: all(p(row) for p in parts)
        case ast.BoolOp(op=ast.Or(), values=values):
            parts = [_compile(v, columns) for v in values]
            return lambda row: any(p(row) for p in parts)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            inner = _compile(operand, columns)
            return lambda row: not inner(row)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            inner = _compile(operand, columns)
            return lambda row: -inner(row)
        case ast.BinOp(op=bin_op, left=left, right=right) if type(bin_op) in _BIN:
            fn, lhs, rhs = _BIN[type(bin_op)], _compile(left, columns), _compile(right, columns)
            return lambda row: fn(lhs(row), rhs(row))
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            if any(type(o) not in _CMP for o in ops):
                raise ExpressionError(f"comparison not allowed: {ast.unparse(node)}")
            terms = [_compile(left, columns)] + [_compile(c, columns) for c in comparators]
            fns = [_CMP[type(o)] for o in ops]

            def compare(row: Row) -> bool:
                values = [t(row) for t in terms]
                return all(f(a, b) for f, a, b in zip(fns, values, values[1:], strict=False))

            return compare
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            items = [_compile(e, columns) for e in elts]
            return lambda row: [i(row) for i in items]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCS:
            fn, arg_fns = _FUNCS[name], [_compile(a, columns) for a in args]
            return lambda row: fn(*(a(row) for a in arg_fns))
        case ast.Call(func=ast.Attribute(value=target, attr=method), args=args, keywords=[]) if method in _METHODS:
            obj, arg_fns = _compile(target, columns), [_compile(a, columns) for a in args]
            return lambda row: getattr(str(obj(row)), method)(*(a(row) for a in arg_fns))
    raise ExpressionError(f"not allowed in a filter expression: {ast.unparse(node)!r}")


def compile_predicate(source: str, columns: list[str]) -> Predicate:
    """Compile ``source`` against the dataset's ``columns``; raise ExpressionError if unsafe or unknown."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc.msg}") from None
    return Predicate(source, _compile(tree.body, set(columns)))


def referenced_columns(source: str) -> list[str]:
    """The column names an expression reads (for checking a recipe before it runs); [] if it does not parse."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}
    return sorted(names - {"True", "False", "None"})
