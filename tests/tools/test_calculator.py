"""The calculator tool: accepted expressions with exact results, and a catalogue of refusals."""

from __future__ import annotations

import ast
from pathlib import Path

import assistant_graph.tools as tools
import pytest
from assistant_graph.tools.arithmetic import MAX_DEPTH, MAX_EXPRESSION_LENGTH, MAX_INT_BITS
from assistant_graph.tools.calculator import calculator
from langchain_core.tools import ToolException

ACCEPTED = [
    # The seed's example: ** binds tighter than unary minus and than subtraction.
    ("10 - 4 ** 2.7", "-32.22425314473263"),
    ("10 - 4 ^ 2.7", "-32.22425314473263"),
    ("2^10", "1024"),
    ("2 ** 10", "1024"),
    ("-2**2", "-4"),
    ("-2^2", "-4"),
    ("(-2)**2", "4"),
    ("2**3**2", "512"),
    ("2**-1", "0.5"),
    ("1 + 2 * 3", "7"),
    ("(1 + 2) * 3", "9"),
    ("((((1 + 2))))", "3"),
    ("7 / 2", "3.5"),
    ("6 / 3", "2"),
    ("7 // 2", "3"),
    ("-7 // 2", "-4"),
    ("-7 % 3", "2"),
    ("7.5 % 2", "1.5"),
    ("+5", "5"),
    ("--5", "5"),
    ("0.1 + 0.2", "0.3"),
    ("3 * 0.1", "0.3"),
    ("1e3", "1000"),
    ("2.5e-3 * 4", "0.01"),
    ("1.5e308", "1.5e+308"),
    ("1 / 3", "0.3333333333333333"),
    ("2**100", "1267650600228229401496703205376"),
    ("123456789 * 987654321", "121932631112635269"),
    ("99999999999999999999 + 1", "100000000000000000000"),
    ("sqrt(16)", "4"),
    ("sqrt(2)", "1.4142135623730951"),
    ("abs(-3)", "3"),
    ("abs(-2.5)", "2.5"),
    ("round(2.567, 2)", "2.57"),
    ("round(2.5)", "2"),
    ("round(1234, -2)", "1200"),
    ("floor(-2.5)", "-3"),
    ("ceil(2.1)", "3"),
    ("exp(1)", "2.718281828459045"),
    ("log(e)", "1"),
    ("log(8, 2)", "3"),
    ("ln(1)", "0"),
    ("log10(1000)", "3"),
    ("log2(1024)", "10"),
    ("sin(0)", "0"),
    ("cos(pi)", "-1"),
    ("tan(pi / 4)", "1"),
    ("degrees(pi)", "180"),
    ("radians(180)", "3.141592653589793"),
    ("asin(1) * 2", "3.141592653589793"),
    ("tau / 2", "3.141592653589793"),
    ("factorial(20)", "2432902008176640000"),
    ("sqrt(3**2 + 4**2)", "5"),
    ("2 \u00d7 3 \u00f7 4", "1.5"),
    ("5 \u2212 7", "-2"),
    ("  1 + 1  ", "2"),
    ("0 ** 0", "1"),
    ("(-1) ** 1000001", "-1"),
    ("1 ** (10 ** 100)", "1"),
    ("0.5 ** 10**400", "0"),
    ("1.0 ** 10**400", "1"),
]


@pytest.mark.parametrize(("expression", "expected"), ACCEPTED)
def test_accepted_expressions_give_exact_results(expression: str, expected: str) -> None:
    """Each supported expression evaluates to its exact, documented result text."""
    assert calculator.invoke({"expression": expression}) == expected


def test_integers_up_to_the_size_limit_are_exact() -> None:
    """An integer result of exactly the bit limit is returned in full, digit for digit."""
    assert calculator.invoke({"expression": f"2 ** {MAX_INT_BITS - 1}"}) == str(
        2 ** (MAX_INT_BITS - 1)
    )


