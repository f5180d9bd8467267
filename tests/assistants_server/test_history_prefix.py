"""A server's cached history of a thread gives the same rows as a fresh read, whatever another
server on the same SQLite file did since: appended, deleted (anywhere, including the last
message, whose position SQLite may hand to the next new row) or cleared the thread.

Each scenario reads the thread through one store with its history cache, changes the thread
through a second store on the same file, then compares the first store's cached read with an
uncached read of the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from assistant_graph.assistants_server.store import Store, history, objects


def _text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def _contents(message_rows: list[Any]) -> list[str]:
    return [row.data["content"][0]["text"]["value"] for row in message_rows]


def _cached_and_fresh(conn: Any, thread_id: str, cache: history.HistoryCache) -> Any:
    cached, _ = history.read_history(conn, thread_id, cache=cache)
    fresh, _ = history.read_history(conn, thread_id)
    return _contents(cached), _contents(fresh)


def _delete(position: int) -> Callable[[Any, str], None]:
    """Delete the thread's message at ``position`` (as listed, oldest first)."""

    def change(conn: Any, thread_id: str) -> None:
        rows, _ = history.read_history(conn, thread_id)
        objects.delete_message(conn, "", thread_id, rows[position].id)

    return change


def _append(conn: Any, thread_id: str) -> None:
    objects.add_message(conn, "", thread_id, {"role": "user", "content": _text("new")})


def _delete_last_then_append(conn: Any, thread_id: str) -> None:
    _delete(-1)(conn, thread_id)
    _append(conn, thread_id)


def _delete_all(conn: Any, thread_id: str) -> None:
    rows, _ = history.read_history(conn, thread_id)
    for row in rows:
        objects.delete_message(conn, "", thread_id, row.id)


CHANGES = {
    "append": _append,
    "delete the first": _delete(0),
    "delete one in the middle": _delete(2),
    "delete the last": _delete(-1),
    "delete the last, then append": _delete_last_then_append,
    "delete every message": _delete_all,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_cached_read_after_another_servers_change_matches_a_fresh_read(
    tmp_path: Path, change: str
) -> None:
    """After the change, the cached read lists exactly the messages a fresh read lists."""

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        first, second = Store(url), Store(url)
        await first.open()
        await second.open()
        try:
            messages = [{"role": "user", "content": _text(f"m{i}")} for i in range(5)]
            thread = await first.write(objects.create_thread, "", {}, messages)
            before, _ = await first.read(history.read_history, thread["id"], None, first.history)
            await second.write(CHANGES[change], thread["id"])
            cached, fresh = await first.read(_cached_and_fresh, thread["id"], first.history)
            return _contents(before), cached, fresh
        finally:
            await first.close()
            await second.close()

    before, cached, fresh = asyncio.run(scenario())
    assert before == [f"m{i}" for i in range(5)]
    assert cached == fresh
    assert cached != before


def test_the_cache_keeps_the_final_prefix_and_grows_with_appended_messages(
    tmp_path: Path,
) -> None:
    """Committed reads keep every final message; a message appended later joins them."""

    async def scenario() -> tuple[int, int]:
        store = Store(f"sqlite:///{tmp_path / 'grow.sqlite3'}")
        await store.open()
        try:
            messages = [{"role": "user", "content": _text(f"m{i}")} for i in range(3)]
            thread = await store.write(objects.create_thread, "", {}, messages)
            await store.read(history.read_history, thread["id"], None, store.history)
            first = len(store.history.known(thread["id"]))
            await store.write(_append, thread["id"])
            await store.read(history.read_history, thread["id"], None, store.history)
            return first, len(store.history.known(thread["id"]))
        finally:
            await store.close()

    assert asyncio.run(scenario()) == (3, 4)
