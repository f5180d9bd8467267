"""A safe, bounded evaluator for arithmetic expressions written by a language model.

The expression is parsed with :func:`ast.parse` (``mode="eval"``) and the tree is walked by
hand; only whitelisted nodes are evaluated, nothing is ever passed to ``eval``/``exec``/
``compile``. Supported:

* numbers: integer and float literals (``3``, ``2.5``, ``1e-3``); no complex, strings, booleans;
* operators: unary ``+ -``, binary ``+ - * / // % **``, parentheses; ``^`` is accepted as a
  synonym of ``**`` (``2^10 == 1024``), and the typographic signs U+00D7 (multiplication),
  U+00F7 (division) and U+2212 (minus) mean ``*``, ``/`` and ``-``;
* Python's precedence: ``**`` binds tighter than unary minus (``-2**2 == -4``) and is
  right-associative (``2**3**2 == 512``);
* the functions in :data:`FUNCTIONS` and the constants in :data:`CONSTANTS`.

Every step is bounded so that no input can hang the process or exhaust memory: input length,
syntax-tree size and depth, and integer size (checked *before* computing a power or product).
Integers stay exact; floats must stay finite. Violations raise :class:`ArithmeticExpressionError`
with a message that says what was wrong and what is supported.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

Number = int | float

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 40
MAX_INT_BITS = 10_000
MAX_FACTORIAL_ARGUMENT = 1_000

SYNONYMS = {"^": "**", "\u00d7": "*", "\u00f7": "/", "\u2212": "-"}


@dataclass(frozen=True)
class Function:
    """A whitelisted function: the callable and how many positional arguments it takes."""

    call: Callable[..., Number]
    min_args: int
    max_args: int
    usage: str


def _factorial(n: Number) -> int:
    if isinstance(n, float):
        if not n.is_integer():
            raise ArithmeticExpressionError(f"factorial() needs a whole number, got {n!r}.")
        n = int(n)
    if n < 0 or n > MAX_FACTORIAL_ARGUMENT:
        raise ArithmeticExpressionError(
            f"factorial() accepts whole numbers from 0 to {MAX_FACTORIAL_ARGUMENT}, got {n}."
        )
    return math.factorial(n)


def _round(x: Number, digits: Number = 0) -> Number:
    if not isinstance(digits, int):
        raise ArithmeticExpressionError("round(x, n): n must be a whole number.")
    if abs(digits) > 100:
        raise ArithmeticExpressionError("round(x, n): n must be between -100 and 100.")
    return round(x, digits) if digits else round(x)


FUNCTIONS: dict[str, Function] = {
    "sqrt": Function(math.sqrt, 1, 1, "sqrt(x)"),
    "abs": Function(abs, 1, 1, "abs(x)"),
    "round": Function(_round, 1, 2, "round(x[, n])"),
    "floor": Function(math.floor, 1, 1, "floor(x)"),
    "ceil": Function(math.ceil, 1, 1, "ceil(x)"),
    "exp": Function(math.exp, 1, 1, "exp(x)"),
    "log": Function(math.log, 1, 2, "log(x[, base])"),
    "ln": Function(math.log, 1, 1, "ln(x)"),
    "log10": Function(math.log10, 1, 1, "log10(x)"),
    "log2": Function(math.log2, 1, 1, "log2(x)"),
    "sin": Function(math.sin, 1, 1, "sin(x)"),
    "cos": Function(math.cos, 1, 1, "cos(x)"),
    "tan": Function(math.tan, 1, 1, "tan(x)"),
    "asin": Function(math.asin, 1, 1, "asin(x)"),
    "acos": Function(math.acos, 1, 1, "acos(x)"),
    "atan": Function(math.atan, 1, 1, "atan(x)"),
    "degrees": Function(math.degrees, 1, 1, "degrees(x)"),
    "radians": Function(math.radians, 1, 1, "radians(x)"),
    "factorial": Function(_factorial, 1, 1, "factorial(n)"),
}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

SUPPORTED = (
    "Supported: numbers, + - * / // % ** (^ also means power), parentheses, functions "
    + ", ".join(f.usage for f in FUNCTIONS.values())
    + " (angles in radians), constants "
    + ", ".join(CONSTANTS)
    + "."
)

TOO_LARGE = (
    f"Result too large: integers are limited to {MAX_INT_BITS} bits (about "
    f"{int(MAX_INT_BITS * math.log10(2))} digits) and floats to about 1.8e308."
)
DIVISION_BY_ZERO = "Division by zero in {operation}."
NOT_FINITE = "The result is not a number (NaN); check the inputs."

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
    ast.UAdd: "+",
    ast.USub: "-",
}

_NODE_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Subscript: "subscript (indexing)",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.Tuple: "tuple (comma-separated values)",
    ast.List: "list",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.NamedExpr: "assignment expression (:=)",
    ast.JoinedStr: "f-string",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}


class ArithmeticExpressionError(ValueError):
    """The expression is not supported, is too large, or has no finite real result."""


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic ``expression`` safely and return an exact int or a finite float."""
    tree = _parse(expression)
    result = _Evaluator().visit(tree.body, depth=0)
    return _checked(result)


