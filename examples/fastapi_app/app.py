"""A small FastAPI service that runs the agent graph, with conversations saved in SQLite.

Each conversation is a LangGraph thread (``thread_id`` in the URL) checkpointed by
``AsyncSqliteSaver`` (``AsyncPostgresSaver`` when ``--db`` is a ``postgresql://`` URL), so it
survives restarts of this service. Endpoints:

* ``POST /threads/{thread_id}/messages`` ``{"content": "..."}`` → the answer and the tool
  calls/results of the turn;
* ``POST /threads/{thread_id}/stream`` ``{"content": "..."}`` → Server-Sent Events
  ``tool_call``, ``tool_result``, ``answer`` as the graph makes progress, then ``done``
  (or ``error``);
* ``GET /threads/{thread_id}`` → the saved conversation;
* ``GET /healthz`` → ``{"status": "ok"}``.

Run it: ``python examples/fastapi_app/app.py --db conversations.sqlite3 --port 8000``
(or ``uvicorn app:app --app-dir examples/fastapi_app`` with ``ASSISTANT_APP_DB`` set).
With no Assistants endpoint configured the graph uses the embedded server (offline model
unless ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` point at a Chat Completions provider).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from assistant_graph.graph import (
    AssistantGraphError,
    EndpointUnreachableError,
    InvalidInputError,
    build_graph,
)
from assistant_graph.graph.checkpointers import open_async_checkpointer
from fastapi import FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field, field_validator

logger = logging.getLogger("assistant_app")

DB_ENV_VAR = "ASSISTANT_APP_DB"
DEFAULT_DB = "assistant-app.sqlite3"
THREAD_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
DURABILITY = "sync"
"""Every step is saved before the next one starts, so a crash mid-turn is resumable."""

THREAD_BUSY = (
    "A turn is already running on thread {thread_id!r}. Wait for it to finish, then send the "
    "next message."
)
THREAD_NOT_FOUND = "No conversation saved under thread {thread_id!r}. Send it a message first."
BLANK_MESSAGE = "content is blank; send the question as non-empty text."
ENDPOINT_DOWN = "The assistant is unavailable: {error}"

ThreadId = Annotated[
    str,
    PathParam(
        pattern=THREAD_ID_PATTERN,
        description="Conversation id of your choosing (letters, digits, _ . : -).",
    ),
]


class UserMessage(BaseModel):
    """A user's message to the assistant."""

    content: str = Field(min_length=1, max_length=32_000, description="The question, as text.")

    @field_validator("content")
    @classmethod
    def not_blank(cls, value: str) -> str:
        """Refuse whitespace-only text before it reaches (and is saved in) the conversation."""
        if not value.strip():
            raise ValueError(BLANK_MESSAGE)
        return value


class Step(BaseModel):
    """One visible step of a turn: a tool call, a tool result or the answer."""

    type: str
    content: str = ""
    tool_call_id: str = ""
    name: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    status: str = ""


class TurnResult(BaseModel):
    """The outcome of one turn."""

    thread_id: str
    answer: str
    steps: list[Step]


class SavedMessage(BaseModel):
    """A message of a saved conversation."""

    role: str
    content: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    tool_call_id: str = ""


class Conversation(BaseModel):
    """A saved conversation."""

    thread_id: str
    messages: list[SavedMessage]


def message_steps(message: AnyMessage) -> Iterator[Step]:
    """Yield the visible steps one graph message stands for."""
    if isinstance(message, AIMessage):
        if message.tool_calls:
            for call in message.tool_calls:
                yield Step(
                    type="tool_call",
                    tool_call_id=call["id"] or "",
                    name=call["name"],
                    args=call["args"],
                )
        else:
            yield Step(type="answer", content=message.text)
    elif isinstance(message, ToolMessage):
        yield Step(
            type="tool_result",
            tool_call_id=message.tool_call_id,
            name=message.name or "",
            content=message.text,
            status=message.status,
        )


def saved_message(message: AnyMessage) -> SavedMessage:
    """Convert a checkpointed message to what ``GET /threads/{thread_id}`` returns."""
    role = {"human": "user", "ai": "assistant", "tool": "tool"}.get(message.type, message.type)
    return SavedMessage(
        role=role,
        content=message.text,
        tool_calls=[
            {"id": c["id"], "name": c["name"], "args": c["args"]}
            for c in getattr(message, "tool_calls", None) or []
        ],
        tool_call_id=getattr(message, "tool_call_id", "") or "",
    )


