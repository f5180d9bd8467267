"""The offline model: arithmetic through the calculator tool, scripted mode, streaming, limits.

The backend is called directly with ModelRequest objects, as the run worker calls it.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from assistant_graph.assistants_server.backends import (
    NOT_CONFIGURED_REPLY,
    ModelError,
    ModelRequest,
    ModelTurn,
    OfflineBackend,
    ToolCallRequest,
)
from assistant_graph.assistants_server.backends import offline as offline_module
from assistant_graph.assistants_server.backends.offline import (
    WORDS_PER_DELTA,
    delta_chunks,
    find_calculator_tool,
    split_words,
)
from assistant_graph.assistants_server.backends.offline_arithmetic import (
    MissingPreviousResultError,
    extract_expressions,
)
from assistant_graph.tools.calculator import calculate, make_calculator_tool
from langchain_core.utils.function_calling import convert_to_openai_tool


def function_tool(name: str, properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
            },
        },
    }


CALCULATOR = function_tool(
    "calculator", {"expression": {"type": "string"}}, "Evaluate arithmetic. Supports sqrt(x)."
)
CALCULATOR_NO_SQRT = function_tool(
    "calculator", {"expression": {"type": "string"}}, "Evaluate arithmetic with + - * / **."
)
WEATHER = function_tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}})
CODE_INTERPRETER = {"type": "code_interpreter"}


def complete(
    backend: OfflineBackend,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    **options: Any,
) -> tuple[ModelTurn, list[str]]:
    """Run one model call; return the turn and the streamed text deltas."""
    deltas: list[str] = []

    async def on_delta(text: str) -> None:
        deltas.append(text)

    request = ModelRequest(
        model="any", messages=messages, tools=[CALCULATOR] if tools is None else tools, **options
    )
    turn = asyncio.run(backend.complete(request, on_delta))
    return turn, deltas


def assistant_calls(turn: ModelTurn, first_id: int) -> tuple[dict[str, Any], list[str]]:
    """The assistant message the worker records for ``turn``'s tool calls, and the call ids."""
    ids = [f"call_{first_id + i}" for i in range(len(turn.tool_calls))]
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call_id, call in zip(ids, turn.tool_calls, strict=True)
        ],
    }
    return message, ids


def expressions_of(turn: ModelTurn) -> list[str]:
    return [json.loads(call.arguments)["expression"] for call in turn.tool_calls]


def run_conversation(
    backend: OfflineBackend,
    messages: list[dict[str, Any]],
    outputs: dict[str, str] | None = None,
    **options: Any,
) -> tuple[ModelTurn, list[list[str]]]:
    """Drive turns like the worker: answer each calculator call until a text turn arrives.

    Tool outputs come from ``outputs`` (expression -> text) or else the project's calculator.
    Returns the final turn and the expressions requested in each tool-calling turn.
    """
    batches: list[list[str]] = []
    next_id = 1
    for _ in range(10):
        turn, _ = complete(backend, messages, **options)
        if not turn.tool_calls:
            return turn, batches
        batches.append(expressions_of(turn))
        message, ids = assistant_calls(turn, next_id)
        next_id += len(ids)
        messages.append(message)
        for call_id, expression in zip(ids, batches[-1], strict=True):
            output = outputs[expression] if outputs is not None else calculate(expression)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
    raise AssertionError("the offline model kept calling tools")


