"""An attempt cut short leaves its run in_progress; the next attempt discards its partial output.

Driven through the store on a real SQLite file: a run's first attempt starts an assistant
message and stops (as if the server died mid-stream); the next attempt (same run, lease taken
over) removes that unfinished message and its step, so the model never sees it and the thread
never shows a half-written answer. A run re-queued after tool outputs starts without that
clean-up (it cannot have partial output).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistant_graph.assistants_server.store import (
    Lease,
    Store,
    leases,
    objects,
    run_progress,
    runs,
)

LEASE = Lease("srv_test:1@host", 1, "host", 60.0)
OWNER = ""
"""The owner of objects on a server without API keys."""


async def _scenario(url: str) -> tuple[list[str], list[str], list[str]]:
    store = Store(url)
    await store.open()
    try:
        assistant = await store.write(
            objects.create_assistant, OWNER, {"model": "m", "instructions": None}
        )
        thread = await store.write(
            objects.create_thread, OWNER, {"metadata": {}}, [{"role": "user", "content": []}]
        )
        run, _, _ = await store.write(
            runs.create_run, OWNER, thread["id"], assistant["id"], {"instructions": None}
        )
        first = await store.write(leases.begin_attempt, run["id"], LEASE)
        assert first is not None and first.moved_to_in_progress
        partial, _step = await store.write(run_progress.start_assistant_message, first.run)
        second = await store.write(leases.begin_attempt, run["id"], LEASE)
        assert second is not None and not second.moved_to_in_progress
        first_ids = [row.id for row in first.message_rows]
        second_ids = [row.id for row in second.message_rows]
        page = {"limit": 100, "order": "asc", "after": None, "before": None}
        steps_page = await store.read(runs.list_steps, OWNER, thread["id"], run["id"], **page)
        messages_page = await store.read(
            objects.list_messages, OWNER, thread["id"], run["id"], **page
        )
        steps = [s["id"] for s in steps_page.data]
        messages = [m["id"] for m in messages_page.data]
        assert partial["id"] not in second_ids
        return first_ids + second_ids, steps, messages
    finally:
        await store.close()


def test_next_attempt_discards_the_cut_short_attempts_message_and_step(tmp_path: Path) -> None:
    """The unfinished assistant message and its step are gone before the next model request."""
    history, steps, messages = asyncio.run(_scenario(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    assert len(history) == 2, "each attempt saw only the user's message"
    assert steps == [] and messages == []
