"""Which of the run's tools a question plainly names, and with what arguments (offline model).

The offline model is not a language model: it recognises a few kinds of question by their
wording and finds, among the function tools the run declares, the one whose name, description
and parameters fit (nothing is wired to the project's own tools):

* **day counts** — "How many days between 2024-01-01 and 2024-12-25?" (ISO dates, or
  "January 1, 2024" / "1 January 2024"): a day/date tool taking two dates;
* **the current time** — "What time is it in Tokyo?", "What's the date today?": a time/clock
  tool taking at most one (time zone) argument; city names are matched to IANA zones;
* **text statistics** — "How many words are in 'the quick brown fox'?", "Count the sentences
  in: ...": a text/word/statistics tool taking one string; the text is the quoted part, or
  what follows the colon;
* **unit conversion** — "Convert 26.2 miles to km", "100 F in C", "How many pounds in 5 kg?":
  a convert/unit tool taking a number and two unit names.

Each recogniser returns :class:`PlannedCall` objects; the offline model asks for them, and
once their outputs are back answers one line per call with :func:`answer_line`, which also
tells a result from a tool error and from a person's rejection of the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from assistant_graph.assistants_server.backends.base import ToolCallRequest

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_FORMS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(
        rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b", re.IGNORECASE
    ),
    re.compile(
        rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>\d{{4}})\b",
        re.IGNORECASE,
    ),
]
DATE_LIKE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")
"""ISO dates: never arithmetic (``2024-01-01`` is not a subtraction)."""

_DAYS_QUESTION = re.compile(
    r"\b(?:how\s+many|number\s+of|count(?:\s+the)?)\s+(?:days|weeks)\b"
    r"|\bdays?\s+(?:between|from|until|till|to|since)\b",
    re.IGNORECASE,
)
_TIME_QUESTION = re.compile(
    r"\bwhat(?:'s|\s+is)?\s+(?:the\s+)?(?:current\s+|local\s+)?(?:time|date)\b"
    r"|\btime\s+is\s+it\b|\bcurrent\s+(?:time|date)\b|\btoday'?s\s+date\b"
    r"|\bwhat\s+day\s+is\s+(?:it|today)\b|\btime\s+now\b|\bdate\s+today\b"
)
_ZONE_AFTER_IN = re.compile(
    r"\b(?:in|for|at)\s+([a-z][a-z_/ .'-]*?)\s*(?:right\s+now|now|today)?[?.!]*$"
)
_IANA = re.compile(r"\b[A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?\b")
_TEXT_QUESTION = re.compile(
    r"\b(?:how\s+many|count(?:\s+the)?|number\s+of)\s+"
    r"(?:words?|characters?|chars?|letters?|sentences?|lines?|paragraphs?)\b"
    r"|\b(?:text|word|character)\s+(?:statistics|stats|count)\b|\bstatistics\s+(?:of|for)\b"
)
_ASKED_COUNTS = {
    "word": "words",
    "character": "characters",
    "char": "characters",
    "letter": "characters_excluding_whitespace",
    "sentence": "sentences",
    "line": "lines",
    "paragraph": "paragraphs",
}
_QUOTED = re.compile(
    r'"([^"]+)"|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019|(?<!\w)\'(.+?)\'(?!\w)'
)
_NUMBER = r"(?P<value>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
_UNIT = r"[a-z\u00b0\u00b5][a-z0-9\u00b0/^_]*(?:\s+(?!to\b|in\b|into\b|as\b)[a-z][a-z/]*){0,2}"
_CONVERSIONS = [
    re.compile(rf"{_NUMBER}\s*(?P<source>{_UNIT})\s+(?:to|in|into|as)\s+(?P<target>{_UNIT})"),
    re.compile(
        rf"how\s+many\s+(?P<target>{_UNIT})\s+(?:are\s+)?(?:there\s+)?in\s+"
        rf"(?:(?:a|an|one)\s+)?(?:{_NUMBER}\s*)?(?P<source>{_UNIT})"
    ),
]
UNIT_WORDS = frozenset(
    """
    m meter metre km kilometer kilometre cm centimeter centimetre mm millimeter millimetre
    mi mile yd yard ft foot feet in inch inches nmi nautical square sq cubic m2 km2 ha hectare
    acre ac ft2 mi2 m3 l liter litre ml milliliter millilitre gal gallon imperial imp_gal us
    qt quart pt pint cup fl fluid fl_oz oz ounce kg kilogram g gram mg milligram t tonne ton
    metric lb lbs pound st stone c f k degree degrees celsius fahrenheit kelvin °c °f m/s km/h
    kph kmh mph mi/h kn knot kt ft/s fps mps s sec second ms millisecond min minute h hr hour
    day d week wk
    """.split()
)
"""Words and symbols that begin a unit's name: the converter is only asked about these."""
_UNIT_STOP_WORDS = re.compile(r"\s+(?:please|for|and|then|is|are|equal|equals|exactly)\b.*$")