# -- understanding arithmetic --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "previous", "expected"),
    [
        ("What's 10 - 4 raised to the 2.7", None, ["10 - 4 ** 2.7"]),
        ("What's 10 - 4 raised to the 2.7?", None, ["10 - 4 ** 2.7"]),
        ("now add 17.241", "-32.2243", ["(-32.2243) + 17.241"]),
        ("What's 2+2 and what's 3*5?", None, ["2+2", "3*5"]),
        ("what is 2+2. And 3-1?", None, ["2+2", "3-1"]),
        ("What is 7 times 6?", None, ["7 * 6"]),
        ("3 x 4", None, ["3 * 4"]),
        ("12 multiplied by 3", None, ["12 * 3"]),
        ("12 divided by 4", None, ["12 / 4"]),
        ("9 over 3", None, ["9 / 3"]),
        ("2 plus 3 minus 1", None, ["2 + 3 - 1"]),
        ("2 to the power of 10", None, ["2 ** 10"]),
        ("2 raised to the power of 8", None, ["2 ** 8"]),
        ("2 raised to the 3rd power", None, ["2 ** 3"]),
        ("what's 2^8", None, ["2 ** 8"]),
        ("4 squared plus 1", None, ["4 ** 2 + 1"]),
        ("5 cubed", None, ["5 ** 3"]),
        ("10 mod 3", None, ["10 % 3"]),
        ("17 modulo 5", None, ["17 % 5"]),
        ("15% of 200", None, ["15 / 100 * 200"]),
        ("(2+3)*4", None, ["(2+3)*4"]),
        ("1,000 * 3", None, ["1000 * 3"]),
        ("add 5 and 3", None, ["5 + 3"]),
        ("subtract 2 from 9", None, ["9 - 2"]),
        ("divide 10 by 4", None, ["10 / 4"]),
        ("add 5", "6", ["6 + 5"]),
        ("subtract 3", "6", ["6 - 3"]),
        ("multiply by 2", "6", ["6 * 2"]),
        ("divide it by 4", "6", ["6 / 4"]),
        ("plus 1", "6", ["6 + 1"]),
        ("square it", "6", ["6 ** 2"]),
        ("what's that plus 5", "6", ["6 + 5"]),
        ("add 5 and then multiply by 2", "6", ["6 + 5", "(6 + 5) * 2"]),
        ("Hello, who are you?", None, []),
        ("I have 5 apples", None, []),
        ("", None, []),
    ],
)
def test_questions_become_calculator_expressions(text, previous, expected):
    """Words and symbols become operators; follow-ups use the previous result; chatter: none."""
    assert extract_expressions(text, previous, allow_sqrt=False) == expected


def test_square_roots_only_when_the_calculator_supports_them():
    """ "square root of" becomes sqrt(x) for a calculator that mentions sqrt, else is left out."""
    assert extract_expressions("square root of 16 plus 2", allow_sqrt=True) == ["sqrt(16) + 2"]
    assert extract_expressions("square root of 16 plus 2", allow_sqrt=False) == []


def test_follow_up_without_previous_result_raises():
    """A follow-up with nothing to follow names the question it could not place."""
    with pytest.raises(MissingPreviousResultError) as caught:
        extract_expressions("now add 5", None)
    assert caught.value.question == "now add 5"


# -- the seed's conversation ---------------------------------------------------------------


def test_seed_questions_with_the_projects_calculator():
    """The seed's two questions: a calculator call, an answer, then a follow-up on that result."""
    backend = OfflineBackend()
    tools = [convert_to_openai_tool(make_calculator_tool())]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a personal math tutor."},
        {"role": "user", "content": "What's 10 - 4 raised to the 2.7"},
    ]
    turn, batches = run_conversation(backend, messages, tools=tools)
    first_result = calculate("10 - 4 ** 2.7")
    assert batches == [["10 - 4 ** 2.7"]]
    assert turn.text == f"10 - 4 ** 2.7 = {first_result}"
    assert first_result.startswith("-32.2242")

    messages += [
        {"role": "assistant", "content": turn.text},
        {"role": "user", "content": "now add 17.241"},
    ]
    turn, batches = run_conversation(backend, messages, tools=tools)
    expression = f"({first_result}) + 17.241"
    assert batches == [[expression]]
    assert turn.text == f"{expression} = {calculate(expression)}"
    assert turn.tool_calls == []


def test_follow_up_uses_last_number_of_the_last_assistant_message():
    """With no calculator output yet, a follow-up works on the last number the assistant said."""
    messages = [
        {"role": "user", "content": "How many sides has a hexagon?"},
        {"role": "assistant", "content": "A hexagon has 6 sides."},
        {"role": "user", "content": "multiply by 7"},
    ]
    turn, _ = complete(OfflineBackend(), messages)
    assert expressions_of(turn) == ["6 * 7"]


