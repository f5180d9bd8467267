"""Make ``pre_migration.sqlite3``: a store written by the server before schema migrations.

Run once with the code of commit ca2381f (main before Alembic), whose ``db.py`` created tables
with ``create_all`` and added columns by hand:
``python tests/assistants_server/data/make_pre_migration_sqlite.py``. The file is committed;
``test_migrations.py`` opens a copy with today's code and checks every object survived.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openai
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings

HERE = Path(__file__).resolve().parent
TARGET = HERE / "pre_migration.sqlite3"
MANIFEST = HERE / "pre_migration.json"


def main() -> None:
    """Write the file and a manifest of the ids it holds."""
    TARGET.unlink(missing_ok=True)
    settings = ServerSettings(port=0, database_url=f"sqlite:///{TARGET}", backend="offline")
    with EmbeddedServer(settings) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        assistant = client.beta.assistants.create(
            model="gpt-4o", name="Keeper", instructions="Answer briefly."
        )
        thread = client.beta.threads.create(metadata={"topic": "migration"})
        client.beta.threads.messages.create(
            thread.id, role="user", content="What is 6 * 7?",
            extra_headers={"Idempotency-Key": "pre-migration-message"},
        )  # fmt: skip
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
        )
        messages = client.beta.threads.messages.list(thread.id, order="asc")
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
        manifest = {
            "assistant_id": assistant.id,
            "thread_id": thread.id,
            "run_id": run.id,
            "run_status": run.status,
            "messages": [(m.id, m.role, m.content[0].text.value) for m in messages.data],
            "step_ids": [step.id for step in steps.data],
            "idempotency_key": "pre-migration-message",
        }
        client.close()
    with sqlite3.connect(TARGET) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
