"""Derived columns: ``--map target=EXPRESSION``, one scalar expression over the file's columns.

A mapping's value is a column of the file (a rename) or an expression:

* the file's columns by name (``sales_value``), or in backticks when the name
  is not a Python identifier (```sales value```, ```class```);
* numbers (``1``, ``0.5``) and text in quotes (``'coupon_redeem'``);
* ``+ - * /``, unary ``-`` and parentheses;
* the functions ``abs(x)``, ``round(x[, digits])``, ``lower(s)``, ``upper(s)``,
  ``trim(s)``, ``coalesce(a, b, ...)`` (the first value that is not empty),
  ``concat(a, b, ...)`` (text joined, e.g. a date and a time column:
  ``concat(day, ' ', time)``) and ``days_after('2017-01-01', n)`` (the date *n*
  days after a start, for feeds that count days instead of writing dates; the
  result is read by the date rules like any date column).

Nothing else is allowed (no attribute, call, subscript, comparison or
lambda): the text is parsed with :mod:`ast` and translated node by node into
DuckDB SQL, never evaluated by Python.  Text columns are read as numbers with
the loader's number rule (:func:`text_to_number`: no hexadecimal, no
underscores), and a row whose operand is not a number is quarantined with a
reason naming the expression and the column (:func:`operand_rules`).

>>> d = parse_mapping("revenue", "sales_value + `retail disc`",
...                   {"sales_value": "VARCHAR", "retail disc": "VARCHAR"}, source="t.csv")
>>> d.columns, d.numbers, d.sql_type
(('sales_value', 'retail disc'), ('sales_value', 'retail disc'), 'DOUBLE')
>>> parse_mapping("type", "'coupon_redeem'", {}, source="t.csv").sql
"'coupon_redeem'"
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from outsidein.errors import DataValidationError
from outsidein.warehouse.sql import lit, q

__all__ = ["CURRENCY_SIGNS", "DECIMALS", "FUNCTIONS", "Derived", "operand_rules", "parse_mapping",
           "text_to_number"]

#: functions an expression may call, with their number of arguments (min, max)
FUNCTIONS = {"abs": (1, 1), "round": (1, 2), "lower": (1, 1), "upper": (1, 1),
             "trim": (1, 1), "coalesce": (2, 16), "concat": (2, 16), "days_after": (2, 2)}
ALLOWED = ("an expression may use the file's columns (`in backticks` when a name has spaces), "
           "numbers, 'text', + - * / and parentheses, and the functions "
           + ", ".join(FUNCTIONS))
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_NAMED_OPERATORS = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@",
                    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
                    ast.RShift: ">>", ast.Not: "not", ast.Invert: "~"}
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_MAX_LENGTH = 2000
_NUMBER, _TEXT = "number", "text"


#: currency signs a money amount may carry before or after its number (``$1,177.00``,
#: ``12,50 €``)
CURRENCY_SIGNS = "$€£¥₹"
#: what separates digit groups where the decimal separator is a comma (``1.234,50``,
#: ``1 234,50``, ``1'234,50``; a no-break space as spreadsheets write it)
_GROUPS_COMMA = ". \u00a0\u202f'"
DECIMALS = (".", ",")
# the patterns of :func:`text_to_number`, as SQL literals: a currency sign before the number
# (after its sign, which is kept) and after it; a number's shape with each separator
_SIGN = f"[{CURRENCY_SIGNS}]"
_LEADING_SIGN, _KEEP_SIGN = lit(rf"^([+-]?)\s*{_SIGN}\s*"), lit(r"\1")
_TRAILING_SIGN = lit(rf"\s*{_SIGN}$")
_POINT_SHAPE = lit(r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]*)(\.[0-9]*)?")
_COMMA_GROUPS = f"[{_GROUPS_COMMA}]"
_COMMA_SHAPE = lit(rf"[+-]?([0-9]{{1,3}}({_COMMA_GROUPS}[0-9]{{3}})+|[0-9]*)(,[0-9]*)?")


def text_to_number(x: str, decimal: str = ".") -> str:
    """SQL reading the text *x* as a DOUBLE, NULL when it is not a decimal number.

    *decimal* is the decimal separator: ``"."`` (the default) or ``","`` (``--decimal ,``,
    as in ``1.234,50``).  A number may carry a currency sign before or after it
    (:data:`CURRENCY_SIGNS`) and group its digits by thousands, but only in whole groups of
    three after the first (``1,234,567.5``; with a decimal comma ``1.234.567,5``,
    ``1 234 567,5`` or ``1'234'567,5``), so ``11,77`` is not a number with the default
    separator (it is one with ``--decimal ,``), and ``12.50`` is not one with a decimal
    comma: a file is read with one separator, never guessed row by row.

    DuckDB's cast also reads ``1_000``; the loader does not (an underscore is a sign of a
    wrongly read column).  Hexadecimal (``0x1A``) is already refused by the cast to DOUBLE.

    >>> import duckdb
    >>> def read(text, decimal="."):
    ...     return duckdb.sql(f"SELECT {text_to_number(lit(text), decimal)}").fetchone()[0]
    >>> [read(t) for t in ("1_000", " 2.5 ", "$1,177.00", "-$5", "1,234,567.5", "11,77")]
    [None, 2.5, 1177.0, -5.0, 1234567.5, None]
    >>> [read(t, ",") for t in ("11,77", "1.234,50 €", "1 234,5", "12.50", "1e3", "7")]
    [11.77, 1234.5, 1234.5, None, 1000.0, 7.0]
    """
    if decimal not in DECIMALS:
        raise ValueError(f"decimal separator {decimal!r}: expected '.' or ','")
    bare = (f"regexp_replace(regexp_replace(trim({x}), {_LEADING_SIGN}, {_KEEP_SIGN}), "
            f"{_TRAILING_SIGN}, '')")
    if decimal == ".":
        return (f"CASE WHEN strpos({x}, '_') = 0 THEN coalesce(TRY_CAST({x} AS DOUBLE), "
                f"CASE WHEN regexp_full_match({bare}, {_POINT_SHAPE}) "
                f"THEN TRY_CAST(replace({bare}, ',', '') AS DOUBLE) END) END")
    plain = f"strpos({x}, '_') = 0 AND strpos({x}, '.') = 0 AND strpos({x}, ',') = 0"
    return (f"coalesce(CASE WHEN {plain} THEN TRY_CAST({x} AS DOUBLE) END, "
            f"CASE WHEN regexp_full_match({bare}, {_COMMA_SHAPE}) THEN TRY_CAST(replace("
            f"regexp_replace({bare}, {lit(_COMMA_GROUPS)}, '', 'g'), ',', '.') AS DOUBLE) END)")


@dataclass(frozen=True)
class Derived:
    """A canonical column computed from the file's columns.

    Attributes
    ----------
    target : str
        The canonical column.
    text : str
        The expression as written (for messages).
    sql : str
        DuckDB SQL of the value over the staged columns.
    sql_type : str
        ``DOUBLE``, ``BIGINT`` (an integer constant) or ``VARCHAR``.
    columns : tuple of str
        The file's columns it reads.
    numbers : tuple of str
        The text columns it reads as numbers (each may fail to parse).
    divides : bool
        Whether it divides (a division by zero gives no finite value).
    decimal : str
        The decimal separator its text operands are read with (:func:`text_to_number`).
    """

    target: str
    text: str
    sql: str
    sql_type: str
    columns: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    divides: bool = False
    decimal: str = "."

    @property
    def column(self) -> str:
        """Name of the computed column in the staged relation."""
        return "_oi_derived_" + self.target


def parse_mapping(target: str, text: str, found: Mapping[str, str], *,
                  source: str, decimal: str = ".") -> Derived | str:
    """The source column named by *text*, or the :class:`Derived` column it computes.

    Parameters
    ----------
    target : str
        The canonical column (``--map target=text``).
    text : str
        A column of the source, a column in backticks, or an expression.
    found : mapping of str to str
        The source's columns and their DuckDB types.
    source : str
        File name, for messages.
    decimal : str
        The decimal separator of the file's numbers written as text (``--decimal``).

    Raises
    ------
    DataValidationError
        A name that is not a column (listing the columns found), or anything
        an expression may not contain (naming it).

    Examples
    --------
    >>> parse_mapping("customer_id", "`Customer No`", {"Customer No": "VARCHAR"}, source="f")
    'Customer No'
    >>> parse_mapping("quantity", "1", {}, source="f").sql_type
    'BIGINT'
    >>> parse_mapping("revenue", "price.real", {"price": "VARCHAR"}, source="f")
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: --map revenue=price.real: attribute access \
(price.real) is not allowed; an expression may use the file's columns (`in backticks` when \
a name has spaces), numbers, 'text', + - * / and parentheses, and the functions abs, round, \
lower, upper, trim, coalesce, concat, days_after
    """
    if text in found:
        return text
    where = f"--map {target}={text}"
    columns = ", ".join(found) or "(none)"
    if len(text) > _MAX_LENGTH:
        raise DataValidationError(f"{where[:80]}...: an expression may be at most "
                                  f"{_MAX_LENGTH:,} characters long")
    python, names = _backticks(text.strip(), where)
    try:
        tree = ast.parse(python, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise DataValidationError(
            f"{where}: {text!r} is not a column of {source} (columns found: {columns}) "
            f"and not a valid expression ({detail}); write a column name with spaces in "
            "backticks, e.g. `sales value`") from None
    if isinstance(tree, ast.Name):
        column = names.get(tree.id, tree.id)
        if column not in found:
            raise DataValidationError(
                f"{where}: column {column!r} is not in {source}; columns found: {columns}")
        return column
    tr = _Translator(found, names, where=where, source=source, decimal=decimal)
    try:
        sql, kind = tr.visit(tree)
    except RecursionError:
        raise DataValidationError(f"{where}: the expression is nested too deeply") from None
    whole = _int_constant(tree)
    if kind == _TEXT:
        sql_type = "VARCHAR"
    elif whole is not None and abs(whole) < 2**63:
        sql, sql_type = f"CAST({whole} AS BIGINT)", "BIGINT"  # quantity=1 stays a whole number
    else:
        sql_type = "DOUBLE"
    return Derived(target, text, sql, sql_type, tuple(dict.fromkeys(tr.columns)),
                   tuple(dict.fromkeys(tr.numbers)), tr.divides, decimal)


def _date_constant(node: ast.AST) -> str | None:
    """The ISO date of a text constant (``'2017-01-01'``), else None."""
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return None
    try:
        return date.fromisoformat(node.value.strip()).isoformat()
    except ValueError:
        return None


def _int_constant(node: ast.AST) -> int | None:
    """The value of an integer constant (``3``, ``-2``), else None."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _backticks(text: str, where: str) -> tuple[str, dict[str, str]]:
    """*text* with each `column` replaced by a placeholder name, and the placeholders."""
    out: list[str] = []
    names: dict[str, str] = {}
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                out.append(text[i:i + 2])
                i += 2
                continue
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise DataValidationError(f"{where}: a backtick is not closed; write a column "
                                          "name with spaces as `sales value`")
            placeholder = f"_oi_column_{len(names)}_"
            names[placeholder] = text[i + 1:end]
            out.append(f" {placeholder} ")
            i = end + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out).strip(), names


