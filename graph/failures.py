"""Map what the openai SDK raises during a step to the graph's own errors.

Transport failures never leave ``invoke``/``ainvoke`` raw: a connection that could not be made
becomes :class:`~graph.errors.EndpointUnreachableError`, one that broke after the request went
out (a cut event stream, a server that died mid-turn) :class:`~graph.errors.ConnectionLostError`;
both say how to resume the turn. The endpoint's "thread already has an active run" refusal
becomes :class:`~graph.errors.ConversationBusyError`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant_graph.graph.errors import (
    ConnectionLostError,
    ConversationBusyError,
    EndpointUnreachableError,
)
from assistant_graph.graph.run_core import is_transport_failure

if TYPE_CHECKING:
    import openai

ACTIVE_RUN_PATTERNS = (
    re.compile(r"[Tt]hread (?P<thread>\S+) already has an active run (?P<run>[^\s.]+)"),
    re.compile(r"Can't add messages to (?P<thread>\S+) while a run (?P<run>\S+) is active"),
)
"""The endpoint's refusals of a new run or message while another run is active."""


def graph_error(exc: BaseException, base_url: str) -> Exception | None:
    """Return the graph error to raise instead of ``exc``, or None to let ``exc`` through."""
    import openai

    base_url = base_url.rstrip("/")
    if isinstance(exc, openai.BadRequestError):
        return _busy(exc)
    if not is_transport_failure(exc):
        return None
    reason = _connect_failure(exc)
    if reason is not None:
        return EndpointUnreachableError(base_url, reason, during_turn=True)
    return ConnectionLostError(base_url, _describe(exc))


def unreachable(exc: openai.APIConnectionError, base_url: str) -> EndpointUnreachableError:
    """Build a clear error for a connection failure, naming the endpoint and the reason."""
    reason = _connect_failure(exc) or "could not connect"
    return EndpointUnreachableError(base_url.rstrip("/"), reason)


def _busy(exc: openai.BadRequestError) -> ConversationBusyError | None:
    for pattern in ACTIVE_RUN_PATTERNS:
        match = pattern.search(exc.message)
        if match:
            return ConversationBusyError(match["thread"], match["run"])
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _connect_failure(exc: BaseException) -> str | None:
    """Why a connection could not be made, or None if it was made and broke later."""
    for cause in _causes(exc):
        text = str(cause).lower()
        if isinstance(cause, ConnectionRefusedError) or "connection refused" in text:
            return "connection refused"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "unknown host"
        kind = type(cause).__name__  # httpx2's or (a legacy client's) httpx's
        if kind == "ConnectTimeout":
            return "timed out"
        if kind == "ConnectError":
            return "could not connect"
    return None


def _describe(exc: BaseException) -> str:
    """Return the innermost cause's text (e.g. "peer closed connection without sending ...")."""
    for cause in reversed(_causes(exc)):
        text = str(cause).strip()
        if text:
            return f"{type(cause).__name__}: {text}"
    return type(exc).__name__