REJECTED = [
    # names, attributes, calls
    ("x + 1", "name 'x'"),
    ("os", "name 'os'"),
    ("().__class__", "attribute access '.__class__'"),
    ("(1).real", "attribute access '.real'"),
    ("foo(2)", "function call 'foo'"),
    ("eval('1')", "function call 'eval'"),
    ("__import__('os')", "function call '__import__'"),
    ("__import__('os').system('true')", "attribute access '.system'"),
    ("(lambda: 1)()", "call of a computed function"),
    ("sqrt", "without calling it"),
    ("sqrt(x=4)", "keyword arguments"),
    ("sqrt(1, 2)", "sqrt(x) takes 1, got 2"),
    ("log()", "log(x[, base]) takes 1 to 2, got 0"),
    ("sqrt(*[4])", "starred"),
    # other syntax
    ("lambda: 1", "lambda"),
    ("[x for x in (1, 2)]", "list comprehension"),
    ("{x for x in (1,)}", "set comprehension"),
    ("{x: 1 for x in (1,)}", "dict comprehension"),
    ("sum(x for x in (1,))", "function call 'sum'"),
    ("(x for x in (1,))", "generator expression"),
    ("(y := 3)", "assignment expression"),
    ("f'{1}'", "f-string"),
    ("1 < 2", "comparison"),
    ("1 and 2", "boolean operator"),
    ("1 if 1 else 2", "conditional expression"),
    ("1, 2", "tuple"),
    ("[1]", "list"),
    ("{}", "dict"),
    ("(1)[0]", "subscript"),
    ("1 << 3", "operator '<<'"),
    ("6 & 3", "operator '&'"),
    ("6 | 3", "operator '|'"),
    ("~1", "operator '~'"),
    ("not 1", "operator 'not'"),
    # values
    ("'abc'", "text literal 'abc'"),
    ("'a' * 3", "text literal 'a'"),
    ("b'a'", "text literal b'a'"),
    ("1j", "complex number 1j"),
    ("True + 1", "the value True"),
    ("None", "the value None"),
    ("...", "the value Ellipsis"),
    # parse errors and empty input
    ("1 +", "Could not parse"),
    ("2 ** ** 3", "Could not parse"),
    ("2 ^^ 3", "Could not parse"),
    ("import os", "Could not parse"),
    ("", "Empty expression"),
    ("   ", "Empty expression"),
    # size limits: all refused before any big computation is attempted
    ("9**9**9", "Result too large"),
    ("10**10**10", "Result too large"),
    ("2**(10**9)", "Result too large"),
    ("2**100000000", "Result too large"),
    ("2^2^2^2^2^2", "Result too large"),
    (f"2 ** {MAX_INT_BITS}", "Result too large"),
    ("(10**3000) * (10**3000)", "Result too large"),
    ("(-3) ** 99999", "Result too large"),
    ("1e309", "Result too large"),
    ("1e308 * 10", "Result too large"),
    ("10.0 ** 400", "Result too large"),
    ("exp(1000)", "Result too large"),
    ("10**400 / 1", "Result too large"),
    ("factorial(1001)", "factorial() accepts whole numbers from 0 to 1000"),
    ("factorial(-1)", "factorial() accepts whole numbers from 0 to 1000"),
    ("factorial(2.5)", "needs a whole number"),
    ("round(1.5, 0.5)", "n must be a whole number"),
    ("round(1.5, 1000)", "between -100 and 100"),
    # arithmetic errors
    ("1 / 0", "Division by zero in 1 / 0"),
    ("10**50 // 0", "Division by zero in <51-digit integer> // 0."),
    ("(-2.0) ** 10**400", "Result too large"),
    ("'" + "a" * 200 + "'", "text literal '" + "a" * 39 + "; only numbers"),
    ("1 // 0", "Division by zero"),
    ("1 % 0", "Division by zero"),
    ("1.5 / 0.0", "Division by zero"),
    ("0 ** -1", "Division by zero"),
    ("log(1, 1)", "Division by zero in log()"),
    ("sqrt(-1)", "Math domain error: sqrt(-1)"),
    ("log(0)", "Math domain error: log(0)"),
    ("asin(2)", "Math domain error"),
    ("(-8) ** (1/3)", "no real result"),
    # structure limits
    ("-" * (MAX_DEPTH + 20) + "1", "nested too deeply"),
    ("sqrt(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5), "nested too deeply"),
    ("1+" * 150 + "1", "Expression too complex"),
    ("(" * 210 + "1" + ")" * 210, "Could not parse"),
    ("1" * (MAX_EXPRESSION_LENGTH + 1), "Expression too long"),
    ("1 + " + " " * MAX_EXPRESSION_LENGTH + "1", "Expression too long"),
]


@pytest.mark.parametrize(("expression", "fragment"), REJECTED)
def test_rejected_expressions_raise_a_clear_tool_exception(expression: str, fragment: str) -> None:
    """Every unsupported, unbounded or meaningless input raises ToolException saying why."""
    with pytest.raises(ToolException) as caught:
        calculator.invoke({"expression": expression})
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "expression", ["x + 1", "foo(2)", "().__class__", "lambda: 1", "'abc'", "1 +"]
)
def test_syntax_refusals_list_what_is_supported(expression: str) -> None:
    """A refusal for unsupported syntax tells the model what it may write instead."""
    with pytest.raises(ToolException) as caught:
        calculator.invoke({"expression": expression})
    message = str(caught.value)
    assert "Supported: numbers, + - * / // % **" in message
    assert "sqrt(x)" in message and "pi" in message


def test_errors_are_raised_not_returned() -> None:
    """handle_tool_error is off, so the graph's ToolNode decides how errors reach the model."""
    assert calculator.handle_tool_error is False
    with pytest.raises(ToolException):
        calculator.invoke({"expression": "1/0"})


def test_tool_call_invocation_returns_a_tool_message() -> None:
    """Invoked with a ToolCall (as ToolNode does), the result comes back as a ToolMessage."""
    message = calculator.invoke(
        {"type": "tool_call", "name": "calculator", "args": {"expression": "2^10"}, "id": "c1"}
    )
    assert message.content == "1024"
    assert message.tool_call_id == "c1"


def test_the_tools_package_never_calls_eval_exec_or_compile() -> None:
    """No source file of the tools package calls the builtins eval, exec, compile, __import__."""
    forbidden = {"eval", "exec", "compile", "__import__"}
    package = Path(tools.__file__).parent
    calls = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in forbidden:
                    calls.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert len(list(package.glob("*.py"))) >= 7
    assert calls == []
