"""Server configuration: one pydantic-settings class, read from environment variables.

Each field is read from ``ASSISTANTS_SERVER_<FIELD>`` unless it names its variable itself
(the model endpoint's ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, and
``ASSISTANTS_SERVER_MODEL_TIMEOUT``); keyword arguments (``assistant-graph serve`` flags,
the embedded server's ``port=0``) win over the environment. Every variable is listed in the
README's configuration table and in ``.env.example`` (a test checks both against this class).
A value that cannot work raises :class:`SettingsError` naming the variable, never echoing it.
"""

from __future__ import annotations

import math
import os
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BackendName = Literal["auto", "offline", "chat-completions"]
SandboxMode = Literal["bwrap", "unsandboxed"]
LogLevel = Literal["critical", "error", "warning", "info", "debug"]

ENV_PREFIX = "ASSISTANTS_SERVER_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321
LOOPBACK_HOST_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""Host names a loopback-bound server accepts when no allow-list is configured."""
HOST_NAME = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")
"""A host name, IPv4 address or bracketed IPv6 address, as a ``Host`` header names it."""
BAD_HOST_NAME = (
    "{name!r} is not a host name: list names such as example.com, 10.0.0.5 or [::1], "
    "comma-separated, without scheme, port or path (or * for any name)"
)

BAD_LATENCY = (
    "ASSISTANTS_SERVER_OFFLINE_LATENCY_MS (--offline-latency-ms) must be a non-negative "
    "number of milliseconds."
)
BAD_BASE_URL = (
    "OPENAI_BASE_URL (--model-base-url) must be an http:// or https:// URL of an "
    "OpenAI-compatible endpoint, such as http://localhost:11434/v1 for Ollama; got {value!r}."
)
MISSING_OPENAI_KEY = (
    "The chat-completions backend would call OpenAI at https://api.openai.com/v1, but "
    "OPENAI_API_KEY is empty. Set OPENAI_API_KEY, set OPENAI_BASE_URL (--model-base-url) to "
    "another OpenAI-compatible endpoint (Ollama, vLLM, ...), or use --backend offline."
)
BAD_TIMEOUT = "ASSISTANTS_SERVER_MODEL_TIMEOUT must be a positive number of seconds."
BAD_RETRIES = "ASSISTANTS_SERVER_MODEL_MAX_RETRIES must be a whole number >= 0."


class SettingsError(ValueError):
    """A setting that cannot work; the message names its variable and says what to set."""


def default_data_dir() -> Path:
    """Directory for the project's local files (``$ASSISTANT_GRAPH_HOME`` or ~/.local/share)."""
    home = os.environ.get("ASSISTANT_GRAPH_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "assistant-graph"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or host name) is this machine's loopback."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ip_address(name).is_loopback
    except ValueError:
        return False


def _split_list(value: Any) -> Any:
    """Split a comma-separated variable into a tuple (blank items dropped)."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _blank_to_default(value: Any, default: Any) -> Any:
    return default if isinstance(value, str) and not value.strip() else value


class ServerSettings(BaseSettings):
    """Configuration of one assistants server instance."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", validate_by_name=True
    )

    host: str = DEFAULT_HOST
    """Interface to bind. Loopback by default; set 0.0.0.0 only behind auth (``api_keys``)."""
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    """TCP port; 0 picks a free one (the embedded server does this)."""
    database_url: str = ""
    """SQLAlchemy URL of the store. Empty means ``sqlite:///<data dir>/assistants.sqlite3``."""
    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(default=(), repr=False)
    """Keys accepted in ``Authorization: Bearer`` (comma-separated). Empty: no authentication."""
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Host names accepted in the ``Host`` header (comma-separated; ``*`` accepts any). Empty:
    only loopback names when bound to a loopback address, any name otherwise."""
    backend: BackendName = "auto"
    """Model backend: ``offline``, ``chat-completions``, or ``auto`` (chat-completions when
    ``model_api_key`` or ``model_base_url`` is set, else offline)."""
    model_base_url: str = Field(default="", validation_alias=AliasChoices("OPENAI_BASE_URL"))
    """Base URL of the OpenAI-compatible Chat Completions endpoint (``.../v1``)."""
    model_api_key: str = Field(
        default="", repr=False, validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    """API key for the Chat Completions endpoint. Never logged."""
    default_model: str = ""
    """Model to use when an assistant names none the endpoint knows; empty keeps the assistant's."""
    model_timeout_seconds: float = Field(
        default=60.0, validation_alias=AliasChoices("ASSISTANTS_SERVER_MODEL_TIMEOUT")
    )
    """Timeout of one Chat Completions request."""
    model_max_retries: int = 2
    """Retries of a Chat Completions request on 429, 5xx, connection errors and timeouts."""
    embedding_model: str = ""
    """Embedding model of the model endpoint for file search (``/v1/embeddings``); empty:
    keyword ranking only (FTS5 BM25), no embedder."""
    offline_latency_ms: float = 0.0
    """Artificial latency added to each offline model call (for benchmarks)."""
    offline_script: str = ""
    """Path of a JSON script for the offline model (scripted mode, used by tests)."""
    run_expiry_seconds: float = Field(default=600.0, gt=0)
    """How long a run may wait in ``requires_action`` before it expires (upstream: 10 min)."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    """Largest request body accepted; bigger bodies get 413 (file uploads: ``max_file_bytes``)."""
    max_file_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    """Largest file ``POST /v1/files`` accepts (upstream: 512 MB); bigger uploads get 413."""
    log_level: LogLevel = "info"
    """Server log level."""
    interpreter_sandbox: SandboxMode = "bwrap"
    """How ``code_interpreter`` kernels are isolated: ``bwrap`` (bubblewrap, Linux), or
    ``unsandboxed`` (plain processes with rlimits only; for trusted single-user machines)."""
    interpreter_bwrap_path: str = "bwrap"
    """The bubblewrap executable (a name looked up on ``PATH``, or a path)."""
    interpreter_python: str = ""
    """Python that runs the kernels (needs ``ipykernel``).

    Empty: the server's own interpreter (its virtual environment too)."""
    interpreter_idle_seconds: float = Field(default=3600.0, gt=0)
    """An interpreter session unused this long ends; the thread's next call starts fresh."""
    interpreter_wall_seconds: float = Field(default=120.0, gt=0)
    """Wall-clock limit of one code execution (then interrupt; restart if it does not stop)."""
    interpreter_cpu_seconds: int = Field(default=600, gt=0)
    """CPU-time limit (RLIMIT_CPU) of each process in a session, the kernel included."""
    interpreter_memory_mb: int = Field(default=2048, gt=0)
    """Address-space limit (RLIMIT_AS) of each process in a session, and its /tmp size."""
    interpreter_max_processes: int = Field(default=64, gt=0)
    """Processes and threads one session may run at once (RLIMIT_NPROC)."""
    interpreter_max_file_mb: int = Field(default=100, gt=0)
    """Largest file a session may write (RLIMIT_FSIZE)."""
    interpreter_output_bytes: int = Field(default=65536, gt=0)
    """Output (stdout, stderr, tracebacks) kept from one execution; the rest is cut off."""
    interpreter_max_sessions: int = Field(default=8, gt=0, le=256)
    """Sessions alive at once; starting one more ends the least recently used."""

    def __init__(self, **values: Any) -> None:
        """Read the environment; ``values`` win. Raise :class:`SettingsError` on a bad value."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @field_validator("api_keys", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name != "*" and not HOST_NAME.fullmatch(name):
                raise ValueError(BAD_HOST_NAME.format(name=name))
        return value

    @field_validator(
        "port",
        "model_max_retries",
        "max_body_bytes",
        "max_file_bytes",
        "interpreter_cpu_seconds",
        "interpreter_memory_mb",
        "interpreter_max_processes",
        "interpreter_max_file_mb",
        "interpreter_output_bytes",
        "interpreter_max_sessions",
        mode="before",
    )
    @classmethod
    def _blank_int(cls, value: Any, info: ValidationInfo) -> Any:
        return _blank_to_default(value, cls.model_fields[str(info.field_name)].default)

    @field_validator(
        "model_timeout_seconds",
        "offline_latency_ms",
        "run_expiry_seconds",
        "interpreter_idle_seconds",
        "interpreter_wall_seconds",
        mode="before",
    )
    @classmethod
    def _blank_float(cls, value: Any, info: ValidationInfo) -> Any:
        return _blank_to_default(value, cls.model_fields[str(info.field_name)].default)

    @field_validator("backend", "log_level", "interpreter_sandbox", mode="before")
    @classmethod
    def _choice(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return value or cls.model_fields[str(info.field_name)].default
        return value

    @field_validator("offline_latency_ms")
    @classmethod
    def _latency(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(BAD_LATENCY)
        return value

    @field_validator("model_timeout_seconds")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(BAD_TIMEOUT)
        return value

    @field_validator("model_max_retries")
    @classmethod
    def _retries(cls, value: int) -> int:
        if value < 0:
            raise ValueError(BAD_RETRIES)
        return value

    @field_validator("model_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(BAD_BASE_URL.format(value=value))
        return value

    @model_validator(mode="after")
    def _model_endpoint(self) -> ServerSettings:
        if (
            self.resolved_backend() == "chat-completions"
            and not self.model_base_url
            and not self.model_api_key
        ):
            raise ValueError(MISSING_OPENAI_KEY)
        return self

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

    def resolved_allowed_hosts(self) -> tuple[str, ...]:
        """Host names the server accepts (empty: any), from ``allowed_hosts`` and ``host``."""
        if self.allowed_hosts:
            return () if "*" in self.allowed_hosts else self.allowed_hosts
        return LOOPBACK_HOST_NAMES if is_loopback(self.host) else ()


def environment_variable(field_name: str) -> str:
    """Return the environment variable that sets ``field_name``."""
    alias = ServerSettings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return ENV_PREFIX + field_name.upper()


ENV_VARIABLES = {name: environment_variable(name) for name in ServerSettings.model_fields}
"""Each setting's environment variable, by field name."""


def _describe(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable; values are not echoed (keys are secret)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        problem = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        loc = error.get("loc") or ()
        if not loc:  # a rule across settings: its message names the variables
            lines.append(problem)
            continue
        name = str(loc[0])
        variable = ENV_VARIABLES.get(name, name)
        lines.append(problem if variable in problem else f"{variable}: {problem}")
    return " ".join(lines)
