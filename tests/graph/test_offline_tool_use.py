"""The offline model uses every shipped tool, end to end: ``assistant-graph ask`` (in-process,
against the project's server over HTTP) prints the tool call the question names, the tool's
output and an answer built from it; a person's rejection is answered as a rejection."""

from __future__ import annotations

import re

import pytest
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.cli import main
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command


@pytest.mark.parametrize(
    ("question", "call", "output", "answer"),  # output: a regular expression
    [
        (
            "How many days between 2024-01-01 and 2024-12-25?",
            "days_between(start_date='2024-01-01', end_date='2024-12-25')",
            re.escape("359 days from 2024-01-01 (Monday) to 2024-12-25 (Wednesday)"),
            "Days from 2024-01-01 to 2024-12-25: 359 days",
        ),
        (
            "What time is it in Tokyo?",
            "current_datetime(timezone='Asia/Tokyo')",
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00 \(\w+day\) in Asia/Tokyo",
            "The current date and time in Asia/Tokyo: ",
        ),
        (
            "Convert 26.2 miles to km",
            "unit_converter(value=26.2, from_unit='miles', to_unit='km')",
            "26.2 mi = 42.1648128 km",
            "26.2 miles in km: 26.2 mi = 42.1648128 km",
        ),
        (
            "How many words are in 'the quick brown fox jumps'?",
            "text_statistics(text='the quick brown fox jumps')",
            '"words": 5',
            'The text "the quick brown fox jumps": 5 words',
        ),
        ("two plus two", "calculator(expression='2 + 2')", "4", "2 + 2 = 4"),
        (
            "100 factorial",
            "calculator(expression='factorial(100)')",
            "933262154439441526816992388562667",
            "factorial(100) = 933262154439441526816992388562667",
        ),
        ("12 tims 3", "calculator(expression='12 * 3')", "36", "12 * 3 = 36"),
    ],
)
def test_ask_calls_the_tool_the_question_names_and_answers_from_it(
    server, tmp_path, capsys, monkeypatch, question, call, output, answer
):
    """Each kind of question reaches its shipped tool with the right arguments through the
    whole graph and server; the answer quotes the tool's output (no fixed reply, no error)."""
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    assert main(["ask", question, "--db", str(tmp_path / "conversations.sqlite3")]) == 0
    printed = capsys.readouterr().out
    assert f"→ {call}" in printed
    tool = call.partition("(")[0]
    result_line = next(line for line in printed.splitlines() if line.startswith(f"← {tool}: "))
    assert re.search(output, result_line), result_line
    assert answer in printed
    assert "Error" not in printed and "no language model is configured" not in printed


def test_a_question_no_tool_fits_gets_the_not_a_language_model_reply(
    server, tmp_path, capsys, monkeypatch
):
    """Chatter calls no tool; the answer says this is not a language model and how to get one."""
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    assert main(["ask", "Write me a poem", "--db", str(tmp_path / "c.sqlite3")]) == 0
    printed = capsys.readouterr().out
    assert "→" not in printed
    assert "no language model is configured" in printed


@pytest.mark.parametrize(
    "question", ["What's 2 + 3?", "How many days between 2024-01-01 and 2024-12-25?"]
)
def test_a_rejected_tool_call_is_answered_as_a_rejection(server, question):
    """After a person rejects the call in the graph's human review, the offline model's answer
    says the call was rejected and did not run, with the reason, and quotes no result."""
    graph = build_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"reject-{question}"}}
    context = Context(base_url=server.base_url, interrupt_before_tools=True)
    paused = graph.invoke({"messages": [HumanMessage(question)]}, config, context=context)
    assert "__interrupt__" in paused
    resume = Command(resume={"action": "reject", "reason": "not today"})
    messages = graph.invoke(resume, config, context=context)["messages"]
    (rejection,) = [m for m in messages if isinstance(m, ToolMessage)]
    answer = messages[-1]
    assert isinstance(answer, AIMessage) and not answer.tool_calls
    assert f"The {rejection.name} call for" in answer.content
    assert "was rejected, so it did not run (reason: not today)" in answer.content
    assert rejection.content not in answer.content