_REJECTION = re.compile(
    r"^\W*(?:the\s+)?(?:tool\s+)?call\s+was\s+(?:rejected|declined|denied)\b"
    r"|^\W*(?:rejected|declined|denied)\b",
    re.IGNORECASE,
)
_REASON = re.compile(r"\breason:\s*(.+)$", re.IGNORECASE | re.DOTALL)

RESULT_LINE = "{label}: {output}"
ERROR_LINE = '{tool} reported an error for {label}: "{output}"'
REJECTED_LINE = (
    "The {tool} call for {label} was rejected, so it did not run (reason: {reason}). Ask again, "
    "or change the request, to have it run."
)
MISSING_LINE = "{label}: the tool returned no output"


@dataclass(frozen=True)
class PlannedCall:
    """A tool call the question asks for."""

    tool: str
    """Function name, as the run declares it."""
    arguments: dict[str, Any]
    describe: Callable[[dict[str, Any]], str]
    """What the call computes, from its (possibly edited) arguments, for the answer."""
    summarise: Callable[[str], str] = str
    """Turns the tool's successful output into the answer's text."""


# ----------------------------------------------------------------- tool schemas


def functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the ``function`` objects of the run's function tools."""
    return [t.get("function") or {} for t in tools if t.get("type") == "function"]


