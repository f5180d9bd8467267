"""The offline model: a deterministic, network-free stand-in used when no model is configured.

It is not a language model and never pretends to be one. It does four things:

* **Arithmetic.** It recognises arithmetic in the latest user message (see
  :mod:`assistants_server.backends.offline_arithmetic`), calls the assistant's calculator-like
  function tool with each expression (all at once when ``parallel_tool_calls`` is on, else one
  per turn), and once the outputs are back answers ``<expression> = <output>``, one line per
  call. Follow-ups ("now add 17.241") work on the conversation's latest result. Without a
  calculator tool it runs ``print(<expression>)`` with ``code_interpreter`` when that is
  declared (:mod:`~assistants_server.backends.offline_interpreter`), else says there is no
  calculator.
  Numbers may be written in words ("two plus two"), "100 factorial" uses the calculator's
  ``factorial`` and a misspelt operator is read as the nearest one ("12 tims 3"); see
  :mod:`assistants_server.backends.offline_number_words`.
* **Other tools.** A question that plainly names another kind of tool the run declares — a day
  count between dates, the current time in a zone, text statistics, a unit conversion — calls
  it (see :mod:`assistants_server.backends.offline_tool_routing`) and answers from its output.
  A call a person rejected is answered as a rejection, never quoted as a result.
* **Questions about files.** Other questions in a run offered ``file_search`` are searched and
  answered with quoted, cited passages (:mod:`~assistants_server.backends.offline_file_search`).
* **Everything else** gets :data:`NOT_CONFIGURED_REPLY`, which says what this is and how to
  configure a real model.
* **Scripted mode** (tests): rules from :mod:`assistants_server.backends.offline_script`
  decide the turn from the conversation alone.

Text is streamed through ``on_text_delta`` in a few word-aligned chunks (at least two for a
reply of two or more words, about :data:`WORDS_PER_DELTA` words each); usage counts
whitespace-separated tokens; ``latency_ms`` adds a cancellable sleep to every call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant_graph.assistants_server.backends.base import (
    ModelError,
    ModelRequest,
    ModelTurn,
    TextDeltaCallback,
    ToolCallRequest,
    Usage,
)
from assistant_graph.assistants_server.backends.offline_arithmetic import (
    MissingPreviousResultError,
    extract_expressions,
    last_number,
)
from assistant_graph.assistants_server.backends.offline_file_search import (
    file_search_turn,
    offers_file_search,
)
from assistant_graph.assistants_server.backends.offline_interpreter import (
    expression_from_code,
    interpreter_call,
    is_error_output,
)
from assistant_graph.assistants_server.backends.offline_number_words import (
    normalise_arithmetic_words,
)
from assistant_graph.assistants_server.backends.offline_script import (
    ScriptRule,
    exhausted_reply,
    load_script_file,
    parse_script,
    select_turn,
)
from assistant_graph.assistants_server.backends.offline_tool_routing import (
    REJECTED_LINE,
    is_rejection,
    plan_tool_calls,
    routed_turn,
)

CONFIGURE_A_MODEL = (
    "To use a real model, set OPENAI_API_KEY (and OPENAI_BASE_URL for any OpenAI-compatible "
    "endpoint such as Ollama or vLLM), or start the server with "
    "`assistant-graph serve --backend chat-completions --model-base-url <url>`."
)
NOT_CONFIGURED_REPLY = (
    "This is the offline model of the assistants server: no language model is configured. "
    "It only answers questions that plainly name one of the assistant's tools: arithmetic "
    "(numbers with operators, or words such as plus, minus, times, divided by, raised to), "
    "day counts between two dates, the current time in a time zone, unit conversions and "
    "text statistics. " + CONFIGURE_A_MODEL
)
NO_CALCULATOR_REPLY = (
    "This is the offline model of the assistants server: it answers arithmetic by calling a "
    "calculator tool, but this assistant has none, so it cannot compute {expressions}. Give "
    'the assistant a function tool whose name contains "calc" or "math" (or that takes a '
    'single string parameter such as "expression"). ' + CONFIGURE_A_MODEL
)
NO_PREVIOUS_RESULT_REPLY = (
    'This is the offline model of the assistants server. "{question}" works on an earlier '
    "result, but this conversation has no result yet; ask a complete arithmetic question first."
)
TOOL_CHOICE_NONE_REPLY = (
    'The offline model needs the calculator tool "{tool}" to compute {expressions}, but this '
    'run\'s tool_choice is "none".'
)
RESULT_LINE = "{expression} = {output}"
CALCULATOR_ERROR_LINE = 'The calculator reported an error for {expression}: "{output}"'
MISSING_OUTPUT_LINE = "{expression}: the calculator returned no output"
CODE_INTERPRETER = "code_interpreter"

_CALCULATOR_NAME = re.compile(r"calc|math|arithmetic|evaluat|comput", re.IGNORECASE)
_SQRT_SUPPORT = re.compile(r"sqrt|square[\s_-]*root", re.IGNORECASE)
_FACTORIAL_SUPPORT = re.compile(r"factorial", re.IGNORECASE)


@dataclass(frozen=True)
class CalculatorTool:
    """The function tool the offline model uses as a calculator."""

    name: str
    parameter: str
    """Name of the argument that carries the expression."""
    supports_sqrt: bool
    """Whether its description mentions ``sqrt``/square roots."""
    supports_factorial: bool = False
    """Whether its description mentions ``factorial``."""


def find_calculator_tool(tools: list[dict[str, Any]]) -> CalculatorTool | None:
    """Find the calculator in ``tools``: a function named like one, else one taking one string."""
    functions = [t.get("function") or {} for t in tools if t.get("type") == "function"]
    for function in functions:
        if _CALCULATOR_NAME.search(str(function.get("name", ""))):
            return _calculator(function)
    for function in functions:
        properties = _properties(function)
        if len(properties) == 1 and _is_string(next(iter(properties.values()))):
            return _calculator(function)
    return None


def _properties(function: dict[str, Any]) -> dict[str, Any]:
    parameters = function.get("parameters") or {}
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    return properties if isinstance(properties, dict) else {}


def _is_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def _calculator(function: dict[str, Any]) -> CalculatorTool:
    properties = _properties(function)
    strings = [name for name, schema in properties.items() if _is_string(schema)]
    required = (function.get("parameters") or {}).get("required") or []
    if "expression" in properties:
        parameter = "expression"
    elif len(strings) == 1:
        parameter = strings[0]
    elif strings:
        parameter = next((name for name in strings if name in required), strings[0])
    elif properties:
        parameter = next(iter(properties))
    else:
        parameter = "expression"
    descriptions = [str(function.get("description") or "")]
    descriptions += [
        str(schema.get("description") or "")
        for schema in properties.values()
        if isinstance(schema, dict)
    ]
    return CalculatorTool(
        name=str(function["name"]),
        parameter=parameter,
        supports_sqrt=any(_SQRT_SUPPORT.search(text) for text in descriptions),
        supports_factorial=any(_FACTORIAL_SUPPORT.search(text) for text in descriptions),
    )


def message_text(message: dict[str, Any]) -> str:
    """Return the text of a chat message whose ``content`` is a string, a list of parts, or null."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text")
        )
    return str(content)


