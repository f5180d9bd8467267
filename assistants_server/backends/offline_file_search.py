"""The offline model's use of ``file_search``: search the user's files, quote and cite.

For a question that is not arithmetic (and names no other tool) in a run offered
``file_search`` (the worker offers it only when the run has files to search), the offline
model first calls ``file_search`` with the question as its query; once the passages are back
it answers with the best sentence of each of the top :data:`QUOTED_PASSAGES` passages,
quoted, with the file's name and the passage's citation marker (which the server turns into a
``file_citation`` annotation). When nothing matches it says so.
"""

from __future__ import annotations

import json
import re
from typing import Any

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.backends.builtin_functions import FILE_SEARCH
from assistant_graph.assistants_server.backends.file_search_text import Passage, parse_results

QUOTED_PASSAGES = 2
"""How many passages the answer quotes (the best first)."""
ANSWER_INTRO = "From your files:"
QUOTE_LINE = '- {file_name}: "{sentence}"{marker}'
NO_PASSAGE_REPLY = (
    "This is the offline model of the assistants server: it searched your files for "
    '"{query}" and found no passage about it. Ask with words that appear in the documents, '
    "or configure a real model (OPENAI_API_KEY) for questions that need more than quoting."
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_STEM_LENGTH = 5


def offers_file_search(tools: list[dict[str, Any]]) -> bool:
    """Whether the run offers the ``file_search`` tool."""
    return any(tool.get("type") == FILE_SEARCH for tool in tools)


def _stems(text: str) -> set[str]:
    return {word[:_STEM_LENGTH] for word in _WORD.findall(text.lower()) if len(word) > 2}


def best_sentence(text: str, query: str) -> str:
    """Return the sentence of ``text`` sharing most words with ``query`` (the first on a tie)."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if not sentences:
        return text.strip()
    wanted = _stems(query)
    return max(sentences, key=lambda sentence: len(_stems(sentence) & wanted))


def _search_calls(after_user: list[dict[str, Any]]) -> list[str]:
    ids = []
    for message in after_user:
        for call in message.get("tool_calls") or []:
            if (call.get("function") or {}).get("name") == FILE_SEARCH:
                ids.append(str(call.get("id", "")))
    return ids


def answer(query: str, passages: list[Passage]) -> str:
    """Return the answer quoting the best passages (see the module docstring)."""
    if not passages:
        return NO_PASSAGE_REPLY.format(query=query)
    lines = [ANSWER_INTRO]
    for passage in passages[:QUOTED_PASSAGES]:
        sentence = best_sentence(passage.text, query).replace('"', "'")
        lines.append(
            QUOTE_LINE.format(file_name=passage.file_name, sentence=sentence, marker=passage.marker)
        )
    return "\n".join(lines)


def file_search_turn(
    question: str, after_user: list[dict[str, Any]], outputs: dict[str, str]
) -> tuple[str, list[ToolCallRequest]]:
    """Return the turn for ``question``: a search first, then the answer from its passages."""
    made = _search_calls(after_user)
    if not made:
        call = ToolCallRequest(
            name=FILE_SEARCH, type=FILE_SEARCH, arguments=json.dumps({"query": question})
        )
        return "", [call]
    return answer(question, parse_results(outputs.get(made[-1], ""))), []
