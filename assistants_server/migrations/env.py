"""Alembic environment: run the revisions on the server's connection, or on ``-x url=...``."""

from __future__ import annotations

from alembic import context
from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.migrations import COMPARE_OPTIONS
from sqlalchemy import Connection, create_engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:  # the server: migrations.upgrade() passes its connection
    _run(connection)
else:  # the alembic command line
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("Name the database: alembic -c ... -x url=<SQLAlchemy URL> <command>")
    engine = create_engine(db.driver_url(url))
    with engine.begin() as cli_connection:
        _run(cli_connection)
    engine.dispose()