def _latest_user_index(messages: list[dict[str, Any]]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return None


def _calls_named(messages: list[dict[str, Any]], name: str) -> list[tuple[str, str]]:
    """``(call id, arguments)`` of every tool call to ``name`` in assistant ``messages``."""
    calls = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            if function.get("name") == name or (call.get("type") == name == CODE_INTERPRETER):
                calls.append((str(call.get("id", "")), str(function.get("arguments", ""))))
    return calls


def _name_and_arguments(call: dict[str, Any]) -> tuple[str, str]:
    function = call.get("function") or {}
    return str(function.get("name", call.get("type", ""))), str(function.get("arguments", ""))


def _tool_outputs(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {
        str(m.get("tool_call_id")): message_text(m) for m in messages if m.get("role") == "tool"
    }


def _is_error_output(output: str) -> bool:
    return output.lstrip().lower().startswith("error")


def previous_result(history: list[dict[str, Any]], calculator_name: str) -> str | None:
    """Return the conversation's latest numeric result, as written.

    The last successful output of a calculator call, else the last number in the last
    assistant message with text.
    """
    call_ids = {call_id for call_id, _ in _calls_named(history, calculator_name)}
    for message in reversed(history):
        if message.get("role") == "tool" and str(message.get("tool_call_id")) in call_ids:
            output = message_text(message)
            number = None if _is_error_output(output) else last_number(output)
            if number is not None:
                return number
    for message in reversed(history):
        if message.get("role") == "assistant" and message_text(message).strip():
            return last_number(message_text(message))
    return None


def _argument_expression(arguments: str, parameter: str) -> str:
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(parameter), str):
        return str(parsed[parameter])
    return arguments


def _quote_all(expressions: list[str]) -> str:
    return ", ".join(f"`{expression}`" for expression in expressions)


def split_words(text: str) -> list[str]:
    """``text`` cut into word-sized pieces (leading whitespace kept) that join back to it."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[sum(len(piece) for piece in pieces) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces = [rest]
    return pieces


WORDS_PER_DELTA = 8
"""Words per streamed text delta: each delta costs an event, a frame and client-side parsing."""


def delta_chunks(pieces: list[str]) -> list[str]:
    """Join word pieces into a few deltas: about WORDS_PER_DELTA each, two at least if possible."""
    count = max(math.ceil(len(pieces) / WORDS_PER_DELTA), min(2, len(pieces)))
    bounds = [round(i * len(pieces) / count) for i in range(count + 1)] if count else [0]
    return ["".join(pieces[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def count_prompt_tokens(request: ModelRequest) -> int:
    """Whitespace-separated tokens in the request's messages (content and tool-call arguments)."""
    total = 0
    for message in request.messages:
        total += len(message_text(message).split())
        for call in message.get("tool_calls") or []:
            total += 1 + len(str((call.get("function") or {}).get("arguments", "")).split())
    return total


class OfflineBackend:
    """The deterministic offline model (see the module docstring)."""

    name = "offline"

    def __init__(
        self,
        latency_ms: float = 0,
        script: list[dict[str, Any]] | None = None,
        builtin_tools: frozenset[str] = frozenset(),
    ):
        """Create the offline model.

        ``latency_ms`` is slept (cancellably) once per call; ``script`` is a list of rules
        (see :mod:`~assistants_server.backends.offline_script`), validated here: an invalid
        script raises :class:`ValueError` saying what is wrong. ``builtin_tools``: built-in
        tool types the server executes, which the model may call.
        """
        self.supported_builtin_tools = frozenset(builtin_tools)
        if (
            isinstance(latency_ms, bool)
            or not isinstance(latency_ms, int | float)
            or not math.isfinite(latency_ms)
            or latency_ms < 0
        ):
            raise ValueError(f"latency_ms must be a non-negative number, got {latency_ms!r}.")
        self.latency_ms = float(latency_ms)
        self.rules: list[ScriptRule] = parse_script(script) if script is not None else []

    @classmethod
    def from_script_file(
        cls, path: str | Path, latency_ms: float = 0, builtin_tools: frozenset[str] = frozenset()
    ) -> OfflineBackend:
        """Create an offline model playing the JSON script at ``path`` (ValueError if invalid)."""
        backend = cls(latency_ms=latency_ms, builtin_tools=builtin_tools)
        backend.rules = load_script_file(path)
        return backend

    async def aclose(self) -> None:
        """Nothing to release."""

    async def complete(
        self, request: ModelRequest, on_text_delta: TextDeltaCallback | None = None
    ) -> ModelTurn:
        """Produce the next turn (see the module docstring). Raises ModelError for script errors.

        The latency counts from when the call begins: the turn is prepared first and the call
        then sleeps only for what is left of it (one sleep, so its wake-up overshoot is paid
        once), before streaming the text.
        """
        deadline = asyncio.get_running_loop().time() + self.latency_ms / 1000
        messages = request.messages
        user_index = _latest_user_index(messages)
        user_text = message_text(messages[user_index]) if user_index is not None else None
        after_user = messages[user_index + 1 :] if user_index is not None else list(messages)

        if self.rules:
            assistant_turns = sum(1 for m in after_user if m.get("role") == "assistant")
            selected = select_turn(self.rules, user_text, assistant_turns)
            if selected is not None:
                rule, turn = selected
                if turn is None:
                    return await self._finish(
                        request, exhausted_reply(rule, assistant_turns), [], on_text_delta, deadline
                    )
                deadline += turn.latency_ms / 1000
                if turn.error_message is not None:
                    await _sleep_until(deadline)
                    raise ModelError(turn.error_message, code=turn.error_code)
                return await self._finish(
                    request, turn.text or "", list(turn.tool_calls), on_text_delta, deadline
                )

        planned = plan_tool_calls(user_text or "", request.tools)
        if planned:
            made = [
                (str(call.get("id", "")), *_name_and_arguments(call))
                for message in after_user
                if message.get("role") == "assistant"
                for call in message.get("tool_calls") or []
            ]
            text, calls = routed_turn(
                planned,
                made,
                _tool_outputs(after_user),
                parallel=request.parallel_tool_calls,
                tool_choice=request.tool_choice,
            )
        else:
            text, calls = self._arithmetic_turn(request, user_index, user_text or "", after_user)
            if text == NOT_CONFIGURED_REPLY and user_text and offers_file_search(request.tools):
                text, calls = file_search_turn(user_text, after_user, _tool_outputs(after_user))
        return await self._finish(request, text, calls, on_text_delta, deadline)

    def _arithmetic_turn(
        self,
        request: ModelRequest,
        user_index: int | None,
        user_text: str,
        after_user: list[dict[str, Any]],
    ) -> tuple[str, list[ToolCallRequest]]:
        calculator = find_calculator_tool(request.tools)
        has_code_interpreter = any(t.get("type") == CODE_INTERPRETER for t in request.tools)
        target = calculator.name if calculator else CODE_INTERPRETER
        history = request.messages[:user_index] if user_index is not None else []
        try:
            words_read = normalise_arithmetic_words(
                user_text, allow_factorial=calculator.supports_factorial if calculator else False
            )
            expressions = extract_expressions(
                words_read,
                previous_result(history, target),
                allow_sqrt=calculator.supports_sqrt if calculator else False,
            )
        except MissingPreviousResultError as exc:
            return NO_PREVIOUS_RESULT_REPLY.format(question=exc.question), []
        if not expressions:
            return NOT_CONFIGURED_REPLY, []
        if calculator is None and not has_code_interpreter:
            return NO_CALCULATOR_REPLY.format(expressions=_quote_all(expressions)), []

        made = _calls_named(after_user, target)
        if len(made) < len(expressions):
            if request.tool_choice == "none":
                return TOOL_CHOICE_NONE_REPLY.format(
                    tool=target, expressions=_quote_all(expressions)
                ), []
            pending = expressions[len(made) :]
            batch = pending if request.parallel_tool_calls else pending[:1]
            if calculator is None:
                return "", [interpreter_call(e) for e in batch]
            return "", [
                ToolCallRequest(
                    name=calculator.name, arguments=json.dumps({calculator.parameter: e})
                )
                for e in batch
            ]

        outputs = _tool_outputs(after_user)
        lines = []
        for call_id, arguments in made:
            if calculator is None:
                expression = expression_from_code(arguments)
            else:
                expression = _argument_expression(arguments, calculator.parameter)
            output = outputs.get(call_id)
            if output is None:
                lines.append(MISSING_OUTPUT_LINE.format(expression=expression))
            elif is_rejection(output):
                reason = output.partition("Reason:")[2].strip() or "none given"
                lines.append(REJECTED_LINE.format(tool=target, label=expression, reason=reason))
            elif _is_error_output(output) or (calculator is None and is_error_output(output)):
                lines.append(
                    CALCULATOR_ERROR_LINE.format(expression=expression, output=output.strip())
                )
            else:
                lines.append(RESULT_LINE.format(expression=expression, output=output.strip()))
        return "\n".join(lines), []

    async def _finish(
        self,
        request: ModelRequest,
        text: str,
        tool_calls: list[ToolCallRequest],
        on_text_delta: TextDeltaCallback | None,
        deadline: float,
    ) -> ModelTurn:
        """Apply ``max_completion_tokens``, count usage, then stream the text in a few chunks.

        The text starts once the event loop's clock reaches ``deadline`` (the call's latency).
        """
        pieces = split_words(text)
        call_tokens = sum(1 + len(call.arguments.split()) for call in tool_calls)
        limit = request.max_completion_tokens
        incomplete_reason = None
        if limit is not None and len(pieces) + call_tokens > limit:
            incomplete_reason = "max_completion_tokens"
            pieces = pieces[: max(limit, 0)]
            tool_calls, call_tokens = [], 0  # a cut-off tool call is unusable
        text = "".join(pieces)
        usage = Usage(
            prompt_tokens=count_prompt_tokens(request), completion_tokens=len(pieces) + call_tokens
        )
        await _sleep_until(deadline)
        if on_text_delta is not None:
            for chunk in delta_chunks(pieces):
                await on_text_delta(chunk)
                await asyncio.sleep(0)
        return ModelTurn(
            text=text, tool_calls=tool_calls, usage=usage, incomplete_reason=incomplete_reason
        )


async def _sleep_until(deadline: float) -> None:
    """Sleep (cancellably) until the event loop's clock reaches ``deadline``, if it has not."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0:
        await asyncio.sleep(remaining)
