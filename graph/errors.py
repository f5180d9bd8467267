"""Errors the agent graph raises, with their messages kept as module constants.

Every error is a ``ValueError`` subclass that says what was wrong and what to do next. A bad
graph input is rejected by the compiled graph before LangGraph saves it (see
``graph.input_check``), so the thread's checkpoint is left exactly as it was; the assistant
node re-checks the state before any request to the Assistants endpoint.
"""

from __future__ import annotations

NO_MESSAGES = (
    "The graph input has no messages. Pass {'messages': [{'role': 'user', 'content': "
    "'...'}]} (or a HumanMessage) to start a turn, or invoke(None, config) to resume a saved "
    "thread."
)
INVALID_MESSAGE = (
    "A message in the graph input cannot be read: {detail}. Send messages as "
    "{{'role': 'user', 'content': '<text>'}} dicts or LangChain message objects."
)
INPUT_NOT_A_MAPPING = (
    "The graph input must be a mapping like {{'messages': [{{'role': 'user', 'content': "
    "'...'}}]}}, got {kind}. Pass the new user message under 'messages', or invoke(None, config) "
    "to resume a saved thread."
)
INPUT_NOT_A_USER_MESSAGE = (
    "The graph input must end with a user message, got a {kind} last. Send the new question as "
    "{{'role': 'user', 'content': '<text>'}}; to answer a paused tool review use "
    "Command(resume=...), not a new input."
)
MISSING_CONTENT = (
    "The last message has no content. Send a user message with non-empty text content."
)
EMPTY_CONTENT = (
    "The last user message is empty (or only whitespace). Send a user message with some text."
)
NON_STRING_CONTENT = (
    "The last user message content must be a string (or a list of text blocks), got {kind}. "
    "Send the question as plain text."
)
UNEXPECTED_LAST_MESSAGE = (
    "The assistant node cannot continue from a {kind} as the last message. End the input with "
    "a user message (HumanMessage) or, after tool calls, with one ToolMessage per call."
)
MISSING_TOOL_OUTPUTS = (
    "Tool call(s) {call_ids} of run {run_id} have no ToolMessage. Every tool call of the last "
    "AI message needs exactly one ToolMessage before the assistant can continue."
)
NO_PENDING_RUN = (
    "There are ToolMessages to submit but the state names no run awaiting tool outputs "
    "(pending_run_id is empty). Start a new turn with a user message."
)
UNKNOWN_ASSISTANT = (
    "Assistant {assistant_id!r} does not exist at the Assistants endpoint {base_url}. Check "
    "ASSISTANT_ID (or the assistant_id context field), or unset it to let the graph create one."
)
RUN_GONE = (
    "Run {run_id} on Assistants thread {thread_id} no longer exists at {base_url}, so its tool "
    "outputs cannot be submitted. Start a new turn with a user message."
)
UNREACHABLE_ENDPOINT = (
    "Cannot reach the Assistants endpoint at {base_url}: {reason}. Check ASSISTANTS_BASE_URL "
    "or unset it to use the embedded server."
)
INVALID_CHECK_EVERY_MS = (
    "ASSISTANT_CHECK_EVERY_MS must be a positive number of milliseconds, got {raw!r}."
)
INVALID_BOOLEAN = "{variable} must be one of 1/true/yes/on or 0/false/no/off, got {raw!r}."
INVALID_REVIEW = (
    "Invalid review answer {value!r}: {problem}. Resume with {{'action': 'approve'}}, "
    "{{'action': 'reject', 'reason': '<why>'}} (optionally 'call_ids': [<ids>] to reject only "
    "those calls) or {{'action': 'edit', 'args': {{<call_id>: {{<argument>: <value>}}}}}}."
)
RUN_STREAM_EMPTY = (
    "The Assistants endpoint closed the run's event stream without sending the run ({detail}). "
    "Retry the turn; if it persists, check the endpoint's logs."
)
TURN_SAVED = (
    " With a checkpointer the turn is saved: run the graph again with the same thread_id "
    "(`graph.invoke(None, config)`) to finish it."
)
"""Appended to the errors of a step that failed on the way to the endpoint."""
CONNECTION_LOST = (
    "The connection to the Assistants endpoint at {base_url} broke during the turn ({reason}); "
    "a run it started keeps running there and is picked up again."
) + TURN_SAVED
CONVERSATION_BUSY = (
    "The conversation (Assistants thread {thread_id}) is busy with another turn: run {run_id} "
    "is still active. Wait until that turn has finished, then send the message again."
) + TURN_SAVED
NO_SYNC_CLIENT = (
    "This AssistantRunnable was made for the async path (client=None): use ainvoke, or give it "
    "a sync openai.OpenAI client."
)
INVALID_TOOL_ARGUMENTS = (
    "The assistant sent invalid JSON arguments for tool {tool!r} (call {call_id}): {arguments!r}."
)