def _parse(expression: str) -> ast.Expression:
    if not isinstance(expression, str):
        raise ArithmeticExpressionError("The expression must be a string, e.g. '2 * (3 + 4)'.")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ArithmeticExpressionError(
            f"Expression too long: {len(expression)} characters, the limit is "
            f"{MAX_EXPRESSION_LENGTH}. Split the calculation into smaller steps."
        )
    text = expression.strip()
    for synonym, operator in SYNONYMS.items():
        text = text.replace(synonym, operator)
    if not text:
        raise ArithmeticExpressionError(f"Empty expression. {SUPPORTED}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        detail = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise ArithmeticExpressionError(
            f"Could not parse the expression ({detail}). {SUPPORTED}"
        ) from exc
    node_count = sum(1 for _ in ast.walk(tree))
    if node_count > MAX_NODES:
        raise ArithmeticExpressionError(
            f"Expression too complex: {node_count} syntax nodes, the limit is {MAX_NODES}. "
            "Split the calculation into smaller steps."
        )
    return tree


def _checked(value: Number) -> Number:
    """Reject results outside the supported range: huge integers, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArithmeticExpressionError(f"Unsupported value {value!r}. {SUPPORTED}")
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise ArithmeticExpressionError(TOO_LARGE)
    elif math.isinf(value):
        raise ArithmeticExpressionError(TOO_LARGE)
    elif math.isnan(value):
        raise ArithmeticExpressionError(NOT_FINITE)
    return value


def _show(value: Number) -> str:
    """Show an operand in an error message, abbreviating huge integers."""
    text = repr(value)
    if len(text) > 40:
        return f"<{len(text.lstrip('-'))}-digit integer>"
    return text


def _unsupported(what: str) -> ArithmeticExpressionError:
    return ArithmeticExpressionError(f"Unsupported syntax: {what}. {SUPPORTED}")


class _Evaluator:
    """Walks the whitelisted subset of an expression tree, refusing everything else."""

    def visit(self, node: ast.AST, depth: int) -> Number:
        if depth > MAX_DEPTH:
            raise ArithmeticExpressionError(
                f"Expression nested too deeply (more than {MAX_DEPTH} levels). "
                "Split the calculation into smaller steps."
            )
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, depth)
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Attribute):
            raise _unsupported(f"attribute access '.{node.attr}'")
        description = _NODE_DESCRIPTIONS.get(type(node), type(node).__name__)
        raise _unsupported(description)

    def _constant(self, node: ast.Constant) -> Number:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise _unsupported(f"the value {value!r}")
        if isinstance(value, str | bytes):
            raise _unsupported(f"text literal {value!r:.40}; only numbers can be calculated")
        if isinstance(value, complex):
            raise _unsupported(f"complex number {value!r}")
        if isinstance(value, int | float):
            return _checked(value)
        raise _unsupported(f"the value {value!r}")

    def _name(self, node: ast.Name) -> Number:
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise _unsupported(f"function '{node.id}' used without calling it, write {node.id}(x)")
        raise _unsupported(f"name '{node.id}' (variables are not supported)")

    def _unary(self, node: ast.UnaryOp, depth: int) -> Number:
        if not isinstance(node.op, ast.UAdd | ast.USub):
            raise _unsupported(f"operator '{_OPERATOR_SYMBOLS.get(type(node.op), '?')}'")
        operand = self.visit(node.operand, depth + 1)
        return operand if isinstance(node.op, ast.UAdd) else -operand

    def _binary(self, node: ast.BinOp, depth: int) -> Number:
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        if symbol not in {"+", "-", "*", "/", "//", "%", "**"}:
            raise _unsupported(f"operator '{symbol}'")
        left = self.visit(node.left, depth + 1)
        right = self.visit(node.right, depth + 1)
        try:
            result = _apply(symbol, left, right)
        except ZeroDivisionError as exc:
            raise ArithmeticExpressionError(
                DIVISION_BY_ZERO.format(operation=f"{_show(left)} {symbol} {_show(right)}")
            ) from exc
        except OverflowError as exc:
            raise ArithmeticExpressionError(TOO_LARGE) from exc
        return _checked(result)

    def _call(self, node: ast.Call, depth: int) -> Number:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _unsupported(f"attribute access '.{node.func.attr}'")
            raise _unsupported("call of a computed function")
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            raise _unsupported(f"function call '{name}'")
        if node.keywords:
            raise _unsupported(f"keyword arguments in {name}(); pass values positionally")
        if not function.min_args <= len(node.args) <= function.max_args:
            raise ArithmeticExpressionError(
                f"Wrong number of arguments: {function.usage} takes "
                + (
                    f"{function.min_args}"
                    if function.min_args == function.max_args
                    else f"{function.min_args} to {function.max_args}"
                )
                + f", got {len(node.args)}."
            )
        args = [self.visit(arg, depth + 1) for arg in node.args]
        try:
            result = function.call(*args)
        except ZeroDivisionError as exc:
            raise ArithmeticExpressionError(DIVISION_BY_ZERO.format(operation=f"{name}()")) from exc
        except OverflowError as exc:
            raise ArithmeticExpressionError(TOO_LARGE) from exc
        except ValueError as exc:
            if isinstance(exc, ArithmeticExpressionError):
                raise
            shown = ", ".join(_show(a) for a in args)
            raise ArithmeticExpressionError(
                f"Math domain error: {name}({shown}) has no real result "
                f"(argument outside the function's domain)."
            ) from exc
        return _checked(result)


def _apply(symbol: str, left: Number, right: Number) -> Number:
    """Apply one binary operator, refusing work whose result would exceed the limits."""
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left - right
    if symbol == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise ArithmeticExpressionError(TOO_LARGE)
        return left * right
    if symbol == "/":
        return left / right
    if symbol == "//":
        return left // right
    if symbol == "%":
        return left % right
    return _power(left, right)


def _power(base: Number, exponent: Number) -> Number:
    """Raise ``base`` to ``exponent`` after checking the result's size, never before."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if base in (0, 1) or exponent in (0, 1):
            return base**exponent
        if base == -1:
            return 1 if exponent % 2 == 0 else -1
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise ArithmeticExpressionError(TOO_LARGE)
        return base**exponent
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("zero raised to a negative power")
    if isinstance(exponent, int) and exponent.bit_length() > MAX_INT_BITS // 10:
        # Too big for a float; its sign is all that matters (0.5 ** 10**400 == 0.0).
        exponent = math.inf if exponent > 0 else -math.inf
    try:
        return math.pow(base, exponent)
    except ValueError as exc:
        raise ArithmeticExpressionError(
            f"({_show(base)}) ** ({_show(exponent)}) has no real result "
            "(a negative number raised to a fractional power is complex)."
        ) from exc
