"""The offline model's use of ``code_interpreter``: arithmetic as code, answered from its logs.

With no calculator function but the interpreter among the run's tools, the offline model
asks the server to run ``print(<expression>)`` (:func:`interpreter_call`) and, once the
call's output is back, answers ``<expression> = <printed value>``: the expression is read back
from the code (:func:`expression_from_code`), and output that ends in a Python error is
reported as one (:func:`is_error_output`).
"""

from __future__ import annotations

import json
import re

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.backends.builtin_functions import (
    CODE_INTERPRETER,
    code_argument,
)

_PRINTED = re.compile(r"^\s*print\((?P<expression>.*)\)\s*$", re.DOTALL)
_PYTHON_ERROR = re.compile(r"^(Traceback|\w*(Error|Exception)\b)", re.MULTILINE)


def interpreter_call(expression: str) -> ToolCallRequest:
    """Return a ``code_interpreter`` call that prints ``expression``."""
    return ToolCallRequest(
        name=CODE_INTERPRETER,
        type=CODE_INTERPRETER,
        arguments=json.dumps({"code": f"print({expression})"}),
    )


def expression_from_code(arguments: str) -> str:
    """Return the expression a ``print(...)`` call's code prints (the code itself otherwise)."""
    code = code_argument(arguments)
    printed = _PRINTED.match(code)
    return printed.group("expression").strip() if printed else code.strip()


def is_error_output(output: str) -> bool:
    """Whether an interpreter call's output reports a Python error."""
    return bool(_PYTHON_ERROR.search(output))
