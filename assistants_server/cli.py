"""``assistant-graph serve``: run the Assistants v2 server under uvicorn.

Flags override the ``ServerSettings`` read from the environment. The model API key is read
only from ``OPENAI_API_KEY`` (never a flag, so it stays out of shell history); the server's
own accepted keys come from ``--api-key`` or ``ASSISTANTS_SERVER_API_KEYS``. The start-up
line shows the URL and backend, never any key.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.settings import ServerSettings, SettingsError

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_FLAGS_ENV = "ASSISTANT_GRAPH_SERVE_FLAGS"
"""Environment variable handing the parent's flags (JSON) to ``--workers`` processes."""
WORKERS_MESSAGE = "--workers must be 1 or more (the number of server processes)."

DESCRIPTION = "Run the self-hosted OpenAI Assistants v2 server (offline model unless configured)."


def build_parser() -> argparse.ArgumentParser:
    """Return the ``serve`` argument parser."""
    parser = argparse.ArgumentParser(prog="assistant-graph serve", description=DESCRIPTION)
    parser.add_argument(
        "--host", help="interface to bind (default 127.0.0.1; env ASSISTANTS_SERVER_HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        help="TCP port, 0 for a free one (default 8321; env ASSISTANTS_SERVER_PORT)",
    )
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL of the store (default: SQLite file in the data dir)"
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "offline", "chat-completions"],
        help="model backend (default auto)",
    )
    parser.add_argument(
        "--model-base-url", help="OpenAI-compatible Chat Completions base URL (env OPENAI_BASE_URL)"
    )
    parser.add_argument(
        "--default-model", help="model used when an assistant names none the endpoint knows"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=(
            "a key clients must send as 'Authorization: Bearer KEY' "
            "(repeatable; env ASSISTANTS_SERVER_API_KEYS)"
        ),
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="HOST",
        help=(
            "a host name accepted in the Host header (repeatable, '*' for any; default: only "
            "loopback names when bound to loopback; env ASSISTANTS_SERVER_ALLOWED_HOSTS)"
        ),
    )
    parser.add_argument(
        "--offline-latency-ms", type=float, help="artificial latency of each offline model call"
    )
    parser.add_argument("--offline-script", help="JSON script for the offline model (tests)")
    parser.add_argument(
        "--run-expiry-seconds",
        type=float,
        help="how long a run waits for tool outputs (default 600)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help=(
            "server processes sharing the port and the database (default 1; more than one "
            "needs a database every process reaches, e.g. PostgreSQL)"
        ),
    )
    parser.add_argument(
        "--log-level", choices=["critical", "error", "warning", "info", "debug"], help="log level"
    )
    return parser


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Return the settings the flags set (JSON-ready; worker processes receive them)."""
    overrides = {
        name: value
        for name, value in vars(args).items()
        if value is not None and name in ServerSettings.model_fields
    }
    for name in ("api_keys", "allowed_hosts"):
        if name in overrides:
            overrides[name] = list(overrides[name])
    return overrides


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Environment settings with the given flags applied."""
    return ServerSettings(**overrides_from_args(args))


def worker_app() -> FastAPI:
    """App factory of one ``--workers`` process: the parent's flags (from the environment)."""
    from assistant_graph.assistants_server.app import create_app

    settings = ServerSettings(**json.loads(os.environ.get(WORKER_FLAGS_ENV, "{}")))
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings)


def _serve_workers(args: argparse.Namespace, settings: ServerSettings) -> int:
    """Run ``args.workers`` server processes on one listening socket (uvicorn's supervisor)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[WORKER_FLAGS_ENV] = json.dumps(overrides_from_args(args))
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    sock = config.bind_socket()
    sock.listen(config.backlog)  # connections wait in the backlog until a worker is up
    port = sock.getsockname()[1]
    print(
        f"Assistants server listening on http://{settings.host}:{port}/v1 "
        f"(backend: {settings.resolved_backend()}; {_auth(settings)}; "
        f"{args.workers} worker processes)",
        flush=True,
    )
    Multiprocess(config, sockets=[sock]).run()
    return 0


def _auth(settings: ServerSettings) -> str:
    return "API key required" if settings.api_keys else "no authentication"


def main(argv: list[str] | None = None) -> int:
    """Parse flags, start the server, serve until interrupted. Returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        print(f"assistant-graph serve: {exc}", file=sys.stderr)
        return 2
    import uvicorn
    from assistant_graph.assistants_server import db
    from assistant_graph.assistants_server.app import create_app
    from assistant_graph.assistants_server.migrations import SchemaTooNewError

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:  # upgrade the schema once, before any worker process opens the database
        db.create_engine_for_url(settings.resolved_database_url()).dispose()
    except SchemaTooNewError as exc:
        print(f"assistant-graph serve: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"assistant-graph serve: {WORKERS_MESSAGE}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _serve_workers(args, settings)
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"assistant-graph serve: {exc}", file=sys.stderr)
        return 2
    backend = app.state.context.backend
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False
    )
    server = uvicorn.Server(config)

    original_startup = server.startup

    async def startup(sockets=None):  # type: ignore[no-untyped-def]
        await original_startup(sockets=sockets)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            print(
                f"Assistants server listening on http://{settings.host}:{port}/v1 "
                f"(backend: {backend.name}; {_auth(settings)})",
                flush=True,
            )

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
