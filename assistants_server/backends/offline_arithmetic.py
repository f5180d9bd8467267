"""Turning an arithmetic question in plain English into calculator expressions.

The offline model does not understand language; it recognises arithmetic. This module is the
whole of that recognition, deterministic and without ``eval``:

* digits and operators are kept as typed (``2+2`` stays ``2+2``); ``^`` becomes ``**``;
* words become operators: plus, minus, times, ``x`` between numbers, multiplied by,
  divided by, over, raised to (the power of), to the power of, squared, cubed, mod/modulo,
  ``N% of M``, and "square root of" (only when the calculator says it has ``sqrt``);
* follow-ups work on an earlier result: "now add 17.241", "subtract 3", "multiply it by 2",
  "divide it by 4", "plus 1", "square it", or "that + 5" anywhere in a question;
* several questions in one message ("What's 2+2 and what's 3*5?") give several expressions,
  and a follow-up inside the same message chains on the expression before it
  ("add 5 and then multiply by 2" gives ``prev + 5`` and ``(prev + 5) * 2``).

Only well-formed expressions with at least one operator (or ``sqrt``) count: a lone number is
not a question.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NUMBER_PATTERN = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
PLAIN_NUMBER = re.compile(rf"{NUMBER_PATTERN}")
_SIGNED_NUMBER = rf"(-?{NUMBER_PATTERN})"
_LAST_NUMBER = re.compile(rf"(?<![\w.])-?{NUMBER_PATTERN}")

PREVIOUS = "§"
"""Placeholder for "the previous result" inside an expression being built."""

_REFERENCE = r"(?:it|that|this|the\s+(?:previous\s+|last\s+)?(?:result|answer|number))"

_FILLERS = re.compile(
    r"^(?:(?:and|now|then|ok|okay|so|please|next|also|can\s+you|could\s+you|would\s+you|"
    r"what\s+if\s+you|what\s+if\s+we|let's|lets)\b[\s,]*)+"
)

# Where one message holds several questions. "and"/"then" only split when a new question
# or an operation follows, so "add 5 and 3" stays one question.
_SEGMENT_SPLIT = re.compile(
    r"[?;\n]+|(?<=\D)\.(?=\s|$)|,\s+|\b(?:and|then)\s+(?=(?:then\s+|now\s+|also\s+)?"
    r"(?:what|what's|whats|how|calculate|compute|evaluate|add|subtract|multiply|divide|raise|"
    r"square|cube|double|halve|take|mod|modulo|plus|minus|times)\b)"
)

_WORD_OPERATORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile("[\u00d7\u2715]"), " * "),
    (re.compile("\u00f7"), " / "),
    (re.compile("[\u2212\u2013]"), "-"),
    (re.compile(r"(?<=\d),(?=\d{3}\b)"), ""),  # thousands separators: 1,000 -> 1000
    (re.compile(r"\^"), " ** "),
    (re.compile(rf"({NUMBER_PATTERN})\s*%\s+of\b"), r"\1 / 100 * "),
    (re.compile(r"\braised\s+to(?:\s+the)?(?:\s+power)?(?:\s+of)?\b"), " ** "),
    (re.compile(r"\bto\s+the\s+power(?:\s+of)?\b"), " ** "),
    (re.compile(r"\*\*\s*(\d+)(?:st|nd|rd|th)\b(?:\s+power\b)?"), r"** \1"),
    (re.compile(r"\bsquared\b"), " ** 2"),
    (re.compile(r"\bcubed\b"), " ** 3"),
    (re.compile(r"\bmultiplied\s+by\b|\btimes\b"), " * "),
    (re.compile(r"(?<=[\d)])\s*x\s*(?=[\d(-])"), " * "),
    (re.compile(r"\bdivided\s+by\b"), " / "),
    (re.compile(r"(?<=[\d)§])\s+over\s+(?=[\d(§-])"), " / "),
    (re.compile(r"\bplus\b"), " + "),
    (re.compile(r"\bminus\b"), " - "),
    (re.compile(r"\bmod(?:ulo)?\b"), " % "),
]

_SQUARE_ROOT_WORDS = re.compile(r"\bsquare\s+root\s+of\b|\bsqrt\s+of\b")
_SQRT_BARE_OPERAND = re.compile(rf"\bsqrt\s+({NUMBER_PATTERN}|{PREVIOUS})")
_REFERENCE_BEFORE_OPERATOR = re.compile(rf"\b{_REFERENCE}\b(?=\s*(?:\*\*|[+\-*/%]))")
_REFERENCE_AFTER_OPERATOR = re.compile(rf"(?<=[+\-*/%])(\s*){_REFERENCE}\b")

_TOKEN = re.compile(
    rf"\s+|(?P<num>{NUMBER_PATTERN})|(?P<op>\*\*|//|[+\-*/%])|(?P<open>\()|(?P<close>\))"
    rf"|(?P<func>sqrt|factorial)\b|(?P<prev>{PREVIOUS})|(?P<other>[^\s\d+\-*/%()§]+|.)"
)

# Phrasings with both operands given: "add 5 and 3", "subtract 2 from 9".
_EXPLICIT_FORMS: list[tuple[re.Pattern[str], Callable[[str, str], str]]] = [
    (
        re.compile(rf"^(?:add|sum)\s+{_SIGNED_NUMBER}\s+(?:and|to)\s+{_SIGNED_NUMBER}"),
        lambda a, b: f"{a} + {b}",
    ),
    (
        re.compile(rf"^subtract\s+{_SIGNED_NUMBER}\s+from\s+{_SIGNED_NUMBER}"),
        lambda a, b: f"{b} - {a}",
    ),
    (
        re.compile(rf"^multiply\s+{_SIGNED_NUMBER}\s+(?:by|and|with)\s+{_SIGNED_NUMBER}"),
        lambda a, b: f"{a} * {b}",
    ),
    (re.compile(rf"^divide\s+{_SIGNED_NUMBER}\s+by\s+{_SIGNED_NUMBER}"), lambda a, b: f"{a} / {b}"),
]

# Follow-ups: an operation applied to the previous result.
_FOLLOW_UPS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^(?:add|plus)\s+{_SIGNED_NUMBER}(?:\s+to\s+{_REFERENCE})?"), "+ {n}"),
    (
        re.compile(
            rf"^(?:subtract|minus|take\s+away|take)\s+{_SIGNED_NUMBER}"
            rf"(?:\s+(?:from|off)\s+{_REFERENCE})?"
        ),
        "- {n}",
    ),
    (re.compile(rf"^(?:multiply|times)(?:\s+{_REFERENCE})?\s+(?:by\s+)?{_SIGNED_NUMBER}"), "* {n}"),
    (
        re.compile(rf"^(?:divide(?:\s+{_REFERENCE})?\s+by|divided\s+by|over)\s+{_SIGNED_NUMBER}"),
        "/ {n}",
    ),
    (
        re.compile(
            rf"^raise(?:\s+{_REFERENCE})?\s+to(?:\s+the)?(?:\s+power)?(?:\s+of)?\s+"
            rf"{_SIGNED_NUMBER}"
        ),
        "** {n}",
    ),
    (re.compile(rf"^(?:mod|modulo)\s+{_SIGNED_NUMBER}"), "% {n}"),
    (re.compile(rf"^square\s+{_REFERENCE}"), "** 2"),
    (re.compile(rf"^cube\s+{_REFERENCE}"), "** 3"),
    (re.compile(rf"^double\s+{_REFERENCE}"), "* 2"),
    (re.compile(rf"^(?:halve|half)\s+{_REFERENCE}"), "/ 2"),
]


class MissingPreviousResultError(ValueError):
    """A follow-up ("add 5") arrived but the conversation has no earlier result to work on."""

    def __init__(self, question: str):
        super().__init__(question)
        self.question = question


def last_number(text: str) -> str | None:
    """Return the last number in ``text`` exactly as written (``"-32.2243"``), or ``None``."""
    matches = _LAST_NUMBER.findall(text)
    return matches[-1] if matches else None


def as_operand(expression: str) -> str:
    """``expression`` ready to be an operand: plain non-negative numbers as they are, else in ()."""
    expression = expression.strip()
    if PLAIN_NUMBER.fullmatch(expression):
        return expression
    return f"({expression})"


def extract_expressions(
    text: str, previous_result: str | None = None, *, allow_sqrt: bool = False
) -> list[str]:
    """Return calculator expressions for the arithmetic questions in ``text``, in order.

    ``previous_result`` is the conversation's latest numeric result (for follow-ups).
    ``allow_sqrt`` says whether the calculator supports ``sqrt(x)``; without it, questions
    about square roots are left out. Raises :class:`MissingPreviousResultError` when a
    follow-up needs an earlier result and there is none. Returns ``[]`` for non-arithmetic text.
    """
    expressions: list[str] = []
    previous = previous_result
    for raw_segment in _SEGMENT_SPLIT.split(text.lower()):
        segment = _FILLERS.sub("", raw_segment.strip()).strip()
        if not segment:
            continue
        for expression in _segment_expressions(segment, allow_sqrt=allow_sqrt):
            if PREVIOUS in expression:
                if previous is None:
                    raise MissingPreviousResultError(raw_segment.strip())
                expression = expression.replace(PREVIOUS, as_operand(previous))
            expressions.append(expression)
            previous = expression
    return expressions


def _segment_expressions(segment: str, *, allow_sqrt: bool) -> list[str]:
    for pattern, build in _EXPLICIT_FORMS:
        match = pattern.match(segment)
        if match and not re.search(r"\d", segment[match.end() :]):
            return [build(match.group(1), match.group(2))]
    for pattern, template in _FOLLOW_UPS:
        match = pattern.match(segment)
        if match and not re.search(r"\d", segment[match.end() :]):
            operand = match.group(1) if match.groups() else ""
            return [f"{PREVIOUS} {template.format(n=as_operand(operand) if operand else '')}"]

    if _SQUARE_ROOT_WORDS.search(segment):
        if not allow_sqrt:
            return []
        segment = _SQUARE_ROOT_WORDS.sub(" sqrt ", segment)
    for pattern, replacement in _WORD_OPERATORS:
        segment = pattern.sub(replacement, segment)
    segment = _REFERENCE_BEFORE_OPERATOR.sub(PREVIOUS, segment)
    segment = _REFERENCE_AFTER_OPERATOR.sub(rf"\1{PREVIOUS}", segment)
    segment = _SQRT_BARE_OPERAND.sub(r"sqrt(\1)", segment)
    return [expr for expr in _expression_runs(segment) if _is_question(expr)]


def _expression_runs(text: str) -> list[str]:
    """Maximal stretches of ``text`` made only of expression tokens, trimmed and validated."""
    runs: list[list[tuple[str, str]]] = [[]]
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:  # whitespace
            if runs[-1]:
                runs[-1].append(("space", match.group()))
            continue
        if kind == "other":
            runs.append([])
            continue
        runs[-1].append((kind, match.group()))
    expressions = []
    for run in runs:
        tokens = [t for t in run if t[0] != "space"]
        tokens = _trim(tokens)
        if tokens and _well_formed(tokens):
            expressions.append(_join(tokens, run))
    return expressions


def _trim(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop dangling operators at the ends (keeping a leading sign) and unbalanced parens."""
    while tokens and tokens[-1][0] in ("op", "open", "func"):
        tokens = tokens[:-1]
    while tokens and (
        (tokens[0][0] == "op" and tokens[0][1] not in "+-") or tokens[0][0] == "close"
    ):
        tokens = tokens[1:]
    while tokens and tokens[-1][0] == "close" and _count(tokens, "close") > _count(tokens, "open"):
        tokens = tokens[:-1]
    while tokens and tokens[0][0] == "open" and _count(tokens, "open") > _count(tokens, "close"):
        tokens = tokens[1:]
    return tokens