class _Translator:
    """AST node -> (DuckDB SQL, kind) with kind "number" or "text"."""

    def __init__(self, found: Mapping[str, str], names: Mapping[str, str], *, where: str,
                 source: str, decimal: str = ".") -> None:
        self.found, self.names, self.where, self.source = found, names, where, source
        self.decimal = decimal
        self.columns: list[str] = []
        self.numbers: list[str] = []
        self.divides = False

    def fail(self, what: str) -> DataValidationError:
        return DataValidationError(f"{self.where}: {what} is not allowed; {ALLOWED}")

    def visit(self, node: ast.AST) -> tuple[str, str]:
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.BinOp):
            symbol = _OPERATORS.get(type(node.op))
            if symbol is None:
                raise self.fail(f"the operator {_NAMED_OPERATORS.get(type(node.op), '?')}")
            self.divides |= symbol == "/"
            return f"({self.number(node.left)} {symbol} {self.number(node.right)})", _NUMBER
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub | ast.UAdd):
                sign = "-" if isinstance(node.op, ast.USub) else "+"
                return f"({sign}{self.number(node.operand)})", _NUMBER
            raise self.fail(f"the operator {_NAMED_OPERATORS.get(type(node.op), '?')}")
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(_describe(node))

    def name(self, node: ast.Name) -> tuple[str, str]:
        column = self.names.get(node.id, node.id)
        if column not in self.found:
            raise DataValidationError(
                f"{self.where}: column {column!r} is not in {self.source}; "
                f"columns found: {', '.join(self.found) or '(none)'}")
        self.columns.append(column)
        stype = self.found[column].upper()
        if stype == "VARCHAR":
            return q(column), _TEXT
        if stype.startswith(_NUMERIC_TYPES):
            return f"CAST({q(column)} AS DOUBLE)", _NUMBER
        return f"CAST({q(column)} AS VARCHAR)", _TEXT

    def constant(self, node: ast.Constant) -> tuple[str, str]:
        value = node.value
        if isinstance(value, str):
            return lit(value), _TEXT
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value != value or not -1e300 < value < 1e300:
                raise self.fail(f"the constant {value!r}")
            return repr(value), _NUMBER
        raise self.fail(f"the constant {value!r}")

    def number(self, node: ast.AST) -> str:
        """The SQL of *node* as a DOUBLE; a text column is parsed with the number rule."""
        if isinstance(node, ast.Name):
            sql, kind = self.name(node)
            if kind == _TEXT:
                column = self.names.get(node.id, node.id)
                if self.found[column].upper() != "VARCHAR":
                    raise DataValidationError(
                        f"{self.where}: column {column!r} is a {self.found[column]}; "
                        "arithmetic needs numbers")
                self.numbers.append(column)
                return text_to_number(sql, self.decimal)
            return sql
        sql, kind = self.visit(node)
        if kind == _TEXT:
            raise DataValidationError(
                f"{self.where}: {ast.unparse(node)} is text; arithmetic needs numbers")
        return f"CAST({sql} AS DOUBLE)" if isinstance(node, ast.Constant) else sql

    def text(self, node: ast.AST) -> str:
        sql, kind = self.visit(node)
        return sql if kind == _TEXT else f"CAST({sql} AS VARCHAR)"

    def call(self, node: ast.Call) -> tuple[str, str]:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = (f"the function {node.func.id}()" if isinstance(node.func, ast.Name)
                    else f"calling {ast.unparse(node.func)}")
            raise self.fail(what)
        fn, args = node.func.id, node.args
        if node.keywords or any(isinstance(a, ast.Starred) for a in args):
            raise self.fail(f"keyword or starred arguments in {fn}()")
        low, high = FUNCTIONS[fn]
        if not low <= len(args) <= high:
            raise DataValidationError(f"{self.where}: {fn}() takes {low} to {high} "
                                      f"argument(s), got {len(args)}")
        if fn == "abs":
            return f"abs({self.number(args[0])})", _NUMBER
        if fn == "round":
            digits = _int_constant(args[1]) if len(args) > 1 else 0
            if digits is None:
                raise DataValidationError(f"{self.where}: round()'s digits must be a whole "
                                          f"number, got {ast.unparse(args[1])}")
            return f"round({self.number(args[0])}, {digits})", _NUMBER
        if fn in ("lower", "upper", "trim"):
            return f"{fn}({self.text(args[0])})", _TEXT
        if fn == "concat":
            return "concat(" + ", ".join(self.text(a) for a in args) + ")", _TEXT
        if fn == "days_after":
            start = _date_constant(args[0])
            if start is None:
                raise DataValidationError(
                    f"{self.where}: days_after()'s start must be a date in quotes, like "
                    f"'2017-01-01', got {ast.unparse(args[0])}")
            days = self.number(args[1])
            return (f"strftime(DATE {lit(start)} + CAST(round({days}) AS INTEGER), "
                    "'%Y-%m-%d')"), _TEXT
        parts = [self.visit(a) for a in args]
        if all(kind == _TEXT for _, kind in parts):
            return "coalesce(" + ", ".join(f"nullif(trim({s}), '')" for s, _ in parts) + ")", _TEXT
        return "coalesce(" + ", ".join(self.number(a) for a in args) + ")", _NUMBER


