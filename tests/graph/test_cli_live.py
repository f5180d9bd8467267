"""Live output of ``assistant-graph ask``: tokens as they stream, a spinner only on a terminal.

The model is ``FakeChatCompletions`` behind the CLI's embedded server (``OPENAI_BASE_URL``):
its reply streams one word, then waits until the test releases it, so "text appears before
the run ends" is checked without timing guesses.
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest
from assistant_graph.graph.cli_live import SPINNER_FRAMES, SPINNER_LABEL
from cli_process import TIMEOUT_SECONDS, TerminalSession, command, default_sigint
from fake_chat_completions import FakeChatCompletions

ANSWER = "Streaming works: word by word, as the model writes."
FIRST_WORD = "Streaming"
LAST_WORDS = "the model writes."


@pytest.fixture
def held_model(tmp_path: Path):
    """A fake model whose answer streams its first word, then waits for ``release``."""
    release = threading.Event()
    with FakeChatCompletions() as fake:
        fake.add_text(ANSWER, hold=release, hold_after=1, delay_seconds=1.0)
        env = dict(os.environ)
        env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
        env["OPENAI_BASE_URL"] = fake.base_url
        env["OPENAI_API_KEY"] = "sk-fake-model"
        try:
            yield env, release
        finally:
            release.set()


@pytest.mark.slow
def test_answer_streams_to_a_terminal_with_a_spinner_while_waiting(held_model):
    """On a terminal, a spinner shows while the model has not answered yet; the first word of
    the answer is on screen while the model still holds the rest; the full answer is printed
    once, on one line."""
    env, release = held_model
    session = TerminalSession(["ask", "Tell me about streaming"], env)
    try:
        before = session.expect(FIRST_WORD)
        assert SPINNER_LABEL in before, before
        assert any(frame in before for frame in SPINNER_FRAMES)
        time.sleep(0.3)  # the model still holds the rest of the answer
        assert session.process.poll() is None, "the run is still going"
        assert LAST_WORDS not in session.output
        release.set()
        status, rest = session.wait()
    finally:
        session.close()
    assert status == 0, rest
    lines = (FIRST_WORD + rest).splitlines()
    answer_lines = [line for line in lines if FIRST_WORD in line]
    assert len(answer_lines) == 1, lines
    assert answer_lines[0].endswith(ANSWER)
    assert any(line.startswith("thread: ") for line in lines)


@pytest.mark.slow
def test_piped_output_streams_without_spinner_bytes(held_model):
    """With stdout and stderr piped, the answer still arrives as it streams (before the run
    ends), and stderr carries no spinner, carriage return or terminal escape."""
    env, release = held_model
    process = subprocess.Popen(
        [*command(), "ask", "Tell me about streaming"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=default_sigint,
    )
    try:
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while FIRST_WORD.encode() not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, f"stdout ended before the first word: {seen!r}"
                seen += chunk
        assert process.poll() is None, "the first word came before the run ended"
        assert LAST_WORDS.encode() not in seen
        release.set()
        rest, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    stdout = (seen + rest).decode()
    assert stdout.splitlines()[0] == ANSWER
    text = stderr.decode()
    assert SPINNER_LABEL not in text
    assert not any(frame in text for frame in SPINNER_FRAMES)
    assert "\r" not in text and "\x1b" not in text
