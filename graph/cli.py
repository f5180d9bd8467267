"""``assistant-graph``: ask the agent, chat with it, list saved conversations, run the server.

Conversations are kept in a local SQLite checkpoint file (``<data dir>/conversations.sqlite3``,
``--db`` to change it) and written with ``durability="sync"``, so an interrupted turn resumes
where it stopped. Before a turn the endpoint is checked and the assistant provisioned, so a
misconfiguration is reported before anything is saved. Exit codes: 0 success, 1 the turn
failed, 2 bad usage or configuration (empty message, unreachable endpoint, rejected key,
unknown thread or assistant), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

UNKNOWN_THREAD = (
    "Unknown thread {thread!r} in {db}. Run `assistant-graph threads` to list saved "
    "conversations, or omit --thread to start a new one."
)
NO_CONVERSATIONS = "No saved conversations in {db}."
CONTINUE_HINT = 'thread: {thread}  (continue with: assistant-graph ask --thread {thread} "...")'
CHAT_BANNER = "Chatting on thread {thread}. Ctrl-D or /exit to leave."
INTERRUPTED = "Interrupted. The conversation is saved; continue it with --thread {thread}."
REJECTED_KEY = (
    "assistant-graph: the Assistants endpoint rejected the API key (HTTP {status}). Check "
    "ASSISTANTS_API_KEY."
)
ENDPOINT_ERROR = "assistant-graph: the Assistants endpoint returned an error: {error}"
EMPTY_QUESTION = (
    "assistant-graph: the message is empty. Give the text to send, e.g. "
    'assistant-graph ask "What\'s 2 + 2?"'
)
USAGE_ERRORS = (
    "EndpointUnreachableError",
    "UnknownAssistantError",
    "ConfigurationError",
    "InvalidInputError",
)
"""Errors caused by the command's configuration or input (exit 2), not by the turn."""


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="assistant-graph",
        description="An OpenAI-Assistants-style agent as a LangGraph workflow.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="ask one question (prints tool calls and the answer)")
    ask.add_argument("question", help="the message to send")
    ask.add_argument("--thread", help="continue this saved conversation")
    ask.add_argument(
        "--db", type=Path, help="conversation file (default: <data dir>/conversations.sqlite3)"
    )

    chat = commands.add_parser("chat", help="interactive conversation")
    chat.add_argument("--thread", help="continue this saved conversation")
    chat.add_argument("--db", type=Path, help="conversation file")

    threads = commands.add_parser("threads", help="list saved conversations")
    threads.add_argument("--db", type=Path, help="conversation file")

    commands.add_parser(
        "serve",
        help="run the Assistants v2 server (see `assistant-graph serve --help`)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "serve":
        from assistant_graph.assistants_server.cli import main as serve_main

        return serve_main(argv[1:])
    args = build_parser().parse_args(argv)
    _quiet_library_warnings()
    if args.command == "threads":
        return list_threads(_db_path(args.db), sys.stdout)
    if args.command == "ask":
        return ask(args.question, args.thread, _db_path(args.db), sys.stdout)
    return chat(args.thread, _db_path(args.db), sys.stdout)


# ------------------------------------------------------------------- commands


def ask(question: str, thread: str | None, db: Path, out: TextIO) -> int:
    """Send one message, printing tool calls and results as they happen, then the answer."""
    if not question.strip():
        print(EMPTY_QUESTION, file=sys.stderr)
        return EXIT_USAGE
    if thread and not _thread_saved(db, thread):
        print(UNKNOWN_THREAD.format(thread=thread, db=db), file=sys.stderr)
        return EXIT_USAGE
    status = _prepare()
    if status != EXIT_OK:
        return status
    with _saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        try:
            status = _turn(graph, thread, question, out)
        except KeyboardInterrupt:
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        if status == EXIT_OK:
            print(CONTINUE_HINT.format(thread=thread), file=out)
        return status


def chat(thread: str | None, db: Path, out: TextIO) -> int:
    """Interactive loop; Ctrl-D exits with 0, Ctrl-C with 130, never with a traceback."""
    if thread and not _thread_saved(db, thread):
        print(UNKNOWN_THREAD.format(thread=thread, db=db), file=sys.stderr)
        return EXIT_USAGE
    status = _prepare()
    if status != EXIT_OK:
        return status
    history = _enable_history(db.parent / "chat_history")
    with _saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        print(CHAT_BANNER.format(thread=thread), file=out)
        try:
            while True:
                try:
                    line = input("you> ").strip()
                except EOFError:
                    print(file=out)
                    return EXIT_OK
                if line in ("/exit", "/quit"):
                    return EXIT_OK
                if not line:
                    continue
                status = _turn(graph, thread, line, out)
                if status == EXIT_USAGE:
                    return status
        except KeyboardInterrupt:
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            history()


def list_threads(db: Path, out: TextIO) -> int:
    """Print saved conversations: thread id, message count, first user message, last update."""
    if not db.is_file():
        print(NO_CONVERSATIONS.format(db=db), file=out)
        return EXIT_OK
    with _saved_graph(db) as graph:
        rows = _thread_rows(graph, db)
    if not rows:
        print(NO_CONVERSATIONS.format(db=db), file=out)
        return EXIT_OK
    print(f"{'THREAD':<34} {'MESSAGES':>8}  {'UPDATED':<20}  FIRST MESSAGE", file=out)
    for thread, count, updated, first in rows:
        print(f"{thread:<34} {count:>8}  {updated:<20}  {first}", file=out)
    return EXIT_OK


# -------------------------------------------------------------------- helpers


def _db_path(db: Path | None) -> Path:
    if db is not None:
        return db.expanduser()
    from assistant_graph.assistants_server.settings import default_data_dir

    return default_data_dir() / "conversations.sqlite3"


@contextmanager
def _saved_graph(db: Path) -> Iterator[Any]:
    from assistant_graph.graph.builder import build_graph
    from langgraph.checkpoint.sqlite import SqliteSaver

    db.parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(db)) as saver:
        yield build_graph(checkpointer=saver)


