"""Text extraction from uploaded files: plain text, Markdown, HTML, JSON, source code, PDF, DOCX.

:func:`extract_text` picks the reader by the file name's extension (as the hosted API did) and
raises :class:`IngestionError` for an empty file, an unsupported type, a file its reader cannot
open, or one with no text in it; the error's message becomes the file's ``last_error``.
"""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import PurePosixPath

from assistant_graph.assistants_server.retrieval.errors import (
    EMPTY_FILE,
    NO_TEXT,
    NOT_UTF8,
    UNREADABLE_FILE,
    UNSUPPORTED_FILE,
    IngestionError,
)

TEXT_EXTENSIONS = frozenset(
    ".txt .text .md .markdown .rst .csv .tsv .log .tex .xml .yaml .yml .toml .ini .cfg .conf "
    ".py .pyi .js .mjs .cjs .ts .tsx .jsx .java .kt .scala .c .h .cc .cpp .hpp .cs .go .rs "
    ".rb .php .pl .swift .sh .bash .zsh .ps1 .sql .r .lua .dart .css .scss .vue .svelte".split()
)
"""Extensions read as UTF-8 text (Markdown and source code are indexed as they are)."""
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | HTML_EXTENSIONS | {".json", ".pdf", ".docx"}


class _HTMLText(HTMLParser):
    """Collects an HTML document's visible text; block elements become line breaks."""

    SKIP = frozenset({"script", "style", "head", "template", "noscript"})
    BLOCK = frozenset(
        "p div br li tr h1 h2 h3 h4 h5 h6 pre section article header footer table ul ol".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _decode(content: bytes, filename: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestionError("invalid_file", NOT_UTF8.format(filename=filename)) from None


def _html(content: bytes, filename: str) -> str:
    parser = _HTMLText()
    parser.feed(_decode(content, filename))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _json(content: bytes, filename: str) -> str:
    text = _decode(content, filename)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestionError(
            "invalid_file", UNREADABLE_FILE.format(filename=filename, kind="JSON", reason=exc)
        ) from None
    return text


def _pdf(content: bytes, filename: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestionError(
            "invalid_file", UNREADABLE_FILE.format(filename=filename, kind="PDF", reason=exc)
        ) from None
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _docx(content: bytes, filename: str) -> str:
    from zipfile import BadZipFile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    except (BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise IngestionError(
            "invalid_file", UNREADABLE_FILE.format(filename=filename, kind="DOCX", reason=exc)
        ) from None
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(part for part in parts if part.strip())


def extract_text(filename: str, content: bytes) -> str:
    """Return the text of an uploaded file by its extension; raise :class:`IngestionError`."""
    extension = PurePosixPath(filename).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise IngestionError("unsupported_file", UNSUPPORTED_FILE.format(filename=filename))
    if not content.strip():
        raise IngestionError("invalid_file", EMPTY_FILE.format(filename=filename))
    if extension == ".pdf":
        text, kind = _pdf(content, filename), "PDF"
    elif extension == ".docx":
        text, kind = _docx(content, filename), "DOCX"
    elif extension in HTML_EXTENSIONS:
        text, kind = _html(content, filename), "HTML"
    elif extension == ".json":
        text, kind = _json(content, filename), "JSON"
    else:
        text, kind = _decode(content, filename), "text"
        if "\x00" in text:
            raise IngestionError("unsupported_file", UNSUPPORTED_FILE.format(filename=filename))
    if not text.strip():
        raise IngestionError("invalid_file", NO_TEXT.format(filename=filename, kind=kind))
    return text
