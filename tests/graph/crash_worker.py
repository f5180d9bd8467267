"""Subprocess used by test_crash_resume: run or resume a conversation, optionally dying
(SIGKILL, no cleanup) at a chosen point.

Usage: python crash_worker.py <checkpoint db file or postgresql:// URL> <thread id>
<start|resume> <kill point> <request log> [<durability> [<checkpoint delay seconds>]]

Kill points: ``none``; ``tool`` (as the tool starts); ``after_first_run`` (the first run reached
requires_action, state not yet saved); ``during_submit`` (first text delta of the run after the
tool outputs were submitted); ``after_submit`` (that run completed, state not yet saved).
Durability: ``default`` (no ``durability`` argument) or a LangGraph durability mode. A
checkpoint delay makes every checkpoint write after the one saving the turn's input take that
long, as a slow or remote checkpoint store does: with ``"async"`` durability the writes still
pending when the process dies are lost. The delay ``forever`` makes those writes never finish
(the process is killed first), so what the killed process saved does not depend on how fast
the machine is.

``resume`` continues the saved turn with ``invoke(None)``; when the checkpoint file holds
nothing for the thread (the turn's input was lost), it sends the question again, as a user
would. Every HTTP request is appended to the request log as ``IDEMPOTENCY-KEY METHOD PATH``
(``-`` when the request has no key).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

import httpx
import openai
from assistant_graph.graph import build_graph
from assistant_graph.graph.checkpointers import is_postgres, open_checkpointer
from langchain_core.callbacks import BaseCallbackHandler
from langgraph.checkpoint.sqlite import SqliteSaver

QUESTION = "crash test: what is 6*7?"


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Killer(BaseCallbackHandler):
    """Kills the process at the configured point."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.kinds: dict[object, str] = {}

    def on_chain_start(self, serialized, inputs, *, run_id, **kwargs):
        if kwargs.get("name") == "AssistantRunnable" and isinstance(inputs, dict):
            self.kinds[run_id] = "submit" if "tool_outputs" in inputs else "start"

    def on_chain_end(self, outputs, *, run_id, **kwargs):
        kind = self.kinds.get(run_id)
        if (kind, self.point) in {("start", "after_first_run"), ("submit", "after_submit")}:
            die()

    def on_text(self, text, *, run_id, **kwargs):
        if self.kinds.get(run_id) == "submit" and self.point == "during_submit":
            die()

    def on_tool_start(self, serialized, input_str, **kwargs):
        if self.point == "tool":
            die()


class SlowSaver(SqliteSaver):
    """A SQLite checkpoint store whose writes after a turn's input take ``delay`` seconds
    (``inf``: they never finish)."""

    delay = 0.0

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if metadata.get("source") != "input":
            if self.delay == float("inf"):
                threading.Event().wait()  # until the process is killed
            time.sleep(self.delay)
        return super().put(config, checkpoint, metadata, new_versions)


def main() -> None:
    db, thread_id, mode, point, log_path = sys.argv[1:6]
    durability = sys.argv[6] if len(sys.argv) > 6 else "sync"
    delay = sys.argv[7] if len(sys.argv) > 7 else "0"
    SlowSaver.delay = float("inf") if delay == "forever" else float(delay)

    def log(request: httpx.Request) -> None:
        key = request.headers.get("idempotency-key", "-")
        with open(log_path, "a") as handle:
            handle.write(f"{key} {request.method} {request.url.path}\n")

    client = openai.OpenAI(
        base_url=os.environ["ASSISTANTS_BASE_URL"],
        api_key="embedded",
        http_client=httpx.Client(event_hooks={"request": [log]}),
    )
    config: Any = {"configurable": {"thread_id": thread_id}, "callbacks": [Killer(point)]}
    options = {} if durability == "default" else {"durability": durability}
    saving = open_checkpointer(db) if is_postgres(db) else SlowSaver.from_conn_string(db)
    with saving as saver:
        graph = build_graph(checkpointer=saver, client=client)
        payload = {"messages": [{"role": "user", "content": QUESTION}]}
        if mode == "resume" and graph.get_state(config).values:
            payload = None
        result = graph.invoke(payload, config, **options)
    print(json.dumps([[type(m).__name__, m.content] for m in result["messages"]]))


if __name__ == "__main__":
    main()
