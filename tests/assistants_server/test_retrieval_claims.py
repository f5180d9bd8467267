"""Ingestion claims: servers sharing a database never index one file at the same time, and a
dead server's file is taken over at once (same host) or when its claim lapses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval import resolve_strategy, stores
from sqlalchemy import Engine, insert


def _engine(tmp_path: Path, files: int) -> Engine:
    engine = db.create_engine_for_url(f"sqlite:///{tmp_path / 'a.sqlite3'}")
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
    with engine.begin() as conn:
        return stores.claim_next(conn, pid, host, lease, alive)


def test_a_live_claim_keeps_other_servers_off_the_file(tmp_path: Path) -> None:
    """Two live processes claim different files; with none left, a third gets nothing."""
    engine = _engine(tmp_path, 2)
    first = _claim(engine, 100, lambda pid: True)
    second = _claim(engine, 200, lambda pid: True)
    assert {first["file_id"], second["file_id"]} == {"file-0", "file-1"}
    assert _claim(engine, 300, lambda pid: True) is None
    assert _claim(engine, 300, lambda pid: True, host="other") is None


def test_a_dead_claimant_on_this_host_or_a_lapsed_claim_is_taken_over(tmp_path: Path) -> None:
    """A claim whose process died (same host) is free at once; another host's waits for the
    lease to lapse; only the current claimant can finish the file."""
    engine = _engine(tmp_path, 1)
    first = _claim(engine, 100, lambda pid: True, lease=60)
    assert _claim(engine, 200, lambda pid: True, host="elsewhere") is None
    taken = _claim(engine, 200, lambda pid: pid != 100)
    assert taken["file_id"] == first["file_id"]
    with engine.begin() as conn:
        assert stores.finish_file(conn, first["seq"], 100, 10) == "taken"
        assert stores.finish_file(conn, taken["seq"], 200, 10) == "finished"
        assert stores.finish_file(conn, taken["seq"], 200, 10) == "dropped"
    lapsed = _engine(tmp_path / "b", 1) if (tmp_path / "b").mkdir() is None else None
    assert lapsed is not None
    _claim(lapsed, 100, lambda pid: True, lease=-1)
    assert _claim(lapsed, 200, lambda pid: True, host="elsewhere")["file_id"] == "file-0"
    engine.dispose()
    lapsed.dispose()
