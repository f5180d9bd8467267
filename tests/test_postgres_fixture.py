"""The test suite's PostgreSQL server: it starts, gives each test its own database, has pgvector."""

from __future__ import annotations

import psycopg


def test_each_test_gets_its_own_empty_database(postgres_server, postgres_url):
    """A test database is new and empty, and distinct from the next one made."""
    other = postgres_server.create_database()
    assert other != postgres_url
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_pgvector_extension_is_available(postgres_url):
    """The bundled server has pgvector (vector stores need it): its distance operator works."""
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        distance = conn.execute("SELECT '[1,2]'::vector <-> '[4,6]'::vector").fetchone()
    assert distance == (5.0,)