def properties(function: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON-schema properties of a function's parameters (``{}`` when there are none)."""
    parameters = function.get("parameters") or {}
    found = parameters.get("properties") if isinstance(parameters, dict) else None
    return found if isinstance(found, dict) else {}


def _kind(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    if kind is None:  # anyOf / oneOf
        return {str(s.get("type")) for s in schema.get("anyOf", []) if isinstance(s, dict)}
    return {str(kind)}


def _text(function: dict[str, Any]) -> str:
    return f"{function.get('name', '')} {function.get('description', '')}".lower()


def _find(
    tools: list[dict[str, Any]], words: str, fits: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Return the first function whose name fits ``words``, else whose description does."""
    pattern = re.compile(words)
    candidates = [f for f in functions(tools) if fits(properties(f))]
    for function in candidates:
        if pattern.search(str(function.get("name", "")).lower()):
            return function
    for function in candidates:
        if pattern.search(_text(function)):
            return function
    return None


def _strings(props: dict[str, Any]) -> list[str]:
    return [name for name, schema in props.items() if "string" in _kind(schema)]


START_HINTS = ("start", "from", "since", "first", "begin")
END_HINTS = ("end", "to", "until", "till", "last", "stop")


def _hinted(name: str, hints: tuple[str, ...]) -> bool:
    words = [word.lower() for word in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name)]
    return any(hint in words for hint in hints)


def _pick(names: list[str], hints: tuple[str, ...], default: int) -> str:
    for name in names:
        if any(hint in name.lower() for hint in hints):
            return name
    return names[default]


# ------------------------------------------------------------------ day counts


def find_dates(text: str) -> list[str]:
    """Calendar dates written in ``text`` as ISO ``YYYY-MM-DD``, in the order written."""
    found: list[tuple[int, str]] = []
    for form in _DATE_FORMS:
        for match in form.finditer(text):
            month = match.group("month")
            number = int(month) if month.isdigit() else MONTHS[month.lower().rstrip(".")]
            try:
                day = date(int(match.group("year")), number, int(match.group("day")))
            except ValueError:
                continue
            found.append((match.start(), day.isoformat()))
    return [iso for _, iso in sorted(found)]


def _days_calls(text: str, tools: list[dict[str, Any]]) -> list[PlannedCall] | None:
    if not _DAYS_QUESTION.search(text):
        return None
    dates = find_dates(text)
    function = _find(
        tools, r"day|date", lambda props: len(_strings(props)) == 2 and len(props) == 2
    )
    if len(dates) < 2 or function is None:
        return None
    names = _strings(properties(function))
    start_first = _hinted(names[0], START_HINTS) or _hinted(names[1], END_HINTS)
    start_second = _hinted(names[1], START_HINTS) or _hinted(names[0], END_HINTS)
    start, end = names[::-1] if start_second and not start_first else names

    def describe(arguments: dict[str, Any]) -> str:
        return f"days from {arguments.get(start)} to {arguments.get(end)}"

    return [PlannedCall(function["name"], {start: dates[0], end: dates[1]}, describe)]


# ---------------------------------------------------------------- current time


@cache
def _zones_by_city() -> dict[str, str]:
    """Lower-cased IANA names and their last parts ("new york") → the IANA name."""
    zones: dict[str, str] = {}
    for name in sorted(available_timezones()):
        zones.setdefault(name.lower(), name)
        city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            zones.setdefault(city, name)
    return zones


def find_zone(text: str) -> str | None:
    """Return the time zone a question names: an IANA name, a city, or the words after "in"."""
    iana = _IANA.search(text)
    if iana:
        return iana.group()
    after = _ZONE_AFTER_IN.search(text.lower())
    if after is None:
        return None
    place = after.group(1).strip(" .'")
    return _zones_by_city().get(place, place) if place else None


def _time_calls(text: str, tools: list[dict[str, Any]]) -> list[PlannedCall] | None:
    lowered = text.lower()
    if not _TIME_QUESTION.search(lowered) or _DAYS_QUESTION.search(lowered):
        return None
    function = _find(
        tools,
        r"time|clock|date|now",
        lambda props: len(props) <= 1 and len(_strings(props)) == len(props),
    )
    if function is None:
        return None
    names = list(properties(function))
    zone = find_zone(text)
    arguments = {names[0]: zone} if names and zone else {}

    def describe(arguments: dict[str, Any]) -> str:
        given = next(iter(arguments.values()), None)
        return f"the current date and time in {given}" if given else "the current date and time"

    return [PlannedCall(function["name"], arguments, describe)]


# ------------------------------------------------------------- text statistics


def quoted_text(text: str) -> str | None:
    """Return the longest quoted passage of ``text``, else what follows its first colon."""
    passages = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]
    if passages:
        return max(passages, key=len)
    _, colon, rest = text.partition(":")
    return rest.strip() if colon and rest.strip() else None


def _text_calls(text: str, tools: list[dict[str, Any]]) -> list[PlannedCall] | None:
    asked = _TEXT_QUESTION.search(text.lower())
    passage = quoted_text(text)
    if asked is None or passage is None:
        return None

    def fits(props: dict[str, Any]) -> bool:
        return len(_strings(props)) == 1 == len(props)

    function = _find(tools, r"statistic|count|word", fits) or _find(tools, r"text", fits)
    if function is None:
        return None
    (name,) = properties(function)
    keys = [key for word, key in _ASKED_COUNTS.items() if re.search(rf"\b{word}s?\b", text.lower())]

    def describe(arguments: dict[str, Any]) -> str:
        value = str(arguments.get(name, ""))
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {json.dumps(shown, ensure_ascii=False)}"

    def summarise(output: str) -> str:
        try:
            counts = json.loads(output)
        except json.JSONDecodeError:
            return output
        if not isinstance(counts, dict):
            return output
        chosen = [key for key in dict.fromkeys(keys) if key in counts] or [
            key for key, value in counts.items() if isinstance(value, int | float)
        ]
        return ", ".join(f"{counts[key]} {key.replace('_', ' ')}" for key in chosen) or output

    return [PlannedCall(function["name"], {name: passage}, describe, summarise)]


# ------------------------------------------------------------- unit conversion


def _clean_unit(unit: str) -> str:
    return _UNIT_STOP_WORDS.sub("", unit.strip()).strip(" ?.!,")


def _is_unit(phrase: str) -> bool:
    first = phrase.split()[0] if phrase.split() else ""
    return first in UNIT_WORDS or first.removesuffix("s") in UNIT_WORDS


def _conversion_calls(text: str, tools: list[dict[str, Any]]) -> list[PlannedCall] | None:
    lowered = text.lower()
    match = next(
        (
            m
            for form in _CONVERSIONS
            for m in form.finditer(lowered)
            if _is_unit(_clean_unit(m.group("source"))) and _is_unit(_clean_unit(m.group("target")))
        ),
        None,
    )
    if match is None:
        return None

    def fits(props: dict[str, Any]) -> bool:
        numbers = [n for n, s in props.items() if _kind(s) & {"number", "integer"}]
        return len(numbers) == 1 and len(_strings(props)) == 2

    function = _find(tools, r"convert|conversion|unit", fits)
    if function is None:
        return None
    props = properties(function)
    value_name = next(n for n, s in props.items() if _kind(s) & {"number", "integer"})
    names = _strings(props)
    source_name = _pick(names, ("from", "source"), 0)
    target_name = next(name for name in names if name != source_name)
    value = float(match.group("value")) if match.group("value") else 1.0
    arguments = {
        value_name: int(value) if value.is_integer() else value,
        source_name: _clean_unit(text[match.start("source") : match.end("source")]),
        target_name: _clean_unit(text[match.start("target") : match.end("target")]),
    }

    def describe(arguments: dict[str, Any]) -> str:
        return (
            f"{arguments.get(value_name)} {arguments.get(source_name)} "
            f"in {arguments.get(target_name)}"
        )

    return [PlannedCall(function["name"], arguments, describe)]


ROUTES = (_days_calls, _time_calls, _text_calls, _conversion_calls)
"""Recognisers, most specific first: the first that returns calls decides the turn."""


def plan_tool_calls(text: str, tools: list[dict[str, Any]]) -> list[PlannedCall]:
    """Return the calls ``text`` plainly asks for with the run's ``tools`` (maybe none)."""
    for route in ROUTES:
        calls = route(text, tools)
        if calls:
            return calls
    return []


# ---------------------------------------------------------------------- answers


def is_rejection(output: str) -> bool:
    """Whether a tool output says a person rejected the call (so the tool never ran)."""
    return _REJECTION.search(output) is not None


def is_error(output: str) -> bool:
    """Whether a tool output reports an error."""
    return output.lstrip().lower().startswith("error")


def answer_line(call: PlannedCall, arguments: dict[str, Any], output: str | None) -> str:
    """One line of the answer: the result, the tool's error, or the person's rejection."""
    label = call.describe(arguments)
    if output is None:
        return MISSING_LINE.format(label=label)
    if is_rejection(output):
        reason = _REASON.search(output)
        return REJECTED_LINE.format(
            tool=call.tool, label=label, reason=reason.group(1).strip() if reason else "none given"
        )
    if is_error(output):
        return ERROR_LINE.format(tool=call.tool, label=label, output=output.strip())
    return RESULT_LINE.format(label=label[:1].upper() + label[1:], output=call.summarise(output))


TOOL_CHOICE_NONE_REPLY = (
    'The offline model needs the tool "{tool}" for this question, but this run\'s tool_choice '
    'is "none".'
)


def routed_turn(
    planned: list[PlannedCall],
    made: list[tuple[str, str, str]],
    outputs: dict[str, str],
    *,
    parallel: bool,
    tool_choice: Any,
) -> tuple[str, list[ToolCallRequest]]:
    """Return the next turn for ``planned`` calls: ask for those not made yet, else answer.

    ``made`` holds the (call id, name, JSON arguments) of the calls already asked for since
    the user's message, in order; ``outputs`` maps call ids to their tool outputs.
    """
    if len(made) < len(planned):
        pending = planned[len(made) :]
        if tool_choice == "none":
            return TOOL_CHOICE_NONE_REPLY.format(tool=pending[0].tool), []
        batch = pending if parallel else pending[:1]
        return "", [
            ToolCallRequest(name=call.tool, arguments=json.dumps(call.arguments)) for call in batch
        ]
    lines = []
    for call, (call_id, _, arguments) in zip(planned, made, strict=False):
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            parsed = {}
        arguments_given = parsed if isinstance(parsed, dict) else {}
        lines.append(answer_line(call, arguments_given, outputs.get(call_id)))
    return "\n".join(lines), []