def test_follow_up_prefers_the_latest_calculator_output():
    """The latest calculator output is the previous result, even if chatter followed it."""
    messages = [
        {"role": "user", "content": "2+3"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "2+3"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "5"},
        {"role": "assistant", "content": "2+3 = 5"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": NOT_CONFIGURED_REPLY},
        {"role": "user", "content": "now subtract 1.5"},
    ]
    turn, _ = complete(OfflineBackend(), messages)
    assert expressions_of(turn) == ["5 - 1.5"]


def test_follow_up_without_any_result_says_so():
    """A first message that is a follow-up gets a reply explaining there is no earlier result."""
    turn, _ = complete(OfflineBackend(), [{"role": "user", "content": "now add 17.241"}])
    assert turn.tool_calls == []
    assert "no result yet" in turn.text
    assert '"now add 17.241"' in turn.text


# -- several questions, parallel or one by one ---------------------------------------------


def test_parallel_tool_calls_ask_everything_in_one_turn():
    """With parallel_tool_calls, two questions become two calls in one turn, then one answer."""
    messages = [{"role": "user", "content": "What's 2+2 and what's 3*5?"}]
    turn, batches = run_conversation(OfflineBackend(), messages, parallel_tool_calls=True)
    assert batches == [["2+2", "3*5"]]
    assert turn.text == "2+2 = 4\n3*5 = 15"


def test_sequential_tool_calls_ask_one_per_turn():
    """Without parallel_tool_calls, each question gets its own turn, answered at the end."""
    messages = [{"role": "user", "content": "What's 2+2 and what's 3*5?"}]
    turn, batches = run_conversation(OfflineBackend(), messages, parallel_tool_calls=False)
    assert batches == [["2+2"], ["3*5"]]
    assert turn.text == "2+2 = 4\n3*5 = 15"


def test_tool_error_is_reported_and_quoted():
    """A calculator output that is an error is quoted in the answer, not presented as a result."""
    messages = [{"role": "user", "content": "What's 1/0 and what's 2*3?"}]
    outputs = {"1/0": "Error: Division by zero in 1 / 0.", "2*3": "6"}
    turn, _ = run_conversation(OfflineBackend(), messages, outputs)
    assert turn.text.splitlines() == [
        'The calculator reported an error for 1/0: "Error: Division by zero in 1 / 0."',
        "2*3 = 6",
    ]


def test_tool_choice_none_means_no_calls():
    """tool_choice "none" gets an explanation instead of a calculator call."""
    turn, _ = complete(OfflineBackend(), [{"role": "user", "content": "2+2"}], tool_choice="none")
    assert turn.tool_calls == []
    assert 'tool_choice is "none"' in turn.text


# -- which tool is the calculator ----------------------------------------------------------


def test_calculator_found_by_name_and_parameter_preference():
    """A calc/math-named function is the calculator; "expression" is preferred as its argument."""
    tool = function_tool(
        "math_eval", {"precision": {"type": "integer"}, "expression": {"type": "string"}}
    )
    found = find_calculator_tool([WEATHER, tool])
    assert (found.name, found.parameter) == ("math_eval", "expression")


def test_calculator_found_by_single_string_parameter():
    """Without a calculator-like name, a function taking one string is used, with that argument."""
    tool = function_tool("solver", {"query": {"type": "string"}})
    found = find_calculator_tool([WEATHER, tool])
    assert (found.name, found.parameter) == ("solver", "query")
    turn, _ = complete(
        OfflineBackend(), [{"role": "user", "content": "7*6"}], tools=[WEATHER, tool]
    )
    assert turn.tool_calls == [ToolCallRequest(name="solver", arguments='{"query": "7*6"}')]


def test_square_root_follows_the_tools_description():
    """ "square root of" is sent as sqrt() only to a calculator whose description mentions sqrt."""
    messages = [{"role": "user", "content": "What's the square root of 16?"}]
    turn, _ = complete(OfflineBackend(), messages, tools=[CALCULATOR])
    assert expressions_of(turn) == ["sqrt(16)"]
    turn, _ = complete(OfflineBackend(), messages, tools=[CALCULATOR_NO_SQRT])
    assert turn.tool_calls == []
    assert turn.text == NOT_CONFIGURED_REPLY


def test_code_interpreter_fallback():
    """With only code_interpreter declared, the expression is printed by a code_interpreter call,
    and the answer is read from the call's output."""
    question = {"role": "user", "content": "What's 10 - 4 raised to the 2.7"}
    turn, _ = complete(OfflineBackend(), [question], tools=[CODE_INTERPRETER])
    assert turn.tool_calls == [
        ToolCallRequest(
            name="code_interpreter",
            type="code_interpreter",
            arguments=json.dumps({"code": "print(10 - 4 ** 2.7)"}),
        )
    ]
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "code_interpreter", "arguments": turn.tool_calls[0].arguments},
    }
    answered, _ = complete(
        OfflineBackend(),
        [
            question,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "-32.22425314473263\n"},
        ],
        tools=[CODE_INTERPRETER],
    )
    assert answered.tool_calls == []
    assert answered.text == "10 - 4 ** 2.7 = -32.22425314473263"


