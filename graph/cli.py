"""``assistant-graph``: ask the agent, chat with it, manage saved conversations, run the server.

Conversations are kept in a local SQLite checkpoint file (``<data dir>/conversations.sqlite3``,
``--db`` to change it) and written with ``durability="sync"``, so an interrupted turn resumes
where it stopped: the next ``ask --thread`` (or ``chat --thread``) first finishes it. Before a
turn the endpoint is checked and the assistant provisioned, so a misconfiguration is reported
before anything is saved. The answer is printed token by token as the endpoint streams it; on a
terminal a spinner on standard error shows the command is waiting. ``ask`` reads the question
from standard input when given ``-`` or when standard input is a pipe or a file; ``--json``
prints one JSON object instead (answer, tool calls, thread id, run status). ``--verbose`` /
``--log-level`` (or ``ASSISTANTS_SERVER_LOG_LEVEL``) send the graph's and the embedded server's
logs to standard error. Exit codes: 0 success, 1 the turn failed (the run ended ``failed``,
``cancelled``, ``expired`` or ``incomplete``, or the endpoint erred mid-turn), 2 bad usage or
configuration (empty message, unreachable endpoint, wrong endpoint URL, rejected key, unknown
thread or assistant, a file that is not a conversation file, a busy conversation, a tool review
without a terminal), 130 interrupted. ``chat`` leaves (Ctrl-D, ``/exit``) with 1 when its
last turn failed, else 0.

This module imports no LangChain or LangGraph: ``--help``, ``--version``, ``serve`` and
``threads`` stay fast; the commands that run the graph import ``graph.cli_turn``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import stat
import sys
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from assistant_graph.graph import cli_live
from assistant_graph.graph.checkpointers import DatabaseUnreachable
from assistant_graph.graph.cli_threads import (
    UsageError,
    check_thread,
    delete_thread,
    export_thread,
    list_threads,
    turn_result,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PACKAGE = "assistant-graph"
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
    'assistant-graph ask "What\'s 2 + 2?", or pipe it: echo "What\'s 2 + 2?" | assistant-graph ask'
)
JSON_NEEDS_NO_REVIEW = (
    "assistant-graph: --json prints one JSON object and cannot ask for tool reviews, but "
    "ASSISTANT_INTERRUPT_BEFORE_TOOLS is on. Set ASSISTANT_INTERRUPT_BEFORE_TOOLS=false for "
    "this command, or leave out --json."
)
BAD_LOG_LEVEL = (
    "assistant-graph: ASSISTANTS_SERVER_LOG_LEVEL is {value!r}; use one of {choices} (or unset it)."
)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVEL_ENV = "ASSISTANTS_SERVER_LOG_LEVEL"
LOGGED = ("assistant_graph", "uvicorn", "openai", "httpx")
"""Loggers set to the chosen level; other libraries stay at warning."""
USAGE_ERRORS = (
    "EndpointUnreachableError",
    "UnknownAssistantError",
    "ConfigurationError",
    "InvalidInputError",
    "ConversationBusyError",
)
"""Errors caused by the command's configuration or input (exit 2), not by the turn."""

logger = logging.getLogger(__name__)