def _count(tokens: list[tuple[str, str]], kind: str) -> int:
    return sum(1 for token in tokens if token[0] == kind)


def _join(tokens: list[tuple[str, str]], run: list[tuple[str, str]]) -> str:
    """Return the tokens as typed, with the run's spacing between the first and last."""
    first = next(i for i, t in enumerate(run) if t is tokens[0])
    last = next(i for i, t in enumerate(run) if t is tokens[-1])
    text = "".join(value for _, value in run[first : last + 1])
    return re.sub(r"\s+", " ", text).strip()


def _is_question(expression: str) -> bool:
    tokens = [m.lastgroup for m in _TOKEN.finditer(expression) if m.lastgroup]
    binary = re.search(r"[\d)§]\s*(\*\*|//|[+\-*/%])", expression) is not None
    return binary or "func" in tokens


class _Parser:
    """Recursive-descent check of ``expr := term (binop term)*`` (no evaluation)."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == kind:
            self.position += 1
            return True
        return False

    def expression(self) -> bool:
        if not self.term():
            return False
        while self.take("op"):
            if not self.term():
                return False
        return True

    def term(self) -> bool:
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in "+-":
            self.position += 1
        if self.take("num") or self.take("prev"):
            return True
        if self.take("func"):
            return self.take("open") and self.expression() and self.take("close")
        if self.take("open"):
            return self.expression() and self.take("close")
        return False


def _well_formed(tokens: list[tuple[str, str]]) -> bool:
    parser = _Parser(tokens)
    return parser.expression() and parser.position == len(tokens)
