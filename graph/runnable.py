"""``OpenAIAssistantV2Runnable`` as a thin adapter over the graph's run core.

The stock runnable (langchain-community) stays the assistant node's reasoning runnable; this
subclass replaces how it talks to the endpoint. What a call sends and how it reads the result
is written once, without I/O, in ``graph.run_core`` (requests, stream tracking, re-attaching to
a run whose stream broke) and ``graph.run_response`` (actions or finish). This module only
carries the core's effects out, with the openai SDK's own typed streaming (``stream=True``
gives ``Stream[AssistantStreamEvent]`` / ``AsyncStream``) and polling (``runs.poll``): once
with the sync client (``invoke``), once with the async client (``ainvoke``).

Differences from upstream: the async client is made lazily, once, from the sync client's
endpoint and headers when none is given (upstream builds a bare ``AsyncOpenAI(api_key=...)``
that talks to the public host); ``ainvoke`` uses only the async client; a step's result carries
only the messages of that model step; runs ending ``failed``/``cancelled``/``expired``/
``incomplete`` raise :class:`~graph.errors.RunEndedError`; every POST can carry an
``Idempotency-Key`` (``input["idempotency_key"]`` + the call's role); a run is never cancelled
because waiting for it failed.

Text deltas of a streamed run are passed, as they arrive, to ``on_text_delta(text)`` and
``on_message_delta(message_id, text)`` (keyword arguments of ``invoke``/``ainvoke``; on the
async path ``on_message_delta`` may be a coroutine function, awaited before the next event), and
to the callback run manager's ``on_text``. Each completed step of a tool the server ran itself
(``code_interpreter``, ``file_search``) goes to ``on_server_step(step)`` as it streams.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Self

from assistant_graph.graph.context import DEFAULT_CHECK_EVERY_MS
from assistant_graph.graph.effects import adrive, drive
from assistant_graph.graph.errors import NO_SYNC_CLIENT, ConfigurationError
from assistant_graph.graph.run_core import (
    MESSAGES_PAGE,
    STEPS_PAGE,
    ListMessages,
    Poll,
    RunRequest,
    Start,
    StreamTracker,
    call_plan,
    idempotency_headers,
    plan_request,
    response_plan,
)
from assistant_graph.graph.run_response import (
    AssistantStepAction,
    tool_call_message_id,
)
from langchain_community.agents.openai_assistant.base import OpenAIAssistantV2Runnable
from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.load import dumpd
from langchain_core.runnables import RunnableConfig, ensure_config
from pydantic import model_validator

if TYPE_CHECKING:
    import openai

__all__ = ["AssistantRunnable", "AssistantStepAction", "tool_call_message_id"]


class AssistantRunnable(OpenAIAssistantV2Runnable):
    """Runs an assistant on an Assistants v2 endpoint as a LangChain agent (see module doc).

    Input dict keys (as upstream): ``content`` (new user message), ``thread_id``, ``run_id`` +
    ``tool_outputs`` (submit), plus ``idempotency_key`` (base of the ``Idempotency-Key``
    headers of the POSTs this call makes). ``client`` may be None for a runnable used only
    through ``ainvoke``.
    """

    as_agent: bool = True

    @model_validator(mode="after")
    def validate_async_client(self) -> Self:
        """Build no client here: the async client is made on first use (see :meth:`aclient`)."""
        return self

    @model_validator(mode="after")
    def _validate_async_client(self) -> Self:
        """Replace langchain-community's validator of that name, which builds a bare client."""
        return self

    def sync_client(self) -> openai.OpenAI:
        """Return the sync client (a runnable made for the async path has none)."""
        if self.client is None:
            raise ConfigurationError(NO_SYNC_CLIENT)
        return self.client

    def aclient(self) -> openai.AsyncOpenAI:
        """Return the async client: the one given, else one made once from the sync client."""
        if self.async_client is None:
            sync = self.sync_client()
            import openai

            self.async_client = openai.AsyncOpenAI(
                api_key=sync.api_key,
                base_url=sync.base_url,
                default_headers=dict(sync._custom_headers),
            )
        return self.async_client

    # ------------------------------------------------------------------ sync

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Start or continue a run and return actions (tool calls) or the finish (answer)."""
        config = ensure_config(config)
        manager = CallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        run_manager = manager.on_chain_start(
            dumpd(self), input, name=config.get("run_name") or self.get_name()
        )
        request = plan_request(input, self.assistant_id)
        tracker = _tracker(request, run_manager.on_text, kwargs)
        try:
            response = drive(call_plan(request, tracker), partial(self._execute, tracker=tracker))
        except BaseException as e:
            run_manager.on_chain_error(e)
            raise
        run_manager.on_chain_end(response)
        return response

    def retrieve_run(self, thread_id: str, run_id: str) -> Any:
        """Return the run as the endpoint sees it now."""
        return self.sync_client().beta.threads.runs.retrieve(run_id, thread_id=thread_id)

    def wait_for_response(self, run: Any) -> Any:
        """Wait for a run that is already underway and return its actions or finish."""
        return drive(response_plan(run), partial(self._execute, tracker=None))

    def cancel_run(self, thread_id: str, run_id: str, key: str | None) -> Any:
        """Cancel a run and wait until it stopped; returns the stopped run."""
        runs = self.sync_client().beta.threads.runs
        runs.cancel(run_id, thread_id=thread_id, extra_headers=idempotency_headers(key, "cancel"))
        return self._execute(Poll(run_id, thread_id), None)

    def _execute(self, effect: Any, tracker: StreamTracker | None) -> Any:
        threads = self.sync_client().beta.threads
        if isinstance(effect, Start):
            assert tracker is not None
            stream = _method(threads, effect.request)(**effect.request.kwargs, stream=True)
            with stream:
                if _is_json(stream):
                    stream.response.read()
                    tracker.replayed(_run(stream.response.json()))
                    return None
                for event in stream:
                    tracker.observe(event)
            return None
        if isinstance(effect, Poll):
            return threads.runs.poll(
                effect.run_id, thread_id=effect.thread_id, poll_interval_ms=self._interval()
            )
        if isinstance(effect, ListMessages):
            return threads.messages.list(
                effect.thread_id, run_id=effect.run_id, order="asc", limit=MESSAGES_PAGE
            ).data
        return threads.runs.steps.list(
            effect.run_id, thread_id=effect.thread_id, order="desc", limit=STEPS_PAGE
        ).data

    # ----------------------------------------------------------------- async

    async def ainvoke(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Async :meth:`invoke`: uses only the async client."""
        config = ensure_config(config)
        manager = AsyncCallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        run_manager = await manager.on_chain_start(
            dumpd(self), input, name=config.get("run_name") or self.get_name()
        )
        request = plan_request(input, self.assistant_id)
        deltas: list[str] = []
        tracker = _tracker(request, deltas.append, kwargs)
        try:
            execute = partial(self._aexecute, tracker=tracker)
            response = await adrive(call_plan(request, tracker), execute)
        except BaseException as e:
            await run_manager.on_chain_error(e)
            raise
        for text in deltas:  # after the stream: the async manager cannot be awaited from it
            await run_manager.on_text(text)
        await run_manager.on_chain_end(response)
        return response

    async def aretrieve_run(self, thread_id: str, run_id: str) -> Any:
        """Async :meth:`retrieve_run`."""
        return await self.aclient().beta.threads.runs.retrieve(run_id, thread_id=thread_id)

    async def await_for_response(self, run: Any) -> Any:
        """Async :meth:`wait_for_response`."""
        return await adrive(response_plan(run), partial(self._aexecute, tracker=None))

    async def acancel_run(self, thread_id: str, run_id: str, key: str | None) -> Any:
        """Async :meth:`cancel_run`."""
        runs = self.aclient().beta.threads.runs
        await runs.cancel(
            run_id, thread_id=thread_id, extra_headers=idempotency_headers(key, "cancel")
        )
        return await self._aexecute(Poll(run_id, thread_id), None)

    async def _aexecute(self, effect: Any, tracker: StreamTracker | None) -> Any:
        threads = self.aclient().beta.threads
        if isinstance(effect, Start):
            assert tracker is not None
            stream = await _method(threads, effect.request)(**effect.request.kwargs, stream=True)
            async with stream:
                if _is_json(stream):
                    await stream.response.aread()
                    tracker.replayed(_run(stream.response.json()))
                    return None
                async for event in stream:
                    pending = tracker.observe(event)
                    if pending is not None and inspect.isawaitable(pending):
                        await pending
            return None
        if isinstance(effect, Poll):
            return await threads.runs.poll(
                effect.run_id, thread_id=effect.thread_id, poll_interval_ms=self._interval()
            )
        if isinstance(effect, ListMessages):
            page = await threads.messages.list(
                effect.thread_id, run_id=effect.run_id, order="asc", limit=MESSAGES_PAGE
            )
            return page.data
        steps = await threads.runs.steps.list(
            effect.run_id, thread_id=effect.thread_id, order="desc", limit=STEPS_PAGE
        )
        return steps.data

    def _interval(self) -> Any:
        """Return ``runs.poll``'s interval: a chosen ``check_every_ms``, else none.

        At the default, the SDK follows the server's ``openai-poll-after-ms`` (its own fallback
        is the same 1 s).
        """
        if self.check_every_ms == DEFAULT_CHECK_EVERY_MS:
            from openai import omit

            return omit
        return max(1, int(self.check_every_ms))


def _tracker(request: RunRequest, on_text: Callable[[str], Any], kwargs: dict) -> StreamTracker:
    user_handler = kwargs.get("on_text_delta")

    def on_delta(text: str) -> None:
        on_text(text)
        if user_handler is not None:
            user_handler(text)

    return StreamTracker(
        on_delta,
        kwargs.get("on_message_delta"),
        on_server_step=kwargs.get("on_server_step"),
        may_have_submits=request.submits,
    )


def _method(threads: Any, request: RunRequest) -> Any:
    """Return the SDK method a request goes to (``threads.*``)."""
    if request.kind == "create_and_run":
        return threads.create_and_run
    return getattr(threads.runs, request.kind)


def _is_json(stream: Any) -> bool:
    """Whether a "streamed" call was answered with a plain JSON run (e.g. a replayed POST)."""
    return stream.response.headers.get("content-type", "").startswith("application/json")


def _run(data: Any) -> Any:
    """Build the ``Run`` of a replayed POST (its types module is imported only when needed)."""
    from openai.types.beta.threads import Run

    return Run.model_validate(data)