def test_code_interpreter_error_output_is_reported():
    """A Python error printed by the interpreter is reported as an error, not as a result."""
    question = {"role": "user", "content": "What's 1 / 0?"}
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "code_interpreter", "arguments": '{"code": "print(1 / 0)"}'},
    }
    error = "Traceback (most recent call last):\nZeroDivisionError: division by zero"
    answered, _ = complete(
        OfflineBackend(),
        [
            question,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": error},
        ],
        tools=[CODE_INTERPRETER],
    )
    assert answered.text.startswith("The calculator reported an error for 1 / 0")


def test_no_calculator_at_all():
    """With no calculator-like tool, the reply says so and names the expression."""
    turn, _ = complete(
        OfflineBackend(), [{"role": "user", "content": "What's 2+2?"}], tools=[WEATHER]
    )
    assert turn.tool_calls == []
    assert "has none" in turn.text and "`2+2`" in turn.text
    assert "OPENAI_API_KEY" in turn.text


# -- everything else -----------------------------------------------------------------------


def test_non_arithmetic_gets_the_not_configured_reply():
    """Anything that is not arithmetic is told what this model is and how to configure one."""
    turn, deltas = complete(OfflineBackend(), [{"role": "user", "content": "Write me a poem"}])
    assert turn.text == NOT_CONFIGURED_REPLY
    for needed in (
        "offline model",
        "no language model is configured",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "Ollama",
        "vLLM",
        "--backend chat-completions",
    ):
        assert needed in turn.text
    assert turn.tool_calls == []
    assert "".join(deltas) == turn.text


def test_text_streams_in_word_aligned_chunks_and_usage_is_counted():
    """Text arrives through on_text_delta in a few whole-word chunks; usage counts words."""
    messages = [{"role": "user", "content": "tell me a story please"}]
    turn, deltas = complete(OfflineBackend(), messages)
    words = len(NOT_CONFIGURED_REPLY.split())
    assert len(deltas) == math.ceil(words / WORDS_PER_DELTA) and len(deltas) >= 2
    assert all(delta.strip() and not delta[-1].isspace() for delta in deltas)
    assert sum(len(delta.split()) for delta in deltas) == words
    assert "".join(deltas) == turn.text
    assert turn.usage.completion_tokens == len(NOT_CONFIGURED_REPLY.split())
    assert turn.usage.prompt_tokens == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("42", ["42"]),
        ("The total is 43.", ["The total", " is 43."]),
        ("a b c d e f g h i j", ["a b c d e", " f g h i j"]),
    ],
)
def test_short_replies_still_stream_in_two_deltas(text: str, expected: list[str]) -> None:
    """Two words or more give two deltas at least; the deltas join back to the text."""
    assert delta_chunks(split_words(text)) == expected


def test_max_completion_tokens_truncates_text():
    """A reply longer than max_completion_tokens is cut there and marked incomplete."""
    turn, deltas = complete(
        OfflineBackend(), [{"role": "user", "content": "hi"}], max_completion_tokens=5
    )
    assert turn.incomplete_reason == "max_completion_tokens"
    assert turn.text == " ".join(NOT_CONFIGURED_REPLY.split()[:5])
    assert "".join(deltas) == turn.text
    assert turn.usage.completion_tokens == 5


def test_max_completion_tokens_drops_a_tool_call_that_does_not_fit():
    """A tool call that would exceed the limit is not made; the turn is incomplete."""
    turn, _ = complete(
        OfflineBackend(), [{"role": "user", "content": "2+2"}], max_completion_tokens=1
    )
    assert turn.tool_calls == []
    assert turn.incomplete_reason == "max_completion_tokens"