class AssistantGraphError(ValueError):
    """Base class of the graph's errors."""


class InvalidInputError(AssistantGraphError):
    """The graph input or state cannot start or continue a turn (nothing was sent)."""


class UnknownAssistantError(AssistantGraphError):
    """The configured assistant id does not exist at the endpoint."""

    def __init__(self, assistant_id: str, base_url: str) -> None:
        """Name the missing assistant and the endpoint that was asked."""
        super().__init__(UNKNOWN_ASSISTANT.format(assistant_id=assistant_id, base_url=base_url))
        self.assistant_id = assistant_id
        self.base_url = base_url


class RunGoneError(AssistantGraphError):
    """Tool outputs are pending for a run the endpoint no longer knows."""

    def __init__(self, run_id: str, thread_id: str, base_url: str) -> None:
        """Name the missing run, its thread and the endpoint."""
        super().__init__(RUN_GONE.format(run_id=run_id, thread_id=thread_id, base_url=base_url))
        self.run_id = run_id
        self.thread_id = thread_id


class EndpointUnreachableError(AssistantGraphError):
    """The Assistants endpoint cannot be reached (connection refused, DNS, timeout)."""

    def __init__(self, base_url: str, reason: str, *, during_turn: bool = False) -> None:
        """Name the endpoint and why it could not be reached (and how to resume a turn)."""
        message = UNREACHABLE_ENDPOINT.format(base_url=base_url, reason=reason)
        super().__init__(message + TURN_SAVED if during_turn else message)
        self.base_url = base_url
        self.reason = reason


class ConnectionLostError(AssistantGraphError):
    """The connection broke after a request reached the endpoint (e.g. a cut event stream)."""

    def __init__(self, base_url: str, reason: str) -> None:
        """Name the endpoint and what broke; the message says how to resume the turn."""
        super().__init__(CONNECTION_LOST.format(base_url=base_url, reason=reason))
        self.base_url = base_url
        self.reason = reason


class ConversationBusyError(AssistantGraphError):
    """The Assistants thread already has an active run (another turn is under way)."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        """Name the busy thread and the run that is active on it."""
        super().__init__(CONVERSATION_BUSY.format(thread_id=thread_id, run_id=run_id))
        self.thread_id = thread_id
        self.run_id = run_id


class ConfigurationError(AssistantGraphError):
    """A configuration value (context field or environment variable) is invalid."""


class RunEndedError(AssistantGraphError):
    """A run ended ``failed``, ``cancelled``, ``expired`` or ``incomplete``."""

    def __init__(self, run_id: str, thread_id: str, status: str, detail: str) -> None:
        """Describe how the run ended; ``detail`` is the run's ``last_error`` message, if any."""
        self.run_id = run_id
        self.thread_id = thread_id
        self.status = status
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        """Describe the outcome in a sentence for the user (e.g. in an AI message)."""
        text = f"The assistant run {self.run_id} ended with status '{self.status}'"
        return f"{text}: {self.detail}" if self.detail else f"{text}."


class RunStreamError(AssistantGraphError):
    """A run's event stream ended without telling which run it was about."""


LONE_SURROGATE = (
    "Message {index} of the graph input contains text that cannot be encoded (a lone surrogate "
    "at character {position}, e.g. from a '\\ud800' escape). Send valid Unicode text."
)
MESSAGE_TOO_LONG = (
    "The user message is {length} characters long; the limit is {limit}. Send a shorter "
    "message (split it over several turns)."
)
MESSAGE_REJECTED = (
    "The Assistants endpoint refused the new user message ({status}: {detail}). The turn was "
    "not saved: the conversation is as it was before it. Change the message (or what the error "
    "names) and send it again."
)


class MessageRejectedError(AssistantGraphError):
    """The endpoint refused a turn's user message; the turn was removed from the checkpoint."""

    def __init__(self, status: int, detail: str) -> None:
        """Name the HTTP status and the endpoint's reason."""
        super().__init__(MESSAGE_REJECTED.format(status=status, detail=detail))
        self.status = status
        self.detail = detail
