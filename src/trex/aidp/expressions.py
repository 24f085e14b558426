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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Row = dict[str, Any]
Columns = dict[str, pa.Array | pa.ChunkedArray]
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
    """A compiled expression: call it on a row, ``batch`` it on a columnar batch, or ``mask`` whole Arrow
    columns at once (the vectorized form exists for the common constructs; ``mask`` returns None when
    the expression or the column types need the row-wise path)."""

    def __init__(self, source: str, fn: Callable[[Row], Any], vector: Callable[[Columns], Any] | None = None) -> None:
        self.source = source
        self._fn = fn
        self._vector = vector

    def mask(self, columns: Columns) -> np.ndarray | None:
        if self._vector is None:
            return None
        try:
            result = self._vector(columns)
            if not isinstance(result, pa.Array | pa.ChunkedArray) or result.type != pa.bool_():
                return None
            return pc.fill_null(result, False).to_numpy(zero_copy_only=False).astype(bool)
        except (pa.ArrowException, TypeError, ValueError):
            return None  # e.g. comparing a string column with a number: Python semantics decide, row by row

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
    row_fn = _compile(tree.body, set(columns))
    try:
        vector = _vectorize(tree.body)
    except _NotVectorizable:
        vector = None
    return Predicate(source, row_fn, vector)


def referenced_columns(source: str) -> list[str]:
    """The column names an expression reads (for checking a recipe before it runs); [] if it does not parse."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}
    return sorted(names - {"True", "False", "None"})


class _NotVectorizable(Exception):
    pass


_VEC_CMP = {
    ast.Eq: pc.equal,
    ast.NotEq: pc.not_equal,
    ast.Lt: pc.less,
    ast.LtE: pc.less_equal,
    ast.Gt: pc.greater,
    ast.GtE: pc.greater_equal,
}
_VEC_BIN = {ast.Add: pc.add, ast.Sub: pc.subtract, ast.Mult: pc.multiply, ast.Div: pc.divide}
_VEC_METHODS = {"lower": pc.utf8_lower, "upper": pc.utf8_upper, "strip": pc.utf8_trim_whitespace}


def _length(value: Any) -> Any:
    if pa.types.is_list(value.type) or pa.types.is_large_list(value.type):
        return pc.list_value_length(value)
    return pc.utf8_length(value)


def _vectorize(node: ast.AST) -> Callable[[Columns], Any]:
    """The expression over whole Arrow columns; raises _NotVectorizable for what only the row form does."""
    match node:
        case ast.Constant(value=value) if isinstance(value, int | float | str | bool):
            return lambda cols: value
        case ast.Name(id=name):
            return lambda cols: cols[name]
        case ast.BoolOp(op=ast.And() | ast.Or() as bool_op, values=values):
            parts = [_vectorize(v) for v in values]
            join = pc.and_kleene if isinstance(bool_op, ast.And) else pc.or_kleene

            def combine(cols: Columns) -> Any:
                out = parts[0](cols)
                for part in parts[1:]:
                    out = join(out, part(cols))
                return out

            return combine
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            inner = _vectorize(operand)
            return lambda cols: pc.invert(inner(cols))
        case ast.BinOp(op=bin_op, left=left, right=right) if type(bin_op) in _VEC_BIN:
            fn, lhs, rhs = _VEC_BIN[type(bin_op)], _vectorize(left), _vectorize(right)
            return lambda cols: fn(lhs(cols), rhs(cols))
        case ast.Compare(left=left, ops=[op_node], comparators=[right]) if type(op_node) in _VEC_CMP:
            fn, lhs, rhs = _VEC_CMP[type(op_node)], _vectorize(left), _vectorize(right)
            return lambda cols: fn(lhs(cols), rhs(cols))
        case ast.Compare(
            left=left, ops=[ast.In() | ast.NotIn() as op_node], comparators=[ast.List() | ast.Tuple() as seq]
        ):
            if not all(isinstance(e, ast.Constant) for e in seq.elts):
                raise _NotVectorizable
            values, lhs = pa.array([e.value for e in seq.elts]), _vectorize(left)
            if isinstance(op_node, ast.In):
                return lambda cols: pc.is_in(lhs(cols), value_set=values)
            return lambda cols: pc.invert(pc.is_in(lhs(cols), value_set=values))
        case ast.Call(func=ast.Name(id="len"), args=[arg], keywords=[]):
            inner = _vectorize(arg)
            return lambda cols: _length(inner(cols))
        case ast.Call(func=ast.Name(id="abs"), args=[arg], keywords=[]):
            inner = _vectorize(arg)
            return lambda cols: pc.abs(inner(cols))
        case ast.Call(func=ast.Attribute(value=target, attr=method), args=[], keywords=[]) if method in _VEC_METHODS:
            inner = _vectorize(target)
            return lambda cols: _VEC_METHODS[method](inner(cols))
        case ast.Call(
            func=ast.Attribute(value=target, attr="startswith" | "endswith" as method),
            args=[ast.Constant(value=str() as text)],
            keywords=[],
        ):
            inner, fn = _vectorize(target), pc.starts_with if method == "startswith" else pc.ends_with
            return lambda cols: fn(inner(cols), pattern=text)
    raise _NotVectorizable