def test_reply_within_the_limit_is_complete():
    """A reply that fits max_completion_tokens is complete."""
    turn, _ = complete(
        OfflineBackend(), [{"role": "user", "content": "2+2"}], max_completion_tokens=100
    )
    assert turn.incomplete_reason is None
    assert expressions_of(turn) == ["2+2"]


# -- scripted mode -------------------------------------------------------------------------

SCRIPT = [
    {
        "match": "weather",
        "turns": [
            {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Paris"}},
                    {"name": "get_weather", "arguments": "{not json"},
                ]
            },
            {"text": "It is sunny in Paris."},
        ],
    },
    {
        "match": r"^fail (\w+)",
        "turns": [
            {"error": {"message": "The scripted model is down.", "code": "rate_limit_exceeded"}}
        ],
    },
]


def test_script_plays_tool_calls_then_text():
    """A matching rule plays its turns in order; raw-string arguments are passed through."""
    backend = OfflineBackend(script=SCRIPT)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather?"}]
    turn, _ = complete(backend, messages)
    assert turn.tool_calls == [
        ToolCallRequest(name="get_weather", arguments='{"city": "Paris"}'),
        ToolCallRequest(name="get_weather", arguments="{not json"),
    ]
    message, ids = assistant_calls(turn, 1)
    messages += [message] + [{"role": "tool", "tool_call_id": i, "content": "sunny"} for i in ids]
    turn, deltas = complete(OfflineBackend(script=SCRIPT), messages)  # a fresh instance: stateless
    assert turn.text == "It is sunny in Paris."
    assert deltas == ["It is", " sunny in Paris."]


def test_script_past_its_last_turn_says_so():
    """Past the last turn the script is not repeated; the reply says the rule ran out."""
    messages = [
        {"role": "user", "content": "weather"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "assistant", "content": "It is sunny in Paris."},
    ]
    turn, _ = complete(OfflineBackend(script=SCRIPT), messages)
    assert turn.tool_calls == []
    assert "no more turns" in turn.text and "'weather'" in turn.text and "turn 3" in turn.text


def test_script_error_turn_raises_model_error():
    """An error turn raises ModelError with the scripted message and code."""
    with pytest.raises(ModelError) as caught:
        complete(OfflineBackend(script=SCRIPT), [{"role": "user", "content": "fail please"}])
    assert caught.value.message == "The scripted model is down."
    assert caught.value.code == "rate_limit_exceeded"


def test_script_counts_turns_from_the_latest_user_message():
    """A new user message restarts the rule at turn one."""
    messages = [
        {"role": "user", "content": "weather"},
        {"role": "assistant", "content": "It is sunny in Paris."},
        {"role": "user", "content": "weather again"},
    ]
    turn, _ = complete(OfflineBackend(script=SCRIPT), messages)
    assert [call.name for call in turn.tool_calls] == ["get_weather", "get_weather"]


def test_unmatched_message_falls_back_to_offline_behaviour():
    """Without a matching rule the offline model behaves normally."""
    turn, _ = complete(OfflineBackend(script=SCRIPT), [{"role": "user", "content": "3*4"}])
    assert expressions_of(turn) == ["3*4"]


def test_latency_is_slept_per_call_and_per_turn(monkeypatch):
    """latency_ms plus a turn's latency_ms are slept once, counted from the call's start."""
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float, *args: Any) -> None:
        slept.append(seconds)
        await real_sleep(0)

    class FrozenLoop:
        """The event loop's clock as the backend reads it: stopped at 100 s."""

        @staticmethod
        def time() -> float:
            return 100.0

    monkeypatch.setattr(offline_module.asyncio, "sleep", recording_sleep)
    monkeypatch.setattr(offline_module.asyncio, "get_running_loop", FrozenLoop)
    script = [{"match": "x", "turns": [{"text": "done", "latency_ms": 40}]}]
    complete(OfflineBackend(latency_ms=250, script=script), [{"role": "user", "content": "x"}])
    assert [s for s in slept if s] == [pytest.approx(0.29)]