def _describe(node: ast.AST) -> str:
    kinds = {ast.Attribute: "attribute access", ast.Subscript: "subscripts",
             ast.Lambda: "lambda", ast.Compare: "comparisons", ast.BoolOp: "and/or",
             ast.IfExp: "if/else", ast.JoinedStr: "f-strings", ast.List: "lists",
             ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
             ast.NamedExpr: "assignment (:=)", ast.Starred: "starred arguments"}
    kind = next((v for k, v in kinds.items() if isinstance(node, k)),
                type(node).__name__.lower())
    return f"{kind} ({ast.unparse(node)})"


def operand_rules(d: Derived, *, required: bool) -> list[tuple[str, str]]:
    """``(condition, reason)`` for the rows where the derived column *d* cannot be computed.

    A text operand that is not a number; for a *required* target, an empty
    operand that leaves it without a value; a division by zero.

    >>> d = parse_mapping("revenue", "a / b", {"a": "VARCHAR", "b": "VARCHAR"}, source="f")
    >>> [reason for _, reason in operand_rules(d, required=True)]  # doctest: +NORMALIZE_WHITESPACE
    ["revenue = a / b: column 'a' is not a number", "revenue = a / b: column 'b' is not a number",
     "revenue = a / b: column 'a' is empty", "revenue = a / b: column 'b' is empty",
     'revenue = a / b: no finite value (a division by zero?)']
    """
    label = f"{d.target} = {d.text}"
    value = q(d.column)
    out = []
    for c in d.numbers:
        x = q(c)
        empty = f"({x} IS NULL OR trim({x}) = '')"
        out.append((f"{text_to_number(x, d.decimal)} IS NULL AND NOT {empty}",
                    f"{label}: column {c!r} is not a number"))
    if required:
        for c in d.numbers:
            x = q(c)
            out.append((f"{value} IS NULL AND ({x} IS NULL OR trim({x}) = '')",
                        f"{label}: column {c!r} is empty"))
    if d.divides:
        out.append((f"NOT isfinite({value})", f"{label}: no finite value (a division by zero?)"))
    return out
