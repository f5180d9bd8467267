"""The text_statistics tool: exact counts over bounded text, returned as JSON."""

from __future__ import annotations

import json

import pytest
from assistant_graph.tools.text_statistics import MAX_TEXT_LENGTH, text_statistics
from langchain_core.tools import ToolException

SAMPLE = "Hello world. Hello again!\nIt\u2019s a well-known test... 3.5 or 1,000?\n\nSecond one"


def stats(text: str) -> dict:
    return json.loads(text_statistics.invoke({"text": text}))


def test_counts_a_sample_text() -> None:
    """Characters, words, lines, sentences and paragraphs of a known text are exact."""
    result = stats(SAMPLE)
    assert result == {
        "characters": len(SAMPLE),
        "characters_excluding_whitespace": len("".join(SAMPLE.split())),
        "words": 13,
        "unique_words": 12,
        "lines": 4,
        "sentences": 5,
        "paragraphs": 2,
        "average_word_length": round(
            sum(
                map(
                    len,
                    [
                        "Hello",
                        "world",
                        "Hello",
                        "again",
                        "It\u2019s",
                        "a",
                        "well-known",
                        "test",
                        "3.5",
                        "or",
                        "1,000",
                        "Second",
                        "one",
                    ],
                )
            )
            / 13,
            2,
        ),
        "top_words": [
            {"word": "hello", "count": 2},
            {"word": "world", "count": 1},
            {"word": "again", "count": 1},
            {"word": "it\u2019s", "count": 1},
            {"word": "a", "count": 1},
        ],
    }


@pytest.mark.parametrize(
    ("text", "words", "lines", "sentences", "paragraphs"),
    [
        ("", 0, 0, 0, 0),
        ("   \n  ", 0, 2, 0, 0),
        ("one", 1, 1, 1, 1),
        ("Stop. Go! Why? Because\u2026 ok", 5, 1, 5, 1),
        ("a\n\n\nb\n \nc", 3, 6, 1, 3),
        ("caf\u00e9 na\u00efve \u65e5\u672c", 3, 1, 1, 1),
    ],
)
def test_edge_cases(text: str, words: int, lines: int, sentences: int, paragraphs: int) -> None:
    """Empty and whitespace-only text, punctuation runs, blank-line paragraphs, Unicode words."""
    result = stats(text)
    assert (result["words"], result["lines"], result["sentences"], result["paragraphs"]) == (
        words,
        lines,
        sentences,
        paragraphs,
    )
    assert result["characters"] == len(text)


def test_text_at_the_limit_is_accepted_and_beyond_is_refused() -> None:
    """Exactly MAX_TEXT_LENGTH characters are counted; one more raises a clear ToolException."""
    assert stats("ab " * (MAX_TEXT_LENGTH // 3) + "x")["words"] == MAX_TEXT_LENGTH // 3 + 1
    with pytest.raises(ToolException) as caught:
        text_statistics.invoke({"text": "a" * (MAX_TEXT_LENGTH + 1)})
    assert f"{MAX_TEXT_LENGTH + 1} characters, the limit is {MAX_TEXT_LENGTH}" in str(caught.value)
