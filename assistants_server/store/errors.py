"""The store's domain errors; the HTTP layer maps them to OpenAI's error shape in one place.

Every error carries a message that says what was wrong and what to do next; nothing here
knows about HTTP status codes.
"""

from __future__ import annotations

from typing import Any

NOT_FOUND_MESSAGE = "No {kind} found with id '{id}'."
ACTIVE_RUN_MESSAGE = "Can't add messages to {thread_id} while a run {run_id} is active."
ACTIVE_RUN_NEW_RUN_MESSAGE = "Thread {thread_id} already has an active run {run_id}."
NO_TOOL_OUTPUTS_MESSAGE = 'Runs in status "{status}" do not accept tool outputs.'
BAD_CURSOR_MESSAGE = (
    "Invalid '{cursor}': no {kind} with id '{id}' in this list. "
    "Pass an id from a previous page ('first_id'/'last_id')."
)
MISSING_CALL_ID_MESSAGE = "Missing required parameter: 'tool_outputs[{index}].tool_call_id'."
MISSING_OUTPUTS_MESSAGE = (
    "Expected tool outputs for call_ids {expected}, got {got}. Submit one output for every "
    "pending tool call in a single request."
)
UNKNOWN_OUTPUT_MESSAGE = (
    "No tool call found with id '{call_id}' pending on this run. Pending call ids: {expected}."
)
DUPLICATE_OUTPUT_MESSAGE = "Tool call id '{call_id}' was given more than one output."


class StoreError(Exception):
    """Base of the store's errors: ``message`` for the client, ``param`` the field at fault."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class NotFound(StoreError):
    """No object of ``kind`` with ``object_id`` (or not one the caller's API key owns)."""

    def __init__(self, kind: str, object_id: str, param: str | None = None) -> None:
        super().__init__(NOT_FOUND_MESSAGE.format(kind=kind, id=object_id), param)
        self.kind = kind
        self.object_id = object_id


class Conflict(StoreError):
    """The object's current state forbids the change (e.g. a run is active on the thread)."""


class ThreadBusy(Conflict):
    """A run is active on the thread: no new message or run until it ends."""


class InvalidRequest(StoreError):
    """The request's values do not fit the stored objects (a bad cursor, bad tool outputs)."""


class RunDeadlinePassed(StoreError):
    """A submit reached a run whose tool-output deadline has passed (it is due to expire)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(NO_TOOL_OUTPUTS_MESSAGE.format(status="expired"))
        self.run_id = run_id


class KeyAlreadyUsed(StoreError):
    """The request's ``Idempotency-Key`` is already recorded; ``record`` is its row.

    Raised inside the transaction that would have created or re-queued a run, so that
    transaction rolls back and nothing is created twice.
    """

    def __init__(self, record: Any) -> None:
        super().__init__(f"Idempotency-Key '{record.key}' was already used.")
        self.record = record
