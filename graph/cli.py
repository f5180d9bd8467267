"""``assistant-graph``: ask the agent, chat with it, list saved conversations, run the server.

Conversations are kept in a local SQLite checkpoint file (``<data dir>/conversations.sqlite3``,
``--db`` to change it) and written with ``durability="sync"``, so an interrupted turn resumes
where it stopped: the next ``ask --thread`` (or ``chat --thread``) first finishes it. Before a
turn the endpoint is checked and the assistant provisioned, so a misconfiguration is reported
before anything is saved. Exit codes: 0 success, 1 the turn failed (the run ended ``failed``,
``cancelled``, ``expired`` or ``incomplete``, or the endpoint erred mid-turn), 2 bad usage or
configuration (empty message, unreachable endpoint, wrong endpoint URL, rejected key, unknown
thread or assistant, a file that is not a conversation file, a busy conversation, a tool review
without a terminal), 130 interrupted.

This module imports no LangChain or LangGraph: ``--help``, ``serve`` and ``threads`` stay fast;
the commands that run the graph import ``graph.cli_turn``.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import uuid
import warnings
from collections.abc import Sequence
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
INTERRUPTED = (
    "Interrupted. The conversation is saved with the unfinished turn; continue it with: "
    "assistant-graph ask --thread {thread}"
)
REJECTED_KEY = (
    "assistant-graph: the Assistants endpoint rejected the API key (HTTP {status}). Check "
    "ASSISTANTS_API_KEY."
)
ENDPOINT_ERROR = "assistant-graph: the Assistants endpoint returned an error: {error}"
EMPTY_QUESTION = (
    "assistant-graph: the message is empty. Give the text to send, e.g. "
    'assistant-graph ask "What\'s 2 + 2?"'
)
NOT_A_CONVERSATION_FILE = (
    "assistant-graph: {db} is not a conversation file ({reason}). Point --db at a file that "
    "`assistant-graph ask` wrote (default <data dir>/conversations.sqlite3), or omit --db."
)
USAGE_ERRORS = (
    "EndpointUnreachableError",
    "UnknownAssistantError",
    "ConfigurationError",
    "InvalidInputError",
    "ConversationBusyError",
)
"""Errors caused by the command's configuration or input (exit 2), not by the turn."""


SAVE_FILES_HELP = (
    "save the images and files an answer returns (from code the server ran) to the working "
    "directory"
)


class UsageError(Exception):
    """Bad usage found before any turn; the message is printed and the exit status is 2."""


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="assistant-graph",
        description="An OpenAI-Assistants-style agent as a LangGraph workflow.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="ask one question (prints tool calls and the answer)")
    ask.add_argument(
        "question",
        nargs="?",
        help="the message to send (may be left out with --thread: only finish an unfinished turn)",
    )
    ask.add_argument("--thread", help="continue this saved conversation")
    ask.add_argument("--save-files", action="store_true", help=SAVE_FILES_HELP)
    ask.add_argument(
        "--db", type=Path, help="conversation file (default: <data dir>/conversations.sqlite3)"
    )

    chat = commands.add_parser("chat", help="interactive conversation")
    chat.add_argument("--thread", help="continue this saved conversation")
    chat.add_argument("--save-files", action="store_true", help=SAVE_FILES_HELP)
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
    try:
        db = _db_path(args.db)
        if args.command == "threads":
            return list_threads(db, sys.stdout)
        if args.command == "ask":
            return ask(args.question, args.thread, db, sys.stdout, args.save_files)
        return chat(args.thread, db, sys.stdout, args.save_files)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE


# ------------------------------------------------------------------- commands


def ask(
    question: str | None, thread: str | None, db: Path, out: TextIO, save_files: bool = False
) -> int:
    """Send one message, printing tool calls and results as they happen, then the answer.

    With ``--thread``, a turn left unfinished there (Ctrl-C, a crash, an open tool review) is
    finished first; the question may then be left out.
    """
    missing = question is None and not thread
    if missing or (question is not None and not question.strip()):
        print(EMPTY_QUESTION, file=sys.stderr)
        return EXIT_USAGE
    _check_thread(db, thread)
    _quiet_library_warnings()
    from assistant_graph.graph import cli_turn

    interactive = sys.stdin.isatty()
    status = cli_turn.check_reviewable(interactive) or cli_turn.prepare()
    if status != EXIT_OK:
        return status
    with cli_turn.saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        try:
            status = cli_turn.run_turn(graph, db, thread, question, out, interactive, save_files)
        except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a review question
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        if status == EXIT_OK:
            print(CONTINUE_HINT.format(thread=thread), file=out)
        return status


