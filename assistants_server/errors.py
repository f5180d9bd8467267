"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Routes raise :class:`APIError`; the handlers installed by :func:`install_error_handlers`
turn it, FastAPI's validation errors and unknown routes into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

INVALID_REQUEST = "invalid_request_error"

CANNOT_CANCEL_MESSAGE = "Cannot cancel run with status '{status}'."
INVALID_API_KEY_MESSAGE = (
    "Incorrect API key provided. Send one of this server's keys as 'Authorization: Bearer <key>' "
    "(the server's keys are set with ASSISTANTS_SERVER_API_KEYS or --api-key)."
)
MISSING_API_KEY_MESSAGE = (
    "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
    "(the server's keys are set with ASSISTANTS_SERVER_API_KEYS or --api-key)."
)
BODY_TOO_LARGE_MESSAGE = (
    "Request body is {size} bytes, larger than this server's limit of {limit} bytes "
    "(ASSISTANTS_SERVER_MAX_BODY_BYTES). Send less content per request."
)
FILE_TOO_LARGE_MESSAGE = (
    "The upload carried {size} bytes; this server accepts files of at most {limit} bytes "
    "(ASSISTANTS_SERVER_MAX_FILE_BYTES). Upload a smaller file, or split it into several."
)
INVALID_HOST_MESSAGE = (
    "This server does not answer requests for host '{host}' (accepted: {allowed}). Address it "
    "by one of those names, or add the name to ASSISTANTS_SERVER_ALLOWED_HOSTS "
    "(--allowed-host)."
)
LONE_SURROGATE_MESSAGE = (
    "the text at {where} holds a lone UTF-16 surrogate (such as the JSON escape \\ud800), "
    "which is not valid Unicode text. Send well-formed text: pair each high surrogate with a "
    "low one."
)
EMPTY_CONTENT_MESSAGE = (
    "message content must not be empty: send non-blank text, or a list of content parts "
    "whose text parts are non-blank"
)
INVALID_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. The body must be a JSON object; "
    "check for trailing commas and unquoted keys."
)


class APIError(Exception):
    """An error response: HTTP status plus OpenAI's error fields."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the response."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        """Return the error as a response."""
        return JSONResponse(self.body(), status_code=self.status_code)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """400 invalid_request_error."""
    return APIError(400, message, param=param, code=code)


UNION_TAGS = frozenset(
    {"function", "code_interpreter", "file_search", "text", "image_url", "image_file"}
)
"""Tags pydantic inserts into error locations of tagged unions (list item, then tag)."""


def _param_from_loc(loc: tuple[Any, ...]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    # Tagged unions add the tag as a path element (e.g. tools.0.function.function); drop
    # elements that are not field names or indexes of the request.
    text = ""
    previous: Any = None
    for part in parts:
        skip_tag = isinstance(previous, int) and part in UNION_TAGS
        previous = part
        if skip_tag:
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or "(" in part or "-" in part):
            continue
        else:
            text += ("." if text else "") + str(part)
    return text or None


def _validation_message(err: dict[str, Any], param: str | None) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "Invalid value")).removeprefix("Value error, ")
    if kind == "json_invalid":
        return INVALID_JSON_MESSAGE
    if kind == "missing":
        return f"Missing required parameter: '{param}'."
    if kind == "extra_forbidden":
        return f"Unknown parameter: '{param}'."
    if kind == "string_unicode":  # pydantic's own check of constrained strings
        msg = LONE_SURROGATE_MESSAGE.format(where=param)
    if kind == "union_tag_invalid" or kind == "literal_error":
        return f"Invalid value for '{param}': {msg}."
    return f"Invalid value for '{param}': {msg}."


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    # A rule of ours (value_error) says more than the failed branches of a union around it.
    first = next(
        (e for e in errors if e.get("type") == "value_error"),
        errors[0] if errors else {"msg": "Invalid request", "loc": ()},
    )
    param = _param_from_loc(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        param = None
    status = 400
    code = "invalid_json" if first.get("type") == "json_invalid" else None
    if first.get("type") == "missing" and param is None:
        # An empty or missing body where an object is required.
        return APIError(400, INVALID_JSON_MESSAGE, code="invalid_json").response()
    return APIError(status, _validation_message(first, param), param=param, code=code).response()


async def _api_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return exc.response()


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return APIError(exc.status_code, message).response()


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return APIError(
        500,
        "The server had an error while processing your request. The error is logged; "
        "retrying may help.",
        type="server_error",
    ).response()


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error OpenAI's shape."""
    app.add_exception_handler(APIError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
