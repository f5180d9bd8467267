"""The offline model calls whichever declared tool a question plainly names, with the right
arguments, and answers from the output — a result, a tool error, or a person's rejection.

The backend is called directly with ModelRequest objects, as the run worker calls it; tool
outputs come from the project's real tools (or, for the schema tests, from the test).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from assistant_graph.assistants_server.backends import (
    NOT_CONFIGURED_REPLY,
    ModelRequest,
    ModelTurn,
    OfflineBackend,
)
from assistant_graph.tools import default_tools, tools_by_name
from langchain_core.tools import ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool

SHIPPED = [convert_to_openai_tool(tool) for tool in default_tools()]
IMPLEMENTATIONS = tools_by_name()
REJECTION = "The tool call was rejected by a person and did not run. Reason: {reason}"


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


def complete(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], **options: Any
) -> ModelTurn:
    request = ModelRequest(model="any", messages=messages, tools=tools, **options)
    return asyncio.run(OfflineBackend().complete(request))


def first_calls(question: str, tools: list[dict[str, Any]] = SHIPPED) -> list[tuple[str, dict]]:
    turn = complete([{"role": "user", "content": question}], tools)
    return [(call.name, json.loads(call.arguments)) for call in turn.tool_calls]


def converse(
    question: str, tools: list[dict[str, Any]] = SHIPPED, answer: Any = None
) -> tuple[str, list[tuple[str, dict, str]]]:
    """Drive the model like the worker until it answers; ``answer(name, args)`` gives outputs
    (default: the project's tools, an error as "Error: ..."). Returns the answer and the calls."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    made: list[tuple[str, dict, str]] = []
    for step in range(5):
        turn = complete(messages, tools)
        if not turn.tool_calls:
            return turn.text, made
        calls = [
            {
                "id": f"call_{step}_{i}",
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for i, c in enumerate(turn.tool_calls)
        ]
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for call in calls:
            name, args = call["function"]["name"], json.loads(call["function"]["arguments"])
            if answer is not None:
                output = answer(name, args)
            else:
                try:
                    output = str(IMPLEMENTATIONS[name].invoke(args))
                except ToolException as exc:
                    output = f"Error: {exc}"
            made.append((name, args, output))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
    raise AssertionError("the offline model kept calling tools")


# -- each kind of question, with the shipped tools ------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "How many days between 2024-01-01 and 2024-12-25?",
            ("days_between", {"start_date": "2024-01-01", "end_date": "2024-12-25"}),
        ),
        (
            "How many days are there from January 1, 2024 to 25 December 2024?",
            ("days_between", {"start_date": "2024-01-01", "end_date": "2024-12-25"}),
        ),
        ("What time is it in Tokyo?", ("current_datetime", {"timezone": "Asia/Tokyo"})),
        (
            "What is the current time in America/New_York?",
            ("current_datetime", {"timezone": "America/New_York"}),
        ),
        ("What's the date today?", ("current_datetime", {})),
        (
            "Convert 26.2 miles to km",
            ("unit_converter", {"value": 26.2, "from_unit": "miles", "to_unit": "km"}),
        ),
        ("100 F in C", ("unit_converter", {"value": 100, "from_unit": "F", "to_unit": "C"})),
        (
            "How many pounds in 5 kg?",
            ("unit_converter", {"value": 5, "from_unit": "kg", "to_unit": "pounds"}),
        ),
        (
            "How many words are in 'the quick brown fox jumps'?",
            ("text_statistics", {"text": "the quick brown fox jumps"}),
        ),
        (
            "Count the sentences in: Hello there. How are you? Fine.",
            ("text_statistics", {"text": "Hello there. How are you? Fine."}),
        ),
        ("two plus two", ("calculator", {"expression": "2 + 2"})),
        ("What is one hundred and five times three?", ("calculator", {"expression": "105 * 3"})),
        ("100 factorial", ("calculator", {"expression": "factorial(100)"})),
        ("factorial of 20", ("calculator", {"expression": "factorial(20)"})),
        ("12 tims 3", ("calculator", {"expression": "12 * 3"})),
        ("What's 10 - 4 raised to the 2.7?", ("calculator", {"expression": "10 - 4 ** 2.7"})),
    ],
)
def test_a_question_that_names_a_shipped_tool_calls_it_with_the_right_arguments(question, expected):
    """Day counts, the time in a zone, unit conversion, text statistics and arithmetic in words
    each call their tool once, with arguments read from the question."""
    assert first_calls(question) == [expected]


@pytest.mark.parametrize(
    ("question", "answer_part"),
    [
        (
            "How many days between 2024-01-01 and 2024-12-25?",
            "359 days from 2024-01-01 (Monday) to 2024-12-25 (Wednesday)",
        ),
        ("Convert 26.2 miles to km", "26.2 mi = 42.1648128 km"),
        ("How many words are in 'the quick brown fox jumps'?", "5 words"),
        ("two plus two", "2 + 2 = 4"),
        ("12 tims 3", "12 * 3 = 36"),
        ("100 factorial", "factorial(100) = 933262154439441526816992388562667"),
    ],
)
def test_the_answer_comes_from_the_tools_output(question, answer_part):
    """Once the output is back the model answers with it (and calls nothing more)."""
    answer, made = converse(question)
    assert len(made) == 1
    assert answer_part in answer


