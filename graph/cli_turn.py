"""The command line's turns: run the graph on a saved conversation and print what happens.

Imported only by the commands that run the graph (``ask``, ``chat``), so ``--help``,
``threads`` and ``serve`` never load LangChain. A turn streams the graph's updates (tool calls,
tool results, the answer) with ``durability="sync"``; before a new question, a turn that a
previous process left unfinished (Ctrl-C, a crash, a tool review still open) is resumed from the
checkpoint, so an interrupted question is answered, never dropped. A run that ends without an
answer (``failed``, ``cancelled``, ``expired``, ``incomplete``) is a failed turn (exit 1).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

import openai
from assistant_graph.graph import cli, cli_live
from assistant_graph.graph.builder import build_graph, prepare_assistant
from assistant_graph.graph.checkpointers import (
    ConversationBusy,
    conversation_lock,
    open_checkpointer,
)
from assistant_graph.graph.cli_files import (
    mention_citations,
    mention_returned_files,
    save_returned_files,
)
from assistant_graph.graph.cli_review import ask_review, format_call
from assistant_graph.graph.context import Context
from assistant_graph.graph.errors import AssistantGraphError, InvalidInputError, RunGoneError
from assistant_graph.graph.server_steps import (
    SERVER_STEP_EVENT,
    SERVER_TOOL_CALLS_KEY,
    search_summary,
    step_messages,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langgraph.types import Command

RESUMING = "Resuming the unfinished turn: {question}"
DROPPED = "assistant-graph: the unfinished turn cannot be resumed, so it was dropped: {reason}"
RESUMING_REVIEW = "The unfinished turn is waiting for your review of its tool calls."
TURN_FAILED = (
    "assistant-graph: the turn failed: {reason} The conversation is saved; once the cause is "
    'fixed, ask again with: assistant-graph ask --thread {thread} "..."'
)
BUSY = (
    "assistant-graph: conversation {thread} is busy: another turn is still running on it. "
    "Wait for it to finish, then ask again with --thread {thread}."
)
REVIEW_NEEDS_TERMINAL = (
    "assistant-graph: ASSISTANT_INTERRUPT_BEFORE_TOOLS is on, so tool calls wait for a person's "
    "approval, and there is no terminal to ask on (stdin is not a TTY). Run the command in a "
    "terminal, or set ASSISTANT_INTERRUPT_BEFORE_TOOLS=false to run tools without review."
)
PAUSED_NEEDS_TERMINAL = (
    "assistant-graph: conversation {thread} is paused for a review of its tool calls, and there "
    "is no terminal to ask on (stdin is not a TTY). Continue it in a terminal with: "
    "assistant-graph ask --thread {thread}"
)
WRONG_BASE_URL = (
    "assistant-graph: the Assistants endpoint has no {path} ({detail}). ASSISTANTS_BASE_URL is "
    "{base_url!r}: it must be the API root, usually ending in /v1 (e.g. {suggestion})."
)
ENDED_STATUSES = frozenset({"failed", "cancelled", "expired", "incomplete"})
_DROPPED = -1
"""``_resume_unfinished``'s status for a turn it had to drop (the new message still goes)."""
BUSY_MARKERS = ("already has an active run", "while a run")
"""Texts of the Assistants API's refusal when a thread has an active run."""


@contextmanager
def saved_graph(db: str | Path) -> Iterator[Any]:
    """Yield the graph saving to ``db`` (a conversation file, created if missing, or a URL)."""
    with open_checkpointer(db) as saver:
        yield build_graph(checkpointer=saver)


def check_reviewable(interactive: bool) -> int:
    """Refuse a turn whose tool review could not be answered (no terminal); exit status."""
    try:
        needs_review = Context().interrupt_before_tools
    except AssistantGraphError as exc:
        return report(exc)
    if needs_review and not interactive:
        print(REVIEW_NEEDS_TERMINAL, file=sys.stderr)
        return cli.EXIT_USAGE
    return cli.EXIT_OK


def prepare() -> int:
    """Reach the endpoint and provision the assistant before a turn can save anything."""
    try:
        prepare_assistant()
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return cli.EXIT_INTERRUPTED
    except openai.NotFoundError as exc:
        return _report_wrong_base_url(exc)
    except (AssistantGraphError, openai.APIError) as exc:
        return report(exc)
    return cli.EXIT_OK