def _thread_saved(db: Path, thread: str) -> bool:
    """Whether ``db`` holds conversation ``thread`` (a missing file is not created)."""
    if not db.is_file():
        return False
    with _saved_graph(db) as graph:
        return graph.checkpointer.get_tuple({"configurable": {"thread_id": thread}}) is not None


def _prepare() -> int:
    """Reach the endpoint and provision the assistant before a turn can save anything."""
    import openai
    from assistant_graph.graph.builder import prepare_assistant
    from assistant_graph.graph.errors import AssistantGraphError

    try:
        prepare_assistant()
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (AssistantGraphError, openai.APIError) as exc:
        return _report(exc)
    return EXIT_OK


def _report(exc: Exception) -> int:
    """Print an endpoint or graph error for a person; return the exit status."""
    import openai

    if isinstance(exc, openai.AuthenticationError):
        print(REJECTED_KEY.format(status=exc.status_code), file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, openai.APIError):
        print(ENDPOINT_ERROR.format(error=exc), file=sys.stderr)
        return EXIT_FAILED
    print(f"assistant-graph: {exc}", file=sys.stderr)
    return EXIT_USAGE if type(exc).__name__ in USAGE_ERRORS else EXIT_FAILED


def _thread_rows(graph: Any, db: Path) -> list[tuple[str, int, str, str]]:
    saver = graph.checkpointer
    saver.setup()
    try:
        threads = [
            row[0]
            for row in saver.conn.execute(
                "SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
                "WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY latest DESC"
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"{db} is not a conversation file: {exc}") from exc
    rows = []
    for thread in threads:
        saved = saver.get_tuple({"configurable": {"thread_id": thread}})
        if saved is None:
            continue
        messages = saved.checkpoint["channel_values"].get("messages", [])
        first = next((m.content for m in messages if m.type == "human"), "")
        first = " ".join(str(first).split())
        updated = saved.checkpoint["ts"][:19].replace("T", " ")
        rows.append((thread, len(messages), updated, first[:60] + ("…" if len(first) > 60 else "")))
    return rows


def _turn(graph: Any, thread: str, text: str, out: TextIO) -> int:
    """One turn, streamed as updates; prints tool activity and the answer."""
    import openai
    from assistant_graph.graph.errors import AssistantGraphError

    config = {"configurable": {"thread_id": thread}}
    answer = None
    try:
        for update in graph.stream(
            {"messages": [{"role": "user", "content": text}]},
            config,
            stream_mode="updates",
            durability="sync",
        ):
            for node, values in update.items():
                for message in (values or {}).get("messages", []):
                    answer = _print_message(node, message, out) or answer
    except (AssistantGraphError, openai.APIError) as exc:
        return _report(exc)
    if answer is not None:
        print(answer, file=out)
    return EXIT_OK


def _print_message(node: str, message: Any, out: TextIO) -> str | None:
    """Print a step's text and tool calls, or a tool result; return the text of an answer."""
    if node == "assistant" and getattr(message, "tool_calls", None):
        if isinstance(message.content, str) and message.content.strip():
            print(message.content, file=out, flush=True)  # what the model said before its calls
        for call in message.tool_calls:
            args = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
            print(f"→ {call['name']}({args})", file=out, flush=True)
        return None
    if node == "tools":
        marker = "✗" if getattr(message, "status", "") == "error" else "←"
        print(f"{marker} {message.name}: {message.content}", file=out, flush=True)
        return None
    if node == "assistant":
        return str(message.content)
    return None


def _enable_history(path: Path) -> Any:
    """Load readline history from ``path``; returns a function that saves it."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        return lambda: None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        readline.read_history_file(path)
    except (FileNotFoundError, OSError):
        pass

    def save() -> None:
        readline.set_history_length(1000)
        try:
            readline.write_history_file(path)
        except OSError as exc:
            print(f"assistant-graph: could not save chat history to {path}: {exc}", file=sys.stderr)

    return save


def _quiet_library_warnings() -> None:
    """Library notices (beta/deprecation of the Assistants API) are not for CLI users."""
    from langchain_core._api.beta_decorator import LangChainBetaWarning

    warnings.filterwarnings("ignore", category=LangChainBetaWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


if __name__ == "__main__":
    sys.exit(main())
