"""Schema migrations of the server's store (Alembic), shipped with the package.

:func:`upgrade` brings a database to the newest revision inside the caller's transaction (the
store does it when it opens, ``assistant-graph serve`` before it listens) and refuses a
database whose revision this code does not know (:class:`SchemaTooNewError`: it was upgraded
by a newer version). A database made before migrations existed has no ``alembic_version``
table; the baseline revision completes it to the baseline schema and keeps its rows.

Adding a table or column (see ``README.md`` in this folder): change ``db.py``, then write a
revision in ``versions/`` (``alembic -c <this folder>/alembic.ini -x url=sqlite:///scratch.sqlite3
revision --autogenerate -m "..."`` drafts it from the difference), check it with
``tests/assistants_server/test_migrations.py``, which fails while ``db.py`` and the
revisions disagree.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from assistant_graph.assistants_server import db
from sqlalchemy import Connection, text

FOLDER = Path(__file__).resolve().parent
ADVISORY_LOCK_ID = 0x61676D67  # any constant shared by every server process: "agmg"
"""PostgreSQL advisory lock held while upgrading, so processes starting together take turns."""

SCHEMA_TOO_NEW_MESSAGE = (
    "The database {url} has schema revision {revision}, which this version of assistant-graph "
    "does not know (its newest is {head}): a newer version upgraded it. Upgrade assistant-graph "
    "(pip install -U assistant-graph), or point --database-url / ASSISTANTS_SERVER_DATABASE_URL "
    "at another database."
)


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the code."""


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """Tell Alembic's comparison which tables, columns and indexes are the schema's own.

    SQLite's FTS5 keyword index (``retrieval_chunks_fts``) and the shadow tables FTS5 makes
    for it, and PostgreSQL's search column, its index and the vector table
    (``db.POSTGRES_ONLY``), are created by revisions' raw DDL, not from ``db.metadata``.
    """
    if name is None:
        return True
    if type_ == "table" and name.startswith(db.CHUNKS_FTS):
        return False
    return name not in db.POSTGRES_ONLY


COMPARE_OPTIONS = {"include_name": include_name, "compare_type": True}
"""Options of every comparison between the revisions and ``db.metadata`` (Alembic's)."""


def alembic_config() -> Config:
    """Return the Alembic configuration of the shipped revisions (for :mod:`alembic.command`)."""
    config = Config(str(FOLDER / "alembic.ini"))
    config.set_main_option("script_location", str(FOLDER))
    return config


def head() -> str:
    """Return the newest revision this code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(conn: Connection) -> tuple[str, ...]:
    """Return the revisions the database is at (empty before its first migration)."""
    return tuple(MigrationContext.configure(conn).get_current_heads())


def upgrade(conn: Connection) -> None:
    """Upgrade the database on ``conn`` to :func:`head` in the open transaction.

    Raises :class:`SchemaTooNewError` when the database is at a revision this code lacks.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    known = {script_revision.revision for script_revision in script.walk_revisions()}
    for revision in current(conn):
        if revision not in known:
            raise SchemaTooNewError(
                SCHEMA_TOO_NEW_MESSAGE.format(
                    url=conn.engine.url.render_as_string(hide_password=True),
                    revision=revision,
                    head=script.get_current_head(),
                )
            )
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