def run_turn(
    graph: Any,
    db: str | Path,
    thread: str,
    text: str | None,
    out: TextIO,
    interactive: bool,
    save_files: bool = False,
) -> int:
    """Finish the conversation's unfinished turn, if any, then answer ``text`` (if given).

    A resumed turn that fails is reported and ``text`` is still sent; one that cannot go on at
    all (its run is gone, its saved state is unusable) is reported as dropped. With
    ``save_files`` the files an answer returns are saved to the working directory.
    """
    config = {"configurable": {"thread_id": thread}}
    try:
        with conversation_lock(db, thread):
            status = _resume_unfinished(graph, config, out, interactive, save_files)
            if text is not None and status in (cli.EXIT_OK, cli.EXIT_FAILED, _DROPPED):
                user = {"messages": [{"role": "user", "content": text}]}
                status = _stream(graph, config, user, out, save_files)
            elif status == _DROPPED:
                status = cli.EXIT_FAILED
    except ConversationBusy:
        print(BUSY.format(thread=thread), file=sys.stderr)
        return cli.EXIT_USAGE
    except (AssistantGraphError, openai.APIError) as exc:
        if _is_busy(exc):
            print(BUSY.format(thread=thread), file=sys.stderr)
            return cli.EXIT_USAGE
        return report(exc)
    return status


def report(exc: Exception) -> int:
    """Print an endpoint or graph error for a person; return the exit status."""
    if isinstance(exc, openai.AuthenticationError):
        print(cli.REJECTED_KEY.format(status=exc.status_code), file=sys.stderr)
        return cli.EXIT_USAGE
    if isinstance(exc, openai.APIError):
        print(cli.ENDPOINT_ERROR.format(error=exc), file=sys.stderr)
        return cli.EXIT_FAILED
    print(f"assistant-graph: {exc}", file=sys.stderr)
    return cli.EXIT_USAGE if type(exc).__name__ in cli.USAGE_ERRORS else cli.EXIT_FAILED


def _resume_unfinished(
    graph: Any, config: dict, out: TextIO, interactive: bool, save_files: bool
) -> int:
    saved = graph.get_state(config)
    if not saved.next:
        return cli.EXIT_OK
    thread = config["configurable"]["thread_id"]
    if saved.interrupts and not interactive:
        print(PAUSED_NEEDS_TERMINAL.format(thread=thread), file=sys.stderr)
        return cli.EXIT_USAGE
    question = next(
        (m.content for m in reversed(saved.values.get("messages", [])) if m.type == "human"), ""
    )
    print(RESUMING.format(question=" ".join(str(question).split())), file=out, flush=True)
    if saved.interrupts:
        print(RESUMING_REVIEW, file=out, flush=True)
        return _stream(graph, config, _review(saved, out), out, save_files)
    try:
        return _stream(graph, config, None, out, save_files)
    except (RunGoneError, InvalidInputError) as exc:  # the saved turn itself cannot go on
        print(DROPPED.format(reason=exc), file=sys.stderr)
        return _DROPPED


def _stream(graph: Any, config: dict, graph_input: Any, out: TextIO, save_files: bool) -> int:
    """Run the graph until it ends, answering each tool review at the terminal.

    The assistant's text is printed token by token (a callback handler: the steps still run
    in this thread, so Ctrl-C stops them); a message whose text was streamed is not printed
    again when its step ends.
    """
    answer: AIMessage | None = None
    printer = _TokenPrinter(out)
    live_config = {**config, "callbacks": [printer]}
    while True:
        with cli_live.busy(out):
            for update in graph.stream(
                graph_input, live_config, stream_mode="updates", durability="sync"
            ):
                for node, values in update.items():
                    if node == "__interrupt__" or not isinstance(values, dict):
                        continue
                    for message in values.get("messages", []):
                        if isinstance(message, AIMessage) and message.id in printer.shown_steps:
                            continue  # printed as it happened
                        if isinstance(message, AIMessage) and message.id in printer.streamed:
                            printer.end_line()
                            message = message.model_copy(update={"content": ""})
                        elif isinstance(message, AIMessage) and printer.line_open:
                            printer.end_line()  # a server step reported after streamed text
                        answer = _print_message(node, message, out) or answer
        saved = graph.get_state(config)
        if not saved.interrupts:
            break
        graph_input = _review(saved, out)
    return _finish(answer, config["configurable"]["thread_id"], out, save_files)


