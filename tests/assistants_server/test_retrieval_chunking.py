"""Chunking strategies (auto and static, with the spec's bounds) and token-window chunks."""

from __future__ import annotations

import itertools

import pytest
from assistant_graph.assistants_server.retrieval import RetrievalInputError, resolve_strategy
from assistant_graph.assistants_server.retrieval.chunking import chunk_text
from assistant_graph.assistants_server.retrieval.tokens import count_tokens, encode


def static(size: object, overlap: object) -> dict[str, object]:
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


def test_auto_and_missing_strategy_are_800_tokens_with_400_overlap() -> None:
    """No strategy and ``auto`` both mean the spec's default, stored as its static form."""
    assert resolve_strategy(None) == static(800, 400)
    assert resolve_strategy({"type": "auto"}) == static(800, 400)


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (100, 50), (4096, 2048), (800, 400)])
def test_static_strategy_within_bounds_is_kept(size: int, overlap: int) -> None:
    """Sizes 100..4096 with an overlap of at most half are accepted as given."""
    assert resolve_strategy(static(size, overlap)) == static(size, overlap)


@pytest.mark.parametrize(
    ("strategy", "words"),
    [
        (static(99, 0), "from 100 to 4096"),
        (static(4097, 0), "from 100 to 4096"),
        (static("800", 400), "from 100 to 4096"),
        (static(True, 0), "from 100 to 4096"),
        (static(800, 401), "half of max_chunk_size_tokens (400)"),
        (static(800, -1), "half of max_chunk_size_tokens (400)"),
        (static(800, None), "half of max_chunk_size_tokens (400)"),
        ({"type": "static"}, "chunking_strategy must be"),
        ({"type": "semantic"}, "chunking_strategy must be"),
        ("auto", "chunking_strategy must be"),
    ],
)
def test_strategies_out_of_bounds_are_refused_with_the_rule(strategy: object, words: str) -> None:
    """Out-of-range sizes and overlaps, and unknown strategy shapes, raise a clear 400 error."""
    with pytest.raises(RetrievalInputError) as caught:
        resolve_strategy(strategy)
    assert words in str(caught.value)
    assert caught.value.param == "chunking_strategy"


def test_token_counts_are_o200k_base() -> None:
    """Counts use OpenAI's o200k_base encoding (known ids for a known string)."""
    assert encode("hello world") == [24912, 2375]
    assert count_tokens("") == 0


def test_chunks_are_windows_of_at_most_max_tokens_with_the_overlap() -> None:
    """Each chunk is a verbatim slice of at most max tokens; consecutive chunks share overlap."""
    text = " ".join(f"word{i}" for i in range(3000))
    chunks = chunk_text(text, 200, 50)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.tokens <= 200
        assert text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= 201  # re-tokenising a slice may merge at its edges
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end  # they overlap
        assert count_tokens(text[second.start : first.end]) == pytest.approx(50, abs=2)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)


def test_short_text_is_one_chunk_and_multibyte_text_is_never_cut_inside_a_character() -> None:
    """A text under the size is one chunk; chunks of non-ASCII text decode to whole characters."""
    assert [c.text for c in chunk_text("short text", 800, 400)] == ["short text"]
    text = "日本語のテキストと絵文字🎉を含む文章。" * 200
    chunks = chunk_text(text, 100, 20)
    assert len(chunks) > 3
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert "".join(c.text for c in chunks).replace("\ufffd", "") == "".join(c.text for c in chunks)
    assert chunks[-1].end == len(text)
