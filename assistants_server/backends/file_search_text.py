"""The text a model gets from a ``file_search`` call, and the citation markers it writes back.

The server gives the model the results as numbered passages, each headed by its marker
(``【3†source】``, the style upstream used), and tells it to cite a passage by writing that
marker after what it supports. Numbers are unique within a run, so a marker in the final text
names one result; the run worker turns each marker into a ``file_citation`` annotation
(``worker.citations``). The offline model reads the passages back with :func:`parse_results`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "【{number}†source】"
MARKER_PATTERN = re.compile(r"【(\d+)(?::\d+)?†[^】\n]{0,200}】")
"""A citation marker as models write it: ``【3†source】``, also ``【3:0†file.md】``."""
_HEADER = re.compile(r"^【(\d+)†source】 (.+) \(score (\d+(?:\.\d+)?)\):$", re.MULTILINE)

RESULTS_INTRO = (
    '{count} passage(s) of the user\'s files match "{query}". When your answer uses one, cite it '
    "by writing its marker (such as {example}) right after the sentence it supports."
)
NO_RESULTS = 'No passage of the user\'s files matches "{query}".'
NO_FILES = "There are no files to search in this conversation."


@dataclass(frozen=True)
class Passage:
    """One numbered search result as the model sees it."""

    number: int
    file_name: str
    score: float
    text: str

    @property
    def marker(self) -> str:
        """The marker that cites this passage."""
        return MARKER.format(number=self.number)


def format_results(query: str, passages: list[Passage]) -> str:
    """Return the call's result text for the model (see the module docstring)."""
    if not passages:
        return NO_RESULTS.format(query=query)
    parts = [RESULTS_INTRO.format(count=len(passages), query=query, example=passages[0].marker)]
    for passage in passages:
        header = f"{passage.marker} {passage.file_name} (score {passage.score:.3f}):"
        parts.append(f"{header}\n{passage.text.strip()}")
    return "\n\n".join(parts)


def parse_results(text: str) -> list[Passage]:
    """Read the passages back out of :func:`format_results`' text (none for other text)."""
    headers = list(_HEADER.finditer(text))
    passages = []
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        passages.append(
            Passage(
                number=int(header.group(1)),
                file_name=header.group(2),
                score=float(header.group(3)),
                text=text[header.end() : end].strip(),
            )
        )
    return passages
