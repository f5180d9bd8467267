"""The ``text_statistics`` tool: exact counts over a piece of text.

Language models are unreliable at counting characters and words; this tool counts them.
Input is bounded (:data:`MAX_TEXT_LENGTH` characters) and the result is a JSON object.
Characters are Unicode code points; a sentence ends at ``.``, ``!``, ``?`` or ``…`` followed by
whitespace (a heuristic: abbreviations such as "Dr." count as sentence ends); paragraphs are
separated by blank lines.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

NAME = "text_statistics"
MAX_TEXT_LENGTH = 100_000
TOP_WORDS = 5
DESCRIPTION = (
    "Count the characters, words, lines, sentences and paragraphs of a text exactly, and list "
    "its most frequent words. Returns a JSON object with keys characters, "
    "characters_excluding_whitespace, words, unique_words, lines, sentences, paragraphs, "
    f"average_word_length, top_words. Texts up to {MAX_TEXT_LENGTH} characters."
)
TEXT_TOO_LONG = (
    "Text too long: {length} characters, the limit is " + f"{MAX_TEXT_LENGTH}. "
    "Pass a shorter excerpt or split the text and add the counts."
)

# A word: letters/digits joined by apostrophes or hyphens; numbers keep their separators (3.5).
_WORD = re.compile(r"\w+(?:(?:['\u2019-]|(?<=\d)[.,](?=\d))\w+)*")
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class TextStatisticsInput(BaseModel):
    """Arguments of the ``text_statistics`` tool."""

    text: str = Field(
        description=f"The text to analyse, verbatim (at most {MAX_TEXT_LENGTH} characters)."
    )


def text_statistics_of(text: str) -> dict[str, object]:
    """Return the counts for ``text`` as a dict (see the tool description for the keys)."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ToolException(TEXT_TOO_LONG.format(length=len(text)))
    words = _WORD.findall(text)
    folded = Counter(word.casefold() for word in words)
    stripped = text.strip()
    sentences = [part for part in _SENTENCE_END.split(stripped) if _WORD.search(part)]
    paragraphs = [part for part in _PARAGRAPH_BREAK.split(stripped) if part.strip()]
    return {
        "characters": len(text),
        "characters_excluding_whitespace": sum(1 for char in text if not char.isspace()),
        "words": len(words),
        "unique_words": len(folded),
        "lines": len(text.splitlines()),
        "sentences": len(sentences),
        "paragraphs": len(paragraphs),
        "average_word_length": (
            round(sum(len(word) for word in words) / len(words), 2) if words else 0
        ),
        "top_words": [
            {"word": word, "count": count} for word, count in folded.most_common(TOP_WORDS)
        ],
    }


def describe_text(text: str) -> str:
    """Return the statistics of ``text`` as a JSON string for the model."""
    return json.dumps(text_statistics_of(text), ensure_ascii=False)


def make_text_statistics_tool() -> StructuredTool:
    """Build a fresh ``text_statistics`` tool instance."""
    return StructuredTool.from_function(
        func=describe_text,
        name=NAME,
        description=DESCRIPTION,
        args_schema=TextStatisticsInput,
        handle_tool_error=False,
    )


text_statistics = make_text_statistics_tool()
