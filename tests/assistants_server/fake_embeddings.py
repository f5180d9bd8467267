"""An OpenAI-compatible ``POST /v1/embeddings`` endpoint on 127.0.0.1, for tests.

It stands in for the one part that cannot run here (a hosted embedding model) and says what
it is: each text's vector is a bag of its lower-cased words, hashed into ``dimensions`` slots
with synonyms from ``synonyms`` mapped to one word first, then L2-normalised. So texts sharing
words (or declared synonyms) are close, which lets a test tell vector hits from keyword hits.
It records every request, can be told to fail (``fail_next``), and can hold requests until
released (``hold()`` / ``release()``; ``arrived`` is set when a request comes in).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def hashed_vector(text: str, dimensions: int, synonyms: dict[str, str]) -> list[float]:
    """The bag-of-words vector of ``text`` (synonyms mapped first), unit length."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        word = synonyms.get(word, word)
        slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
        vector[slot % dimensions] += 1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


class FakeEmbeddings:
    """``with FakeEmbeddings(synonyms={...}) as fake: fake.base_url`` (uvicorn in a thread)."""

    def __init__(self, dimensions: int = 256, synonyms: dict[str, str] | None = None) -> None:
        self.dimensions = dimensions
        self.synonyms = synonyms or {}
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.arrived = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = FastAPI(title="fake embeddings")

        @self.app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            self.arrived.set()
            while not self._open.is_set():
                await asyncio.sleep(0.01)
            if self.fail_next:
                self.fail_next -= 1
                return JSONResponse(
                    {"error": {"message": "model overloaded", "type": "server_error"}},
                    status_code=500,
                    headers={"retry-after-ms": "10"},
                )
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": hashed_vector(text, self.dimensions, self.synonyms),
                }
                for index, text in enumerate(texts)
            ]
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": 0, "total_tokens": 0},
                }
            )

    def hold(self) -> None:
        """Make requests wait until :meth:`release`."""
        self._open.clear()

    def release(self) -> None:
        """Let held and later requests through."""
        self._open.set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeEmbeddings:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeEmbeddings did not start.")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