def test_the_current_time_answer_names_the_zone_and_the_tools_time():
    """ "What time is it in Tokyo?" answers with current_datetime's output for Asia/Tokyo."""
    answer, ((_, _, output),) = converse("What time is it in Tokyo?")
    assert output.endswith("in Asia/Tokyo") and "+09:00" in output
    assert answer == f"The current date and time in Asia/Tokyo: {output}"


def test_a_day_count_is_never_taken_for_arithmetic():
    """With only a calculator declared, two ISO dates are not a subtraction: no calculator
    call with '2024-01-01' (it used to error on leading zeros); the model says what it does."""
    calculator = convert_to_openai_tool(IMPLEMENTATIONS["calculator"])
    turn = complete(
        [{"role": "user", "content": "How many days between 2024-01-01 and 2024-12-25?"}],
        [calculator],
    )
    assert turn.tool_calls == []
    assert turn.text == NOT_CONFIGURED_REPLY


@pytest.mark.parametrize(
    "question",
    ["What time is it in Tokyo?", "Convert 26.2 miles to km", "How many words in 'a b'?"],
)
def test_a_tool_the_run_does_not_declare_is_never_called(question):
    """The model sees only the run's tools: without a fitting one it says it is not a language
    model (and calls nothing)."""
    calculator = convert_to_openai_tool(IMPLEMENTATIONS["calculator"])
    turn = complete([{"role": "user", "content": question}], [calculator])
    assert turn.tool_calls == []
    assert turn.text == NOT_CONFIGURED_REPLY


def test_nothing_fits_still_gets_the_not_a_language_model_reply():
    """Chatter calls no tool and gets the fixed reply, which names the kinds it answers."""
    turn = complete([{"role": "user", "content": "Tell me a story about a dragon"}], SHIPPED)
    assert turn.tool_calls == []
    assert turn.text == NOT_CONFIGURED_REPLY
    assert "no language model is configured" in turn.text and "day counts" in turn.text


# -- routing follows the declared schemas, not the project's names ---------------------------


def test_tools_are_found_by_their_schema_and_arguments_mapped_by_parameter_names():
    """Differently named tools with other parameter names are found by name words and
    parameter shapes (a counting tool before one that merely takes text); the arguments go to
    the parameters whose names fit."""
    tools = [
        function_tool("count_days", {"until": {"type": "string"}, "since": {"type": "string"}}),
        function_tool("world_clock", {"zone": {"type": "string"}}),
        function_tool(
            "convert_measure",
            {
                "target": {"type": "string"},
                "amount": {"type": "number"},
                "source": {"type": "string"},
            },
        ),
        function_tool("reverse_text", {"text": {"type": "string"}}),
        function_tool("word_counter", {"passage": {"type": "string"}}),
    ]
    assert first_calls("How many days between 2020-02-01 and 2020-03-01?", tools) == [
        ("count_days", {"since": "2020-02-01", "until": "2020-03-01"})
    ]
    assert first_calls("what time is it in London", tools) == [
        ("world_clock", {"zone": "Europe/London"})
    ]
    assert first_calls("convert 3 feet to m", tools) == [
        ("convert_measure", {"amount": 3, "source": "feet", "target": "m"})
    ]
    assert first_calls('count the words in "one two three"', tools) == [
        ("word_counter", {"passage": "one two three"})
    ]


def test_factorial_only_when_the_calculator_mentions_it():
    """ "100 factorial" is only asked of a calculator whose description mentions factorial."""
    plain = function_tool("calculator", {"expression": {"type": "string"}}, "Adds and subtracts.")
    turn = complete([{"role": "user", "content": "100 factorial"}], [plain])
    assert turn.tool_calls == []


def test_tool_choice_none_names_the_tool_it_would_need():
    """With tool_choice "none" the model calls nothing and says which tool it needed."""
    turn = complete(
        [{"role": "user", "content": "Convert 26.2 miles to km"}], SHIPPED, tool_choice="none"
    )
    assert turn.tool_calls == []
    assert '"unit_converter"' in turn.text and '"none"' in turn.text


# -- errors and rejections -------------------------------------------------------------------


def test_a_tool_error_is_reported_as_an_error():
    """An output starting with "Error" is reported as the tool's error, quoted."""
    answer, _ = converse("What time is it in Atlantis?")
    assert answer.startswith("current_datetime reported an error for the current date and time")
    assert "Unknown time zone 'atlantis'" in answer


@pytest.mark.parametrize(
    ("question", "tool"),
    [
        ("What's 2+2?", "calculator"),
        ("two plus two", "calculator"),
        ("How many days between 2024-01-01 and 2024-12-25?", "days_between"),
        ("Convert 26.2 miles to km", "unit_converter"),
    ],
)
def test_a_rejected_call_is_answered_as_a_rejection_not_as_a_result(question, tool):
    """The output a person's rejection leaves (the graph's human review) is answered as a
    rejection with its reason; it is never quoted as the tool's result."""
    answer, made = converse(question, answer=lambda *_: REJECTION.format(reason="not now"))
    assert [name for name, _, _ in made] == [tool]
    assert f"The {tool} call for" in answer
    assert "was rejected, so it did not run (reason: not now)" in answer
    assert "= The tool call" not in answer and ": The tool call" not in answer
