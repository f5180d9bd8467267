"""``max_prompt_tokens``: the worker drops the oldest turns to fit the run's prompt budget, and
ends the run ``incomplete`` (reason ``max_prompt_tokens``) when even the latest question does
not fit. The estimate is deterministic (about four characters per token)."""

from __future__ import annotations

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn
from assistant_graph.assistants_server.prompt_budget import estimate_tokens, fit_prompt
from scripted_backend import ScriptedBackend

SYSTEM = {"role": "system", "content": "Be brief."}


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_estimate_is_deterministic_and_counts_characters() -> None:
    """Four characters per token plus four per message; tool calls count their arguments."""
    assert estimate_tokens([_user("x" * 40)]) == 4 + 10
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "calc", "arguments": "1234"}}
        ],
    }
    assert estimate_tokens([call]) == 4 + 3 + 2
    assert estimate_tokens([_user("x" * 41)]) == 4 + 11


def test_fit_prompt_keeps_what_fits() -> None:
    """Within budget nothing changes; over budget the oldest turns go first."""
    messages = [
        SYSTEM,
        _user("a" * 400),
        _assistant("b" * 400),
        _user("c" * 400),
        _assistant("d" * 400),
        _user("latest"),
    ]
    assert fit_prompt(messages, 10_000) == messages
    budget = estimate_tokens([SYSTEM, _user("c" * 400), _assistant("d" * 400), _user("latest")])
    assert fit_prompt(messages, budget) == [
        SYSTEM,
        _user("c" * 400),
        _assistant("d" * 400),
        _user("latest"),
    ]
    assert fit_prompt(messages, budget - 1) == [SYSTEM, _assistant("d" * 400), _user("latest")]


def test_fit_prompt_drops_a_tool_call_with_its_results() -> None:
    """An assistant tool-call message and its tool results are dropped together."""
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{}"}}
        ],
    }
    result = {"role": "tool", "tool_call_id": "c1", "content": "r" * 400}
    messages = [SYSTEM, _user("q" * 40), call, result, _assistant("a" * 40), _user("latest")]
    fitted = fit_prompt(
        messages, estimate_tokens([SYSTEM, _assistant("a" * 40), _user("latest")]) + 5
    )
    assert fitted == [SYSTEM, _assistant("a" * 40), _user("latest")]


def test_fit_prompt_keeps_the_runs_own_tool_round_trips() -> None:
    """Everything from the latest user message on is kept, else the prompt does not fit."""
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{}"}}
        ],
    }
    result = {"role": "tool", "tool_call_id": "c1", "content": "42"}
    messages = [SYSTEM, _user("o" * 400), _user("latest"), call, result]
    kept = [SYSTEM, _user("latest"), call, result]
    assert fit_prompt(messages, estimate_tokens(kept)) == kept
    assert fit_prompt(messages, estimate_tokens(kept) - 1) is None


def test_run_prompt_drops_oldest_messages(client: openai.OpenAI, backend: ScriptedBackend) -> None:
    """The model receives the system prompt, the newest turns that fit, and the latest question."""
    backend.add(ModelTurn(text="ok"))
    assistant = client.beta.assistants.create(model="m", instructions="Be brief.")
    old = ["first " * 200, "second " * 200, "third " * 200]
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": text} for text in old]
        + [{"role": "user", "content": "latest?"}]
    )
    kept = [SYSTEM, _user(old[2]), _user("latest?")]
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        max_prompt_tokens=estimate_tokens(kept),
        poll_interval_ms=10,
    )
    assert run.status == "completed"
    request = backend.requests[-1]
    assert request.max_prompt_tokens == estimate_tokens(kept)
    assert request.messages == kept
    # The thread itself is untouched.
    assert len(client.beta.threads.messages.list(thread.id).data) == 5


def test_run_without_budget_sends_the_whole_thread(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """Without max_prompt_tokens every message goes to the model."""
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"m{i} " * 100} for i in range(4)]
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=10
    )
    assert run.status == "completed"
    assert len(backend.requests[-1].messages) == 4
    assert backend.requests[-1].max_prompt_tokens is None


def test_run_whose_latest_message_does_not_fit_ends_incomplete(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """Over budget with nothing left to drop: incomplete, reason max_prompt_tokens,
    no model call."""
    assistant = client.beta.assistants.create(model="m", instructions="Be brief.")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "long question " * 100}]
    )
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, max_prompt_tokens=256
    ) as stream:
        events = [event.event for event in stream]
        run = stream.current_run
    assert run is not None and run.status == "incomplete"
    assert (
        run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    )
    assert events[-1] == "thread.run.incomplete"
    assert backend.requests == []
    stored = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert stored.status == "incomplete" and stored.incomplete_details.reason == "max_prompt_tokens"
    # The thread is usable again: a new message is accepted.
    client.beta.threads.messages.create(thread.id, role="user", content="shorter")
