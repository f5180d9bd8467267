"""Ingestion claims: servers sharing a database never index one file at the same time, and a
dead server's file is taken over at once (same host) or when its claim lapses. On SQLite and
on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval import resolve_strategy, stores
from sqlalchemy import Engine, insert


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Make fresh, empty databases of one engine (a SQLite file or a PostgreSQL database)."""
    made: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'db{len(made)}.sqlite3'}"
        else:
            url = request.getfixturevalue("postgres_server").create_database()
        made.append(url)
        return url

    return make


def _engine(url: str, files: int) -> Engine:
    engine = db.create_engine_for_url(url)
    with engine.begin() as conn:
        conn.execute(
            insert(db.vector_stores).values(id="vs_1", created_at=0, data={}, api_key_hash="")
        )
        for n in range(files):
            conn.execute(
                insert(db.vector_store_files).values(
                    id=f"file-{n}",
                    vector_store_id="vs_1",
                    filename=f"f{n}.txt",
                    status="in_progress",
                    created_at=0,
                    data={"chunking_strategy": resolve_strategy(None), "last_error": None},
                )
            )
    return engine


def _claim(engine: Engine, pid: int, alive: Any, host: str = "h", lease: float = 60) -> Any:
    with engine.connect().execution_options(**{db.WRITE_OPTION: True}) as conn:
        with conn.begin():
            return stores.claim_next(conn, pid, host, lease, alive)


def test_a_live_claim_keeps_other_servers_off_the_file(new_database: Callable[[], str]) -> None:
    """Two live processes claim different files; with none left, a third gets nothing."""
    engine = _engine(new_database(), 2)
    first = _claim(engine, 100, lambda pid: True)
    second = _claim(engine, 200, lambda pid: True)
    assert {first["file_id"], second["file_id"]} == {"file-0", "file-1"}
    assert _claim(engine, 300, lambda pid: True) is None
    assert _claim(engine, 300, lambda pid: True, host="other") is None
    engine.dispose()


def test_a_dead_claimant_on_this_host_or_a_lapsed_claim_is_taken_over(
    new_database: Callable[[], str],
) -> None:
    """A claim whose process died (same host) is free at once; another host's waits for the
    lease to lapse; only the current claimant can finish the file."""
    engine = _engine(new_database(), 1)
    first = _claim(engine, 100, lambda pid: True, lease=60)
    assert _claim(engine, 200, lambda pid: True, host="elsewhere") is None
    taken = _claim(engine, 200, lambda pid: pid != 100)
    assert taken["file_id"] == first["file_id"]
    with engine.begin() as conn:
        assert stores.finish_file(conn, first["seq"], 100, 10) == "taken"
        assert stores.finish_file(conn, taken["seq"], 200, 10) == "finished"
        assert stores.finish_file(conn, taken["seq"], 200, 10) == "dropped"
    lapsed = _engine(new_database(), 1)
    _claim(lapsed, 100, lambda pid: True, lease=-1)
    assert _claim(lapsed, 200, lambda pid: True, host="elsewhere")["file_id"] == "file-0"
    engine.dispose()
    lapsed.dispose()


def test_servers_claiming_at_the_same_moment_never_share_a_file(
    new_database: Callable[[], str],
) -> None:
    """Eight claimants (own connections, released together) claim 40 files until none is
    left: every file is claimed exactly once."""
    engine = _engine(new_database(), 40)
    start = threading.Barrier(8)
    claimed: list[str] = []
    errors: list[BaseException] = []

    def claimant(pid: int) -> None:
        try:
            start.wait()
            while (item := _claim(engine, pid, lambda _pid: True, host=f"h{pid}")) is not None:
                claimed.append(item["file_id"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimant, args=(1000 + n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert [name for name, count in Counter(claimed).items() if count > 1] == []
    assert sorted(claimed) == sorted(f"file-{n}" for n in range(40))