def sse(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Events frame."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def http_error(exc: AssistantGraphError) -> HTTPException:
    """Map a graph error to HTTP: 400 for bad input, 503/502 for the endpoint."""
    if isinstance(exc, InvalidInputError):
        return HTTPException(status_code=400, detail=str(exc))
    if isinstance(exc, EndpointUnreachableError):
        return HTTPException(status_code=503, detail=ENDPOINT_DOWN.format(error=exc))
    return HTTPException(status_code=502, detail=ENDPOINT_DOWN.format(error=exc))


class ThreadLocks:
    """One turn at a time per thread: a second turn sent meanwhile is refused with 409.

    A lock is held only inside ``async with``, so a client that disconnects cannot leave a
    thread locked; the lock disappears when no turn uses it.
    """

    def __init__(self) -> None:
        """No thread is busy."""
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def claim(self, thread_id: str) -> asyncio.Lock:
        """Return the thread's lock to hold for a turn; 409 if a turn is running on it now."""
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[thread_id] = lock
        if lock.locked():
            raise HTTPException(status_code=409, detail=THREAD_BUSY.format(thread_id=thread_id))
        return lock


def create_app(db_path: str | Path) -> FastAPI:
    """Create the service, saving conversations in ``db_path``.

    ``db_path`` is a SQLite file or a ``postgresql://`` URL (instances may share a database).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_async_checkpointer(db_path) as checkpointer:
            app.state.graph = build_graph(checkpointer=checkpointer)
            app.state.locks = ThreadLocks()
            yield

    app = FastAPI(title="assistant-graph example service", lifespan=lifespan)

    def graph_of(request: Request) -> CompiledStateGraph:
        return request.app.state.graph

    def config_for(thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/threads/{thread_id}/messages")
    async def send_message(thread_id: ThreadId, body: UserMessage, request: Request) -> TurnResult:
        """Run one turn and return the answer with the turn's tool calls and results."""
        graph = graph_of(request)
        async with request.app.state.locks.claim(thread_id):
            try:
                result = await graph.ainvoke(
                    {"messages": [HumanMessage(body.content)]},
                    config_for(thread_id),
                    durability=DURABILITY,
                )
            except AssistantGraphError as exc:
                raise http_error(exc) from exc
        messages = result["messages"]
        turn_start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        steps = [step for m in messages[turn_start + 1 :] for step in message_steps(m)]
        return TurnResult(thread_id=thread_id, answer=messages[-1].text, steps=steps)

    @app.post("/threads/{thread_id}/stream")
    async def stream_message(
        thread_id: ThreadId, body: UserMessage, request: Request
    ) -> StreamingResponse:
        """Run one turn, streaming its steps as Server-Sent Events."""
        graph = graph_of(request)
        lock = request.app.state.locks.claim(thread_id)  # 409 before the stream starts

        async def events() -> AsyncIterator[str]:
            async with lock:
                try:
                    async for update in graph.astream(
                        {"messages": [HumanMessage(body.content)]},
                        config_for(thread_id),
                        stream_mode="updates",
                        durability=DURABILITY,
                    ):
                        for node_update in update.values():
                            for message in (node_update or {}).get("messages", []):
                                for step in message_steps(message):
                                    yield sse(step.type, step.model_dump(exclude_defaults=True))
                    yield sse("done", {"thread_id": thread_id})
                except AssistantGraphError as exc:
                    logger.warning("Turn on thread %s failed: %s", thread_id, exc)
                    yield sse("error", {"detail": http_error(exc).detail})

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/threads/{thread_id}")
    async def get_conversation(thread_id: ThreadId, request: Request) -> Conversation:
        """Return the conversation saved under ``thread_id``."""
        snapshot = await graph_of(request).aget_state(config_for(thread_id))
        messages = snapshot.values.get("messages") if snapshot.values else None
        if not messages:
            raise HTTPException(
                status_code=404, detail=THREAD_NOT_FOUND.format(thread_id=thread_id)
            )
        return Conversation(thread_id=thread_id, messages=[saved_message(m) for m in messages])

    return app


app = create_app(os.environ.get(DB_ENV_VAR, DEFAULT_DB))
"""The service for ``uvicorn app:app``; its database is ``$ASSISTANT_APP_DB``."""


def main(argv: list[str] | None = None) -> None:
    """Serve the app with uvicorn (binds 127.0.0.1 unless told otherwise)."""
    parser = argparse.ArgumentParser(description="assistant-graph example FastAPI service")
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV_VAR, DEFAULT_DB),
        help=f"SQLite file or postgresql:// URL for conversations (env {DB_ENV_VAR})",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.db), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
