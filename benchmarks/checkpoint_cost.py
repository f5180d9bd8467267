"""Checkpoint cost: bytes a SQLite checkpointer writes per graph step, at thread length 5 and 500.

One turn (three assistant steps, two tool steps) on a thread primed with prior turns, with
``SqliteSaver`` on a temporary file and ``durability="sync"``. Bytes are the blob sizes the turn
added (checkpoint + metadata + pending writes) divided by the checkpoints it added (one per
LangGraph step, the input step included); the file growth (main file + WAL, checkpointed with
TRUNCATE) is reported beside it. Target: growth linear or better, i.e.
the bytes per step per message at 500 do not exceed those at 5.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from assistant_graph.graph import build_graph
from langgraph.checkpoint.sqlite import SqliteSaver

from benchmarks.figure import Figure
from benchmarks.harness import (
    Options,
    check_graph_answer,
    graph_context,
    new_thread_config,
    question,
    rounded,
    scripted_server,
)
from benchmarks.priming import prime_thread

NAME = "checkpoint_cost"
SHORT = 5
LONG = 500
QUICK_LONG = 40

_BLOB_BYTES = """
SELECT
  (SELECT count(*) FROM checkpoints WHERE thread_id = ?),
  (SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0)
     FROM checkpoints WHERE thread_id = ?),
  (SELECT coalesce(sum(length(value)), 0) FROM writes WHERE thread_id = ?)
"""


def _blob_state(conn: sqlite3.Connection, thread_id: str) -> tuple[int, int]:
    count, checkpoint_bytes, write_bytes = conn.execute(
        _BLOB_BYTES, (thread_id, thread_id, thread_id)
    ).fetchone()
    return count, checkpoint_bytes + write_bytes


def _file_bytes(conn: sqlite3.Connection, path: Path) -> int:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def measure(options: Options) -> Figure:
    """Run the figure."""
    long = QUICK_LONG if options.quick else LONG
    per_length: dict[int, dict[str, float]] = {}
    with scripted_server(0.0) as server, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkpoints.sqlite"
        context = graph_context(server)
        with SqliteSaver.from_conn_string(str(path)) as saver:
            graph = build_graph(checkpointer=saver)
            for length in (SHORT, long):
                config = new_thread_config()
                thread_id = config["configurable"]["thread_id"]
                actual = prime_thread(graph, config, length, context=context)
                steps_before, blobs_before = _blob_state(saver.conn, thread_id)
                file_before = _file_bytes(saver.conn, path)
                result = graph.invoke(question(), config, context=context, durability="sync")
                check_graph_answer(result)
                steps_after, blobs_after = _blob_state(saver.conn, thread_id)
                file_after = _file_bytes(saver.conn, path)
                steps = steps_after - steps_before
                per_length[length] = {
                    "messages": actual,
                    "steps": steps,
                    "blob_bytes_per_step": rounded((blobs_after - blobs_before) / steps, 1),
                    "file_bytes_per_step": rounded((file_after - file_before) / steps, 1),
                    "blob_bytes_per_step_per_message": rounded(
                        (blobs_after - blobs_before) / steps / actual, 2
                    ),
                }

    short, longer = per_length[SHORT], per_length[long]
    holds = longer["blob_bytes_per_step_per_message"] <= short["blob_bytes_per_step_per_message"]
    return Figure(
        name=NAME,
        title=f"checkpoint cost: SQLite bytes/step at {long} msgs (vs {SHORT})",
        value=longer["blob_bytes_per_step"],
        unit="B/step",
        target="linear or better",
        holds=holds,
        details={
            f"at_{SHORT}": short,
            f"at_{long}": longer,
            "growth_factor": rounded(
                longer["blob_bytes_per_step"] / short["blob_bytes_per_step"], 2
            ),
            "length_factor": rounded(longer["messages"] / short["messages"], 2),
        },
    )
