"""Server configuration: one dataclass, read from environment variables or CLI flags.

Every field has an environment variable (listed in the README's configuration table and in
``.env.example``); ``assistant-graph serve`` flags override them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

BackendName = Literal["auto", "offline", "chat-completions"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321


def default_data_dir() -> Path:
    """Directory for the project's local files (``$ASSISTANT_GRAPH_HOME`` or ~/.local/share)."""
    home = os.environ.get("ASSISTANT_GRAPH_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "assistant-graph"


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}.") from exc


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}.") from exc


@dataclass(frozen=True)
class ServerSettings:
    """Configuration of one assistants server instance."""

    host: str = DEFAULT_HOST
    """Interface to bind. Loopback by default; set 0.0.0.0 only behind auth (``api_keys``)."""
    port: int = DEFAULT_PORT
    """TCP port; 0 picks a free one (the embedded server does this)."""
    database_url: str = ""
    """SQLAlchemy URL of the store. Empty means ``sqlite:///<data dir>/assistants.sqlite3``."""
    api_keys: tuple[str, ...] = ()
    """Keys accepted in ``Authorization: Bearer``. Empty means no authentication."""
    backend: BackendName = "auto"
    """Model backend: ``offline``, ``chat-completions``, or ``auto`` (chat-completions when
    ``model_api_key`` or ``model_base_url`` is set, else offline)."""
    model_base_url: str = ""
    """Base URL of the OpenAI-compatible Chat Completions endpoint (``.../v1``)."""
    model_api_key: str = field(default="", repr=False)
    """API key for the Chat Completions endpoint. Never logged."""
    default_model: str = ""
    """Model to use when an assistant names none the endpoint knows; empty keeps the assistant's."""
    model_timeout_seconds: float = 60.0
    """Timeout of one Chat Completions request."""
    model_max_retries: int = 2
    """Retries of a Chat Completions request on 429, 5xx, connection errors and timeouts."""
    offline_latency_ms: float = 0.0
    """Artificial latency added to each offline model call (for benchmarks)."""
    offline_script: str = ""
    """Path of a JSON script for the offline model (scripted mode, used by tests)."""
    run_expiry_seconds: float = 600.0
    """How long a run may wait in ``requires_action`` before it expires (upstream: 10 min)."""
    max_body_bytes: int = 4 * 1024 * 1024
    """Largest request body accepted; bigger bodies get 413."""
    log_level: str = "info"

    def resolved_database_url(self) -> str:
        """Return the store URL, creating the default data directory when it is used."""
        if self.database_url:
            return self.database_url
        data_dir = default_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'assistants.sqlite3'}"

    def resolved_backend(self) -> Literal["offline", "chat-completions"]:
        """Return the backend ``auto`` stands for under this configuration."""
        if self.backend != "auto":
            return self.backend
        return "chat-completions" if (self.model_api_key or self.model_base_url) else "offline"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Read settings from environment variables; keyword ``overrides`` win.

        ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` configure the chat-completions backend, so a
        shell that already has an OpenAI key gets a real model with no extra step.
        """
        env = os.environ if env is None else env
        backend = env.get("ASSISTANTS_SERVER_BACKEND", "auto").strip() or "auto"
        if backend not in ("auto", "offline", "chat-completions"):
            raise ValueError(
                f"ASSISTANTS_SERVER_BACKEND must be auto, offline or chat-completions, "
                f"got {backend!r}."
            )
        keys = tuple(
            k.strip() for k in env.get("ASSISTANTS_SERVER_API_KEYS", "").split(",") if k.strip()
        )
        values: dict[str, object] = {
            "host": env.get("ASSISTANTS_SERVER_HOST", DEFAULT_HOST),
            "port": _env_int(env, "ASSISTANTS_SERVER_PORT", DEFAULT_PORT),
            "database_url": env.get("ASSISTANTS_SERVER_DATABASE_URL", ""),
            "api_keys": keys,
            "backend": backend,
            "model_base_url": env.get("OPENAI_BASE_URL", ""),
            "model_api_key": env.get("OPENAI_API_KEY", ""),
            "default_model": env.get("ASSISTANTS_SERVER_DEFAULT_MODEL", ""),
            "model_timeout_seconds": _env_float(env, "ASSISTANTS_SERVER_MODEL_TIMEOUT", 60.0),
            "model_max_retries": _env_int(env, "ASSISTANTS_SERVER_MODEL_MAX_RETRIES", 2),
            "offline_latency_ms": _env_float(env, "ASSISTANTS_SERVER_OFFLINE_LATENCY_MS", 0.0),
            "offline_script": env.get("ASSISTANTS_SERVER_OFFLINE_SCRIPT", ""),
            "run_expiry_seconds": _env_float(env, "ASSISTANTS_SERVER_RUN_EXPIRY_SECONDS", 600.0),
            "max_body_bytes": _env_int(env, "ASSISTANTS_SERVER_MAX_BODY_BYTES", 4 * 1024 * 1024),
            "log_level": env.get("ASSISTANTS_SERVER_LOG_LEVEL", "info"),
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"Unknown server settings: {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items()})
        return cls(**values)  # type: ignore[arg-type]
