"""``assistant-graph serve``: run the Assistants v2 server under uvicorn.

Flags override the ``ServerSettings`` read from the environment. The model API key is read
only from ``OPENAI_API_KEY`` (never a flag, so it stays out of shell history); the server's
own accepted keys come from ``--api-key`` or ``ASSISTANTS_SERVER_API_KEYS``. The start-up
line shows the URL and backend, never any key.
"""

from __future__ import annotations

import argparse
import logging
import sys

from assistant_graph.assistants_server.settings import ServerSettings, SettingsError

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
        "--log-level", choices=["critical", "error", "warning", "info", "debug"], help="log level"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Environment settings with the given flags applied."""
    overrides = {
        name: value
        for name, value in vars(args).items()
        if value is not None and name in ServerSettings.model_fields
    }
    for name in ("api_keys", "allowed_hosts"):
        if name in overrides:
            overrides[name] = tuple(overrides[name])
    return ServerSettings(**overrides)


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
            auth = "API key required" if settings.api_keys else "no authentication"
            print(
                f"Assistants server listening on http://{settings.host}:{port}/v1 "
                f"(backend: {backend.name}; {auth})",
                flush=True,
            )

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
