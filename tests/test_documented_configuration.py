"""The configuration the code reads is the configuration the docs describe.

Every environment variable the graph's context or the server's settings read must appear in
`.env.example` (commented out, so copying it changes nothing) and in the README's
configuration table; and the README's two set-up commands must be the ones CI runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.graph.context import ENV_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
SERVER_SOURCE = (ROOT / "assistants_server" / "settings.py").read_text()
SERVER_VARIABLES = sorted(
    set(re.findall(r'"((?:ASSISTANTS_SERVER|OPENAI)_[A-Z_]+)"', SERVER_SOURCE))
)
ALL_VARIABLES = sorted({*ENV_VARIABLES.values(), *SERVER_VARIABLES, "ASSISTANT_GRAPH_HOME"})


def test_the_server_reads_the_variables_found_in_its_source() -> None:
    """Sanity check of the scan above: each found variable changes a setting when set."""
    assert len(SERVER_VARIABLES) >= 14
    env = {"ASSISTANTS_SERVER_PORT": "9999", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}
    settings = ServerSettings.from_env(env)
    assert settings.port == 9999 and settings.resolved_backend() == "chat-completions"


@pytest.mark.parametrize("variable", ALL_VARIABLES)
def test_every_variable_is_in_env_example_commented_out(variable: str) -> None:
    """`.env.example` lists the variable, commented out (a copied empty value would override)."""
    text = (ROOT / ".env.example").read_text()
    assert re.search(rf"^# {variable}=", text, re.MULTILINE), variable
    assert not re.search(rf"^{variable}=", text, re.MULTILINE), variable


@pytest.mark.parametrize("variable", ALL_VARIABLES)
def test_every_variable_is_in_the_readme_configuration_table(variable: str) -> None:
    """The README's configuration table has a row for the variable."""
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^\| `{variable}` \|", readme, re.MULTILINE), variable


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs exactly the test command the README gives."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python -m pip install[^\n]*$", readme, re.MULTILINE)
    test_commands = [c for c in commands if "pytest" in c]
    assert len(test_commands) == 1, commands
    assert test_commands[0] in (ROOT / ".ci" / "run").read_text()