def test_latency_counts_the_time_spent_preparing_the_turn(monkeypatch):
    """Time already spent in the call is not slept again: only what is left of latency_ms."""
    slept: list[float] = []
    real_sleep = asyncio.sleep
    clock = iter([100.0, 100.03])  # call start, then after preparing the turn

    async def recording_sleep(seconds: float, *args: Any) -> None:
        slept.append(seconds)
        await real_sleep(0)

    class SteppingLoop:
        """The event loop's clock: 30 ms pass while the turn is prepared."""

        @staticmethod
        def time() -> float:
            return next(clock)

    monkeypatch.setattr(offline_module.asyncio, "sleep", recording_sleep)
    monkeypatch.setattr(offline_module.asyncio, "get_running_loop", SteppingLoop)
    complete(OfflineBackend(latency_ms=100), [{"role": "user", "content": "hello"}])
    assert [s for s in slept if s] == [pytest.approx(0.07)]


def test_latency_can_be_cancelled():
    """A model call sleeping its latency ends promptly when the worker cancels it."""

    async def scenario() -> bool:
        backend = OfflineBackend(latency_ms=600_000)
        request = ModelRequest(model="any", messages=[{"role": "user", "content": "hi"}])
        task = asyncio.create_task(backend.complete(request))
        await asyncio.sleep(0.01)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=30)
        return task in done and task.cancelled()

    assert asyncio.run(scenario())


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"match": "x"}, "expected a list of rules"),
        ([{"turns": [{"text": "a"}]}], "rule 1 needs 'match'"),
        ([{"match": "(", "turns": [{"text": "a"}]}], "not a valid regular expression"),
        ([{"match": "x", "turns": []}], "rule 1 needs 'turns'"),
        ([{"match": "x", "turns": [{"txt": "a"}]}], "rule 1, turn 1 has unknown keys ['txt']"),
        ([{"match": "x", "turns": [{"latency_ms": 5}]}], "needs 'text', 'tool_calls' or 'error'"),
        ([{"match": "x", "turns": [{"text": "a", "error": {"message": "b"}}]}], "cannot also"),
        (
            [{"match": "x", "turns": [{"error": {"message": "b", "code": "oops"}}]}],
            "must be one of server_error",
        ),
        ([{"match": "x", "turns": [{"text": "a", "latency_ms": -1}]}], "non-negative"),
        ([{"match": "x", "turns": [{"tool_calls": [{"arguments": {}}]}]}], "needs 'name'"),
        (
            [{"match": "x", "turns": [{"tool_calls": [{"name": "f", "arguments": 3}]}]}],
            "'arguments' must be an object or a JSON string",
        ),
    ],
)
def test_invalid_scripts_are_rejected_with_the_place_and_problem(script, message):
    """Script validation names the rule/turn and what is wrong."""
    with pytest.raises(ValueError) as caught:
        OfflineBackend(script=script)
    assert message in str(caught.value)


def test_script_file_is_read_and_validated(tmp_path):
    """from_script_file plays a JSON file; bad JSON and missing files are clear ValueErrors."""
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"match": "hello", "turns": [{"text": "Hi from the script."}]}]))
    turn, _ = complete(
        OfflineBackend.from_script_file(path), [{"role": "user", "content": "hello"}]
    )
    assert turn.text == "Hi from the script."

    path.write_text('[{"match": "hello",]')
    with pytest.raises(ValueError, match="is not valid JSON"):
        OfflineBackend.from_script_file(path)
    with pytest.raises(ValueError, match="Cannot read the offline model script"):
        OfflineBackend.from_script_file(tmp_path / "missing.json")


def test_negative_latency_is_rejected():
    """latency_ms must be a non-negative number."""
    with pytest.raises(ValueError, match="non-negative"):
        OfflineBackend(latency_ms=-5)


def test_backend_identity():
    """The offline backend names itself and calls the built-in tools the server executes."""
    backend = OfflineBackend()
    assert backend.name == "offline"
    assert backend.supported_builtin_tools == frozenset()
    interpreting = OfflineBackend(builtin_tools=frozenset({"code_interpreter"}))
    assert interpreting.supported_builtin_tools == frozenset({"code_interpreter"})
    asyncio.run(backend.aclose())
