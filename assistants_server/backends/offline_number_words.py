"""Arithmetic written in words, made ready for the offline model's expression finder.

Before :func:`~assistants_server.backends.offline_arithmetic.extract_expressions` reads a
question, :func:`normalise_arithmetic_words` rewrites what it would otherwise miss:

* number words become digits: "two plus two" → "2 plus 2", "one hundred and five" → "105",
  "twenty-one" → "21";
* "100 factorial", "factorial of 100" and "factorial 100" become ``factorial(100)`` (only when
  the calculator says it has ``factorial``);
* a misspelt operator word between two numbers is corrected: "12 tims 3" → "12 times 3",
  "9 dividd by 3" → "9 divided by 3";
* ISO dates are masked, so "2024-01-01" is never taken for a subtraction.

Deterministic, and changes nothing else in the text.
"""

from __future__ import annotations

import difflib
import re

from assistant_graph.assistants_server.backends.offline_tool_routing import DATE_LIKE

UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {
    word: 10 * value
    for value, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
OPERATOR_WORDS = ("plus", "minus", "times", "over", "divided", "multiplied", "modulo", "mod")
TYPO_CUTOFF = 0.7
"""How close (difflib ratio) a word must be to an operator word to be read as it."""

_NUMBER_WORD = "|".join([*UNITS, *TENS, *SCALES])
_AFTER_SCALE = "|".join(f"(?<={scale})" for scale in SCALES)
_NUMBER_PHRASE = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:(?:{_AFTER_SCALE})\s+and\s+|\s+|-)(?:{_NUMBER_WORD}))*\b",
    re.IGNORECASE,
)
_FACTORIAL = re.compile(
    r"\b(?:factorial\s+(?:of\s+)?(\d+)|(\d+)\s+factorial)\b(?!\s*\()", re.IGNORECASE
)
_BETWEEN_NUMBERS = re.compile(r"(?<=\d)(\s+)([a-z]{3,})(?=(?:\s+by)?\s+-?\d)", re.IGNORECASE)


def normalise_arithmetic_words(text: str, *, allow_factorial: bool = False) -> str:
    """Rewrite ``text`` as described in the module docstring."""
    text = DATE_LIKE.sub(" date ", text)
    text = _NUMBER_PHRASE.sub(_number_phrase_value, text)
    if allow_factorial:
        text = _FACTORIAL.sub(lambda m: f"factorial({m.group(1) or m.group(2)})", text)
    return _BETWEEN_NUMBERS.sub(_corrected_operator, text)


def _number_phrase_value(match: re.Match[str]) -> str:
    """Return the digits for a run of number words (the words unchanged if no number)."""
    words = re.split(r"\s+and\s+|\s+|-", match.group().lower())
    total, current, previous = 0, 0, ""
    for word in words:
        if word in UNITS or word in TENS:
            if previous in UNITS or (previous in TENS and word in TENS):
                return match.group()  # "two three": not one number
            current += UNITS.get(word, 0) + TENS.get(word, 0)
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * SCALES[word]
            current = 0
        previous = word
    return str(total + current)


def _corrected_operator(match: re.Match[str]) -> str:
    word = match.group(2)
    if word.lower() in OPERATOR_WORDS:
        return match.group()
    close = difflib.get_close_matches(word.lower(), OPERATOR_WORDS, n=1, cutoff=TYPO_CUTOFF)
    return f"{match.group(1)}{close[0]}" if close else match.group()