class _TokenPrinter(BaseCallbackHandler):
    """Print the assistant's text as the endpoint streams it; remember which messages."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.streamed: set[str] = set()
        self.shown_steps: set[str] = set()
        """Ids of the server-side steps already printed as they happened."""
        self.line_open = False
        """Whether streamed text was written since the last line was ended."""

    def end_line(self) -> None:
        """End the line of streamed text."""
        cli_live.end_line(self.out)
        self.line_open = False

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Print a text delta of the assistant's message."""
        message = getattr(chunk, "message", None)
        if isinstance(message, AIMessageChunk) and isinstance(message.content, str) and token:
            self.streamed.add(str(message.id))
            self.out.write(message.content)
            self.line_open = True

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Print a step the server ran itself (the code and its output) as it completes."""
        if name != SERVER_STEP_EVENT or not isinstance(data, dict) or "id" not in data:
            return
        if self.line_open:
            self.end_line()
        for message in step_messages([data]):
            _print_message("assistant", message, self.out)
        self.shown_steps.add(str(data["id"]))


def _review(saved: Any, out: TextIO) -> Command:
    return Command(resume=ask_review(saved.interrupts[0].value, out))


def _finish(answer: AIMessage | None, thread: str, out: TextIO, save_files: bool) -> int:
    if answer is None:
        return cli.EXIT_OK
    if answer.response_metadata.get("assistant_run_status") in ENDED_STATUSES:
        cli_live.end_line(out)
        print(TURN_FAILED.format(reason=answer.content, thread=thread), file=sys.stderr)
        return cli.EXIT_FAILED
    if answer.content:  # empty when it was streamed
        print(answer.content, file=out)
    mention_citations(answer, out)
    if save_files:
        save_returned_files(answer, out)
    else:
        mention_returned_files(answer, out)
    return cli.EXIT_OK


def _print_message(node: str, message: Any, out: TextIO) -> AIMessage | None:
    """Print a step's text and tool calls, or a tool result; return an answer message."""
    if isinstance(message, ToolMessage):
        marker = "✗" if message.status == "error" else "←"
        print(f"{marker} {message.name}: {message.content}", file=out, flush=True)
        return None
    if not isinstance(message, AIMessage):
        return None
    server_calls = message.additional_kwargs.get(SERVER_TOOL_CALLS_KEY)
    if server_calls:
        _print_server_calls(server_calls, out)
        return None
    if message.tool_calls:
        if node == "assistant" and isinstance(message.content, str) and message.content.strip():
            print(message.content, file=out, flush=True)  # what the model said before its calls
        arrow = "→" if node == "assistant" else "→ (edited)"
        for call in message.tool_calls:
            print(f"{arrow} {format_call(call['name'], call['args'])}", file=out, flush=True)
        return None
    return message if node == "assistant" else None


def _print_server_calls(calls: list[dict[str, Any]], out: TextIO) -> None:
    """Print the code the server ran for the turn (indented) and what it returned."""
    for call in calls:
        kind = call.get("type", "")
        body = call.get(kind) or {}
        print(f"→ {kind}", file=out)
        if kind == "file_search":
            print(f"← {search_summary(call)}", file=out)
        for line in str(body.get("input", "")).splitlines():
            print(f"  {line}", file=out)
        for output in body.get("outputs") or []:
            if output.get("type") == "logs":
                print(f"← {kind}: {output.get('logs', '').rstrip()}", file=out)
            elif output.get("type") == "image":
                print(f"← {kind}: [image file {output['image']['file_id']}]", file=out)
        out.flush()


def _is_busy(exc: Exception) -> bool:
    """Whether the endpoint refused because the thread already has an active run."""
    if type(exc).__name__ == "ConversationBusyError":
        return True
    text = str(exc)
    return isinstance(exc, openai.BadRequestError) and any(m in text for m in BUSY_MARKERS)


def _report_wrong_base_url(exc: openai.NotFoundError) -> int:
    """Report a 404 before any conversation exists: the endpoint URL is wrong (exit 2)."""
    base_url = str(Context().base_url or "").rstrip("/")
    if not base_url:
        return report(exc)
    path = exc.request.url.path
    suggestion = base_url if base_url.endswith("/v1") else base_url + "/v1"
    detail = exc.message if isinstance(exc.message, str) else str(exc)
    print(
        WRONG_BASE_URL.format(path=path, detail=detail, base_url=base_url, suggestion=suggestion),
        file=sys.stderr,
    )
    return cli.EXIT_USAGE