class _Version(argparse.Action):
    """``--version``: print the installed package's version (looked up only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import version

        print(f"{PACKAGE} {version(PACKAGE)}")
        parser.exit()


SAVE_FILES_HELP = (
    "save the images and files an answer returns (from code the server ran) to the working "
    "directory"
)


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log what the graph and the embedded server do to stderr (same as --log-level info)",
    )
    logs.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help=f"log at this level to stderr (default: {LOG_LEVEL_ENV}, else no logs)",
    )
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help=(
            "conversation file (default: <data dir>/conversations.sqlite3) or a "
            "postgresql:// URL shared by several workers"
        ),
    )
    parser = argparse.ArgumentParser(
        prog="assistant-graph",
        description="An OpenAI-Assistants-style agent as a LangGraph workflow.",
        parents=[logs],
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser(
        "ask",
        help="ask one question (prints tool calls and the answer as it streams)",
        parents=[logs, db],
    )
    ask.add_argument(
        "question",
        nargs="?",
        help=(
            "the message to send; '-' (or leaving it out while stdin is a pipe or file) reads "
            "it from standard input; may be left out with --thread: only finish an unfinished turn"
        ),
    )
    ask.add_argument("--thread", help="continue this saved conversation")
    ask.add_argument("--save-files", action="store_true", help=SAVE_FILES_HELP)
    ask.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: answer, tool calls, thread id and run status",
    )

    chat = commands.add_parser("chat", help="interactive conversation", parents=[logs, db])
    chat.add_argument("--thread", help="continue this saved conversation")
    chat.add_argument("--save-files", action="store_true", help=SAVE_FILES_HELP)

    threads = commands.add_parser(
        "threads", help="list, delete or export saved conversations", parents=[logs, db]
    )
    actions = threads.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list saved conversations (the default)", parents=[db])
    delete = actions.add_parser("delete", help="delete a saved conversation", parents=[db])
    delete.add_argument("thread", help="the thread id (from `assistant-graph threads`)")
    export = actions.add_parser("export", help="print a saved conversation as JSON", parents=[db])
    export.add_argument("thread", help="the thread id (from `assistant-graph threads`)")

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
        configure_logging(getattr(args, "log_level", None), getattr(args, "verbose", False))
        db = _db_path(getattr(args, "db", None))
        if args.command == "threads":
            if args.action == "delete":
                return delete_thread(db, args.thread, sys.stdout)
            if args.action == "export":
                return export_thread(db, args.thread, sys.stdout)
            return list_threads(db, sys.stdout)
        if args.command == "ask":
            question = _read_question(args.question, args.thread)
            return ask(
                question,
                args.thread,
                db,
                sys.stdout,
                json_output=args.json,
                save_files=args.save_files,
            )
        return chat(args.thread, db, sys.stdout, save_files=args.save_files)
    except (UsageError, DatabaseUnreachable) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE


# ------------------------------------------------------------------- commands


def ask(
    question: str | None,
    thread: str | None,
    db: Path | str,
    out: TextIO,
    *,
    json_output: bool = False,
    save_files: bool = False,
) -> int:
    """Send one message, printing tool calls and results as they happen, then the answer.

    With ``--thread``, a turn left unfinished there (Ctrl-C, a crash, an open tool review) is
    finished first; the question may then be left out. With ``json_output`` nothing but one
    JSON object is printed on ``out``, once the turn has ended.
    """
    missing = question is None and not thread
    if missing or (question is not None and not question.strip()):
        print(EMPTY_QUESTION, file=sys.stderr)
        return EXIT_USAGE
    check_thread(db, thread)
    _quiet_library_warnings()
    from assistant_graph.graph import cli_turn

    interactive = sys.stdin.isatty()
    if json_output and cli_turn.check_reviewable(False) != EXIT_OK:
        print(JSON_NEEDS_NO_REVIEW, file=sys.stderr)
        return EXIT_USAGE
    status = cli_turn.check_reviewable(interactive) or cli_turn.prepare()
    if status != EXIT_OK:
        return status
    live = cli_live.live_output(io.StringIO() if json_output else out, sys.stderr)
    with cli_turn.saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        logger.info("Conversation %s in %s", thread, db)
        try:
            status = cli_turn.run_turn(graph, db, thread, question, live, interactive, save_files)
        except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a review question
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        if json_output and status in (EXIT_OK, EXIT_FAILED):
            result = turn_result(graph.get_state({"configurable": {"thread_id": thread}}), thread)
            if result is not None:
                print(json.dumps(result, ensure_ascii=False), file=out, flush=True)
        elif status == EXIT_OK:
            print(CONTINUE_HINT.format(thread=thread), file=live)
        return status


def chat(thread: str | None, db: Path | str, out: TextIO, *, save_files: bool = False) -> int:
    """Interactive loop; Ctrl-C exits with 130, never with a traceback.

    Ctrl-D or ``/exit`` leaves with the status of the last turn that ran: 1 when it failed
    (as ``ask`` would have), 0 when it succeeded, so a failure the user went past with a
    successful turn does not count.
    """
    check_thread(db, thread)
    _quiet_library_warnings()
    from assistant_graph.graph import cli_turn

    interactive = sys.stdin.isatty()
    status = cli_turn.check_reviewable(interactive) or cli_turn.prepare()
    if status != EXIT_OK:
        return status
    live = cli_live.live_output(out, sys.stderr)
    history = _enable_history(_history_dir(db) / "chat_history")
    with cli_turn.saved_graph(db) as graph:
        thread = thread or uuid.uuid4().hex
        print(CHAT_BANNER.format(thread=thread), file=live)
        try:
            status = cli_turn.run_turn(graph, db, thread, None, live, interactive, save_files)
            while status != EXIT_USAGE:
                try:
                    line = input("you> ").strip()
                except EOFError:
                    print(file=live)
                    return _chat_exit(status)
                if line in ("/exit", "/quit"):
                    return _chat_exit(status)
                if line:
                    status = cli_turn.run_turn(
                        graph, db, thread, line, live, interactive, save_files
                    )
            return status
        except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a review question
            print("\n" + INTERRUPTED.format(thread=thread), file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            history()


def _chat_exit(last: int) -> int:
    """``chat``'s exit status when the user leaves: the last turn's failure, else success."""
    return EXIT_FAILED if last == EXIT_FAILED else EXIT_OK


def configure_logging(level: str | None, verbose: bool = False) -> None:
    """Send the graph's and the embedded server's logs to stderr at ``level``.

    ``--log-level`` wins over ``--verbose`` (info), which wins over ``ASSISTANTS_SERVER_LOG_LEVEL``;
    with none of them nothing is configured (only warnings reach stderr). A chosen level is
    also the embedded server's. Other libraries' loggers stay at warning.
    """
    if level is None and verbose:
        level = "info"
    if level is not None:
        os.environ[LOG_LEVEL_ENV] = level  # the embedded server's settings read it
    else:
        level = os.environ.get(LOG_LEVEL_ENV, "").strip().lower() or None
        if level is None:
            return
        if level not in LOG_LEVELS:
            raise UsageError(BAD_LOG_LEVEL.format(value=level, choices=", ".join(LOG_LEVELS)))
    numeric = getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(numeric)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    for name in LOGGED:
        logging.getLogger(name).setLevel(numeric)


# -------------------------------------------------------------------- helpers


def _read_question(question: str | None, thread: str | None) -> str | None:
    """Return the question: the argument, or stdin for ``-`` or a piped/redirected stdin.

    Piped input that is empty counts as no question when ``--thread`` is given (only finish the
    unfinished turn).
    """
    if question == "-":
        return sys.stdin.read().rstrip()
    if question is not None or not _stdin_is_piped():
        return question
    text = sys.stdin.read().rstrip()
    return None if not text and thread else text


def _stdin_is_piped() -> bool:
    """Whether standard input is a pipe or a regular file (not a terminal, not /dev/null)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _db_path(db: str | None) -> Path | str:
    if db is not None:
        from assistant_graph.graph.checkpointers import is_postgres

        return db if is_postgres(db) else Path(db).expanduser()
    from assistant_graph.assistants_server.settings import default_data_dir

    return default_data_dir() / "conversations.sqlite3"


def _history_dir(db: Path | str) -> Path:
    """Where ``chat`` keeps its line history: beside a conversation file, else the data dir."""
    if isinstance(db, Path):
        return db.parent
    from assistant_graph.assistants_server.settings import default_data_dir

    return default_data_dir()


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
    command itself, once, with what to do next, unless a log level was asked for.
    """
    from langchain_core._api.beta_decorator import LangChainBetaWarning

    if not logging.getLogger().handlers:
        logging.getLogger("assistant_graph.graph").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=LangChainBetaWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


if __name__ == "__main__":
    sys.exit(main())
