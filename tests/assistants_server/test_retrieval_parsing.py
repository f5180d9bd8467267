"""Text extraction for file search: each supported format, and the errors for bad files."""

from __future__ import annotations

import json

import pytest
from assistant_graph.assistants_server.retrieval.errors import IngestionError
from assistant_graph.assistants_server.retrieval.parsing import extract_text
from documents import docx_with_text, pdf_with_text


def test_plain_text_markdown_and_source_code_keep_their_text() -> None:
    """Text, Markdown and code files are read as UTF-8 (a BOM dropped), verbatim."""
    assert extract_text("notes.txt", b"\xef\xbb\xbfhello world") == "hello world"
    markdown = "# Title\n\nSome *emphasis* and `code`.\n"
    assert extract_text("README.MD", markdown.encode()) == markdown
    code = "def add(a, b):\n    return a + b\n"
    assert extract_text("math.py", code.encode()) == code


def test_html_gives_visible_text_without_scripts_or_styles() -> None:
    """HTML yields its visible text, one block per line; script and style content is dropped."""
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<h1>Refunds</h1><p>Refunds take <b>five</b> days &amp; are free.</p>"
        "<script>var secret = 1;</script></body></html>"
    )
    assert extract_text("page.html", html.encode()) == "Refunds\nRefunds take five days & are free."


def test_json_is_checked_and_indexed_as_text() -> None:
    """A JSON file is indexed as its text; invalid JSON is an invalid_file with the reason."""
    body = json.dumps({"policy": "refunds in five days"})
    assert extract_text("data.json", body.encode()) == body
    with pytest.raises(IngestionError) as caught:
        extract_text("data.json", b"{not json")
    assert caught.value.code == "invalid_file"
    assert "could not be read as JSON" in caught.value.message


def test_pdf_text_layer_is_extracted() -> None:
    """A PDF's text layer comes out through pypdf."""
    pdf = pdf_with_text(["The warranty lasts 24 months.", "Returns need a receipt."])
    text = extract_text("manual.pdf", pdf)
    assert "The warranty lasts 24 months." in text
    assert "Returns need a receipt." in text


def test_docx_paragraphs_and_tables_are_extracted() -> None:
    """A DOCX file gives its paragraphs and its table rows (cells joined by ' | ')."""
    document = docx_with_text(["Shipping is free over 50 euros."], [["Zone", "Days"], ["EU", "3"]])
    text = extract_text("policy.docx", document)
    assert "Shipping is free over 50 euros." in text
    assert "EU | 3" in text


@pytest.mark.parametrize(
    ("filename", "content", "code", "words"),
    [
        ("empty.txt", b"", "invalid_file", "is empty"),
        ("blank.md", b"  \n\t ", "invalid_file", "is empty"),
        ("empty.pdf", b"", "invalid_file", "is empty"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "invalid_file", "could not be read as PDF"),
        ("broken.docx", b"PK not a zip", "invalid_file", "could not be read as DOCX"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "unsupported_file", "not a supported file type"),
        ("archive", b"data", "unsupported_file", "not a supported file type"),
        ("latin1.txt", "café".encode("latin-1"), "invalid_file", "not UTF-8"),
        ("binary.txt", b"abc\x00def", "unsupported_file", "not a supported file type"),
        ("scanned.pdf", pdf_with_text([]), "invalid_file", "No text could be extracted"),
        ("empty.html", b"<html><script>x()</script></html>", "invalid_file", "No text"),
    ],
)
def test_bad_files_raise_an_error_saying_why(
    filename: str, content: bytes, code: str, words: str
) -> None:
    """Empty, unsupported, unreadable and text-less files raise an error naming the file."""
    with pytest.raises(IngestionError) as caught:
        extract_text(filename, content)
    assert caught.value.code == code
    assert words in caught.value.message
    assert filename in caught.value.message
    assert caught.value.last_error() == {"code": code, "message": caught.value.message}