def chat(thread: str | None, db: Path, out: TextIO, save_files: bool = False) -> int:
    """Interactive loop; Ctrl-D exits with 0, Ctrl-C with 130, never with a traceback."""
    _check_thread(db, thread)
    _quiet_library_warnings()
    from assistant_graph.graph import cli_turn

    interactive = sys.stdin.isatty()
    status = cli_turn.check_reviewable(interactive) or cli_turn.prepare()
    if status != EXIT_OK:
        return status
    history = _enable_history(db.parent / "chat_history")
    with cli_turn.saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        print(CHAT_BANNER.format(thread=thread), file=out)
        try:
            status = cli_turn.run_turn(graph, db, thread, None, out, interactive, save_files)
            while status != EXIT_USAGE:
                try:
                    line = input("you> ").strip()
                except EOFError:
                    print(file=out)
                    return EXIT_OK
                if line in ("/exit", "/quit"):
                    return EXIT_OK
                if line:
                    status = cli_turn.run_turn(
                        graph, db, thread, line, out, interactive, save_files
                    )
            return status
        except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a review question
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            history()


def list_threads(db: Path, out: TextIO) -> int:
    """Print saved conversations: thread id, message count, first user message, last update."""
    rows = _thread_rows(db) if _is_conversation_file(db) else []
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


def _is_conversation_file(db: Path) -> bool:
    """Tell whether ``db`` holds saved conversations, without creating or writing anything.

    A missing file holds none; a file that is no SQLite checkpoint file raises
    :class:`UsageError`.
    """
    if not db.exists():
        return False
    if not db.is_file():
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason="not a file"))
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=exc)) from exc
    if tables and "checkpoints" not in tables:
        reason = "an SQLite database without saved conversations"
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=reason))
    return "checkpoints" in tables


def _check_thread(db: Path, thread: str | None) -> None:
    """Raise :class:`UsageError` unless ``thread`` (if given) is saved in ``db``."""
    if not _is_conversation_file(db):
        if thread:
            raise UsageError(UNKNOWN_THREAD.format(thread=thread, db=db))
        return
    if thread and not any(row[0] == thread for row in _thread_rows(db, thread)):
        raise UsageError(UNKNOWN_THREAD.format(thread=thread, db=db))


def _thread_rows(db: Path, only: str | None = None) -> list[tuple[str, int, str, str]]:
    """(thread, message count, last update, first user message), newest first."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        saver = SqliteSaver(conn)
        query = (
            "SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
            "WHERE checkpoint_ns = '' AND (? IS NULL OR thread_id = ?) "
            "GROUP BY thread_id ORDER BY latest DESC"
        )
        try:
            threads = [row[0] for row in conn.execute(query, (only, only))]
        except sqlite3.DatabaseError as exc:
            raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=exc)) from exc
        rows = []
        for thread in threads:
            saved = saver.get_tuple({"configurable": {"thread_id": thread}})
            if saved is None:
                continue
            messages = saved.checkpoint["channel_values"].get("messages", [])
            first = next((m.content for m in messages if m.type == "human"), "")
            first = " ".join(str(first).split())
            updated = saved.checkpoint["ts"][:19].replace("T", " ")
            short = first[:60] + ("…" if len(first) > 60 else "")
            rows.append((thread, len(messages), updated, short))
    return rows


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
    """Library notices (beta/deprecation of the Assistants API) are not for CLI users.

    The graph's own warnings (e.g. a run that ended without an answer) are reported by the
    command itself, once, with what to do next.
    """
    from langchain_core._api.beta_decorator import LangChainBetaWarning

    logging.getLogger("assistant_graph.graph").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=LangChainBetaWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


if __name__ == "__main__":
    sys.exit(main())
