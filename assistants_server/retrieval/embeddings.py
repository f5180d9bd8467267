"""The embedder: the model endpoint's ``/v1/embeddings`` through the openai SDK.

Configured by ``ASSISTANTS_SERVER_EMBEDDING_MODEL`` (empty: no embedder, keyword search only)
with the model endpoint's ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``. Calls are synchronous and
made from worker threads (ingestion and search run there), so the event loop never waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant_graph.assistants_server.retrieval.errors import EMBEDDER_FAILED, IngestionError

BATCH_SIZE = 64
"""Texts per embeddings request."""


class Embedder:
    """Embeds texts with one model of an OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(
            base_url=base_url or None,
            api_key=api_key or "unused",
            timeout=timeout,
            max_retries=max_retries,
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one embedding per text, in order; raise :class:`IngestionError` on failure."""
        import openai

        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = list(texts[start : start + BATCH_SIZE])
            try:
                response = self._client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as exc:
                raise IngestionError(
                    "server_error", EMBEDDER_FAILED.format(reason=type(exc).__name__)
                ) from exc
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(list(item.embedding) for item in ordered)
        return vectors

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def create_embedder(settings: Any) -> Embedder | None:
    """Build the server's embedder from its settings (``None`` without an embedding model)."""
    if not settings.embedding_model:
        return None
    return Embedder(
        settings.embedding_model,
        base_url=settings.model_base_url,
        api_key=settings.model_api_key,
        timeout=settings.model_timeout_seconds,
        max_retries=settings.model_max_retries,
    )
