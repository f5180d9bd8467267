"""The ``calculator`` tool: exact, safe arithmetic for the assistant.

The tool has one string argument, ``expression``, and returns the result as text. Evaluation
is done by :mod:`tools.arithmetic` (a whitelisting AST walker, never ``eval``). Errors are
raised as :class:`~langchain_core.tools.ToolException` with ``handle_tool_error=False``, so the
graph's ToolNode decides how an error is returned to the model.
"""

from __future__ import annotations

from assistant_graph.tools.arithmetic import (
    MAX_EXPRESSION_LENGTH,
    SUPPORTED,
    ArithmeticExpressionError,
    evaluate,
)
from assistant_graph.tools.numbers import format_number
from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

NAME = "calculator"
DESCRIPTION = (
    "Evaluate an arithmetic expression exactly and return the numeric result. Use it for any "
    "calculation instead of doing the arithmetic yourself. Python operator precedence applies "
    "(** binds tighter than unary minus: -2**2 = -4); ^ is accepted as power. " + SUPPORTED
)


class CalculatorInput(BaseModel):
    """Arguments of the ``calculator`` tool."""

    expression: str = Field(
        description=(
            "The arithmetic expression to evaluate, e.g. '10 - 4 ** 2.7', '2^10', "
            f"'sqrt(2) * pi'. At most {MAX_EXPRESSION_LENGTH} characters; no variables."
        )
    )


def calculate(expression: str) -> str:
    """Evaluate ``expression`` and return the formatted result, or raise ``ToolException``."""
    try:
        return format_number(evaluate(expression))
    except ArithmeticExpressionError as exc:
        raise ToolException(str(exc)) from exc


def make_calculator_tool() -> StructuredTool:
    """Build a fresh ``calculator`` tool instance."""
    return StructuredTool.from_function(
        func=calculate,
        name=NAME,
        description=DESCRIPTION,
        args_schema=CalculatorInput,
        handle_tool_error=False,
    )


calculator = make_calculator_tool()
